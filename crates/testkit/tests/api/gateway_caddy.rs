//! A real Caddy (the Debian package, installed by `.ci/run`) with `forward_auth` pointing at
//! `GET /auth/verify`, in front of the stand-in upstream: docs/gateway.md's Caddyfile block,
//! read from there, tested.

use std::net::SocketAddr;
use std::process::Command;

use gatehouse_server::config::gateway::AllowConfig;
use gatehouse_testkit::{assert_problem, json_body};
use serde_json::Value;

use crate::gateway_support::{
    ProxyProcess, Upstream, documented_snippet, gateway_test, replace_once, spawn_gateway,
};

/// The documented Caddyfile with test addresses, plus global options for the test only: no
/// admin endpoint (it would take localhost:2019, which the SQLite and PostgreSQL runs of the
/// test would fight over).
fn caddyfile(listen: SocketAddr, gatehouse: SocketAddr, upstream: SocketAddr) -> String {
    let snippet = documented_snippet("caddyfile");
    // `http://` keeps Caddy from trying to obtain a certificate.
    let snippet = replace_once(
        &snippet,
        "api.example.com {",
        &format!("http://{listen} {{"),
    );
    let snippet = replace_once(&snippet, "127.0.0.1:8080", &gatehouse.to_string());
    let snippet = replace_once(&snippet, "127.0.0.1:9000", &upstream.to_string());
    format!("{{\n\tadmin off\n}}\n\n{snippet}")
}

async fn start_caddy(gatehouse: SocketAddr, upstream: SocketAddr) -> Option<ProxyProcess> {
    let binary = ProxyProcess::binary(
        "caddy",
        &["/usr/bin/caddy", "/usr/local/bin/caddy", "/usr/sbin/caddy"],
    )?;
    let dir = tempfile::tempdir().unwrap();
    let addr = ProxyProcess::free_addr();
    let config = dir.path().join("Caddyfile");
    std::fs::write(&config, caddyfile(addr, gatehouse, upstream)).unwrap();
    let log = std::fs::File::create(dir.path().join("caddy.log")).unwrap();
    let mut command = Command::new(binary);
    // Caddy keeps state (autosaved config, certificates) under $HOME / $XDG_*: keep it here.
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&config)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .stderr(log);
    Some(ProxyProcess::start(command, addr, dir, "caddy.log").await)
}

/// The identity headers (and `Authorization`) the upstream received.
fn seen_identity(seen: &Value) -> Vec<(String, String)> {
    let headers = seen["headers"].as_object().expect("echoed headers");
    headers
        .iter()
        .filter(|(name, _)| name.starts_with("x-auth-") || *name == "authorization")
        .map(|(name, value)| (name.clone(), value.as_str().unwrap_or("?").to_owned()))
        .collect()
}

gateway_test!(async fn caddy_forward_auth_guards_an_upstream_with_gatehouse(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |config| {
        let api = config.routes.iter().find(|route| route.path == "/api");
        let mut staff = api.expect("the /api route").clone();
        staff.path = "/api/staff".into();
        staff.allow = Some(AllowConfig { roles_any: vec!["admin".into()], ..AllowConfig::default() });
        config.routes.push(staff);
    })
    .await;
    let Some(caddy) = start_caddy(app.addr, upstream.addr).await else { return };
    let base = format!("http://{}", caddy.addr);
    let client = reqwest::Client::new();
    let alice = app.create_user("alice", &[]).await;
    let root = app.create_admin("root").await;

    // No token: Gatehouse's 401 reaches the client through Caddy, challenge and body included.
    let response = client.get(format!("{base}/api/x")).send().await.unwrap();
    let challenge = response.headers().get("www-authenticate").cloned();
    assert_problem(response, 401, "missing_token").await;
    assert_eq!(challenge.unwrap(), r#"Bearer realm="gatehouse""#);

    // A valid token: the upstream sees Gatehouse's identity, never the client's forgeries.
    let response = client
        .post(format!("{base}/api/items?page=2"))
        .bearer_auth(&alice.token)
        .header("x-auth-subject", "forged")
        .header("X-Auth-Roles", "Admin")
        .header("x-auth-groups", "Admins")
        .header("x-auth-token", "forged")
        .header("x-auth-something-new", "forged")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = json_body(response).await;
    assert_eq!(seen["method"], "POST", "forward_auth asks with GET, the upstream gets the original");
    assert_eq!(seen["path"], "/api/items");
    assert_eq!(seen["query"], "page=2");
    let mut identity = seen_identity(&seen);
    identity.sort();
    let expected: Vec<(String, String)> = [
        ("x-auth-groups", ""),
        ("x-auth-issuer", "gatehouse"),
        ("x-auth-permissions", ""),
        ("x-auth-roles", ""),
        ("x-auth-subject", alice.user.id.to_string().as_str()),
        ("x-auth-truncated", ""),
        ("x-auth-username", "alice"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    assert_eq!(identity, expected, "no forged value, no Caddy placeholder, no Authorization");

    // A public route: no subject, so every copied header is empty — not the client's.
    let response = client
        .get(format!("{base}/public/page"))
        .header("x-auth-subject", "forged")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = json_body(response).await;
    assert!(seen_identity(&seen).iter().all(|(_, value)| value.is_empty()), "{seen}");

    // Insufficient role: 403 from Gatehouse, through Caddy.
    let body = assert_problem(
        client.get(format!("{base}/api/reports")).bearer_auth(&alice.token).send().await.unwrap(),
        403,
        "insufficient_permission",
    )
    .await;
    assert_eq!(body["detail"], "missing: roles_any=Admin");
    // /api/staff: role `admin`, which root has.
    let response = client.get(format!("{base}/api/staff/q1")).bearer_auth(&root.token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["headers"]["x-auth-roles"], "admin");
    assert_problem(
        client.get(format!("{base}/api/staff/q1")).bearer_auth(&alice.token).send().await.unwrap(),
        403,
        "insufficient_permission",
    )
    .await;

    // Gatehouse decides on the original method and URI that Caddy reports: /api/admin is
    // GET-only, and a path no route covers is denied.
    let admin = format!("{base}/api/admin/users");
    assert_eq!(client.get(&admin).bearer_auth(&root.token).send().await.unwrap().status(), 200);
    assert_problem(client.delete(&admin).bearer_auth(&root.token).send().await.unwrap(), 403, "no_route").await;
    assert_problem(client.get(format!("{base}/nowhere")).bearer_auth(&root.token).send().await.unwrap(), 403, "no_route").await;

    // The client cannot describe another request: Caddy overwrites X-Forwarded-Method/-Uri,
    // and a client-added X-Original-* pair that disagrees is refused.
    let forged = client
        .get(format!("{base}/api/reports"))
        .bearer_auth(&alice.token)
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "/api/x")
        .send()
        .await
        .unwrap();
    assert_problem(forged, 403, "insufficient_permission").await;
    let forged = client
        .get(format!("{base}/api/reports"))
        .bearer_auth(&alice.token)
        .header("x-original-method", "GET")
        .header("x-original-uri", "/api/x")
        .send()
        .await
        .unwrap();
    assert_problem(forged, 400, "invalid_request").await;
});
