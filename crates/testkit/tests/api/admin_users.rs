//! `/admin/users`, and who may call the admin API at all.

use gatehouse_testkit::{TEST_PASSWORD, assert_problem, both_backends, json_body};
use serde_json::json;

both_backends!(async fn the_admin_api_without_a_token_is_401_with_a_bearer_challenge(app) {
    let response = app.get("/admin/users").await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert_eq!(challenge, "Bearer realm=\"gatehouse\"");
    assert_problem(response, 401, "missing_token").await;
});

both_backends!(async fn a_garbage_token_is_401_invalid_token(app) {
    let response = app.get_as("not.a.jwt", "/admin/users").await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_problem(response, 401, "invalid_token").await;
});

both_backends!(async fn a_user_without_the_admin_permission_is_403_naming_it(app) {
    let user = app.create_user("mallory", &[]).await;
    let response = app.get_as(&user.token, "/admin/users").await;
    let body = assert_problem(response, 403, "insufficient_permission").await;
    assert!(body["detail"].as_str().unwrap().contains("gatehouse:admin"));
});

both_backends!(async fn an_expired_admin_token_is_401_invalid_token(app) {
    let admin = app.create_admin("root").await;
    app.clock.advance(time::Duration::minutes(17));
    let response = app.get_as(&admin.token, "/admin/users").await;
    let body = assert_problem(response, 401, "invalid_token").await;
    assert!(body["detail"].as_str().unwrap().starts_with("expired"), "{body}");
});

