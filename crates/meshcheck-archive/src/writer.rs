//! Writing a snapshot: objects are redacted as they are added, members are laid out in a fixed
//! order with fixed tar headers (same input, same bytes), and the file appears under its final
//! name only once it is complete.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use jiff::Timestamp;
use meshcheck_input::Object;
use meshcheck_model::CollectionGap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::anonymize::Anonymizer;
use crate::error::ArchiveError;
use crate::manifest::{
    FORMAT_VERSION, MANIFEST_MEMBER, Manifest, Source, count_key, objects_member, path_segment,
};
use crate::redact::{Redaction, RedactionStats, redact_object};

/// Member paths of the optional parts of a snapshot.
pub const VERSION_MEMBER: &str = "cluster/version.json";
pub const EVENTS_MEMBER: &str = "events/events.json";
pub const PROXY_STATS_DIR: &str = "proxy-stats/";

/// zstd level: level 3 (zstd's default) compresses Kubernetes JSON about 10× and stays fast.
const COMPRESSION_LEVEL: i32 = 3;

/// Facts about the snapshot as a whole.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    pub source: Source,
    /// kubeconfig context name.
    pub context: Option<String>,
    /// `gitVersion` of the API server.
    pub kubernetes_version: Option<String>,
    /// The API server's `/version` body, stored as `cluster/version.json`.
    pub version_json: Option<Value>,
    /// When the snapshot was taken; stored in whole seconds, also used as every member's mtime.
    pub collected_at: Timestamp,
}

/// Builds an archive in memory, then writes it. Every object is redacted when added.
#[derive(Debug)]
pub struct SnapshotWriter {
    info: SnapshotInfo,
    /// (apiVersion, kind) → items as added.
    objects: BTreeMap<(String, String), Vec<Value>>,
    events: Vec<Value>,
    proxy_stats: BTreeMap<String, String>,
    collection_errors: Vec<CollectionGap>,
    redaction: RedactionStats,
    anonymize: Anonymize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Anonymize {
    Off,
    RandomKey,
    Key(String),
}

impl SnapshotWriter {
    pub fn new(info: SnapshotInfo) -> SnapshotWriter {
        SnapshotWriter {
            info,
            objects: BTreeMap::new(),
            events: Vec::new(),
            proxy_stats: BTreeMap::new(),
            collection_errors: Vec::new(),
            redaction: RedactionStats::default(),
            anonymize: Anonymize::Off,
        }
    }

    /// Adds objects of one kind as the API served them. Items without `apiVersion`/`kind` (the
    /// API server leaves them out of typed lists) get them from the arguments. May be called
    /// several times for the same kind (one call per namespace, per page...).
    pub fn add_objects(&mut self, api_version: &str, kind: &str, items: Vec<Value>) {
        let stored = self
            .objects
            .entry((api_version.to_owned(), kind.to_owned()))
            .or_default();
        for mut item in items {
            set_type_meta(&mut item, api_version, kind);
            redact_object(&mut item, &mut self.redaction);
            stored.push(item);
        }
    }

    /// Adds objects read from manifests, each under its own apiVersion and kind.
    pub fn add_manifest_objects(&mut self, objects: impl IntoIterator<Item = Object>) {
        for object in objects {
            self.add_objects(&object.api_version, &object.kind, vec![object.value.into()]);
        }
    }

    /// Adds Events (`v1` or `events.k8s.io/v1`); they are stored newest first.
    pub fn add_events(&mut self, events: Vec<Value>) {
        for mut event in events {
            set_type_meta(&mut event, "v1", "Event");
            redact_object(&mut event, &mut self.redaction);
            self.events.push(event);
        }
    }

    /// Adds a raw Envoy stats dump, stored as `proxy-stats/<name>.txt` exactly as given.
    pub fn add_proxy_stats(&mut self, name: &str, text: String) {
        self.proxy_stats.insert(name.to_owned(), text);
    }

