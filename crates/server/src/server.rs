//! [`Server`]: opens the database, binds the listener, builds the state and serves (on the
//! [`crate::workers`] threads) until told to stop, finishing in-flight requests first.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::routes;
use crate::state::{AppState, StartupError};
use crate::workers::Workers;

/// A bound, ready-to-run server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
}

impl Server {
    /// Opens (and migrates) the database, binds `server.listen`, and builds the state. The
    /// issuer is `server.public_url`, or `http://<bound address>` when it is not set.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let url = &config.database.url;
        if let Some(dir) = url
            .sqlite_path()
            .as_deref()
            .and_then(std::path::Path::parent)
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| StartupError::DataDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let store = gatehouse_store::connect(url.expose())
            .await
            .map_err(|source| StartupError::Store {
                url: url.to_string(),
                source,
            })?;
        let listen = config.server.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| StartupError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: listen,
            source,
        })?;
        let public_url = config.server.public_url_or(addr);
        let state = AppState::build(config, public_url, store, clock).await?;
        Ok(Self {
            listener,
            addr,
            state,
        })
    }

    /// The address actually bound (differs from the configured one for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The application state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves [`routes::app`] until `shutdown` completes, then lets in-flight requests finish
    /// for up to `server.shutdown_grace`.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let entry = routes::Entry::new(self.state.clone());
        self.serve(entry, shutdown).await
    }

    /// Serves `entry` until `shutdown` completes.
    async fn serve(
        self,
        entry: routes::Entry,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.state.config().server.shutdown_grace.get();
        let mut background = vec![
            self.state
                .keys()
                .spawn_reloader(Arc::clone(self.state.clock())),
            // Other instances' revocations (and the CLI's) reach the gateway through the log.
            crate::revocations::spawn_follower(self.state.clone()),
        ];
        // Installed before the first connection is accepted: from then on SIGHUP reloads.
        background.extend(spawn_reload_on_hangup(self.state.clone()));
        let background = AbortOnDrop(background);
        tracing::info!(
            addr = %self.addr,
            issuer = %self.state.public_url(),
            database = %self.state.config().database.url,
            "gatehouse is listening"
        );
        let mut workers = Workers::spawn(
            self.listener,
            entry,
            self.state.config().server.worker_count(),
        )?;
        let result = tokio::select! {
            // Only a failure stops a worker before the signal.
            result = workers.next_stopped() => result,
            () = shutdown => Ok(()),
        };
        tracing::info!("shutting down: finishing in-flight requests");
        workers.drain();
        let drained = tokio::select! {
            drained = workers.all_stopped() => drained,
            () = tokio::time::sleep(grace) => {
                tracing::warn!("shutdown grace period over; dropping remaining connections");
                Ok(())
            }
        };
        drop(background);
        self.state.store().close().await;
        // Last: the workers' runtimes drive the database connections they opened.
        workers.exit();
        result.and(drained)
    }
}

/// Background tasks that end with the server, even when it stops on an error.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Reloads the gateway configuration on every SIGHUP ([`AppState::reload_gateway`]). A refused
/// configuration is logged and the running one kept; the process never stops over it.
/// Returns `None` when the handler cannot be installed (logged) or off Unix.
fn spawn_reload_on_hangup(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(%error, "cannot install the SIGHUP handler; reload needs a restart");
                return None;
            }
        };
        Some(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the gateway configuration");
                if let Err(error) = state.reload_gateway(std::env::vars()) {
                    let error = error_chain(&error);
                    tracing::error!(%error, "configuration reload refused; the running configuration stays");
                }
            }
        }))
    }
    #[cfg(not(unix))]
    {
        let _ = state;
        None
    }
}

/// An error and its sources on one line, for the log.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
