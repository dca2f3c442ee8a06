//! The proxy in front of stand-in upstreams: streaming both ways, upgrades, failures.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use bytes::Bytes;
use futures_util::StreamExt;
use gatehouse_gateway::Error;
use gatehouse_gateway::config::ProxyConfig;
use gatehouse_gateway::proxy::{Forwarded, Proxy};
use gatehouse_gateway::route::Upstream;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::support::serve;

/// A front server whose every request goes to `upstream` through the proxy; errors become
/// 502/504 the way the Gatehouse server maps them.
async fn front(upstream: SocketAddr, config: ProxyConfig) -> SocketAddr {
    let proxy = Arc::new(Proxy::<Body>::new(&config));
    let upstream = Upstream::parse(&format!("http://{upstream}")).unwrap();
    let router = Router::new().fallback(
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request| {
            let proxy = Arc::clone(&proxy);
            let upstream = upstream.clone();
            async move {
                let path_and_query = request.uri().path_and_query().unwrap().clone();
                let forwarded = Forwarded {
                    client_ip: Some(peer.ip()),
                    proto: "http",
                };
                match proxy
                    .forward(request, &upstream, path_and_query, &forwarded)
                    .await
                {
                    Ok(response) => response.map(Body::new).into_response(),
                    Err(Error::UpstreamDown { .. }) => StatusCode::BAD_GATEWAY.into_response(),
                    Err(Error::UpstreamTimeout { .. }) => {
                        StatusCode::GATEWAY_TIMEOUT.into_response()
                    }
                    Err(other) => {
                        (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()).into_response()
                    }
                }
            }
        },
    );
    serve(router).await
}

async fn echo_headers(headers: HeaderMap) -> String {
    let mut lines: Vec<String> = headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
        .collect();
    lines.sort();
    lines.join("\n")
}

#[tokio::test]
async fn forwarding_headers_are_added_and_hop_by_hop_headers_dropped() {
    let upstream = serve(Router::new().route("/echo", get(echo_headers))).await;
    let front = front(upstream, ProxyConfig::default()).await;
    let body = reqwest::Client::new()
        .get(format!("http://{front}/echo?x=1"))
        .header("host", "public.example")
        .header("connection", "x-private-hop")
        .header("x-private-hop", "secret")
        .header("te", "trailers")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("x-forwarded-for: 127.0.0.1"), "{body}");
    assert!(body.contains("x-forwarded-proto: http"), "{body}");
    assert!(body.contains("x-forwarded-host: public.example"), "{body}");
    assert!(body.contains(&format!("host: {upstream}")), "{body}");
    assert!(!body.contains("x-private-hop"), "{body}");
    assert!(!body.contains("te: "), "{body}");
}

#[tokio::test]
async fn server_sent_events_arrive_event_by_event() {
    // The upstream sends the second event only when the test says so: if the proxy buffered
    // the body, the first event could never arrive before the go-ahead.
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let go_rx = Arc::new(Mutex::new(Some(go_rx)));
    let events = get(move || {
        let go_rx = Arc::clone(&go_rx);
        async move {
            let go = go_rx.lock().await.take().unwrap();
            let stream = futures_util::stream::once(async {
                Ok::<_, Infallible>(Bytes::from("data: one\n\n"))
            })
            .chain(futures_util::stream::once(async move {
                go.await.ok();
                Ok::<_, Infallible>(Bytes::from("data: two\n\n"))
            }));
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .unwrap()
        }
    });
    let upstream = serve(Router::new().route("/events", events)).await;
    let front = front(upstream, ProxyConfig::default()).await;
    let mut response = reqwest::get(format!("http://{front}/events"))
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.chunk().await.unwrap().unwrap(), "data: one\n\n");
    go_tx.send(()).unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap(), "data: two\n\n");
    assert_eq!(response.chunk().await.unwrap(), None);
}