    /// Records a kind that could not be collected.
    pub fn add_collection_error(&mut self, gap: CollectionGap) {
        self.collection_errors.push(gap);
    }

    /// Replaces names, namespaces, hosts and label values with hashes keyed by a random key
    /// that is never stored (see [`crate::Anonymizer`]).
    pub fn anonymize(&mut self, on: bool) {
        self.anonymize = if on {
            Anonymize::RandomKey
        } else {
            Anonymize::Off
        };
    }

    /// Like [`SnapshotWriter::anonymize`] with a stable key: snapshots anonymized with the same
    /// key can be compared.
    pub fn anonymize_with_key(&mut self, key: &str) {
        self.anonymize = Anonymize::Key(key.to_owned());
    }

    /// What redaction removed so far.
    pub fn redaction(&self) -> &RedactionStats {
        &self.redaction
    }

    /// Writes the archive to `dest` atomically: a temporary file in the same directory is
    /// written, flushed to disk and renamed, so an interrupted write never leaves a file under
    /// the final name.
    pub fn write_atomic(self, dest: &Path) -> Result<Manifest, ArchiveError> {
        let archive = dest.display().to_string();
        let io = |source| ArchiveError::io(&archive, source);
        let dir = match dest.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut temp = tempfile::Builder::new()
            .prefix(".meshcheck-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(io)?;
        let manifest = self.write_to(&archive, std::io::BufWriter::new(temp.as_file_mut()))?;
        temp.as_file().sync_all().map_err(io)?;
        temp.persist(dest).map_err(|error| io(error.error))?;
        // The rename is durable only once the directory entry is.
        #[cfg(unix)]
        std::fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io)?;
        Ok(manifest)
    }

    /// The archive's bytes (for uploads and tests).
    pub fn to_bytes(self) -> Result<(Manifest, Vec<u8>), ArchiveError> {
        let mut bytes = Vec::new();
        let manifest = self.write_to("<memory>", &mut bytes)?;
        Ok((manifest, bytes))
    }

    /// Writes the compressed archive to `out`; `archive` names it in errors.
    pub fn write_to(self, archive: &str, out: impl Write) -> Result<Manifest, ArchiveError> {
        let mtime = self.info.collected_at.as_second().max(0) as u64;
        let (manifest, members) = self.into_members()?;
        let manifest_bytes = to_json_bytes(&manifest, archive)?;
        let io = |source| ArchiveError::io(archive, source);
        let encoder = zstd::Encoder::new(out, COMPRESSION_LEVEL).map_err(io)?;
        let mut builder = tar::Builder::new(encoder);
        builder.mode(tar::HeaderMode::Deterministic);
        append_member(&mut builder, MANIFEST_MEMBER, &manifest_bytes, mtime).map_err(io)?;
        for (path, data) in &members {
            append_member(&mut builder, path, data, mtime).map_err(io)?;
        }
        let encoder = builder.into_inner().map_err(io)?;
        let mut out = encoder.finish().map_err(io)?;
        out.flush().map_err(io)?;
        Ok(manifest)
    }

