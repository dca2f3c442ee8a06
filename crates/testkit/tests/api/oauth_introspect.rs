//! `POST /oauth/introspect` (RFC 7662) and `POST /oauth/revoke` (RFC 7009).

use gatehouse_testkit::{both_backends, json_body};
use serde_json::json;

use crate::oauth_token::{CLIENT_SECRET, add_client, assert_oauth_error, post_form};

const CLIENT: Option<(&str, &str)> = Some(("reports-job", CLIENT_SECRET));

async fn introspect(app: &gatehouse_testkit::TestApp, token: &str) -> serde_json::Value {
    let response = post_form(app, "/oauth/introspect", CLIENT, &[("token", token)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    json_body(response).await
}

both_backends!(async fn an_active_user_token_is_described(app) {
    add_client(&app).await;
    let alice = app.create_user("alice", &["admin"]).await;
    let body = introspect(&app, &alice.token).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], alice.user.id.to_string());
    assert_eq!(body["username"], "alice");
    assert_eq!(body["client_id"], "gatehouse");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], app.base_url.as_str());
    assert_eq!(body["aud"], json!(["gatehouse"]));
    assert_eq!(body["exp"], gatehouse_testkit::TEST_EPOCH.unix_timestamp() + 900);
    assert_eq!(body["permissions"], json!(["gatehouse:admin"]));
});

both_backends!(async fn introspection_needs_client_authentication(app) {
    add_client(&app).await;
    let alice = app.create_user("alice", &[]).await;
    for basic in [None, Some(("reports-job", "wrong"))] {
        let response = post_form(&app, "/oauth/introspect", basic, &[("token", &alice.token)]).await;
        assert_oauth_error(response, 401, "invalid_client").await;
    }
    // A user's bearer token is not client authentication.
    let response = app
        .client
        .post(app.url("/oauth/introspect"))
        .bearer_auth(&alice.token)
        .form(&[("token", &alice.token)])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 401, "invalid_client").await;
});

both_backends!(async fn expired_garbage_and_refresh_tokens_are_inactive_with_nothing_else_said(app) {
    add_client(&app).await;
    let alice = app.create_user("alice", &[]).await;
    for token in ["garbage", "a.b.c", alice.refresh_token.as_str()] {
        assert_eq!(introspect(&app, token).await, json!({"active": false}));
    }
    app.clock.advance(time::Duration::minutes(17));
    assert_eq!(introspect(&app, &alice.token).await, json!({"active": false}));
});

both_backends!(async fn a_logged_out_or_logged_out_everywhere_token_is_inactive(app) {
    add_client(&app).await;
    let alice = app.create_user("alice", &[]).await;
    let other = app.login("alice").await;
    assert_eq!(app.post_json_as(&alice.token, "/auth/logout", &json!({})).await.status(), 204);
    assert_eq!(introspect(&app, &alice.token).await, json!({"active": false}));
    assert_eq!(introspect(&app, &other.token).await["active"], true);
    assert_eq!(app.post_json_as(&other.token, "/auth/logout-all", &json!({})).await.status(), 204);
    assert_eq!(introspect(&app, &other.token).await, json!({"active": false}));
});

both_backends!(async fn a_disabled_accounts_token_is_inactive_at_once(app) {
    add_client(&app).await;
    let alice = app.create_user("alice", &[]).await;
    app.state.store().set_user_disabled(alice.user.id, true, app.state.now()).await.unwrap();
    assert_eq!(introspect(&app, &alice.token).await, json!({"active": false}));
});

both_backends!(async fn revoking_an_access_token_makes_it_inactive_and_useless(app) {
    add_client(&app).await;
    let alice = app.create_user("alice", &[]).await;
    let response = post_form(&app, "/oauth/revoke", None, &[("token", &alice.token), ("token_type_hint", "access_token")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(introspect(&app, &alice.token).await, json!({"active": false}));
    assert_eq!(app.get_as(&alice.token, "/auth/me").await.status(), 401);
    // The session itself goes on.
    let refreshed = app.post_json("/auth/refresh", &json!({"refresh_token": alice.refresh_token})).await;
    assert_eq!(refreshed.status(), 200);
});

both_backends!(async fn revoking_a_refresh_token_ends_its_session(app) {
    add_client(&app).await;
    let alice = app.create_user("alice", &[]).await;
    let response = post_form(&app, "/oauth/revoke", CLIENT, &[("token", &alice.refresh_token), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(response.status(), 200);
    let refreshed = post_form(&app, "/oauth/token", None, &[("grant_type", "refresh_token"), ("refresh_token", &alice.refresh_token)]).await;
    assert_oauth_error(refreshed, 400, "invalid_grant").await;
    assert_eq!(introspect(&app, &alice.token).await, json!({"active": false}));
});

both_backends!(async fn revoking_an_unknown_token_is_200_and_a_missing_one_is_invalid_request(app) {
    add_client(&app).await;
    for token in ["nonsense", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x.y.z"] {
        assert_eq!(post_form(&app, "/oauth/revoke", None, &[("token", token)]).await.status(), 200);
    }
    assert_oauth_error(post_form(&app, "/oauth/revoke", None, &[]).await, 400, "invalid_request").await;
    let bad_client = post_form(&app, "/oauth/revoke", Some(("reports-job", "wrong")), &[("token", "nonsense")]).await;
    assert_oauth_error(bad_client, 401, "invalid_client").await;
});

both_backends!(async fn a_revoked_client_token_is_inactive(app) {
    add_client(&app).await;
    let issued = post_form(&app, "/oauth/token", CLIENT, &[("grant_type", "client_credentials")]).await;
    let token = json_body(issued).await["access_token"].as_str().unwrap().to_owned();
    let body = introspect(&app, &token).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], "reports-job");
    assert_eq!(body["scope"], "metrics reports");
    assert_eq!(post_form(&app, "/oauth/revoke", CLIENT, &[("token", &token)]).await.status(), 200);
    assert_eq!(introspect(&app, &token).await, json!({"active": false}));
});
