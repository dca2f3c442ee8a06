//! `POST /auth/refresh`: rotation, the two-tabs grace period, reuse detection, expiry.

use gatehouse_testkit::{TestApp, assert_problem, both_backends, json_body};
use serde_json::{Value, json};
use time::Duration;

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/auth/refresh", &json!({"refresh_token": token}))
        .await
}

async fn refreshed(app: &TestApp, token: &str) -> Value {
    let response = refresh(app, token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    json_body(response).await
}

async fn audit_count(app: &TestApp, action: &str) -> usize {
    app.state
        .store()
        .query_audit(&gatehouse_store::AuditQuery {
            action: Some(action.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

both_backends!(async fn refresh_rotates_the_refresh_token_and_issues_a_fresh_access_token(app) {
    let alice = app.create_user("alice", &[]).await;
    app.clock.advance(Duration::minutes(14));
    let body = refreshed(&app, &alice.refresh_token).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let next = body["refresh_token"].as_str().unwrap();
    assert_ne!(next, alice.refresh_token);
    let access = body["access_token"].as_str().unwrap();
    assert_ne!(access, alice.token);
    assert_eq!(app.get_as(access, "/auth/me").await.status(), 200);
    // And the new refresh token rotates again.
    app.clock.advance(Duration::minutes(1));
    refreshed(&app, next).await;
    assert_eq!(audit_count(&app, "refresh.success").await, 2);
});

both_backends!(async fn two_tabs_refreshing_at_once_both_get_the_same_child(app) {
    let alice = app.create_user("alice", &[]).await;
    let tab1 = refreshed(&app, &alice.refresh_token).await;
    app.clock.advance(Duration::seconds(10));
    let tab2 = refreshed(&app, &alice.refresh_token).await;
    assert_eq!(tab1["refresh_token"], tab2["refresh_token"]);
    assert_eq!(audit_count(&app, "refresh.reuse_detected").await, 0);
    refreshed(&app, tab2["refresh_token"].as_str().unwrap()).await;
});

both_backends!(async fn reuse_after_the_grace_revokes_the_whole_family_and_is_audited(app) {
    let alice = app.create_user("alice", &[]).await;
    let child = refreshed(&app, &alice.refresh_token).await;
    app.clock.advance(Duration::seconds(11));
    assert_problem(refresh(&app, &alice.refresh_token).await, 401, "invalid_refresh_token").await;
    // The family is gone: the child and the access tokens of the session stop working.
    assert_problem(refresh(&app, child["refresh_token"].as_str().unwrap()).await, 401, "invalid_refresh_token").await;
    assert_problem(app.get_as(child["access_token"].as_str().unwrap(), "/auth/me").await, 401, "invalid_token").await;
    assert_problem(app.get_as(&alice.token, "/auth/me").await, 401, "invalid_token").await;
    assert_eq!(audit_count(&app, "refresh.reuse_detected").await, 1);
});

both_backends!(async fn reuse_within_the_grace_once_the_child_was_used_is_theft(app) {
    let alice = app.create_user("alice", &[]).await;
    let child = refreshed(&app, &alice.refresh_token).await;
    refreshed(&app, child["refresh_token"].as_str().unwrap()).await;
    assert_problem(refresh(&app, &alice.refresh_token).await, 401, "invalid_refresh_token").await;
    assert_eq!(audit_count(&app, "refresh.reuse_detected").await, 1);
});

both_backends!(async fn a_refresh_token_expires_after_30_days(app) {
    let alice = app.create_user("alice", &[]).await;
    app.clock.advance(Duration::days(30) + Duration::seconds(1));
    assert_problem(refresh(&app, &alice.refresh_token).await, 401, "invalid_refresh_token").await;
});

both_backends!(async fn an_access_token_expires_after_15_minutes(app) {
    let alice = app.create_user("alice", &[]).await;
    app.clock.advance(Duration::minutes(14));
    assert_eq!(app.get_as(&alice.token, "/auth/me").await.status(), 200);
    // 15 minutes plus the configured 60 s leeway.
    app.clock.advance(Duration::minutes(2) + Duration::seconds(1));
    assert_problem(app.get_as(&alice.token, "/auth/me").await, 401, "invalid_token").await;
});

both_backends!(async fn a_disabled_account_cannot_refresh(app) {
    let alice = app.create_user("alice", &[]).await;
    app.state.store().set_user_disabled(alice.user.id, true, app.state.now()).await.unwrap();
    assert_problem(refresh(&app, &alice.refresh_token).await, 401, "invalid_refresh_token").await;
});

both_backends!(async fn made_up_refresh_tokens_are_401(app) {
    for junk in ["", "x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "eyJhbGciOiJFUzI1NiJ9.e30.sig"] {
        assert_problem(refresh(&app, junk).await, 401, "invalid_refresh_token").await;
    }
});
