//! Streaming and failure modes through the running server: server-sent events token by token,
//! WebSocket upgrades, an upstream that is down or too slow.

use gatehouse_testkit::assert_problem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::gateway_support::{Upstream, gateway_test, spawn_gateway};

gateway_test!(async fn server_sent_events_arrive_one_by_one(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let mut response = app.get("/public/events").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    // The upstream holds the second event back until told: the first must already be here.
    assert_eq!(response.chunk().await.unwrap().unwrap(), "data: {\"token\":\"Hel\"}\n\n");
    upstream.release_second_event().await;
    assert_eq!(response.chunk().await.unwrap().unwrap(), "data: {\"token\":\"lo\"}\n\n");
});

gateway_test!(async fn a_websocket_upgrade_passes_through(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |_| {}).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"GET /public/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    let frame = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    stream.write_all(&frame).await.unwrap();
    let mut echoed = [0u8; 8];
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(echoed, frame);
});

gateway_test!(async fn an_upstream_that_is_down_is_502(backend) {
    let upstream = Upstream::start().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let app = spawn_gateway(backend, &upstream, |config| {
        for route in &mut config.routes {
            route.upstream = Some(format!("http://{closed}"));
        }
    })
    .await;
    assert_problem(app.get("/public/x").await, 502, "upstream_unavailable").await;
});

gateway_test!(async fn an_upstream_that_is_too_slow_is_504(backend) {
    let upstream = Upstream::start().await;
    let app = spawn_gateway(backend, &upstream, |config| {
        config.proxy.read_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    assert_problem(app.get("/public/slow").await, 504, "upstream_timeout").await;
});