    /// Lays out every member but the manifest, and the manifest that lists them.
    fn into_members(mut self) -> Result<(Manifest, BTreeMap<String, Vec<u8>>), ArchiveError> {
        let anonymized = self.apply_anonymization()?;
        let mut members = BTreeMap::new();
        let mut counts = BTreeMap::new();
        if let Some(version) = &self.info.version_json {
            members.insert(
                VERSION_MEMBER.to_owned(),
                to_json_bytes(version, "<memory>")?,
            );
        }
        for ((api_version, kind), mut items) in self.objects {
            // Collection order (namespaces listed concurrently) must not change the bytes; the
            // stable sort keeps duplicates in the order they were added.
            items.sort_by(|a, b| object_sort_key(a).cmp(&object_sort_key(b)));
            *counts.entry(count_key(&api_version, &kind)).or_default() += items.len();
            members.insert(objects_member(&api_version, &kind), list_bytes(&items));
        }
        if !self.events.is_empty() {
            let mut events = self.events;
            events.sort_by(|a, b| event_time(b).cmp(event_time(a)));
            members.insert(EVENTS_MEMBER.to_owned(), list_bytes(&events));
        }
        for (name, text) in self.proxy_stats {
            let path = format!("{PROXY_STATS_DIR}{}.txt", path_segment(&name));
            members.insert(path, text.into_bytes());
        }
        let mut collection_errors = self.collection_errors;
        collection_errors.sort_by(|a, b| {
            (&a.api_version, &a.kind, &a.namespace, &a.reason).cmp(&(
                &b.api_version,
                &b.kind,
                &b.namespace,
                &b.reason,
            ))
        });
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            meshcheck_version: env!("CARGO_PKG_VERSION").to_owned(),
            collected_at: rfc3339_seconds(self.info.collected_at),
            source: self.info.source,
            context: self.info.context,
            kubernetes_version: self.info.kubernetes_version,
            counts,
            collection_errors,
            redaction: self.redaction.to_map(),
            members: members
                .iter()
                .map(|(path, data)| (path.clone(), sha256_hex(data)))
                .collect(),
            anonymized,
        };
        Ok((manifest, members))
    }

    /// Rewrites everything identifying when anonymization is on; returns whether it was.
    fn apply_anonymization(&mut self) -> Result<bool, ArchiveError> {
        let mut anonymizer = match &self.anonymize {
            Anonymize::Off => return Ok(false),
            Anonymize::Key(key) => Anonymizer::with_key(key),
            Anonymize::RandomKey => {
                Anonymizer::with_random_key().map_err(|error| ArchiveError::Write {
                    archive: "<memory>".to_owned(),
                    detail: format!("no random anonymization key: {error}"),
                })?
            }
        };
        // Event messages are free text that repeats names in any shape: drop them.
        for event in &mut self.events {
            if let Some(map) = event.as_object_mut() {
                for key in ["message", "note"] {
                    if map.remove(key).is_some() {
                        self.redaction.record(Redaction::EventMessage);
                    }
                }
            }
        }
        for object in self.objects.values().flatten().chain(&self.events) {
            anonymizer.learn(object);
        }
        for object in self.objects.values_mut().flatten().chain(&mut self.events) {
            anonymizer.apply(object);
        }
        self.proxy_stats = std::mem::take(&mut self.proxy_stats)
            .into_iter()
            .map(|(name, text)| (anonymizer.apply_name(&name), anonymizer.apply_text(&text)))
            .collect();
        for gap in &mut self.collection_errors {
            gap.namespace = gap.namespace.as_deref().map(|ns| anonymizer.apply_name(ns));
            gap.reason = anonymizer.apply_text(&gap.reason);
        }
        self.info.context = self
            .info
            .context
            .as_deref()
            .map(|context| anonymizer.apply_name(context));
        Ok(true)
    }
}

