//! Revocation at the gateway: a logged-out token is refused at once, on this instance and on
//! another instance sharing the PostgreSQL database.

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
    assert_problem(
        second.get_as(&user.token, "/api/x").await,
        401,
        "invalid_token",
    )
    .await;
}
