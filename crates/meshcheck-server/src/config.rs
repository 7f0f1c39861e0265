//! What `meshcheck serve` is told on its command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use meshcheck_archive::Limits;

/// Requests per token: a bucket of `burst` requests refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            per_second: 50.0,
            burst: 100.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// SQLite database, local blobs and temporary uploads live here.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Metadata database URL; SQLite in `data_dir` when None.
    pub database: Option<String>,
    /// Blob store URL (`s3://bucket/prefix`); `data_dir/blobs` when None.
    pub blob_store: Option<String>,
    /// Largest accepted upload (compressed archive bytes).
    pub max_upload_bytes: u64,
    /// Analyses run at the same time; 0 accepts uploads but analyses nothing (they stay
    /// pending until a server with workers starts).
    pub workers: usize,
    /// Snapshots uploaded more than this many days ago are deleted; None keeps everything.
    pub retain_days: Option<u32>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// None turns rate limiting off.
    pub rate_limit: Option<RateLimit>,
    /// Base of the URLs the API hands out (`report_url`); the request's Host when None.
    pub public_url: Option<String>,
    /// Caps applied when verifying an uploaded archive.
    pub archive_limits: Limits,
    /// Whole-request time limit for everything but uploads.
    pub request_timeout: Duration,
    /// Whole-request time limit for uploads (slow links and large archives).
    pub upload_timeout: Duration,
    /// How often retention and the orphan sweep run.
    pub maintenance_interval: Duration,
    /// A snapshot pending for longer than this with no process of this server working on it is
    /// queued here (its replica died); checked every `stale_after / 4`.
    pub stale_after: Duration,
}

impl Config {
    /// The defaults for a data directory and a listen address.
    pub fn new(data_dir: PathBuf, listen: SocketAddr) -> Config {
        Config {
            data_dir,
            listen,
            database: None,
            blob_store: None,
            max_upload_bytes: 256 << 20,
            workers: std::thread::available_parallelism()
                .map(|count| count.get())
                .unwrap_or(2),
            retain_days: None,
            tls_cert: None,
            tls_key: None,
            rate_limit: Some(RateLimit::default()),
            public_url: None,
            archive_limits: Limits::default(),
            request_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(600),
            maintenance_interval: Duration::from_secs(3600),
            stale_after: Duration::from_secs(600),
        }
    }
}
