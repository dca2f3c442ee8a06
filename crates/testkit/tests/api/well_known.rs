//! `/.well-known/jwks.json` and `/.well-known/openid-configuration`.

use gatehouse_testkit::{both_backends, json_body};

both_backends!(async fn the_jwks_publishes_the_generated_es256_key(app) {
    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "EC");
    assert_eq!(keys[0]["crv"], "P-256");
    assert_eq!(keys[0]["kid"], app.state.keys().signer().kid().as_str());
    assert!(keys[0].get("d").is_none(), "the private part must never be published");
});

both_backends!(async fn discovery_names_the_issuer_and_jwks_uri(app) {
    let body = json_body(app.get("/.well-known/openid-configuration").await).await;
    assert_eq!(body["issuer"], app.base_url);
    assert_eq!(body["jwks_uri"], format!("{}/.well-known/jwks.json", app.base_url));
    assert_eq!(body["id_token_signing_alg_values_supported"][0], "ES256");
});
