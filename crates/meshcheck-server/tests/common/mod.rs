//! Shared by the portal's integration tests: archives built from the bundled examples, a real
//! server on a loopback port, tokens, and an HTTP client.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use meshcheck_archive::{SnapshotInfo, SnapshotWriter, Source, Timestamp};
use meshcheck_server::store::{self, MetadataStore};
use meshcheck_server::{Config, Role, RunningServer};
use reqwest::StatusCode;
use serde_json::Value;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A snapshot of `examples/<example>`: collected from `context` (a cluster) or packed from
/// manifests when `context` is None. Different times give different bytes.
pub fn archive(example: &str, context: Option<&str>, collected_at: i64) -> Vec<u8> {
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
    let mut by_kind: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for object in loaded.objects {
        by_kind
            .entry((object.api_version, object.kind))
            .or_default()
            .push(object.value);
    }
    for ((api_version, kind), items) in by_kind {
        writer.add_objects(&api_version, &kind, items);
    }
    writer.to_bytes().unwrap().1
}

/// 2026-11-18T11:06:40Z, the time the CLI tests pin.
pub const T0: i64 = 1_795_000_000;

pub fn config(data_dir: &Path) -> Config {
    let mut config = Config::new(data_dir.to_owned(), "127.0.0.1:0".parse().unwrap());
    config.workers = 2;
    config.rate_limit = None;
    config
}

pub fn open_store(data_dir: &Path) -> Box<dyn MetadataStore> {
    store::open(data_dir, None).unwrap()
}

/// A new token for the tenant, created the way `meshcheck admin create-token` does.
pub fn token(data_dir: &Path, tenant: &str, role: Role) -> String {
    let store = open_store(data_dir);
    meshcheck_server::tokens::create(store.as_ref(), tenant, role, 1)
        .unwrap()
        .token
}

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
    pub data_dir: PathBuf,
}

impl Portal {
    pub async fn start(config: Config) -> Portal {
        let data_dir = config.data_dir.clone();
        let server = meshcheck_server::start(config).await.unwrap();
        Portal {
            url: server.url(),
            server,
            client: client(),
            data_dir,
        }
    }

    pub async fn stop(self) {
        self.server.shutdown().await.unwrap();
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

    /// Snapshot rows in the database (all tenants).
    pub fn snapshot_rows(&self) -> usize {
        snapshot_rows(&self.data_dir)
    }
}

pub fn snapshot_rows(data_dir: &Path) -> usize {
    let connection = rusqlite::Connection::open(data_dir.join("meshcheck.db")).unwrap();
    connection
        .query_row("SELECT COUNT(*) FROM snapshots", [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap() as usize
}

/// Files under the blob store's snapshot directory.
pub fn blob_files(data_dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&data_dir.join("blobs"), &mut files);
    files.sort();
    files
}

/// Files in the upload directory.
pub fn upload_leftovers(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir.join("tmp"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{status}: not JSON ({error}): {text}"));
    (status, value)
}
