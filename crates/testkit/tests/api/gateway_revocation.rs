//! Revocation at the gateway: a logged-out token is refused at once on the instance that
//! logged it out; another instance sharing the database learns of it from the revocation log
//! (PostgreSQL `NOTIFY`, polling on SQLite) within `database.revocation_poll`; and an instance
//! that cannot read the log stops re-using passed checks and asks the database, failing
//! closed.

use std::time::{Duration, Instant};

use gatehouse_server::Config;
use gatehouse_server::config::ConfigDuration;
use gatehouse_store::UserId;
use gatehouse_testkit::{Backend, TestApp, assert_problem, spawn_app_with};

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

gateway_test!(async fn a_logout_on_one_instance_is_refused_by_another_sharing_the_database(backend) {
    let upstream = Upstream::start().await;
    let first = spawn_gateway(backend, &upstream, |_| {}).await;
    let second = spawn_second(&first, &upstream, |_| {}).await;
    let user = first.create_user("alice", &[]).await;
    // The second instance shares the key set and the user; it accepts (and caches) the token.
    assert_eq!(second.get_as(&user.token, "/api/x").await.status(), 200);
    logout(&first, &user.token).await;
    // The second instance hears of it through the revocation log; poll well past the poll
    // period rather than assert a time, so a slow machine cannot flake.
    let refused = refused_within(&second, &user.token, Duration::from_secs(5)).await;
    assert_problem(refused, 401, "invalid_token").await;
});

gateway_test!(async fn another_instance_learns_a_revocation_from_the_log_not_from_a_recheck(backend) {
    let upstream = Upstream::start().await;
    let first = spawn_gateway(backend, &upstream, |_| {}).await;
    let second = spawn_second(&first, &upstream, |config| {
        config.database.revocation_poll = ConfigDuration::from_secs(1);
    })
    .await;
    let user = first.create_user("alice", &[]).await;
    let feed = second.state.gateway().revocation_feed();
    wait_until_fresh(&second).await;
    assert_eq!(second.get_as(&user.token, "/api/x").await.status(), 200);

    // A change the log does not carry (a hand edit of the database) goes unseen while the
    // second instance's feed is up to date: it re-uses its passed check instead of asking the
    // database on every request. So what refuses the token below is the log.
    hand_edit_disabled(&first, user.user.id, true).await;
    wait_until_fresh(&second).await;
    assert_eq!(second.get_as(&user.token, "/api/x").await.status(), 200, "re-used, not re-checked");
    hand_edit_disabled(&first, user.user.id, false).await;

    let before = feed.generation();
    logout(&first, &user.token).await;
    let refused = refused_within(&second, &user.token, Duration::from_secs(10)).await;
    assert_problem(refused, 401, "invalid_token").await;
    assert!(feed.generation() > before, "the second instance's follower read the logout");
});

gateway_test!(async fn an_instance_that_cannot_read_the_log_asks_the_database_and_fails_closed(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let user = app.create_user("alice", &[]).await;
    wait_until_fresh(&app).await;
    assert_eq!(app.get_as(&user.token, "/api/x").await.status(), 200, "cached from here on");
    // The database goes away for the follower and for revocation checks alike.
    app.state.store().close().await;
    // The passed check is no longer re-used (it was good for a minute otherwise): the store
    // is asked, cannot answer, and the token is refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut response = app.get_as(&user.token, "/api/x").await;
    while response.status() == 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        response = app.get_as(&user.token, "/api/x").await;
    }
    assert_problem(response, 503, "unavailable").await;
    assert!(!app.state.gateway().revocation_feed().is_fresh());
});

/// A second server on `first`'s database, guarding `upstream` as one deployment with it: both
/// instances issue and accept tokens as the same issuer.
async fn spawn_second(
    first: &TestApp,
    upstream: &Upstream,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let database_url = first.state.config().database.url.clone();
    let issuer = first.state.public_url().clone();
    let addr = upstream.addr;
    spawn_app_with(first.backend, move |config| {
        config.database.url = database_url;
        config.server.public_url = Some(issuer);
        config.routes = standard_routes(addr);
        configure(config);
    })
    .await
}

async fn logout(app: &TestApp, token: &str) {
    let logout = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success(), "{}", logout.status());
}

/// `app`'s answer to `token` once it is no longer 200, or its last answer at the deadline.
async fn refused_within(app: &TestApp, token: &str, limit: Duration) -> reqwest::Response {
    let deadline = Instant::now() + limit;
    let mut response = app.get_as(token, "/api/x").await;
    while response.status() == 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        response = app.get_as(token, "/api/x").await;
    }
    response
}

/// Waits until `app`'s follower has read the revocation log to its end recently.
async fn wait_until_fresh(app: &TestApp) {
    let feed = app.state.gateway().revocation_feed();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !feed.is_fresh() {
        assert!(
            Instant::now() < deadline,
            "the revocation follower never caught up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Disables or enables an account behind the store's back, as a hand edit of the database
/// would: no revocation-log entry.
async fn hand_edit_disabled(app: &TestApp, user: UserId, disabled: bool) {
    let url = app.state.config().database.url.expose().to_owned();
    let sql = "UPDATE users SET disabled = $1 WHERE id = $2";
    let done = match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let done = sqlx::query(sql)
                .bind(disabled)
                .bind(user.to_string())
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            done.rows_affected()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let done = sqlx::query(sql)
                .bind(disabled)
                .bind(user.to_string())
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            done.rows_affected()
        }
    };
    assert_eq!(done, 1);
}
