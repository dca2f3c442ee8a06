//! The reverse proxy: forwards a request to its upstream over pooled keep-alive connections
//! (one pool per serving thread, see [`Proxy`]), streaming bodies in both directions (nothing
//! is buffered, so server-sent events arrive as they are produced and uploads flow straight
//! through), tunnelling protocol upgrades (WebSocket), and reporting an unreachable or slow
//! upstream as a typed [`Error`].

use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode};
use hyper::body::{Body, Incoming};
use hyper_util::rt::TokioIo;
use thread_local::ThreadLocal;

use crate::config::ProxyConfig;
use crate::error::Error;
use crate::pool::{ConnectionPool, SendError};
use crate::route::Upstream;

/// Facts about the client connection, for the `X-Forwarded-*` headers.
#[derive(Debug, Clone)]
pub struct Forwarded {
    /// The client's address (the TCP peer).
    pub client_ip: Option<IpAddr>,
    /// `http` or `https`, as the client reached Gatehouse.
    pub proto: &'static str,
}

/// Pooled HTTP/1.1 connections to upstreams, generic over the request body type so the server
/// can pass its own body through without copying.
///
/// Each serving thread has a pool of its own. A connection is driven by a task on the runtime
/// that opened it; with one shared pool, a request served by one thread would often borrow a
/// connection driven by another, and every such request would pay two cross-thread wake-ups.
/// Per-thread pools keep a proxied request on one thread from start to end (see
/// `bench/proxy.sh` and docs/gateway.md).
#[derive(Debug, Clone)]
pub struct Proxy<B: Send> {
    pools: Arc<ThreadLocal<ConnectionPool<B>>>,
    config: ProxyConfig,
}

impl<B> Proxy<B>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    /// Prepares the pools; each thread builds its own on its first request.
    pub fn new(config: &ProxyConfig) -> Self {
        Self {
            pools: Arc::new(ThreadLocal::new()),
            config: config.clone(),
        }
    }

    /// This thread's pool.
    fn pool(&self) -> &ConnectionPool<B> {
        self.pools.get_or(|| {
            ConnectionPool::new(self.config.max_idle_per_host, self.config.connect_timeout)
        })
    }

    /// Sends `request` to `upstream` as `path_and_query` (built by the route) and returns
    /// the upstream's response with its body still streaming. The caller has already applied
    /// the identity headers; this adds `X-Forwarded-*` and removes hop-by-hop headers both
    /// ways. A `101 Switching Protocols` answer is tunnelled: bytes flow between the client and
    /// the upstream until either side closes.
    pub async fn forward(
        &self,
        mut request: Request<B>,
        upstream: &Upstream,
        path_and_query: PathAndQuery,
        forwarded: &Forwarded,
    ) -> Result<Response<Incoming>, Error> {
        let upgrade = upgrade_protocol(request.headers());
        let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut request));

        let original_host = request.headers().get(header::HOST).cloned();
        let headers = request.headers_mut();
        strip_hop_by_hop(headers);
        // `Host` names the upstream, as nginx's `proxy_pass` does; the client's host travels in
        // X-Forwarded-Host.
        headers.insert(header::HOST, upstream.host_header().clone());
        if let Some(host) = original_host {
            headers.insert(HeaderName::from_static("x-forwarded-host"), host);
        }
        headers.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static(forwarded.proto),
        );
        if let Some(ip) = forwarded.client_ip {
            append_forwarded_for(headers, ip);
        }
        if let Some(protocol) = &upgrade {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, protocol.clone());
        }
        // Origin form (`/path?query`): the connection already goes to the upstream.
        *request.uri_mut() = http::Uri::from(path_and_query);
        *request.version_mut() = http::Version::HTTP_11;

        let read_timeout = self.config.read_timeout;
        let sent = self.pool().send(upstream.authority(), request);
        let response = match tokio::time::timeout(read_timeout, sent).await {
            Err(_elapsed) => {
                return Err(Error::UpstreamTimeout {
                    upstream: upstream.origin(),
                    timeout: read_timeout,
                });
            }
            Ok(Err(SendError::Connect(source))) => {
                return Err(Error::UpstreamDown {
                    upstream: upstream.origin(),
                    source: Box::new(source),
                });
            }
            Ok(Err(SendError::Exchange(source))) => {
                return Err(Error::UpstreamFailed {
                    upstream: upstream.origin(),
                    source: Box::new(source),
                });
            }
            Ok(Ok(response)) => response,
        };

        let mut response = response;
        if response.status() == StatusCode::SWITCHING_PROTOCOLS
            && let Some(client_upgrade) = client_upgrade
        {
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((client, upstream)) => {
                        let mut client = TokioIo::new(client);
                        let mut upstream = TokioIo::new(upstream);
                        // Either side closing ends the tunnel; errors are ordinary resets.
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                    Err(error) => tracing::debug!(%error, "protocol upgrade failed"),
                }
            });
            let protocol = response.headers().get(header::UPGRADE).cloned();
            strip_hop_by_hop(response.headers_mut());
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            if let Some(protocol) = protocol {
                response.headers_mut().insert(header::UPGRADE, protocol);
            }
            return Ok(response);
        }
        strip_hop_by_hop(response.headers_mut());
        Ok(response)
    }
}