#[tokio::test]
async fn an_upload_reaches_the_upstream_before_the_client_has_sent_all_of_it() {
    // The upstream reports its first body chunk; only then does the client send the rest.
    let (first_tx, mut first_rx) = mpsc::channel::<Bytes>(1);
    let upload = post(move |request: Request| {
        let first_tx = first_tx.clone();
        async move {
            let mut body = request.into_body().into_data_stream();
            let mut total = 0;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.unwrap();
                if total == 0 {
                    first_tx.send(chunk.clone()).await.unwrap();
                }
                total += chunk.len();
            }
            total.to_string()
        }
    });
    let upstream = serve(Router::new().route("/upload", upload)).await;
    let front = front(upstream, ProxyConfig::default()).await;

    let (body_tx, body_rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(1);
    let body = StreamBody::new(tokio_stream_from(body_rx));
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let request = http::Request::post(format!("http://{front}/upload"))
        .body(body)
        .unwrap();
    let response = tokio::spawn(client.request(request));
    body_tx
        .send(Ok(Frame::data(Bytes::from(vec![b'a'; 1000]))))
        .await
        .unwrap();
    let first = first_rx.recv().await.unwrap();
    assert!(!first.is_empty());
    body_tx
        .send(Ok(Frame::data(Bytes::from(vec![b'b'; 500]))))
        .await
        .unwrap();
    drop(body_tx);
    let response = response.await.unwrap().unwrap();
    let total = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(total, "1500");
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn a_websocket_upgrade_is_tunnelled_both_ways() {
    // The upstream accepts the upgrade and echoes every byte; the proxy must switch protocols
    // and then pass opaque bytes (WebSocket frames) in both directions.
    let ws = any(|mut request: Request| async move {
        let on_upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let upgraded = on_upgrade.await.unwrap();
            let mut io = hyper_util::rt::TokioIo::new(upgraded);
            let mut buf = [0u8; 64];
            loop {
                let n = io.read(&mut buf).await.unwrap_or(0);
                if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            .body(Body::empty())
            .unwrap()
    });
    let upstream = serve(Router::new().route("/ws", ws)).await;
    let front = front(upstream, ProxyConfig::default()).await;

    let mut stream = TcpStream::connect(front).await.unwrap();
    stream
        .write_all(
            b"GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
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
    assert!(head.contains("upgrade: websocket"), "{head}");
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    // A masked WebSocket text frame "hi", then read it back through the tunnel.
    let frame = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    stream.write_all(&frame).await.unwrap();
    let mut echoed = [0u8; 8];
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(echoed, frame);
}

#[tokio::test]
async fn keep_alive_connections_to_the_upstream_are_reused() {
    let peer = get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() });
    let upstream = serve(Router::new().route("/peer", peer)).await;
    let front = front(upstream, ProxyConfig::default()).await;
    let client = reqwest::Client::new();
    let first = client
        .get(format!("http://{front}/peer"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let second = client
        .get(format!("http://{front}/peer"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        first, second,
        "the second request should use the pooled connection"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_reported_as_down() {
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let front = front(closed, ProxyConfig::default()).await;
    let status = reqwest::get(format!("http://{front}/x"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_reported_as_timed_out() {
    let hang = get(std::future::pending::<&'static str>);
    let upstream = serve(Router::new().route("/hang", hang)).await;
    let config = ProxyConfig {
        read_timeout: Duration::from_millis(200),
        ..ProxyConfig::default()
    };
    let front = front(upstream, config).await;
    let status = reqwest::get(format!("http://{front}/hang"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn a_pooled_connection_the_upstream_closed_is_replaced_not_reported() {
    // Answers one request per connection as if it would keep the connection, then closes it:
    // the pool holds a connection that is, or is about to be, closed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0_u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    let front = front(upstream, ProxyConfig::default()).await;
    let client = reqwest::Client::new();
    for attempt in 0..20 {
        let response = client
            .get(format!("http://{front}/x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "request {attempt}");
        assert_eq!(response.text().await.unwrap(), "ok");
        // Every other request comes after the close has surely been seen.
        if attempt % 2 == 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
