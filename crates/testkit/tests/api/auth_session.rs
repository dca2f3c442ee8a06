//! `POST /auth/logout`, `POST /auth/logout-all`, `GET /auth/me`, `POST /auth/password`.

use gatehouse_testkit::{TEST_PASSWORD, TestApp, assert_problem, both_backends, json_body};
use serde_json::json;

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/auth/refresh", &json!({"refresh_token": token}))
        .await
}

both_backends!(async fn me_shows_the_account_with_its_effective_access(app) {
    let store = app.state.store();
    store.create_role("writer", "").await.unwrap();
    store.grant_permission("writer", "reports:write").await.unwrap();
    store.create_group("staff", "").await.unwrap();
    store.grant_group_role("staff", "writer").await.unwrap();
    let alice = app.create_user("alice", &["admin"]).await;
    store.add_group_member("staff", alice.user.id).await.unwrap();

    let response = app.get_as(&alice.token, "/auth/me").await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["id"], alice.user.id.to_string());
    assert_eq!(body["username"], "alice");
    assert_eq!(body["roles"], json!(["admin", "writer"]));
    assert_eq!(body["groups"], json!(["staff"]));
    assert_eq!(body["permissions"], json!(["gatehouse:admin", "reports:write"]));
    assert!(body.get("password_hash").is_none());
});

both_backends!(async fn me_without_a_token_is_401_with_a_bearer_challenge(app) {
    let response = app.get("/auth/me").await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"gatehouse\"");
    assert_problem(response, 401, "missing_token").await;
});

both_backends!(async fn logout_ends_this_session_only(app) {
    let alice = app.create_user("alice", &[]).await;
    let other = app.login("alice").await;
    let response = app.post_json_as(&alice.token, "/auth/logout", &json!({})).await;
    assert_eq!(response.status(), 204);
    assert_problem(app.get_as(&alice.token, "/auth/me").await, 401, "invalid_token").await;
    assert_problem(refresh(&app, &alice.refresh_token).await, 401, "invalid_refresh_token").await;
    assert_eq!(app.get_as(&other.token, "/auth/me").await.status(), 200);
    assert_eq!(refresh(&app, &other.refresh_token).await.status(), 200);
});

both_backends!(async fn logout_without_a_token_is_401(app) {
    assert_problem(app.post_json("/auth/logout", &json!({})).await, 401, "missing_token").await;
    assert_problem(app.post_json("/auth/logout-all", &json!({})).await, 401, "missing_token").await;
});

both_backends!(async fn logout_all_ends_every_session_but_a_later_login_works(app) {
    let alice = app.create_user("alice", &[]).await;
    let other = app.login("alice").await;
    let response = app.post_json_as(&alice.token, "/auth/logout-all", &json!({})).await;
    assert_eq!(response.status(), 204);
    for session in [&alice, &other] {
        assert_problem(app.get_as(&session.token, "/auth/me").await, 401, "invalid_token").await;
        assert_problem(refresh(&app, &session.refresh_token).await, 401, "invalid_refresh_token").await;
    }
    app.clock.advance(time::Duration::seconds(1));
    let again = app.login("alice").await;
    assert_eq!(app.get_as(&again.token, "/auth/me").await.status(), 200);
});

both_backends!(async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions(app) {
    let alice = app.create_user("alice", &[]).await;
    let other = app.login("alice").await;
    let new = "a brand new passphrase";

    let wrong = json!({"current_password": "not it at all", "new_password": new});
    assert_problem(app.post_json_as(&alice.token, "/auth/password", &wrong).await, 403, "wrong_password").await;
    let weak = json!({"current_password": TEST_PASSWORD, "new_password": "qwerty123"});
    assert_problem(app.post_json_as(&alice.token, "/auth/password", &weak).await, 422, "weak_password").await;
    assert_problem(app.post_json("/auth/password", &weak).await, 401, "missing_token").await;

    let change = json!({"current_password": TEST_PASSWORD, "new_password": new});
    assert_eq!(app.post_json_as(&alice.token, "/auth/password", &change).await.status(), 204);

    // This session goes on; the other one is over.
    assert_eq!(app.get_as(&alice.token, "/auth/me").await.status(), 200);
    assert_eq!(refresh(&app, &alice.refresh_token).await.status(), 200);
    assert_problem(app.get_as(&other.token, "/auth/me").await, 401, "invalid_token").await;
    assert_problem(refresh(&app, &other.refresh_token).await, 401, "invalid_refresh_token").await;

    let old = json!({"username": "alice", "password": TEST_PASSWORD});
    assert_problem(app.post_json("/auth/login", &old).await, 401, "invalid_credentials").await;
    let fresh = json!({"username": "alice", "password": new});
    assert_eq!(app.post_json("/auth/login", &fresh).await.status(), 200);
});
