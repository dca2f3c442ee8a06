//! Thread-per-core serving: `server.workers` threads, each with its own current-thread tokio
//! runtime, each serving the connections it is handed from start to end (as nginx's worker
//! processes do). One accept loop on the caller's runtime hands new connections to the
//! workers in turn.
//!
//! Why not one multi-threaded runtime: a proxied request wakes three tasks (the client's
//! connection, the upstream connection, the response back), and the work-stealing scheduler
//! spreads them over threads; the cross-thread wake-ups cost more than the gateway's own work.
//! On the same machine and load, a bare hyper proxy served 72 k requests/s thread-per-core
//! against 56 k on a multi-threaded runtime (docs/gateway.md, "Measured cost").
//!
//! Why one accept loop rather than every worker accepting on the socket: a burst of new
//! connections then lands on whichever worker wakes first, and one thread ended up with most
//! of the load while the other idled. Handing out in turn costs two `epoll_ctl` calls per
//! connection, nothing per request. (`SO_REUSEPORT` would balance too, but would also let a
//! second process bind the same port without an error.)
//!
//! Everything else (key reloads, the revocation follower, SIGHUP) stays on the caller's
//! runtime. The worker runtimes are kept alive until [`Workers::exit`], after the database is
//! closed: pooled connections opened by a worker are driven by that worker's runtime.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener, ListenerExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::{Layer as _, Service};

/// A connection accepted by the accept loop, on its way to a worker.
type Handover = (std::net::TcpStream, SocketAddr);

/// Where the workers are in their life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Accepting and serving.
    Serving,
    /// No new connections; in-flight requests finish.
    Draining,
    /// Stop now and drop the runtime (also when the [`Workers`] handle is dropped).
    Exit,
}

/// The running worker threads.
#[derive(Debug)]
pub(crate) struct Workers {
    phase: watch::Sender<Phase>,
    outcomes: mpsc::UnboundedReceiver<std::io::Result<()>>,
    /// Workers that have not reported their outcome yet.
    serving: usize,
    /// The accept loop, until it has ended.
    accepting: Option<tokio::task::JoinHandle<()>>,
}

impl Workers {
    /// Starts `count` threads serving `service` (a [`axum::Router`], or the server's
    /// [`crate::routes::Entry`]) and the accept loop handing them the connections of
    /// `listener` (on the caller's runtime). Every request carries its connection's
    /// [`ConnectInfo`]. Fails only if a thread or runtime cannot be created.
    pub(crate) fn spawn<S>(
        listener: TcpListener,
        service: S,
        count: NonZeroUsize,
    ) -> std::io::Result<Self>
    where
        S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send,
    {
        let local_addr = listener.local_addr()?;
        let (phase, _) = watch::channel(Phase::Serving);
        let (outcome_tx, outcomes) = mpsc::unbounded_channel();
        let mut workers = Self {
            phase,
            outcomes,
            serving: 0,
            accepting: None,
        };
        let mut handovers = Vec::with_capacity(count.get());
        for index in 0..count.get() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (handover_tx, connections) = mpsc::unbounded_channel();
            let listener = Handed {
                connections,
                local_addr,
            };
            let phase = workers.phase.subscribe();
            let service = service.clone();
            let outcome_tx = outcome_tx.clone();
            std::thread::Builder::new()
                .name(format!("gatehouse-worker-{index}"))
                .spawn(move || runtime.block_on(serve(listener, service, phase, outcome_tx)))?;
            workers.serving += 1;
            handovers.push(handover_tx);
        }
        workers.accepting = Some(tokio::spawn(accept_loop(
            listener,
            handovers,
            workers.phase.subscribe(),
        )));
        Ok(workers)
    }

    /// The outcome of the next worker to stop serving. Before [`Workers::drain`] only a
    /// failure stops one. Cancel-safe.
    pub(crate) async fn next_stopped(&mut self) -> std::io::Result<()> {
        if self.serving == 0 {
            return std::future::pending().await;
        }
        match self.outcomes.recv().await {
            Some(outcome) => {
                self.serving -= 1;
                outcome
            }
            // Every thread is gone and one of them without a word: it panicked.
            None => {
                self.serving = 0;
                Err(std::io::Error::other(
                    "a serving thread stopped unexpectedly",
                ))
            }
        }
    }

    /// Completes when the accept loop has closed the socket and every worker has stopped
    /// serving (after [`Workers::drain`], once their last connection is closed), with the
    /// first failure if one failed. Cancel-safe.
    pub(crate) async fn all_stopped(&mut self) -> std::io::Result<()> {
        if let Some(accepting) = &mut self.accepting {
            // It ends only by returning (or with the runtime, and then nobody waits here).
            let _ = accepting.await;
            self.accepting = None;
        }
        let mut result = Ok(());
        while self.serving > 0 {
            let outcome = self.next_stopped().await;
            result = result.and(outcome);
        }
        result
    }

    /// Stops accepting; in-flight requests and open connections finish.
    pub(crate) fn drain(&self) {
        self.phase.send_replace(Phase::Draining);
    }

    /// Drops every connection still open and ends the threads.
    pub(crate) fn exit(self) {
        self.phase.send_replace(Phase::Exit);
    }
}

