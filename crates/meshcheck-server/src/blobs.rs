//! Snapshot files (archive, JSON and HTML report, drift digest) in an object store: a directory under the
//! data directory by default, S3 (or anything S3-compatible) with `--blob-store s3://bucket/prefix`.
//! Keys are `snapshots/<id>/<file>`; every write is atomic (the local store renames a finished
//! temporary file; S3 makes an object visible only when its upload completes).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use std::str::FromStr;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{GetResult, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::io::AsyncWriteExt;

/// The files kept per snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blob {
    Archive,
    ReportJson,
    ReportHtml,
    /// What drift between two snapshots is computed from (`meshcheck_drift::SnapshotDigest`).
    Digest,
}

impl Blob {
    pub const ALL: [Blob; 4] = [
        Blob::Archive,
        Blob::ReportJson,
        Blob::ReportHtml,
        Blob::Digest,
    ];

    fn file_name(self) -> &'static str {
        match self {
            Blob::Archive => "archive.tar.zst",
            Blob::ReportJson => "report.json",
            Blob::ReportHtml => "report.html",
            Blob::Digest => "digest.json",
        }
    }
}

const SNAPSHOTS_PREFIX: &str = "snapshots";

/// A blob operation failed; one line naming the store and the key.
#[derive(Debug, thiserror::Error)]
#[error("blob store {store}: {detail}")]
pub struct BlobError {
    store: String,
    detail: String,
}

