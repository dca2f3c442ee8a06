//! Test support for Gatehouse: spawn_app() on a random port, fixture keys, a stand-in OIDC provider. Its tests/ folder holds the HTTP integration suite.
//!
//! [`spawn_app`] starts the real server (the same [`Server`] `gatehouse serve` runs) on
//! `127.0.0.1:0` with its own database — a temporary SQLite file, or a fresh PostgreSQL
//! database on `GATEHOUSE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! that is dropped afterwards — and a [`ManualClock`] the test moves. [`both_backends!`] runs
//! one test body against both databases.

#![allow(
    clippy::expect_used,
    reason = "test support: a set-up that fails must fail the test, with the reason"
)]

pub mod oidc_provider;
pub mod oidc_sso;

use std::net::SocketAddr;
use std::sync::Arc;

use gatehouse_auth::{ClientContext, NewAccount};
use gatehouse_server::{AppState, Clock, Config, ManualClock, Server};
use gatehouse_store::testing::TestDatabase;
use gatehouse_store::{ADMIN_ROLE, User};
use secrecy::SecretString;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use gatehouse_store::Backend;

/// Where every test's clock starts: a fixed instant, so tests never depend on the real date.
pub const TEST_EPOCH: OffsetDateTime = time::macros::datetime!(2026-06-01 12:00 UTC);

/// The password [`TestApp::create_user`] gives every account.
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// A running server on a random port with its own database.
pub struct TestApp {
    /// The bound address.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`, also the token issuer.
    pub base_url: String,
    /// Which database is behind it.
    pub backend: Backend,
    /// The server's state (store, keys, auth, config).
    pub state: AppState,
    /// The server's clock; move it to expire tokens without sleeping.
    pub clock: Arc<ManualClock>,
    /// An HTTP client (no redirects followed).
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    // Dropped last: removes the SQLite directory or drops the PostgreSQL database.
    _database: TestDatabase,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("base_url", &self.base_url)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// Starts a server on `backend` with the test configuration (see [`spawn_app_with`]).
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts a server on `backend` after `configure` adjusted the test configuration: listen on
/// `127.0.0.1:0`, the issuer derived from the bound port, cheap Argon2 parameters (strength is
/// not under test), everything else at its defaults.
///
/// # Panics
/// When the database or the server cannot be set up: the test cannot run then.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    let database = match backend {
        Backend::Sqlite => TestDatabase::sqlite().expect("temporary SQLite database"),
        Backend::Postgres => TestDatabase::postgres()
            .await
            .expect("fresh PostgreSQL database (is GATEHOUSE_TEST_POSTGRES_URL reachable?)"),
    };
    let mut config = Config::default();
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.database.url = database.url().parse().expect("test database URL");
    config.passwords.argon2_memory_kib = 7168;
    config.passwords.argon2_iterations = 1;
    configure(&mut config);

    let clock = Arc::new(ManualClock::new(TEST_EPOCH));
    let server = Server::build(config, Arc::clone(&clock) as Arc<dyn Clock>)
        .await
        .expect("server starts");
    let addr = server.local_addr();
    let state = server.state().clone();
    let (shutdown, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(server.run(async move {
        let _ = stop.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    TestApp {
        addr,
        base_url: format!("http://{addr}"),
        backend,
        state,
        clock,
        client,
        shutdown: Some(shutdown),
        server,
        _database: database,
    }
}

/// A user made by [`TestApp::create_user`] or [`TestApp::create_admin`], with a fresh access
/// token.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// The account.
    pub user: User,
    /// Its password ([`TEST_PASSWORD`]).
    pub password: String,
    /// An access token from a login.
    pub token: String,
    /// The refresh token of that login.
    pub refresh_token: String,
}

impl TestApp {
    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// `GET path` with a bearer token.
    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a JSON body and no credentials.
    pub async fn post_json(&self, path: &str, body: &impl Serialize) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a JSON body and a bearer token.
    pub async fn post_json_as(
        &self,
        token: &str,
        path: &str,
        body: &impl Serialize,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a bearer token and no body.
    pub async fn post_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// `PATCH path` with a JSON body and a bearer token.
    pub async fn patch_json_as(
        &self,
        token: &str,
        path: &str,
        body: &impl Serialize,
    ) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `PUT path` with a bearer token and no body.
    pub async fn put_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// `DELETE path` with a bearer token.
    pub async fn delete_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// Creates an account with `roles` (through the auth service, as an administrator would)
    /// and logs it in.
    ///
    /// # Panics
    /// When the account cannot be created or logged in.
    pub async fn create_user(&self, username: &str, roles: &[&str]) -> TestUser {
        let now = self.clock.now();
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        let context = ClientContext::default();
        self.state
            .auth()
            .create_account(
                NewAccount {
                    username: username.to_owned(),
                    password: SecretString::from(TEST_PASSWORD),
                    email: None,
                },
                &roles,
                Some("system"),
                &context,
                now,
            )
            .await
            .expect("test account created");
        self.login(username).await
    }

    /// Creates an account holding the `admin` role (permission `gatehouse:admin`) and logs it
    /// in.
    pub async fn create_admin(&self, username: &str) -> TestUser {
        self.create_user(username, &[ADMIN_ROLE]).await
    }

    /// Logs `username` in with [`TEST_PASSWORD`] (through the auth service).
    ///
    /// # Panics
    /// When the login fails.
    pub async fn login(&self, username: &str) -> TestUser {
        let now = self.clock.now();
        let signer = self.state.keys().signer();
        let issued = self
            .state
            .auth()
            .login(
                username,
                &SecretString::from(TEST_PASSWORD),
                &signer,
                &ClientContext::default(),
                now,
            )
            .await
            .expect("test login");
        let user = self
            .state
            .store()
            .user_by_username(username)
            .await
            .expect("store answers")
            .expect("user exists");
        TestUser {
            user,
            password: TEST_PASSWORD.to_owned(),
            token: issued.access_token,
            refresh_token: issued.refresh_token.expose().to_owned(),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.server).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.server.abort();
    }
}

/// Reads a response body as JSON.
///
/// # Panics
/// When the body is not JSON.
pub async fn json_body(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.expect("response body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
}

/// Asserts that `response` is a problem+json with `status` and `code`, and returns its body.
///
/// # Panics
/// When it is not.
pub async fn assert_problem(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body = json_body(response).await;
    assert_eq!(body["code"], code, "problem code in {body}");
    assert_eq!(body["status"], status);
    assert_eq!(
        body["type"],
        format!("https://gatehouse.dev/problems/{code}")
    );
    body
}

/// Runs an async test body against SQLite and against PostgreSQL, as two tests named
/// `<name>::sqlite` and `<name>::postgres`.
///
/// ```ignore
/// both_backends!(async fn healthz_answers(app) {
///     assert_eq!(app.get("/healthz").await.status(), 200);
/// });
/// ```
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* async fn $name:ident($app:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: $crate::TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                body($crate::spawn_app($crate::Backend::Sqlite).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                body($crate::spawn_app($crate::Backend::Postgres).await).await;
            }
        }
    };
}