/// Accepts connections until draining begins and hands them to the workers in turn. Ends by
/// dropping the listener, so that new connections are refused from then on.
async fn accept_loop(
    listener: TcpListener,
    workers: Vec<mpsc::UnboundedSender<Handover>>,
    mut phase: watch::Receiver<Phase>,
) {
    let mut next = 0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // An error means the handle is gone: stop as well.
            _ = phase.wait_for(|phase| *phase != Phase::Serving) => return,
        };
        match accepted.and_then(|(stream, peer)| Ok((stream.into_std()?, peer))) {
            Ok(connection) => {
                // A worker that is gone has failed, and its failure ends the server.
                let _ = workers[next].send(connection);
                next = (next + 1) % workers.len();
            }
            // The client gave up before it was accepted: nothing to do.
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                ) => {}
            // Out of file descriptors, most likely: retrying at once would spin.
            Err(error) => {
                tracing::error!(%error, "cannot accept a connection; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// A worker's side of the handover: the connections the accept loop gives it, registered with
/// the worker's own runtime.
struct Handed {
    connections: mpsc::UnboundedReceiver<Handover>,
    local_addr: SocketAddr,
}

impl Listener for Handed {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let Some((stream, peer)) = self.connections.recv().await else {
                // The accept loop has stopped: the server is draining.
                return std::future::pending().await;
            };
            match TcpStream::from_std(stream) {
                Ok(stream) => return (stream, peer),
                Err(error) => tracing::warn!(%error, %peer, "cannot serve a connection"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// One worker: serves until draining is over (or it is told to exit), reports, then keeps its
/// runtime running until [`Phase::Exit`].
async fn serve<S>(
    listener: Handed,
    service: S,
    mut phase: watch::Receiver<Phase>,
    outcome_tx: mpsc::UnboundedSender<std::io::Result<()>>,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let mut draining = phase.clone();
    // Responses are written whole, so Nagle's algorithm would only delay them.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    // What `Router::into_make_service_with_connect_info` does, for any service.
    let per_connection = tower::service_fn(move |incoming: IncomingStream<'_, _>| {
        let connection: ConnectInfo<SocketAddr> = ConnectInfo(*incoming.remote_addr());
        std::future::ready(Ok::<_, Infallible>(
            axum::Extension(connection).layer(service.clone()),
        ))
    });
    let serving = axum::serve(listener, per_connection).with_graceful_shutdown(async move {
        // An error means the handle is gone: stop as well.
        let _ = draining.wait_for(|phase| *phase != Phase::Serving).await;
    });
    let outcome = tokio::select! {
        outcome = serving.into_future() => outcome,
        _ = phase.wait_for(|phase| *phase == Phase::Exit) => Ok(()),
    };
    let _ = outcome_tx.send(outcome);
    let _ = phase.wait_for(|phase| *phase == Phase::Exit).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use std::io::{Read, Write};

    fn get_root(addr: SocketAddr) -> String {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[tokio::test]
    async fn the_workers_serve_in_turn_and_draining_closes_the_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Each request answers with the name of the thread that served it.
        let router = Router::new().route(
            "/",
            get(|| async { std::thread::current().name().unwrap_or("").to_owned() }),
        );
        let mut workers = Workers::spawn(listener, router, NonZeroUsize::new(3).unwrap()).unwrap();
        let responses =
            tokio::task::spawn_blocking(move || (0..6).map(|_| get_root(addr)).collect::<Vec<_>>())
                .await
                .unwrap();
        for (turn, response) in responses.iter().enumerate() {
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            let worker = format!("gatehouse-worker-{}", turn % 3);
            assert!(response.ends_with(&worker), "{turn}: {response}");
        }
        workers.drain();
        workers.all_stopped().await.unwrap();
        // The accept loop dropped the listener when draining began.
        let refused = tokio::task::spawn_blocking(move || std::net::TcpStream::connect(addr));
        assert!(refused.await.unwrap().is_err());
        workers.exit();
    }
}
