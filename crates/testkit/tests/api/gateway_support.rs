//! Shared set-up of the gateway tests: a stand-in upstream service and a server configured to
//! guard it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{any, get};
use gatehouse_server::Config;
use gatehouse_server::config::gateway::{AllowConfig, RouteConfig};
use gatehouse_testkit::{Backend, TestApp, spawn_app_with};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};

/// Runs a gateway test body against SQLite and PostgreSQL; the body gets the [`Backend`].
macro_rules! gateway_test {
    (async fn $name:ident($backend:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($backend: gatehouse_testkit::Backend) $body

            #[tokio::test]
            async fn sqlite() {
                body(gatehouse_testkit::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                body(gatehouse_testkit::Backend::Postgres).await;
            }
        }
    };
}
pub(crate) use gateway_test;

/// The stand-in upstream: `/echo/…` answers with what it received as JSON; `/events` streams
/// two server-sent events, the second only after [`Upstream::release_second_event`];
/// `/slow` never answers; `/ws` accepts a protocol upgrade and echoes bytes.
pub struct Upstream {
    pub addr: SocketAddr,
    release: Arc<Mutex<Option<oneshot::Sender<()>>>>,
}

impl Upstream {
    pub async fn start() -> Self {
        let (release_tx, release_rx) = oneshot::channel::<()>();
        let release_rx = Arc::new(Mutex::new(Some(release_rx)));
        let router = Router::new()
            .route("/{*rest}", any(echo))
            .route(
                "/public/events",
                get(move || {
                    let release_rx = Arc::clone(&release_rx);
                    async move { events(release_rx).await }
                }),
            )
            .route("/public/slow", get(std::future::pending::<&'static str>))
            .route("/public/ws", get(websocket));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            addr,
            release: Arc::new(Mutex::new(Some(release_tx))),
        }
    }

    pub async fn release_second_event(&self) {
        if let Some(tx) = self.release.lock().await.take() {
            let _ = tx.send(());
        }
    }
}

async fn echo(request: Request) -> axum::Json<Value> {
    let headers: Map<String, Value> = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                Value::from(v.to_str().unwrap_or("?")),
            )
        })
        .collect();
    axum::Json(json!({
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "query": request.uri().query(),
        "headers": headers,
    }))
}

async fn events(release: Arc<Mutex<Option<oneshot::Receiver<()>>>>) -> Response {
    let release = release.lock().await.take();
    let first = futures_util::stream::once(async {
        Ok::<_, Infallible>(bytes::Bytes::from("data: {\"token\":\"Hel\"}\n\n"))
    });
    let second = futures_util::stream::once(async move {
        if let Some(release) = release {
            let _ = release.await;
        }
        Ok::<_, Infallible>(bytes::Bytes::from("data: {\"token\":\"lo\"}\n\n"))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(futures_util::StreamExt::chain(
            first, second,
        )))
        .unwrap()
}

async fn websocket(mut request: Request) -> Response {
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut io = hyper_util::rt::TokioIo::new(upgraded);
        let mut buf = [0u8; 256];
        while let Ok(n) = io.read(&mut buf).await {
            if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .body(Body::empty())
        .unwrap()
}

fn route(path: &str, upstream: SocketAddr) -> RouteConfig {
    RouteConfig {
        path: path.into(),
        upstream: Some(format!("http://{upstream}")),
        ..RouteConfig::default()
    }
}

/// The routes every gateway test uses:
/// - `/public` — no token;
/// - `/api` — any valid token;
/// - `/api/reports` — role `Admin`;
/// - `/api/admin` — permission `gatehouse:admin`, GET only;
/// - `/svc` — any token, prefix stripped, client's Authorization forwarded.
pub fn standard_routes(upstream: SocketAddr) -> Vec<RouteConfig> {
    let mut public = route("/public", upstream);
    public.public = true;
    let mut reports = route("/api/reports", upstream);
    reports.allow = Some(AllowConfig {
        roles_any: vec!["Admin".into()],
        ..AllowConfig::default()
    });
    let mut admin = route("/api/admin", upstream);
    admin.methods = Some(vec!["GET".into()]);
    admin.allow = Some(AllowConfig {
        permissions_all: vec!["gatehouse:admin".into()],
        ..AllowConfig::default()
    });
    let mut svc = route("/svc", upstream);
    svc.strip_prefix = true;
    svc.forward_authorization = true;
    vec![public, route("/api", upstream), reports, admin, svc]
}

/// A server guarding `upstream` with [`standard_routes`]; `configure` may add more.
pub async fn spawn_gateway(
    backend: Backend,
    upstream: &Upstream,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let addr = upstream.addr;
    spawn_app_with(backend, move |config| {
        config.routes = standard_routes(addr);
        config.proxy.read_timeout = Duration::from_secs(2);
        configure(config);
    })
    .await
}

/// docs/gateway.md, read at compile time: the proxy tests run its snippets verbatim.
const GATEWAY_DOC: &str = include_str!("../../../../docs/gateway.md");

/// The one ```` ```lang ```` block of docs/gateway.md.
pub fn documented_snippet(lang: &str) -> String {
    let fence = format!("```{lang}\n");
    let mut blocks = GATEWAY_DOC.split(&fence).skip(1);
    let block = blocks
        .next()
        .unwrap_or_else(|| panic!("docs/gateway.md has no {lang} block"));
    assert!(
        blocks.next().is_none(),
        "docs/gateway.md should have one {lang} block"
    );
    let end = block.find("```").expect("the block ends");
    block[..end].to_owned()
}

/// `text` with `from`, which must occur exactly once, replaced by `to` (so the tests notice
/// when a documented snippet changes shape).
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` should occur once in:\n{text}"
    );
    text.replacen(from, to, 1)
}

/// A real proxy (nginx, Caddy) that a test runs in front of Gatehouse as a child process, in
/// its own temporary folder; killed when dropped.
pub struct ProxyProcess {
    child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its folder (configuration, logs, state).
    pub dir: tempfile::TempDir,
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ProxyProcess {
    /// The first of `paths` that exists. `None` (the test then skips) only off CI: under
    /// `CI` a missing binary fails, because `.ci/run` installs it.
    pub fn binary(name: &str, paths: &[&'static str]) -> Option<&'static str> {
        let found = paths
            .iter()
            .copied()
            .find(|path| std::path::Path::new(path).exists());
        if found.is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{name} must be installed on CI (.ci/run)"
            );
            eprintln!("{name} is not installed; skipping (apt-get install -y {name})");
        }
        found
    }

    /// A free loopback address (bound, read and released) for the proxy to listen on.
    pub fn free_addr() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    /// Spawns `command` and waits until it accepts connections on `addr`; if it exits first,
    /// panics with the log file `log` (a name inside `dir`).
    pub async fn start(
        mut command: std::process::Command,
        addr: SocketAddr,
        dir: tempfile::TempDir,
        log: &str,
    ) -> Self {
        let child = command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut process = Self { child, addr, dir };
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return process;
            }
            if let Some(status) = process.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(process.dir.path().join(log));
                panic!(
                    "{command:?} exited with {status}: {}",
                    log.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{command:?} did not start listening on {addr}");
    }
}
