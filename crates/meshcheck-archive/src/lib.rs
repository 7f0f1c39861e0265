//! meshcheck snapshot archives: one `tar` + `zstd` file holding a cluster's (or a manifest
//! directory's) objects as the API served them, redacted, with a manifest that checksums every
//! member.
//!
//! Layout (members in this order, fixed tar headers, so the same input gives the same bytes):
//! - `manifest.json` — [`Manifest`]
//! - `cluster/version.json` — the API server's `/version` body (optional)
//! - `events/events.json` — a `List` of Events, newest first (optional)
//! - `objects/<group or core>/<version>/<Kind>.json` — a `List` per kind, one item per line
//! - `proxy-stats/<name>.txt` — raw Envoy stats dumps (optional)
//!
//! [`SnapshotWriter`] builds one; [`Archive`] reads and verifies one without touching the disk.

pub mod anonymize;
mod error;
mod manifest;
mod objects;
mod reader;
pub mod redact;
mod writer;

pub use anonymize::Anonymizer;
pub use error::ArchiveError;
pub use jiff::Timestamp;
pub use manifest::{FORMAT_VERSION, MANIFEST_MEMBER, Manifest, Source, count_key, objects_member};
pub use reader::{Archive, Limits, ZSTD_MAGIC, claims_archive, is_archive};
pub use redact::{Redaction, RedactionStats};
pub use writer::{
    EVENTS_MEMBER, PROXY_STATS_DIR, SnapshotInfo, SnapshotWriter, VERSION_MEMBER, rfc3339_seconds,
};
