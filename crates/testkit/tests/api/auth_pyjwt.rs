//! An independent JWT library validates Gatehouse access tokens through the JWKS URL, as a
//! Flask backend of the seed documents would: PyJWT's `PyJWKClient` fetches
//! `/.well-known/jwks.json` from the running server and `jwt.decode` checks signature, `exp`,
//! `iss` and `aud`. Runs Debian's `/usr/bin/python3` (package python3-jwt); a missing PyJWT
//! fails the test rather than skipping it.

use std::process::Command;

use gatehouse_testkit::{Backend, TEST_PASSWORD, TestApp, json_body, spawn_app};
use serde_json::{Value, json};
use time::OffsetDateTime;

const PYTHON: &str = "/usr/bin/python3";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/pyjwt_validate.py");

enum Outcome {
    Accepted(Value),
    Rejected(String),
}

/// Runs PyJWT in a blocking task: it fetches the JWKS from this very server, which must keep
/// answering meanwhile.
async fn pyjwt(app: &TestApp, token: &str, audience: &str) -> Outcome {
    let args = [
        SCRIPT.to_owned(),
        app.url("/.well-known/jwks.json"),
        token.to_owned(),
        app.base_url.clone(),
        audience.to_owned(),
    ];
    let output = tokio::task::spawn_blocking(move || Command::new(PYTHON).args(args).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => Outcome::Accepted(serde_json::from_str(&stdout).unwrap()),
        Some(3) => Outcome::Rejected(stdout),
        _ => panic!(
            "PyJWT check did not run (exit {:?}): {stdout}\n{stderr}",
            output.status.code()
        ),
    }
}

/// PyJWT compares `exp` with the real clock, so this app's clock is set to the real time.
async fn app_on_real_time() -> TestApp {
    let app = spawn_app(Backend::Sqlite).await;
    app.clock.set(OffsetDateTime::now_utc());
    app
}

async fn login(app: &TestApp, username: &str) -> String {
    app.state.store().create_role("reader", "").await.ok();
    app.create_user(username, &["reader"]).await;
    let response = app
        .post_json(
            "/auth/login",
            &json!({"username": username, "password": TEST_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
    json_body(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn pyjwt_validates_a_gatehouse_access_token_through_the_jwks_url() {
    let app = app_on_real_time().await;
    let token = login(&app, "alice").await;
    let Outcome::Accepted(decoded) = pyjwt(&app, &token, "gatehouse").await else {
        panic!("PyJWT refused a valid Gatehouse token");
    };
    assert_eq!(decoded["header"]["typ"], "at+jwt");
    assert_eq!(decoded["header"]["alg"], "ES256");
    let claims = &decoded["claims"];
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["roles"], json!(["reader"]));
    assert_eq!(claims["iss"], app.base_url.as_str());
    let user = app
        .state
        .store()
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims["sub"], user.id.to_string());
}

#[tokio::test]
async fn pyjwt_refuses_a_gatehouse_token_for_another_audience() {
    let app = app_on_real_time().await;
    let token = login(&app, "alice").await;
    match pyjwt(&app, &token, "some-other-api").await {
        Outcome::Rejected(reason) => assert_eq!(reason, "REJECTED InvalidAudienceError"),
        Outcome::Accepted(_) => panic!("PyJWT accepted a token for another audience"),
    }
}

#[tokio::test]
async fn pyjwt_refuses_an_expired_gatehouse_token() {
    let app = spawn_app(Backend::Sqlite).await;
    // Issued an hour ago by the server's clock: expired 45 minutes ago in real time.
    app.clock
        .set(OffsetDateTime::now_utc() - time::Duration::hours(1));
    let token = login(&app, "alice").await;
    match pyjwt(&app, &token, "gatehouse").await {
        Outcome::Rejected(reason) => assert_eq!(reason, "REJECTED ExpiredSignatureError"),
        Outcome::Accepted(_) => panic!("PyJWT accepted an expired token"),
    }
}

#[tokio::test]
async fn pyjwt_refuses_a_token_whose_signature_was_tampered_with() {
    let app = app_on_real_time().await;
    let token = login(&app, "alice").await;
    // Swap the claims for another user's: the signature no longer matches.
    let other = login(&app, "bob").await;
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = other.split('.').nth(1).unwrap();
    match pyjwt(&app, &parts.join("."), "gatehouse").await {
        Outcome::Rejected(reason) => assert_eq!(reason, "REJECTED InvalidSignatureError"),
        Outcome::Accepted(_) => panic!("PyJWT accepted a forged token"),
    }
}
