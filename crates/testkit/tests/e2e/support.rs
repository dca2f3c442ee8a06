//! Helpers of the web suite: a cookie-keeping HTTP client for UI forms, a small upstream for
//! the "Fetch data" route, and a headless Chromium driven through a chromedriver this process
//! starts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use axum::Json;
use axum::http::HeaderMap;
use fantoccini::{Client, ClientBuilder, Locator};
use gatehouse_server::Config;
use gatehouse_testkit::TestApp;
use serde_json::json;

/// A browser-like HTTP client for the UI: keeps the cookies it is given, reads CSRF tokens
/// out of pages, follows no redirects.
pub struct Browserish {
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    pub http: reqwest::Client,
}

impl Browserish {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.base_url.clone(),
            cookies: BTreeMap::new(),
            http: app.client.clone(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for value in headers.get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(response.headers());
        response
    }

    /// `GET path` and the CSRF token of the page.
    pub async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await.text().await.unwrap();
        csrf_of(&page)
    }

    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(response.headers());
        response
    }

    /// Signs in through the form; panics unless it succeeds.
    pub async fn sign_in(&mut self, username: &str, password: &str) {
        let csrf = self.csrf("/ui/login").await;
        let response = self
            .post_form(
                "/ui/login",
                &[
                    ("csrf", &csrf),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "sign-in should redirect home");
        assert!(self.cookies.contains_key("gatehouse_session"));
    }
}

/// The CSRF token in a page (`<meta name="csrf-token" content="…">`).
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf-token\" content=\"";
    let start = page.find(marker).expect("page has a CSRF token") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// Starts an upstream that answers every request with JSON naming the caller (from the
/// gateway's identity headers); returns its address.
pub async fn spawn_upstream() -> SocketAddr {
    async fn answer(headers: HeaderMap) -> Json<serde_json::Value> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        Json(json!({
            "report": "quarterly numbers",
            "rows": [{"region": "north", "total": 1200}, {"region": "south", "total": 950}],
            "served_to": header("x-auth-username"),
            "roles": header("x-auth-roles"),
        }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(answer);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Puts a gateway route `/api/demo` → `upstream` that needs the role `reader` into `config`.
pub fn demo_route(config: &mut Config, upstream: SocketAddr) {
    let toml = format!(
        "[[routes]]\npath = \"/api/demo\"\nupstream = \"http://{upstream}\"\nallow = {{ roles_any = [\"reader\"] }}\n"
    );
    config.routes = Config::from_toml_str(&toml).unwrap().routes;
}

/// Where screenshots go: `target/e2e-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A headless Chromium session with its own chromedriver and a fresh profile.
pub struct Chrome {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Chrome {
    /// Starts chromedriver on a free port and opens a headless Chromium with a fresh profile.
    pub async fn start() -> Self {
        let port = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap().port()
        };
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..50 {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            builder.capabilities(capabilities.clone());
            match builder.connect(&url).await {
                Ok(client) => {
                    return Self {
                        client,
                        driver,
                        _profile: profile,
                    };
                }
                Err(error) => {
                    last_error = Some(error);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("chromedriver did not start: {last_error:?}");
    }

    /// Opens `url` and waits for the page to be there.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Saves a screenshot as `target/e2e-screenshots/<name>.png`.
    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
    }

    /// Retries `step` on the element with id `id` until it succeeds or 10 s pass: right after a
    /// click the old page may still be there, or its elements may have gone stale.
    async fn with_element<T, F, Fut>(&self, id: &str, step: F) -> T
    where
        F: Fn(fantoccini::elements::Element) -> Fut,
        Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let attempt = match self.client.find(Locator::Id(id)).await {
                Ok(element) => step(element).await,
                Err(error) => Err(error),
            };
            match attempt {
                Ok(value) => return value,
                Err(error) if std::time::Instant::now() > deadline => {
                    panic!("#{id} not usable: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Fills the field with id `id`.
    pub async fn fill(&self, id: &str, value: &str) {
        self.with_element(id, |field| async move {
            field.clear().await?;
            field.send_keys(value).await
        })
        .await;
    }

    /// Clicks the element with id `id`.
    pub async fn click(&self, id: &str) {
        self.with_element(id, |element| async move { element.click().await })
            .await;
    }

    /// The text of the element with id `id`, waiting for it to exist.
    pub async fn text(&self, id: &str) -> String {
        self.with_element(id, |element| async move { element.text().await })
            .await
    }

    /// Waits until the current path is `expected`, and returns it.
    pub async fn wait_path(&self, expected: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let path = self.client.current_url().await.unwrap().path().to_owned();
            if path == expected || std::time::Instant::now() > deadline {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the browser session and chromedriver.
    pub async fn quit(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}

/// Configures the stand-in provider at `issuer` as `[[web.providers]]` "acme", mapping its
/// `Reports.Read` role to the local role `reader`.
pub fn sso_provider(config: &mut Config, issuer: &str) {
    use gatehouse_testkit::oidc_sso::{SSO_CLIENT_ID, SSO_CLIENT_SECRET};
    let toml = format!(
        "[[web.providers]]\nname = \"acme\"\ndisplay_name = \"Acme ID\"\nissuer = \"{issuer}\"\n\
         client_id = \"{SSO_CLIENT_ID}\"\nclient_secret = \"{SSO_CLIENT_SECRET}\"\n\
         map_roles = {{ \"Reports.Read\" = \"reader\" }}\n"
    );
    config.web.providers = Config::from_toml_str(&toml).unwrap().web.providers;
}