/// RFC 3339 UTC in whole seconds (`2026-11-24T10:00:00Z`).
pub fn rfc3339_seconds(timestamp: Timestamp) -> String {
    Timestamp::from_second(timestamp.as_second())
        .unwrap_or(timestamp)
        .to_string()
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn set_type_meta(item: &mut Value, api_version: &str, kind: &str) {
    if let Some(map) = item.as_object_mut() {
        for (key, value) in [("apiVersion", api_version), ("kind", kind)] {
            let missing = map
                .get(key)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
            if missing {
                map.insert(key.to_owned(), Value::String(value.to_owned()));
            }
        }
    }
}

fn object_sort_key(item: &Value) -> (&str, &str) {
    let text = |pointer| item.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    (text("/metadata/namespace"), text("/metadata/name"))
}

/// The newest time an Event carries (RFC 3339 strings sort as times).
fn event_time(event: &Value) -> &str {
    [
        "/lastTimestamp",
        "/eventTime",
        "/series/lastObservedTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .filter_map(|pointer| event.pointer(pointer).and_then(Value::as_str))
    .max()
    .unwrap_or("")
}

/// A `List` document with one item per line, so that an item's line is its index + 2.
fn list_bytes(items: &[Value]) -> Vec<u8> {
    let mut out = crate::objects::LIST_HEADER.to_vec();
    for (index, item) in items.iter().enumerate() {
        out.extend_from_slice(if index == 0 { b"\n" } else { b",\n" });
        // Serializing a Value into a Vec cannot fail.
        serde_json::to_writer(&mut out, item).expect("JSON values serialize");
    }
    out.extend_from_slice(b"\n]}\n");
    out
}

fn to_json_bytes(value: &impl serde::Serialize, archive: &str) -> Result<Vec<u8>, ArchiveError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|error| ArchiveError::Write {
        archive: archive.to_owned(),
        detail: error.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn append_member(
    builder: &mut tar::Builder<impl Write>,
    path: &str,
    data: &[u8],
    mtime: u64,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    // `append_data` sets the path (GNU long-name records when needed) and the checksum.
    builder.append_data(&mut header, path, data)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn info() -> SnapshotInfo {
        SnapshotInfo {
            source: Source::Cluster,
            context: Some("prod-eu".to_owned()),
            kubernetes_version: Some("v1.29.4".to_owned()),
            version_json: Some(
                serde_json::json!({"major": "1", "minor": "29", "gitVersion": "v1.29.4"}),
            ),
            collected_at: "2026-11-24T10:00:00.123Z".parse().unwrap(),
        }
    }

    #[test]
    fn lists_hold_one_item_per_line() {
        let bytes = list_bytes(&[serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]);
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().nth(1), Some(r#"{"a":1},"#));
        assert_eq!(text.lines().nth(2), Some(r#"{"b":2}"#));
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["items"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn timestamps_are_whole_seconds_utc() {
        assert_eq!(rfc3339_seconds(info().collected_at), "2026-11-24T10:00:00Z");
    }

    #[test]
    fn events_are_stored_newest_first() {
        let mut writer = SnapshotWriter::new(info());
        writer.add_events(vec![
            serde_json::json!({"metadata": {"name": "old"}, "lastTimestamp": "2026-11-24T09:00:00Z"}),
            serde_json::json!({"metadata": {"name": "new"}, "lastTimestamp": "2026-11-24T09:59:00Z"}),
        ]);
        let (_, members) = writer.into_members().unwrap();
        let events: Value = serde_json::from_slice(&members[EVENTS_MEMBER]).unwrap();
        assert_eq!(events["items"][0]["metadata"]["name"], "new");
        assert_eq!(events["items"][0]["kind"], "Event");
    }

    #[test]
    fn typed_list_items_get_their_type_meta() {
        let mut writer = SnapshotWriter::new(info());
        writer.add_objects(
            "apps/v1",
            "Deployment",
            vec![serde_json::json!({"metadata": {"name": "d"}})],
        );
        let (manifest, members) = writer.into_members().unwrap();
        let list: Value =
            serde_json::from_slice(&members["objects/apps/v1/Deployment.json"]).unwrap();
        assert_eq!(list["items"][0]["apiVersion"], "apps/v1");
        assert_eq!(list["items"][0]["kind"], "Deployment");
        assert_eq!(manifest.counts["apps/v1/Deployment"], 1);
    }

    #[test]
    fn collection_errors_are_written_in_a_stable_order() {
        let gap = |kind: &str| CollectionGap {
            api_version: "v1".to_owned(),
            kind: kind.to_owned(),
            namespace: None,
            reason: "forbidden".to_owned(),
        };
        let mut writer = SnapshotWriter::new(info());
        writer.add_collection_error(gap("Secret"));
        writer.add_collection_error(gap("Pod"));
        let (manifest, _) = writer.into_members().unwrap();
        assert_eq!(manifest.collection_errors[0].kind, "Pod");
    }
}
