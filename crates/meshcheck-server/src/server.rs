//! Starting and stopping the portal.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::middleware::{map_request, map_response};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tower_http::trace::TraceLayer;

use crate::api::{self, ApiError};
use crate::blobs::BlobStore;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::state::{AppState, Shared};
use crate::worker::{self, AnalysisQueue};
use crate::{retention, security, store, web};

/// Time a connection has to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests in flight get this long to finish when the server stops.
const GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(10);

/// A started server: its address, and what to stop.
pub struct RunningServer {
    address: SocketAddr,
    tls: bool,
    handle: Handle<SocketAddr>,
    serving: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
    state: AppState,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT` (or https).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// Snapshots waiting for a worker.
    pub fn queue_depth(&self) -> i64 {
        self.state.metrics.queue_depth()
    }

    /// Stops accepting connections, lets requests in flight finish, stops the workers' queue
    /// (queued snapshots stay pending in the database and resume at the next start).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.handle.graceful_shutdown(Some(GRACEFUL_SHUTDOWN));
        for task in &self.background {
            task.abort();
        }
        self.serving
            .await
            .context("the HTTP server task failed")?
            .context("the HTTP server failed")
    }

    /// Serves until SIGINT or SIGTERM, then shuts down.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.shutdown().await
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Uploads left in the upload directory by a previous run were never recorded: remove them.
fn clean_upload_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?
    {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with("upload-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Opens the stores, re-queues pending analyses, binds the listener and starts serving.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    // reqwest (S3 client) and the TLS listener use the process-wide rustls provider; kube
    // already links ring, so use it rather than a second crypto library.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("{}: cannot create the data directory", data_dir.display()))?;
    let upload_dir = data_dir.join("tmp");
    clean_upload_dir(&upload_dir)?;
    let database = config.database.clone();
    let store_dir = data_dir.clone();
    let store: Arc<dyn store::MetadataStore> =
        tokio::task::spawn_blocking(move || store::open(&store_dir, database.as_deref()))
            .await
            .context("opening the metadata store")??
            .into();
    let blobs = BlobStore::open(&data_dir, config.blob_store.as_deref())?;

    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(
            RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "TLS certificate {} / key {}: cannot load",
                        cert.display(),
                        key.display()
                    )
                })?,
        ),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };

    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    listener
        .set_nonblocking(true)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener
        .local_addr()
        .with_context(|| format!("cannot listen on {}", config.listen))?;

    let metrics = Arc::new(Metrics::default());
    let (queue, receiver) = AnalysisQueue::new(metrics.clone());
    let verify_slots = std::thread::available_parallelism()
        .map(|count| count.get())
        .unwrap_or(2)
        .max(2);
    let state = AppState::new(Shared {
        limiter: config.rate_limit.map(RateLimiter::new),
        store,
        blobs,
        metrics,
        queue,
        upload_dir,
        verify_slots: Semaphore::new(verify_slots),
        token_use_recorded: Mutex::new(HashMap::new()),
        tls: tls.is_some(),
        address,
        config: config.clone(),
    });

    let dispatcher = worker::start(state.clone(), receiver, config.workers);
    let pending = state
        .db(|store| store.pending_ids(i64::MAX))
        .await
        .map_err(|error| anyhow::anyhow!("{}", error.message))?;
    if !pending.is_empty() {
        tracing::info!(count = pending.len(), "resuming pending analyses");
    }
    for id in pending {
        state.queue.push(id);
    }
    let maintenance = tokio::spawn(retention::run(state.clone(), config.maintenance_interval));
    let stale = tokio::spawn(retention::resume_stale(state.clone(), config.stale_after));

    let app = router(state.clone());
    let handle = Handle::new();
    let serving = match tls {
        Some(tls) => {
            let mut server = axum_server::from_tcp_rustls(listener, tls)?
                .handle(handle.clone())
                .first_request_timeout(HEADER_READ_TIMEOUT);
            server
                .http_builder()
                .http1()
                .header_read_timeout(HEADER_READ_TIMEOUT);
            tokio::spawn(server.serve(app.into_make_service()))
        }
        None => {
            let mut server = axum_server::from_tcp(listener)?
                .handle(handle.clone())
                .first_request_timeout(HEADER_READ_TIMEOUT);
            server
                .http_builder()
                .http1()
                .header_read_timeout(HEADER_READ_TIMEOUT);
            tokio::spawn(server.serve(app.into_make_service()))
        }
    };
    tracing::info!(
        address = %address,
        tls = state.tls,
        workers = config.workers,
        "meshcheck portal listening"
    );
    Ok(RunningServer {
        address,
        tls: state.tls,
        handle,
        serving,
        background: vec![dispatcher, maintenance, stale],
        state,
    })
}

/// Every route, with the security headers and request tracing (method and path only: tokens
/// travel in headers, which are not logged).
pub fn router(state: AppState) -> Router {
    api::router(&state)
        .merge(web::router(&state))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(map_response(security::headers))
        .layer(map_request(host_from_authority))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// HTTP/2 requests name the host in the `:authority` pseudo-header, not in `Host`: give them a
/// `Host` so URLs are built the same way for both.
async fn host_from_authority(mut request: Request) -> Request {
    if !request.headers().contains_key(header::HOST)
        && let Some(authority) = request.uri().authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(header::HOST, value);
    }
    request
}
