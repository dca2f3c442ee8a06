//! A real nginx (the Debian package, installed by `.ci/run`) with `auth_request` pointing at
//! `GET /auth/verify`, in front of the stand-in upstream: docs/gateway.md's nginx snippet,
//! read from there, tested.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use gatehouse_testkit::json_body;

use crate::gateway_support::{
    ProxyProcess, Upstream, documented_snippet, gateway_test, replace_once, spawn_gateway,
};

/// An nginx configuration around the snippet documented in docs/gateway.md (read from there),
/// with test paths and ports.
fn nginx_conf(
    dir: &Path,
    listen: SocketAddr,
    gatehouse: SocketAddr,
    upstream: SocketAddr,
) -> String {
    let dir = dir.display();
    let snippet = documented_snippet("nginx");
    let snippet = replace_once(&snippet, "127.0.0.1:8080", &gatehouse.to_string());
    let snippet = replace_once(&snippet, "127.0.0.1:9000", &upstream.to_string());
    format!(
        r#"
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {listen};
{snippet}
    }}
}}
"#
    )
}

async fn start_nginx(gatehouse: SocketAddr, upstream: SocketAddr) -> Option<ProxyProcess> {
    let binary = ProxyProcess::binary(
        "nginx",
        &["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"],
    )?;
    let dir = tempfile::tempdir().unwrap();
    let addr = ProxyProcess::free_addr();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir.path(), addr, gatehouse, upstream)).unwrap();
    let mut command = Command::new(binary);
    command
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .stderr(Stdio::null());
    Some(ProxyProcess::start(command, addr, dir, "error.log").await)
}

gateway_test!(async fn nginx_auth_request_guards_an_upstream_with_gatehouse(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let Some(nginx) = start_nginx(app.addr, upstream.addr).await else { return };
    let base = format!("http://{}", nginx.addr);
    let client = reqwest::Client::new();

    assert_eq!(client.get(format!("{base}/api/x")).send().await.unwrap().status(), 401);
    let user = app.create_user("alice", &[]).await;
    let forbidden = client.get(format!("{base}/api/reports")).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(forbidden.status(), 403);
    // nginx passes the client's headers to the subrequest: a client-sent X-Forwarded-Method/
    // X-Forwarded-Uri pair must not be what Gatehouse decides on.
    let forged = client
        .get(format!("{base}/api/reports"))
        .bearer_auth(&user.token)
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "/api/x")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "the forged original request decided");
    let unrouted = client.get(format!("{base}/nowhere")).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(unrouted.status(), 403, "deny by default");

    let response = client
        .get(format!("{base}/api/items?page=2"))
        .bearer_auth(&user.token)
        .header("x-auth-subject", "forged")
        .header("x-auth-groups", "Admins")
        .header("x-auth-token", "forged")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = json_body(response).await;
    assert_eq!(seen["path"], "/api/items");
    assert_eq!(seen["headers"]["x-auth-subject"], user.user.id.to_string());
    assert_eq!(seen["headers"]["x-auth-username"], "alice");
    assert_eq!(seen["headers"]["x-auth-issuer"], "gatehouse");
    // alice has no groups: Gatehouse's empty answer replaces the client's value.
    assert!(seen["headers"].get("x-auth-groups").is_none(), "{seen}");
    assert!(seen["headers"].get("x-auth-token").is_none(), "{seen}");
    assert!(seen["headers"].get("authorization").is_none(), "{seen}");
});
