//! What every handler shares.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::api::ApiError;
use crate::blobs::BlobStore;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::{MetadataStore, Micros, StoreResult};
use crate::worker::AnalysisQueue;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub store: Arc<dyn MetadataStore>,
    pub blobs: BlobStore,
    pub metrics: Arc<Metrics>,
    pub limiter: Option<RateLimiter>,
    pub queue: AnalysisQueue,
    /// Uploads are streamed here before they are verified.
    pub upload_dir: PathBuf,
    /// Archive verifications at the same time (each holds an archive in memory).
    pub verify_slots: Semaphore,
    /// When each token's use was last recorded (its `last_used_at` and a `token-use` audit
    /// row are written at most once a minute).
    pub token_use_recorded: Mutex<HashMap<String, Instant>>,
    /// Whether the listener speaks TLS (for the URLs handed out).
    pub tls: bool,
    /// Where the server listens (the port chosen when `listen` said 0).
    pub address: std::net::SocketAddr,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }

    /// Runs a metadata operation on a blocking thread.
    pub async fn db<T, F>(&self, operation: F) -> Result<T, ApiError>
    where
        F: FnOnce(&dyn MetadataStore) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || operation(store.as_ref()))
            .await
            .map_err(|error| ApiError::internal(format!("metadata task: {error}")))?
            .map_err(|error| ApiError::internal(error.to_string()))
    }
}

pub fn now_micros() -> Micros {
    jiff::Timestamp::now().as_microsecond()
}

/// RFC 3339 UTC in whole seconds.
pub fn rfc3339(micros: Micros) -> String {
    let timestamp =
        jiff::Timestamp::from_microsecond(micros).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    meshcheck_archive::rfc3339_seconds(timestamp)
}
