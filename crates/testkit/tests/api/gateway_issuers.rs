//! Tokens from Microsoft Entra ID (a stand-in provider) through the running server: v1 and v2
//! tokens, tenant rules, groups overage, Graph tokens, key rotation and provider outages.

use gatehouse_server::config::gateway::{AllowConfig, RouteConfig};
use gatehouse_server::{Clock, Config};
use gatehouse_testkit::oidc_provider::{OTHER_TENANT, OidcProvider, USER_OID};
use gatehouse_testkit::{TestApp, assert_problem, json_body};
use serde_json::json;

use crate::gateway_support::{Upstream, gateway_test, spawn_gateway};

/// Adds the provider as issuer `entra` and `/entra/reports` (role `Admin`, Entra tokens only).
fn trust(provider: &OidcProvider, upstream: &Upstream) -> impl FnOnce(&mut Config) + use<> {
    let issuer = provider.issuer_config();
    let upstream = upstream.addr;
    move |config| {
        config.issuers = vec![issuer];
        config.routes.push(RouteConfig {
            path: "/entra/reports".into(),
            upstream: Some(format!("http://{upstream}")),
            allow: Some(AllowConfig {
                roles_any: vec!["Admin".into()],
                issuers: vec!["entra".into()],
                ..AllowConfig::default()
            }),
            ..RouteConfig::default()
        });
    }
}

async fn setup(backend: gatehouse_testkit::Backend) -> (Upstream, OidcProvider, TestApp) {
    let upstream = Upstream::start().await;
    let provider = OidcProvider::start().await;
    let app = spawn_gateway(backend, &upstream, trust(&provider, &upstream)).await;
    (upstream, provider, app)
}

gateway_test!(async fn entra_v2_and_v1_tokens_are_accepted_and_mapped(backend) {
    let (_upstream, provider, app) = setup(backend).await;
    let now = app.clock.now();
    for token in [provider.v2_token(now, json!({})), provider.v1_token(now, json!({}))] {
        let response = app.get_as(&token, "/entra/reports").await;
        assert_eq!(response.status(), 200);
        let headers = json_body(response).await["headers"].clone();
        assert_eq!(headers["x-auth-subject"], USER_OID);
        assert_eq!(headers["x-auth-username"], "john.doe@example.com");
        assert_eq!(headers["x-auth-issuer"], "entra");
        assert_eq!(headers["x-auth-roles"], "Admin,Reader", "Admin mapped from group-admins");
        assert_eq!(headers["x-auth-groups"], "group-admins,group-staff");
    }
});

gateway_test!(async fn a_gatehouse_token_is_not_accepted_where_only_entra_is(backend) {
    let (_upstream, _provider, app) = setup(backend).await;
    let admin = app.create_admin("root").await;
    let body = assert_problem(app.get_as(&admin.token, "/entra/reports").await, 401, "invalid_token").await;
    assert_eq!(body["detail"], "tokens from issuer gatehouse are not accepted on this route");
});

gateway_test!(async fn tokens_of_other_tenants_audiences_or_graph_are_refused(backend) {
    let (_upstream, provider, app) = setup(backend).await;
    let now = app.clock.now();
    let foreign = provider.v2_token(now, json!({
        "tid": OTHER_TENANT,
        "iss": format!("https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"),
    }));
    let body = assert_problem(app.get_as(&foreign, "/api/x").await, 401, "invalid_token").await;
    assert_eq!(body["detail"], "the token's issuer is not trusted");

    let mixed = provider.v2_token(now, json!({ "tid": OTHER_TENANT }));
    let body = assert_problem(app.get_as(&mixed, "/api/x").await, 401, "invalid_token").await;
    assert_eq!(body["detail"], "tenant not allowed: the tenant is not in the allowed list");

    let graph = provider.v2_token(now, json!({ "aud": "https://graph.microsoft.com" }));
    let body = assert_problem(app.get_as(&graph, "/api/x").await, 401, "invalid_token").await;
    assert!(body["detail"].as_str().unwrap().contains("Microsoft Graph"), "{body}");

    let expired = provider.v2_token(now - time::Duration::hours(3), json!({}));
    let body = assert_problem(app.get_as(&expired, "/api/x").await, 401, "invalid_token").await;
    assert_eq!(body["detail"], "the token was refused (expired)");
});

gateway_test!(async fn a_groups_overage_is_a_403_that_says_so(backend) {
    let (_upstream, provider, app) = setup(backend).await;
    let token = provider.v2_token(app.clock.now(), json!({
        "groups": null,
        "_claim_names": { "groups": "src1" },
        "_claim_sources": { "src1": { "endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects" } },
    }));
    let body = assert_problem(app.get_as(&token, "/entra/reports").await, 403, "insufficient_permission").await;
    assert!(body["detail"].as_str().unwrap().contains("groups overage"), "{body}");
});

gateway_test!(async fn a_key_rotated_at_the_provider_is_accepted(backend) {
    let (_upstream, provider, app) = setup(backend).await;
    let now = app.clock.now();
    assert_eq!(app.get_as(&provider.v2_token(now, json!({})), "/api/x").await.status(), 200);
    provider.rotate();
    provider.retire_old_keys();
    let before = provider.jwks_requests();
    // The new kid is unknown to the gateway: one refresh, then the token verifies.
    assert_eq!(app.get_as(&provider.v2_token(now, json!({ "uti": "2" })), "/api/x").await.status(), 200);
    assert_eq!(provider.jwks_requests(), before + 1);
});

gateway_test!(async fn start_up_survives_a_provider_outage_and_recovers(backend) {
    let upstream = Upstream::start().await;
    let provider = OidcProvider::start().await;
    provider.set_down(true);
    let app = spawn_gateway(backend, &upstream, trust(&provider, &upstream)).await;
    assert_eq!(app.get("/healthz").await.status(), 200, "the server started");
    let token = provider.v2_token(app.clock.now(), json!({}));
    let response = app.get_as(&token, "/api/x").await;
    assert_problem(response, 503, "unavailable").await;
    provider.set_down(false);
    assert_eq!(app.get_as(&token, "/api/x").await.status(), 200, "keys fetched once it is back");
});

gateway_test!(async fn the_last_good_keys_serve_while_the_provider_is_down(backend) {
    let (_upstream, provider, app) = setup(backend).await;
    let now = app.clock.now();
    assert_eq!(app.get_as(&provider.v2_token(now, json!({})), "/api/x").await.status(), 200);
    provider.set_down(true);
    // A token with a made-up kid forces a refresh attempt, which fails.
    let stranger = gatehouse_token::SigningKey::generate(gatehouse_token::Algorithm::Es256).unwrap();
    let claims = serde_json::from_str(&format!(
        r#"{{"iss":"https://login.microsoftonline.com/{}/v2.0","aud":"{}","exp":{}}}"#,
        gatehouse_testkit::oidc_provider::TENANT,
        gatehouse_testkit::oidc_provider::API_CLIENT_ID,
        now.unix_timestamp() + 60
    ))
    .unwrap();
    let forged = stranger.sign(Some("JWT"), &claims).unwrap();
    assert_problem(app.get_as(&forged, "/api/x").await, 401, "invalid_token").await;
    // The provider's real (new) token still verifies with the kept keys.
    let fresh = provider.v2_token(now, json!({ "uti": "3" }));
    assert_eq!(app.get_as(&fresh, "/api/x").await.status(), 200);
});
