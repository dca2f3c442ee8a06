//! Thread-per-core serving: `server.workers` threads, each with its own current-thread tokio
//! runtime, all accepting on the one listening socket, each serving its connections from
//! start to end (as nginx's worker processes do).
//!
//! Why not one multi-threaded runtime: a proxied request wakes three tasks (the client's
//! connection, the upstream connection, the response back), and the work-stealing scheduler
//! spreads them over threads; the cross-thread wake-ups cost more than the gateway's own work.
//! On the same machine and load, a bare hyper proxy served 72 k requests/s thread-per-core
//! against 56 k on a multi-threaded runtime (docs/gateway.md, "Measured cost").
//!
//! Everything else (key reloads, the revocation follower, SIGHUP) stays on the caller's
//! runtime. The worker runtimes are kept alive until [`Workers::exit`], after the database is
//! closed: pooled connections opened by a worker are driven by that worker's runtime.

use std::net::SocketAddr;
use std::num::NonZeroUsize;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

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
}

impl Workers {
    /// Starts `count` threads serving `router` on `listener` (a non-blocking socket). Fails
    /// only if the socket cannot be shared or a thread or runtime cannot be created.
    pub(crate) fn spawn(
        listener: std::net::TcpListener,
        router: Router,
        count: NonZeroUsize,
    ) -> std::io::Result<Self> {
        let (phase, _) = watch::channel(Phase::Serving);
        let (outcome_tx, outcomes) = mpsc::unbounded_channel();
        let mut workers = Self {
            phase,
            outcomes,
            serving: 0,
        };
        for index in 0..count.get() {
            let listener = listener.try_clone()?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let phase = workers.phase.subscribe();
            let router = router.clone();
            let outcome_tx = outcome_tx.clone();
            std::thread::Builder::new()
                .name(format!("gatehouse-worker-{index}"))
                .spawn(move || runtime.block_on(serve(listener, router, phase, outcome_tx)))?;
            workers.serving += 1;
        }
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

    /// Completes when every worker has stopped serving (after [`Workers::drain`], once their
    /// last connection is closed), with the first failure if one failed. Cancel-safe.
    pub(crate) async fn all_stopped(&mut self) -> std::io::Result<()> {
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

/// One worker: serves until draining is over (or it is told to exit), reports, then keeps its
/// runtime running until [`Phase::Exit`].
async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    mut phase: watch::Receiver<Phase>,
    outcome_tx: mpsc::UnboundedSender<std::io::Result<()>>,
) {
    let outcome = match TcpListener::from_std(listener) {
        Err(error) => Err(error),
        Ok(listener) => {
            let mut draining = phase.clone();
            let serving = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                // An error means the handle is gone: stop as well.
                let _ = draining.wait_for(|phase| *phase != Phase::Serving).await;
            });
            tokio::select! {
                outcome = serving.into_future() => outcome,
                _ = phase.wait_for(|phase| *phase == Phase::Exit) => Ok(()),
            }
        }
    };
    let _ = outcome_tx.send(outcome);
    let _ = phase.wait_for(|phase| *phase == Phase::Exit).await;
}

#[cfg(test)]
mod tests {
    use super::*;
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
    async fn every_worker_serves_and_draining_stops_them_all() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        // Each request answers with the name of the thread that served it.
        let router = Router::new().route(
            "/",
            get(|| async { std::thread::current().name().unwrap_or("").to_owned() }),
        );
        let mut workers = Workers::spawn(listener, router, NonZeroUsize::new(3).unwrap()).unwrap();
        let responses = tokio::task::spawn_blocking(move || {
            (0..30).map(|_| get_root(addr)).collect::<Vec<_>>()
        })
        .await
        .unwrap();
        for response in &responses {
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            assert!(response.contains("gatehouse-worker-"), "{response}");
        }
        workers.drain();
        workers.all_stopped().await.unwrap();
        workers.exit();
        // The socket is closed once every worker has dropped its copy.
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the listener is still open after exit");
    }
}
