//! Revocation at the gateway: a logged-out token is refused at once on the instance that
//! logged it out, and within `REVOCATION_RECHECK` (1 s) on another instance sharing the
//! PostgreSQL database.

use gatehouse_testkit::{Backend, assert_problem, spawn_app_with};

use crate::gateway_support::{Upstream, gateway_test, spawn_gateway, standard_routes};

gateway_test!(async fn a_logged_out_token_is_refused_at_once(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let user = app.create_user("alice", &[]).await;
    assert_eq!(app.get_as(&user.token, "/api/x").await.status(), 200, "cached from here on");
    let logout = app.client.post(app.url("/auth/logout")).bearer_auth(&user.token).send().await.unwrap();
    assert!(logout.status().is_success(), "{}", logout.status());
    let response = app.get_as(&user.token, "/api/x").await;
    let body = assert_problem(response, 401, "invalid_token").await;
    assert_eq!(body["detail"], "the token has been revoked");
});

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_by_another_sharing_postgres() {
    let upstream = Upstream::start().await;
    let first = spawn_gateway(Backend::Postgres, &upstream, |_| {}).await;
    let database_url = first.state.config().database.url.clone();
    let issuer = first.state.public_url().clone();
    let addr = upstream.addr;
    let second = spawn_app_with(Backend::Postgres, move |config| {
        config.database.url = database_url;
        // One deployment: both instances issue and accept tokens as the same issuer.
        config.server.public_url = Some(issuer);
        config.routes = standard_routes(addr);
    })
    .await;
    let user = first.create_user("alice", &[]).await;
    // The second instance shares the key set and the user; it accepts (and caches) the token.
    assert_eq!(second.get_as(&user.token, "/api/x").await.status(), 200);
    let logout = first
        .client
        .post(first.url("/auth/logout"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success());
    // The second instance trusts a passed revocation check for at most REVOCATION_RECHECK
    // (1 s); poll well past it rather than assert a time, so a slow machine cannot flake.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut refused = second.get_as(&user.token, "/api/x").await;
    while refused.status() == 200 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        refused = second.get_as(&user.token, "/api/x").await;
    }
    assert_problem(refused, 401, "invalid_token").await;
}