#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    description: String,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl BlobStore {
    /// The store named by `--blob-store`: `None` or `file:///path` for a local directory
    /// (default `<data dir>/blobs`), `s3://bucket[/prefix]` for S3 configured by the usual
    /// `AWS_*` variables (`AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP` for S3-compatible stores).
    pub fn open(data_dir: &Path, url: Option<&str>) -> Result<BlobStore, BlobError> {
        match url {
            None => BlobStore::local(&data_dir.join("blobs")),
            Some(url) if url.starts_with("file://") => {
                BlobStore::local(Path::new(&url["file://".len()..]))
            }
            Some(url) if url.starts_with("s3://") => BlobStore::s3(url),
            Some(url) => Err(BlobError {
                store: url.to_owned(),
                detail: "unsupported URL (expected s3://bucket/prefix or file:///path)".to_owned(),
            }),
        }
    }

    fn local(dir: &Path) -> Result<BlobStore, BlobError> {
        let description = dir.display().to_string();
        let error = |detail: String| BlobError {
            store: description.clone(),
            detail,
        };
        std::fs::create_dir_all(dir)
            .map_err(|source| error(format!("cannot create the directory: {source}")))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|source| error(source.to_string()))?
            // Deleting a snapshot's last file removes its directory too.
            .with_automatic_cleanup(true);
        Ok(BlobStore {
            store: Arc::new(store),
            description,
        })
    }

    /// `s3://bucket[/prefix][?option=value&...]`: options are object_store's S3 settings
    /// (`endpoint`, `region`, `allow_http`, ...) and override the `AWS_*` variables. The query is
    /// left out of every message, as it may carry credentials.
    fn s3(url: &str) -> Result<BlobStore, BlobError> {
        let description = url.split('?').next().unwrap_or(url).to_owned();
        let error = |detail: String| BlobError {
            store: description.clone(),
            detail,
        };
        let parsed = url::Url::parse(url).map_err(|source| error(source.to_string()))?;
        let bucket = parsed
            .host_str()
            .filter(|bucket| !bucket.is_empty())
            .ok_or_else(|| error("no bucket name".to_owned()))?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in parsed.query_pairs() {
            let option = AmazonS3ConfigKey::from_str(&key)
                .map_err(|_| error(format!("unknown S3 option {key:?}")))?;
            builder = builder.with_config(option, value);
        }
        let s3 = builder
            .build()
            .map_err(|source| error(source.to_string()))?;
        let prefix = parsed.path().trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Ok(BlobStore { store, description })
    }

    fn key(id: &str, blob: Blob) -> Key {
        Key::from(format!("{SNAPSHOTS_PREFIX}/{id}/{}", blob.file_name()))
    }

    fn error(&self, key: &Key, source: impl std::fmt::Display) -> BlobError {
        BlobError {
            store: self.description.clone(),
            detail: format!("{key}: {source}"),
        }
    }

    /// Copies a local file into the store (multipart for large files), visible only once
    /// complete.
    pub async fn put_file(&self, id: &str, blob: Blob, file: &Path) -> Result<(), BlobError> {
        let key = BlobStore::key(id, blob);
        let mut source = tokio::fs::File::open(file)
            .await
            .map_err(|source| self.error(&key, source))?;
        let mut writer = BufWriter::new(self.store.clone(), key.clone());
        if let Err(source) = tokio::io::copy(&mut source, &mut writer).await {
            let _ = writer.abort().await;
            return Err(self.error(&key, source));
        }
        writer
            .shutdown()
            .await
            .map_err(|source| self.error(&key, source))
    }

    pub async fn put_bytes(&self, id: &str, blob: Blob, bytes: Bytes) -> Result<(), BlobError> {
        let key = BlobStore::key(id, blob);
        self.store
            .put(&key, PutPayload::from_bytes(bytes))
            .await
            .map_err(|source| self.error(&key, source))?;
        Ok(())
    }

    /// The blob as a stream, or None when it does not exist.
    pub async fn get(&self, id: &str, blob: Blob) -> Result<Option<GetResult>, BlobError> {
        let key = BlobStore::key(id, blob);
        match self.store.get(&key).await {
            Ok(result) => Ok(Some(result)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.error(&key, source)),
        }
    }

    /// The whole blob in memory, or None when it does not exist.
    pub async fn get_bytes(&self, id: &str, blob: Blob) -> Result<Option<Bytes>, BlobError> {
        let Some(result) = self.get(id, blob).await? else {
            return Ok(None);
        };
        let key = BlobStore::key(id, blob);
        result
            .bytes()
            .await
            .map(Some)
            .map_err(|source| self.error(&key, source))
    }

    /// Removes every file of a snapshot; missing files are fine.
    pub async fn delete_snapshot(&self, id: &str) -> Result<(), BlobError> {
        for blob in Blob::ALL {
            let key = BlobStore::key(id, blob);
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(self.error(&key, source)),
            }
        }
        Ok(())
    }

    /// Every snapshot id that has at least one file, with the newest file's time (for the
    /// orphan sweep).
    pub async fn snapshot_ids(&self) -> Result<HashMap<String, jiff::Timestamp>, BlobError> {
        let prefix = Key::from(SNAPSHOTS_PREFIX);
        let mut listing = self.store.list(Some(&prefix));
        let mut ids: HashMap<String, jiff::Timestamp> = HashMap::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|source| self.error(&prefix, source))?;
            let mut parts = meta.location.parts();
            let (Some(_), Some(id)) = (parts.next(), parts.next()) else {
                continue;
            };
            let modified = jiff::Timestamp::from_millisecond(meta.last_modified.timestamp_millis())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let entry = ids
                .entry(id.as_ref().to_owned())
                .or_insert(jiff::Timestamp::UNIX_EPOCH);
            *entry = (*entry).max(modified);
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_files_round_trip_and_are_deleted_with_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path(), None).unwrap();
        let source = dir.path().join("upload.bin");
        std::fs::write(&source, b"archive bytes").unwrap();
        blobs.put_file("abc", Blob::Archive, &source).await.unwrap();
        blobs
            .put_bytes("abc", Blob::ReportJson, Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(
            blobs
                .get_bytes("abc", Blob::Archive)
                .await
                .unwrap()
                .unwrap(),
            Bytes::from_static(b"archive bytes")
        );
        assert!(
            dir.path()
                .join("blobs/snapshots/abc/archive.tar.zst")
                .is_file()
        );
        assert!(blobs.get("abc", Blob::ReportHtml).await.unwrap().is_none());
        assert_eq!(
            blobs
                .snapshot_ids()
                .await
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["abc"]
        );
        blobs.delete_snapshot("abc").await.unwrap();
        blobs.delete_snapshot("abc").await.unwrap();
        assert!(blobs.snapshot_ids().await.unwrap().is_empty());
        assert!(!dir.path().join("blobs/snapshots/abc").exists());
    }

    #[test]
    fn unknown_schemes_are_refused_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let error = BlobStore::open(dir.path(), Some("ftp://x")).unwrap_err();
        assert!(error.to_string().contains("ftp://x"), "{error}");
        let error = BlobStore::open(dir.path(), Some("s3:///prefix")).unwrap_err();
        assert!(error.to_string().contains("bucket"), "{error}");
        let error = BlobStore::open(
            dir.path(),
            Some("s3://b/p?secret_access_key=hunter2&colour=blue"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("colour") && !error.contains("hunter2"),
            "{error}"
        );
    }
}
