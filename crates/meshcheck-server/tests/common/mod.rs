//! Shared by the portal's integration tests: archives built from the bundled examples, a real
//! server on a loopback port, tokens, an HTTP client, and the storage backends the suite runs on
//! (SQLite + local files, PostgreSQL + S3).

#![allow(dead_code, unused_macros)]

pub mod services;
pub mod web;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use meshcheck_archive::{SnapshotInfo, SnapshotWriter, Source, Timestamp};
use meshcheck_server::blobs::BlobStore;
use meshcheck_server::store::{self, MetadataStore};
use meshcheck_server::{Config, Role, RunningServer};
use reqwest::StatusCode;
use serde_json::Value;

/// Runs each named `async fn(Backend)` as one test per backend: `local::NAME` (SQLite and a
/// directory) and `postgres_s3::NAME` (PostgreSQL and an S3-compatible store).
macro_rules! on_each_backend {
    ($($test:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::common::Backend::Local).await
                }
            )*
        }
        mod postgres_s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::common::Backend::PostgresS3).await
                }
            )*
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The zero set-up default: SQLite in the data directory, files under it.
    Local,
    /// What several replicas share: a PostgreSQL database and an S3 bucket.
    PostgresS3,
}

/// Where one test's portal keeps its data.
#[derive(Debug, Clone)]
pub struct Stores {
    pub data_dir: PathBuf,
    pub database: Option<String>,
    pub blob_store: Option<String>,
}

impl Backend {
    /// Fresh, empty stores (a new database and bucket for the remote backend).
    pub fn stores(self, data_dir: &Path) -> Stores {
        match self {
            Backend::Local => Stores {
                data_dir: data_dir.to_owned(),
                database: None,
                blob_store: None,
            },
            Backend::PostgresS3 => Stores {
                data_dir: data_dir.to_owned(),
                database: Some(services::postgres().database()),
                blob_store: Some(services::moto().bucket()),
            },
        }
    }
}

impl Stores {
    pub fn local(data_dir: &Path) -> Stores {
        Backend::Local.stores(data_dir)
    }

    pub fn config(&self) -> Config {
        let mut config = Config::new(self.data_dir.clone(), "127.0.0.1:0".parse().unwrap());
        config.workers = 2;
        config.rate_limit = None;
        config.database = self.database.clone();
        config.blob_store = self.blob_store.clone();
        config
    }

    /// Runs `operation` on the metadata store, on its own thread (the PostgreSQL client is
    /// synchronous and must not run on the test's async runtime).
    pub fn with_store<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&dyn MetadataStore) -> T + Send + 'static,
    ) -> T {
        let (data_dir, database) = (self.data_dir.clone(), self.database.clone());
        std::thread::spawn(move || {
            let store = store::open(&data_dir, database.as_deref()).unwrap();
            operation(store.as_ref())
        })
        .join()
        .unwrap()
    }

    /// A new token for the tenant, created the way `meshcheck admin create-token` does.
    pub fn token(&self, tenant: &str, role: Role) -> String {
        let tenant = tenant.to_owned();
        self.with_store(move |store| {
            meshcheck_server::tokens::create(store, &tenant, role, 1)
                .unwrap()
                .token
        })
    }

    pub fn snapshot_rows(&self) -> usize {
        self.with_store(|store| store.all_snapshot_ids().unwrap().len())
    }

    /// Ids of snapshots that have files in the blob store.
    pub async fn blob_ids(&self) -> HashSet<String> {
        BlobStore::open(&self.data_dir, self.blob_store.as_deref())
            .unwrap()
            .snapshot_ids()
            .await
            .unwrap()
            .into_keys()
            .collect()
    }
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A snapshot of `examples/<example>`: collected from `context` (a cluster) or packed from
/// manifests when `context` is None. Different times give different bytes.
pub fn archive(example: &str, context: Option<&str>, collected_at: i64) -> Vec<u8> {
    archive_with(example, context, collected_at, |_| {})
}

/// Like [`archive`], with `extra` adding to the snapshot before it is written.
pub fn archive_with(
    example: &str,
    context: Option<&str>,
    collected_at: i64,
    extra: impl FnOnce(&mut SnapshotWriter),
) -> Vec<u8> {
    let loaded =
        meshcheck_input::load_paths(&[workspace().join("examples").join(example)]).unwrap();
    let mut writer = SnapshotWriter::new(SnapshotInfo {
        source: if context.is_some() {
            Source::Cluster
        } else {
            Source::Manifests
        },
        context: context.map(str::to_owned),
        kubernetes_version: context.map(|_| "v1.30.4".to_owned()),
        version_json: None,
        collected_at: Timestamp::from_second(collected_at).unwrap(),
    });
    writer.add_manifest_objects(loaded.objects);
    extra(&mut writer);
    writer.to_bytes().unwrap().1
}

/// 2026-11-18T11:06:40Z, the time the CLI tests pin.
pub const T0: i64 = 1_795_000_000;

pub fn token_id(token: &str) -> String {
    token.split('_').nth(1).unwrap().to_owned()
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

pub struct Portal {
    pub server: RunningServer,
    pub url: String,
    pub client: reqwest::Client,
    pub stores: Stores,
}

impl Portal {
    /// Starts a portal on the stores (with `config`'s other settings).
    pub async fn start_with(stores: &Stores, config: Config) -> Portal {
        let server = meshcheck_server::start(config).await.unwrap();
        Portal {
            url: server.url(),
            server,
            client: client(),
            stores: stores.clone(),
        }
    }

    pub async fn start(stores: &Stores) -> Portal {
        Portal::start_with(stores, stores.config()).await
    }

    pub async fn stop(self) {
        self.server.shutdown().await.unwrap();
    }

    pub fn data_dir(&self) -> &Path {
        &self.stores.data_dir
    }

    pub async fn upload(&self, token: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/snapshots", self.url))
            .bearer_auth(token)
            .body(body)
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (StatusCode, Value) {
        json_of(self.get(Some(token), path).await).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> StatusCode {
        self.client
            .delete(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Polls the snapshot until its analysis is no longer pending.
    pub async fn wait_analyzed(&self, token: &str, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, snapshot) = self
                .get_json(token, &format!("/api/v1/snapshots/{id}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{snapshot}");
            if snapshot["status"] != "pending" {
                return snapshot;
            }
            assert!(Instant::now() < deadline, "analysis of {id} never finished");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn snapshot_rows(&self) -> usize {
        self.stores.snapshot_rows()
    }

    pub async fn blob_ids(&self) -> HashSet<String> {
        self.stores.blob_ids().await
    }

    /// Files in the upload directory.
    pub fn upload_leftovers(&self) -> usize {
        std::fs::read_dir(self.data_dir().join("tmp"))
            .map(|entries| entries.count())
            .unwrap_or(0)
    }
}

pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{status}: not JSON ({error}): {text}"));
    (status, value)
}