/// The protocol a request asks to upgrade to, when it asks (`Connection: upgrade` plus
/// `Upgrade: …`).
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let wants_upgrade = headers.get_all(header::CONNECTION).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
        })
    });
    if wants_upgrade {
        headers.get(header::UPGRADE).cloned()
    } else {
        None
    }
}

/// Removes the hop-by-hop headers, including any the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the few names present finds those to remove; nothing is allocated when
    // there are none, and each removal is a hashed lookup.
    let doomed: Vec<HeaderName> = {
        let connection = headers.get_all(header::CONNECTION);
        let named = |name: &HeaderName| {
            connection
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .any(|token| token.trim().eq_ignore_ascii_case(name.as_str()))
        };
        headers
            .keys()
            .filter(|name| is_hop_by_hop(name) || named(name))
            .cloned()
            .collect()
    };
    for name in doomed {
        headers.remove(name);
    }
}

/// Whether `name` describes one connection, not the message (RFC 9110 §7.6.1), or is
/// `Upgrade` (re-added for a tunnelled upgrade). Names are lower case, and a match on the
/// text is cheaper than comparing with each `HeaderName`.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Appends the client's address to `X-Forwarded-For`.
fn append_forwarded_for(headers: &mut HeaderMap, ip: IpAddr) {
    let name = HeaderName::from_static("x-forwarded-for");
    let value = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(existing) => HeaderValue::from_str(&format!("{existing}, {ip}")),
        // The usual case, on every request: no `format!` machinery.
        None => HeaderValue::from_str(&ip_text(ip)),
    };
    if let Ok(value) = value {
        headers.insert(name, value);
    }
}

/// An address as text; IPv4 by hand, since `Display` goes through the formatting machinery.
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (index, octet) in v4.octets().into_iter().enumerate() {
        if index > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_named_by_connection_are_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-secret-hop", HeaderValue::from_static("1"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::ACCEPT));
    }

    #[test]
    fn an_upgrade_needs_both_connection_and_upgrade_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert_eq!(upgrade_protocol(&headers), None);
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert_eq!(
            upgrade_protocol(&headers),
            Some(HeaderValue::from_static("websocket"))
        );
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "255.255.255.255",
            "1.99.100.9",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    proptest::proptest! {
        #[test]
        fn every_ipv4_address_is_written_as_display_writes_it(bits: u32) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(bits));
            proptest::prop_assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    #[test]
    fn the_client_address_is_appended_to_x_forwarded_for() {
        let mut headers = HeaderMap::new();
        append_forwarded_for(&mut headers, "10.0.0.1".parse().unwrap());
        append_forwarded_for(&mut headers, "10.0.0.2".parse().unwrap());
        assert_eq!(headers["x-forwarded-for"], "10.0.0.1, 10.0.0.2");
    }
}