both_backends!(async fn an_admin_creates_shows_and_lists_users_with_paging_and_search(app) {
    let admin = app.create_admin("root").await;
    let response = app
        .post_json_as(
            &admin.token,
            "/admin/users",
            &json!({"username": "Alice", "password": TEST_PASSWORD, "email": "alice@example.com", "roles": ["admin"]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let alice = json_body(response).await;
    assert_eq!(alice["username"], "Alice");
    assert_eq!(alice["roles"], json!(["admin"]));
    assert!(alice["access"]["permissions"].as_array().unwrap().contains(&json!("gatehouse:admin")));
    assert!(alice.get("password_hash").is_none());
    for name in ["bob", "carol", "dave"] {
        app.create_user(name, &[]).await;
    }

    let shown = json_body(app.get_as(&admin.token, "/admin/users/alice").await).await;
    assert_eq!(shown["id"], alice["id"]);
    let by_id = app.get_as(&admin.token, &format!("/admin/users/{}", alice["id"].as_str().unwrap())).await;
    assert_eq!(json_body(by_id).await["username"], "Alice");

    let page = json_body(app.get_as(&admin.token, "/admin/users?limit=2&offset=1").await).await;
    assert_eq!(page["total"], 5);
    let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["bob", "carol"]);

    let found = json_body(app.get_as(&admin.token, "/admin/users?search=EXAMPLE.com").await).await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["username"], "Alice");
});

both_backends!(async fn creating_a_user_refuses_taken_names_weak_passwords_unknown_roles_and_bad_bodies(app) {
    let admin = app.create_admin("root").await;
    let taken = app.post_json_as(&admin.token, "/admin/users", &json!({"username": "ROOT", "password": TEST_PASSWORD})).await;
    assert_problem(taken, 409, "already_exists").await;
    let weak = app.post_json_as(&admin.token, "/admin/users", &json!({"username": "eve", "password": "short"})).await;
    assert_problem(weak, 422, "weak_password").await;
    let role = app
        .post_json_as(&admin.token, "/admin/users", &json!({"username": "eve", "password": TEST_PASSWORD, "roles": ["nope"]}))
        .await;
    assert_problem(role, 404, "not_found").await;
    let bad_name = app.post_json_as(&admin.token, "/admin/users", &json!({"username": "e v e", "password": TEST_PASSWORD})).await;
    assert_problem(bad_name, 422, "validation_failed").await;
    let missing = app.post_json_as(&admin.token, "/admin/users", &json!({"username": "eve"})).await;
    assert_problem(missing, 422, "invalid_body").await;
    let syntax = app
        .client
        .post(app.url("/admin/users"))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body("{\"username\":")
        .send()
        .await
        .unwrap();
    assert_problem(syntax, 400, "invalid_request").await;
    let form = app
        .client
        .post(app.url("/admin/users"))
        .bearer_auth(&admin.token)
        .form(&[("username", "eve")])
        .send()
        .await
        .unwrap();
    assert_problem(form, 415, "unsupported_media_type").await;
    assert_problem(app.get_as(&admin.token, "/admin/users/nobody").await, 404, "not_found").await;
});

both_backends!(async fn disabling_a_user_ends_their_tokens_and_enabling_lets_them_log_in_again(app) {
    let admin = app.create_admin("root").await;
    let bob = app.create_admin("bob").await;
    assert_eq!(app.get_as(&bob.token, "/admin/users").await.status(), 200);

    let disabled = json_body(app.post_as(&admin.token, "/admin/users/bob/disable").await).await;
    assert_eq!(disabled["disabled"], true);
    assert_problem(app.get_as(&bob.token, "/admin/users").await, 401, "invalid_token").await;

    let enabled = json_body(app.post_as(&admin.token, "/admin/users/bob/enable").await).await;
    assert_eq!(enabled["disabled"], false);
    // The old token stays revoked; a new login works.
    assert_eq!(app.get_as(&bob.token, "/admin/users").await.status(), 401);
    app.clock.advance(time::Duration::seconds(1));
    let again = app.login("bob").await;
    assert_eq!(app.get_as(&again.token, "/admin/users").await.status(), 200);
});

both_backends!(async fn the_last_administrator_cannot_be_disabled_deleted_or_demoted(app) {
    let admin = app.create_admin("root").await;
    assert_problem(app.post_as(&admin.token, "/admin/users/root/disable").await, 409, "protected").await;
    assert_problem(app.delete_as(&admin.token, "/admin/users/root").await, 409, "protected").await;
    assert_problem(app.delete_as(&admin.token, "/admin/users/root/roles/admin").await, 409, "protected").await;
});

both_backends!(async fn deleting_a_user_removes_them(app) {
    let admin = app.create_admin("root").await;
    app.create_user("bob", &[]).await;
    assert_eq!(app.delete_as(&admin.token, "/admin/users/bob").await.status(), 204);
    assert_problem(app.get_as(&admin.token, "/admin/users/bob").await, 404, "not_found").await;
    assert_problem(app.delete_as(&admin.token, "/admin/users/bob").await, 404, "not_found").await;
});

both_backends!(async fn resetting_a_password_checks_the_policy_and_ends_sessions(app) {
    let admin = app.create_admin("root").await;
    let bob = app.create_user("bob", &[]).await;
    let weak = app.post_json_as(&admin.token, "/admin/users/bob/password", &json!({"password": "bob"})).await;
    assert_problem(weak, 422, "weak_password").await;
    let reset = app
        .post_json_as(&admin.token, "/admin/users/bob/password", &json!({"password": "a new long passphrase"}))
        .await;
    assert_eq!(reset.status(), 204);
    assert_problem(app.get_as(&bob.token, "/auth/me").await, 401, "invalid_token").await;
    let old = app.post_json("/auth/login", &json!({"username": "bob", "password": TEST_PASSWORD})).await;
    assert_eq!(old.status(), 401);
    let new = app.post_json("/auth/login", &json!({"username": "bob", "password": "a new long passphrase"})).await;
    assert_eq!(new.status(), 200);
});

both_backends!(async fn granting_and_revoking_a_role_changes_the_next_token(app) {
    let admin = app.create_admin("root").await;
    let bob = app.create_user("bob", &[]).await;
    assert_eq!(app.get_as(&bob.token, "/admin/users").await.status(), 403);
    let granted = json_body(app.put_as(&admin.token, "/admin/users/bob/roles/admin").await).await;
    assert_eq!(granted["roles"], json!(["admin"]));
    let bob = app.login("bob").await;
    assert_eq!(app.get_as(&bob.token, "/admin/users").await.status(), 200);
    let revoked = json_body(app.delete_as(&admin.token, "/admin/users/bob/roles/admin").await).await;
    assert_eq!(revoked["roles"], json!([]));
    assert_problem(app.put_as(&admin.token, "/admin/users/bob/roles/ghost").await, 404, "not_found").await;
});

both_backends!(async fn an_admin_lists_and_ends_a_users_sessions(app) {
    let admin = app.create_admin("root").await;
    let bob = app.create_user("bob", &[]).await;
    app.login("bob").await;
    let sessions = json_body(app.get_as(&admin.token, "/admin/users/bob/sessions").await).await;
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    let revoked = json_body(app.post_as(&admin.token, "/admin/users/bob/sessions/revoke").await).await;
    assert_eq!(revoked["revoked"], 2);
    assert_problem(app.get_as(&bob.token, "/auth/me").await, 401, "invalid_token").await;
    let refresh = app.post_json("/auth/refresh", &json!({"refresh_token": bob.refresh_token})).await;
    assert_eq!(refresh.status(), 401);
    let sessions = json_body(app.get_as(&admin.token, "/admin/users/bob/sessions").await).await;
    assert_eq!(sessions, json!([]));
});
