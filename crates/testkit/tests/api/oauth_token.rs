//! `POST /oauth/token`: the `refresh_token` and `client_credentials` grants and the RFC 6749
//! error format.

use gatehouse_auth::AccessClaims;
use gatehouse_server::Clock;
use gatehouse_store::NewClient;
use gatehouse_testkit::{TestApp, both_backends, json_body};
use secrecy::SecretString;
use serde_json::{Value, json};

/// The secret of the client [`add_client`] registers.
pub const CLIENT_SECRET: &str = "0123456789abcdef-reports-job-secret";

/// Registers the service client `reports-job` with role `reader` (permission `reports:read`)
/// and scopes `metrics` and `reports`.
pub async fn add_client(app: &TestApp) {
    let store = app.state.store();
    store.create_role("reader", "").await.unwrap();
    store
        .grant_permission("reader", "reports:read")
        .await
        .unwrap();
    let secret_hash = app
        .state
        .auth()
        .hasher()
        .hash_secret(&SecretString::from(CLIENT_SECRET))
        .await
        .unwrap();
    store
        .create_client(
            NewClient {
                client_id: "reports-job".into(),
                secret_hash,
                name: "Nightly reports".into(),
                roles: vec!["reader".into()],
                scopes: vec!["metrics".into(), "reports".into()],
            },
            app.clock.now(),
        )
        .await
        .unwrap();
}

/// A POST with a form body, optionally with HTTP Basic client credentials.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    request.send().await.unwrap()
}

/// Asserts an RFC 6749 error response and returns its body.
pub async fn assert_oauth_error(response: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json_body(response).await;
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
    body
}

both_backends!(async fn the_refresh_token_grant_rotates_like_auth_refresh(app) {
    let alice = app.create_user("alice", &[]).await;
    let response = post_form(&app, "/oauth/token", None, &[("grant_type", "refresh_token"), ("refresh_token", &alice.refresh_token)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json_body(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_ne!(body["refresh_token"], alice.refresh_token.as_str());
    assert_eq!(app.get_as(body["access_token"].as_str().unwrap(), "/auth/me").await.status(), 200);
});

both_backends!(async fn a_bad_refresh_token_is_invalid_grant(app) {
    let alice = app.create_user("alice", &[]).await;
    for token in ["made-up", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", alice.token.as_str()] {
        let response = post_form(&app, "/oauth/token", None, &[("grant_type", "refresh_token"), ("refresh_token", token)]).await;
        assert_oauth_error(response, 400, "invalid_grant").await;
    }
});

both_backends!(async fn client_credentials_with_basic_auth_issue_a_client_token(app) {
    add_client(&app).await;
    let response = post_form(&app, "/oauth/token", Some(("reports-job", CLIENT_SECRET)), &[("grant_type", "client_credentials"), ("scope", "reports")]).await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "reports");
    assert!(body.get("refresh_token").is_none());
    let verified = app.state.keys().verify(body["access_token"].as_str().unwrap(), app.clock.now()).await.unwrap();
    let claims = AccessClaims::from_verified(verified.claims.as_map()).unwrap();
    assert_eq!(claims.sub, "reports-job");
    assert_eq!(claims.client_id, "reports-job");
    assert_eq!(claims.roles, ["reader"]);
    assert_eq!(claims.permissions, ["reports:read"]);
    assert_eq!(claims.scope.as_deref(), Some("reports"));
    assert_eq!(verified.header.typ(), Some("at+jwt"));
});

both_backends!(async fn client_credentials_in_the_form_work_and_default_to_every_scope(app) {
    add_client(&app).await;
    let response = post_form(&app, "/oauth/token", None, &[("grant_type", "client_credentials"), ("client_id", "reports-job"), ("client_secret", CLIENT_SECRET)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["scope"], "metrics reports");
});

both_backends!(async fn a_wrong_or_missing_client_secret_is_401_invalid_client_with_a_basic_challenge(app) {
    add_client(&app).await;
    for basic in [Some(("reports-job", "wrong")), Some(("nobody", CLIENT_SECRET)), None] {
        let response = post_form(&app, "/oauth/token", basic, &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"gatehouse\"");
        assert_oauth_error(response, 401, "invalid_client").await;
    }
});

both_backends!(async fn a_disabled_client_gets_no_token(app) {
    add_client(&app).await;
    app.state.store().set_client_disabled("reports-job", true, app.state.now()).await.unwrap();
    let response = post_form(&app, "/oauth/token", Some(("reports-job", CLIENT_SECRET)), &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(response, 401, "invalid_client").await;
});

both_backends!(async fn a_scope_the_client_does_not_have_is_invalid_scope(app) {
    add_client(&app).await;
    let response = post_form(&app, "/oauth/token", Some(("reports-job", CLIENT_SECRET)), &[("grant_type", "client_credentials"), ("scope", "reports admin")]).await;
    assert_oauth_error(response, 400, "invalid_scope").await;
});

both_backends!(async fn malformed_token_requests_get_rfc_6749_errors(app) {
    assert_oauth_error(post_form(&app, "/oauth/token", None, &[]).await, 400, "invalid_request").await;
    assert_oauth_error(post_form(&app, "/oauth/token", None, &[("grant_type", "password")]).await, 400, "unsupported_grant_type").await;
    assert_oauth_error(post_form(&app, "/oauth/token", None, &[("grant_type", "refresh_token")]).await, 400, "invalid_request").await;
    let repeated = app
        .client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_oauth_error(repeated, 400, "invalid_request").await;
    let json_body = app.post_json("/oauth/token", &json!({"grant_type": "client_credentials"})).await;
    assert_oauth_error(json_body, 400, "invalid_request").await;
});
