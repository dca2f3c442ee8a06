//! `POST /auth/signup`.

use gatehouse_testkit::{Backend, assert_problem, both_backends, json_body, spawn_app_with};
use serde_json::json;

both_backends!(async fn signup_creates_an_account_and_answers_201_with_id_username_and_roles(app) {
    let response = app
        .post_json("/auth/signup", &json!({"username": "Alice", "password": "correct horse battery staple", "email": "alice@example.com"}))
        .await;
    assert_eq!(response.status(), 201);
    let body = json_body(response).await;
    assert_eq!(body["username"], "Alice");
    // The default configuration gives every new account the role `user`.
    assert_eq!(body["roles"], json!(["user"]));
    assert!(body["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok(), "{body}");
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
    let stored = app.state.store().user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(stored.id.to_string(), body["id"]);
    assert!(stored.password_hash.starts_with("$argon2id$"));
});

both_backends!(async fn a_username_taken_in_any_case_is_409(app) {
    let body = json!({"username": "alice", "password": "correct horse battery staple"});
    assert_eq!(app.post_json("/auth/signup", &body).await.status(), 201);
    let again = json!({"username": "ALICE", "password": "another good passphrase"});
    assert_problem(app.post_json("/auth/signup", &again).await, 409, "username_taken").await;
});

both_backends!(async fn weak_passwords_are_422_weak_password(app) {
    for (password, why) in [
        ("Xq7#pLm", "under 8 characters"),
        ("BobTheBuilder", "the username in another case"),
        ("password123", "on the common-password list"),
        ("iloveyou", "on the common-password list"),
    ] {
        let response = app
            .post_json("/auth/signup", &json!({"username": "bobthebuilder", "password": password}))
            .await;
        let body = assert_problem(response, 422, "weak_password").await;
        assert!(!body.to_string().contains(password), "{why}: the password is echoed in {body}");
    }
    assert!(app.state.store().user_by_username("bobthebuilder").await.unwrap().is_none());
});

both_backends!(async fn invalid_usernames_are_422_invalid_username(app) {
    for username in ["ab", "has space", "ctrl\u{7}char", "émile", &"x".repeat(65)] {
        let response = app
            .post_json("/auth/signup", &json!({"username": username, "password": "correct horse battery staple"}))
            .await;
        assert_problem(response, 422, "invalid_username").await;
    }
});

both_backends!(async fn a_malformed_email_is_422_and_a_missing_field_is_422(app) {
    let response = app
        .post_json("/auth/signup", &json!({"username": "carol", "password": "correct horse battery staple", "email": "not-an-address"}))
        .await;
    assert_problem(response, 422, "invalid_email").await;
    let response = app.post_json("/auth/signup", &json!({"username": "carol"})).await;
    assert_eq!(response.status(), 422);
});

both_backends!(async fn new_accounts_get_the_configured_default_roles(app) {
    // The default app gives `user`; a fresh app configured otherwise gives its roles.
    let backend = app.backend;
    drop(app);
    let app = spawn_app_with(backend, |config| config.signup.default_roles = vec!["reader".into()]).await;
    app.state.store().create_role("reader", "reads reports").await.unwrap();
    let response = app
        .post_json("/auth/signup", &json!({"username": "dave", "password": "correct horse battery staple"}))
        .await;
    assert_eq!(json_body(response).await["roles"], json!(["reader"]));
});

async fn closed_signup_is_403(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.signup.mode = gatehouse_server::config::SignupMode::Closed;
    })
    .await;
    let response = app
        .post_json(
            "/auth/signup",
            &json!({"username": "erin", "password": "correct horse battery staple"}),
        )
        .await;
    assert_problem(response, 403, "signup_closed").await;
    assert!(
        app.state
            .store()
            .user_by_username("erin")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn closed_signup_is_403_on_sqlite() {
    closed_signup_is_403(Backend::Sqlite).await;
}

#[tokio::test]
async fn closed_signup_is_403_on_postgres() {
    closed_signup_is_403(Backend::Postgres).await;
}

both_backends!(async fn signup_is_audited_without_the_password(app) {
    let response = app
        .post_json("/auth/signup", &json!({"username": "frank", "password": "correct horse battery staple"}))
        .await;
    assert_eq!(response.status(), 201);
    let events = app
        .state
        .store()
        .query_audit(&gatehouse_store::AuditQuery { action: Some("signup".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(!format!("{events:?}").contains("correct horse"));
});
