//! `POST /auth/login`: tokens, one answer for every bad credential, throttling.

use gatehouse_testkit::{TEST_PASSWORD, assert_problem, both_backends, json_body};
use gatehouse_token::unverified;
use serde_json::{Value, json};

async fn login(
    app: &gatehouse_testkit::TestApp,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.post_json(
        "/auth/login",
        &json!({"username": username, "password": password}),
    )
    .await
}

both_backends!(async fn login_answers_a_bearer_token_pair_that_is_not_cached(app) {
    let alice = app.create_user("alice", &["admin"]).await;
    let response = login(&app, "ALICE", TEST_PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json_body(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_expires_in"], 30 * 24 * 3600);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);

    // RFC 9068 shape, checked on the wire.
    let token = body["access_token"].as_str().unwrap();
    let inspected = unverified::inspect(token).unwrap();
    assert_eq!(inspected.header["typ"], "at+jwt");
    assert_eq!(inspected.header["alg"], "ES256");
    let kid = inspected.header["kid"].as_str().unwrap();
    let jwks = json_body(app.get("/.well-known/jwks.json").await).await;
    assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid));
    let claims = inspected.claims.as_map();
    let epoch = gatehouse_testkit::TEST_EPOCH.unix_timestamp();
    assert_eq!(claims["iss"], app.base_url.as_str());
    assert_eq!(claims["sub"], alice.user.id.to_string().as_str());
    assert_eq!(claims["aud"], "gatehouse");
    assert_eq!(claims["iat"], epoch);
    assert_eq!(claims["nbf"], epoch);
    assert_eq!(claims["exp"], epoch + 900);
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["roles"], json!(["admin"]));
    assert_eq!(claims["groups"], json!([]));
    assert_eq!(claims["permissions"], json!(["gatehouse:admin"]));
    assert_eq!(claims["client_id"], "gatehouse");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    // The token works on the API.
    assert_eq!(app.get_as(token, "/auth/me").await.status(), 200);
});

both_backends!(async fn an_unknown_user_and_a_wrong_password_get_the_same_401(app) {
    app.create_user("alice", &[]).await;
    let unknown = login(&app, "nobody", TEST_PASSWORD).await;
    let wrong = login(&app, "alice", "not the right password").await;
    let challenge = |r: &reqwest::Response| r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert_eq!(challenge(&unknown), challenge(&wrong));
    let unknown: Value = assert_problem(unknown, 401, "invalid_credentials").await;
    let wrong: Value = assert_problem(wrong, 401, "invalid_credentials").await;
    assert_eq!(unknown, wrong);
});

both_backends!(async fn a_disabled_account_gets_the_same_401(app) {
    let alice = app.create_user("alice", &[]).await;
    app.state.store().set_user_disabled(alice.user.id, true, app.state.now()).await.unwrap();
    assert_problem(login(&app, "alice", TEST_PASSWORD).await, 401, "invalid_credentials").await;
});

both_backends!(async fn repeated_failures_answer_429_with_retry_after_until_the_delay_passes(app) {
    app.create_user("alice", &[]).await;
    for _ in 0..6 {
        assert_eq!(login(&app, "alice", "wrong wrong wrong").await.status(), 401);
    }
    // Locked: even the right password waits, and the answer says how long.
    let response = login(&app, "alice", TEST_PASSWORD).await;
    assert_eq!(response.headers()["retry-after"], "1");
    assert_problem(response, 429, "too_many_requests").await;

    app.clock.advance(time::Duration::seconds(1));
    assert_eq!(login(&app, "alice", "wrong wrong wrong").await.status(), 401);
    // The delay doubles.
    let response = login(&app, "alice", TEST_PASSWORD).await;
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(response.status(), 429);

    app.clock.advance(time::Duration::seconds(2));
    assert_eq!(login(&app, "alice", TEST_PASSWORD).await.status(), 200);

    let throttled = app
        .state
        .store()
        .query_audit(&gatehouse_store::AuditQuery { action: Some("login.throttled".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(throttled.len(), 2);
});

both_backends!(async fn many_failures_from_one_address_throttle_every_username_from_it(app) {
    app.create_user("victim", &[]).await;
    // 21 failures spread over usernames, so no single account reaches its own limit.
    for i in 0..21 {
        assert_eq!(login(&app, &format!("user{}", i % 5), "wrong wrong wrong").await.status(), 401);
    }
    let response = login(&app, "victim", TEST_PASSWORD).await;
    assert_problem(response, 429, "too_many_requests").await;
});

both_backends!(async fn a_bcrypt_hash_imported_from_the_flask_app_logs_in_and_is_upgraded(app) {
    let alice = app.create_user("alice", &[]).await;
    // What Flask-Bcrypt stores: `$2b$12$…` (cost lowered to keep the test fast).
    let legacy = "$2b$04$LipVWFTAcQI9uHYzr6VE/egm91g3lxtZ8Kihqz4rxfPrZ9e6KsS3W";
    app.state.store().set_password_hash(alice.user.id, legacy).await.unwrap();
    assert_eq!(login(&app, "alice", "hunter2hunter2").await.status(), 200);
    let upgraded = app.state.store().user(alice.user.id).await.unwrap().unwrap().password_hash;
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    assert_eq!(login(&app, "alice", "hunter2hunter2").await.status(), 200);
});

both_backends!(async fn a_login_body_that_is_not_json_is_415_and_bad_json_is_400(app) {
    let response = app.client.post(app.url("/auth/login")).body("username=a&password=b").send().await.unwrap();
    assert_eq!(response.status(), 415);
    let response = app
        .client
        .post(app.url("/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
});
