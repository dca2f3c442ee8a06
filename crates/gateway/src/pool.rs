//! Keep-alive HTTP/1.1 connections to upstreams, one [`ConnectionPool`] per serving thread.
//!
//! Why not hyper-util's pooled client: with thread-per-core serving, a pool is used by one
//! thread only, so its lock is never contended (it is there because request futures must be
//! `Send`); it finds an upstream by a short scan instead of hashing the pool key at every
//! checkout and return; and it needs no task per request to put the connection back when the
//! response ends. Measured with callgrind on the proxy path, that bookkeeping was about a
//! tenth of a proxied request's instructions. What it did that matters is kept: a request
//! that could not be sent on a reused connection (the upstream closed it while idle) is sent
//! again on another one.

use std::error::Error as StdError;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Authority;
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Why a request did not get a response head.
#[derive(Debug)]
pub(crate) enum SendError {
    /// No connection to the upstream could be made.
    Connect(std::io::Error),
    /// The connection failed while the request was sent or the response awaited.
    Exchange(hyper::Error),
}

/// One thread's connections, by upstream. A connection is put back as soon as its response
/// head arrives and is taken again once hyper reports it ready, i.e. after that response's
/// body has been read to its end.
pub(crate) struct ConnectionPool<B> {
    /// By upstream; a gateway has a handful, so a scan beats hashing.
    idle: Mutex<Vec<(Authority, Vec<SendRequest<B>>)>>,
    max_per_upstream: usize,
    connect_timeout: Duration,
}

impl<B> ConnectionPool<B>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    /// An empty pool keeping at most `max_per_upstream` connections per upstream.
    pub(crate) fn new(max_per_upstream: usize, connect_timeout: Duration) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            max_per_upstream,
            connect_timeout,
        }
    }

    /// Sends `request` (origin-form URI, `Host` set) to `upstream`.
    pub(crate) async fn send(
        &self,
        upstream: &Authority,
        mut request: Request<B>,
    ) -> Result<Response<Incoming>, SendError> {
        loop {
            let (mut connection, reused) = match self.checkout(upstream) {
                Some(connection) => (connection, true),
                // Boxed: connecting is the cold path; inline, its state machine (resolver,
                // connect, handshake) would enlarge the future of every request.
                None => (Box::pin(self.connect(upstream)).await?, false),
            };
            match connection.try_send_request(request).await {
                Ok(response) => {
                    self.put_back(upstream, connection);
                    return Ok(response);
                }
                Err(mut error) => match error.take_message() {
                    // Not sent: the idle connection had been closed. Another one gets it.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(SendError::Exchange(error.into_error())),
                },
            }
        }
    }

    /// A ready connection to `upstream`, dropping the closed ones found on the way.
    fn checkout(&self, upstream: &Authority) -> Option<SendRequest<B>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, connections) = idle.iter_mut().find(|(known, _)| same(known, upstream))?;
        connections.retain(|connection| !connection.is_closed());
        let ready = connections.iter().rposition(SendRequest::is_ready)?;
        Some(connections.swap_remove(ready))
    }

    /// Keeps `connection` for later requests, unless the pool for `upstream` is full: then it
    /// is dropped, and hyper closes it once its response has been read.
    fn put_back(&self, upstream: &Authority, connection: SendRequest<B>) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let index = match idle.iter().position(|(known, _)| same(known, upstream)) {
            Some(index) => index,
            None => {
                idle.push((upstream.clone(), Vec::new()));
                idle.len() - 1
            }
        };
        let connections = &mut idle[index].1;
        if connections.len() < self.max_per_upstream {
            connections.push(connection);
        }
    }

    /// Opens a connection (TCP_NODELAY, within the connect timeout) and starts the task that
    /// drives it, on this thread's runtime.
    async fn connect(&self, upstream: &Authority) -> Result<SendRequest<B>, SendError> {
        // `host()` keeps the brackets of an IPv6 literal; the resolver wants it bare.
        let host = upstream
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = upstream.port_u16().unwrap_or(80);
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| {
                SendError::Connect(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {:?}", self.connect_timeout),
                ))
            })?
            .map_err(SendError::Connect)?;
        stream.set_nodelay(true).map_err(SendError::Connect)?;
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(SendError::Exchange)?;
        tokio::spawn(async move {
            // Errors here are the upstream's resets; the request that saw one reports it.
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(%error, "upstream connection ended");
            }
        });
        Ok(sender)
    }
}

/// Whether two upstream authorities are written the same. `Authority`'s own `==` ignores
/// case byte by byte; the authorities here all come from the parsed configuration, so a plain
/// comparison finds the same upstream (and at worst gives one upstream two pools).
fn same(known: &Authority, upstream: &Authority) -> bool {
    known.as_str() == upstream.as_str()
}

impl<B> std::fmt::Debug for ConnectionPool<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool")
            .field("max_per_upstream", &self.max_per_upstream)
            .finish_non_exhaustive()
    }
}
