//! Reloading the gateway configuration (SIGHUP): new routes and CORS apply to new requests,
//! a stream through the old configuration keeps flowing, a refused file changes nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_server::ReloadError;
use gatehouse_server::config::{ConfigSource, FlagOverrides};
use gatehouse_testkit::{TestApp, json_body};

use crate::gateway_support::{Upstream, gateway_test, spawn_gateway};

/// A configuration file that only routes `/fresh` (public) to `upstream`, with CORS for one
/// origin.
fn fresh_config(upstream: &Upstream) -> String {
    format!(
        r#"
[[routes]]
path = "/fresh"
upstream = "http://{}"
public = true

[cors]
allowed_origins = ["https://app.example.com"]
"#,
        upstream.addr
    )
}

/// A server guarding `upstream` with the standard routes, whose configuration source is
/// `file` (which holds nothing yet: the first reload reads what the test writes).
async fn spawn_reloadable(
    backend: gatehouse_testkit::Backend,
    upstream: &Upstream,
    dir: &Path,
) -> (TestApp, PathBuf) {
    let file = dir.join("gatehouse.toml");
    std::fs::write(&file, "").unwrap();
    let source = file.clone();
    let app = spawn_gateway(backend, upstream, move |config| {
        config.set_source(ConfigSource {
            file: Some(source),
            flags: FlagOverrides::default(),
        });
    })
    .await;
    (app, file)
}

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

gateway_test!(async fn a_reload_applies_new_routes_and_keeps_a_running_stream(backend) {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (app, file) = spawn_reloadable(backend, &upstream, dir.path()).await;

    let mut stream = app.get("/public/events").await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.chunk().await.unwrap().unwrap(), "data: {\"token\":\"Hel\"}\n\n");
    assert_eq!(app.get("/fresh/x").await.status(), 404);

    std::fs::write(&file, fresh_config(&upstream)).unwrap();
    app.state.reload_gateway(no_env()).unwrap();

    let fresh = app.get("/fresh/x").await;
    assert_eq!(fresh.status(), 200);
    assert_eq!(json_body(fresh).await["path"], "/fresh/x");
    // The old routes are gone for new requests (deny by default)…
    assert_eq!(app.get("/public/x").await.status(), 404);
    // …and the new `[cors]` answers preflights.
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/fresh/x"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    // The stream that started on the old route was not dropped.
    upstream.release_second_event().await;
    assert_eq!(stream.chunk().await.unwrap().unwrap(), "data: {\"token\":\"lo\"}\n\n");
});

gateway_test!(async fn a_refused_configuration_keeps_the_running_one(backend) {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (app, file) = spawn_reloadable(backend, &upstream, dir.path()).await;

    let unknown_issuer = format!(
        "[[routes]]\npath = \"/fresh\"\nupstream = \"http://{}\"\nallow = {{ issuers = [\"nobody\"] }}\n",
        upstream.addr
    );
    for bad in [unknown_issuer.as_str(), "[[routes]\n", "[[routes]]\npath = \"no-slash\"\n"] {
        std::fs::write(&file, bad).unwrap();
        let refused = app.state.reload_gateway(no_env());
        assert!(matches!(refused, Err(ReloadError::Config(_))), "{bad}: {refused:?}");
        assert_eq!(app.get("/public/x").await.status(), 200, "{bad}");
        assert_eq!(app.get("/fresh/x").await.status(), 404, "{bad}");
    }
    std::fs::remove_file(&file).unwrap();
    assert!(matches!(app.state.reload_gateway(no_env()), Err(ReloadError::Config(_))));
    assert_eq!(app.get("/public/x").await.status(), 200);
});

gateway_test!(async fn sighup_reloads_the_configuration_file(backend) {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (app, file) = spawn_reloadable(backend, &upstream, dir.path()).await;
    // The server answered, so its SIGHUP handler is installed (it is set up before serving);
    // without one, SIGHUP would end this test process.
    assert_eq!(app.get("/fresh/x").await.status(), 404);

    std::fs::write(&file, fresh_config(&upstream)).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The signal is handled asynchronously: poll (bounded) until the new route applies.
    let mut last = 0;
    for _ in 0..100 {
        last = app.get("/fresh/x").await.status().as_u16();
        if last == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last, 200, "SIGHUP did not reload the configuration");
    assert_eq!(app.get("/public/x").await.status(), 404);
});
