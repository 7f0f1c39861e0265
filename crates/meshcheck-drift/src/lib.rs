//! Drift between two snapshots of a cluster.
//!
//! Every analysis yields a [`SnapshotDigest`] (built by `meshcheck_pipeline::analyze`): the
//! cluster, its versions, the score, every finding, and a content hash per object that ignores
//! what the API server maintains on its own (resource versions, uids, managed fields, status), so
//! an unchanged cluster collected twice has the same digest objects. The portal stores digests;
//! [`diff`] compares two of them into a [`Drift`], which renders as text, JSON or HTML.

mod diff;
mod digest;
mod hash;
mod html;
mod text;

#[cfg(test)]
mod testing;

pub use diff::{Drift, DriftSummary, KindDrift, SnapshotSide, VersionChange, diff};
pub use digest::{
    DIGEST_FORMAT, DigestError, DigestFinding, ObjectHashes, ResourceKey, SnapshotDigest,
    hash_objects, object_name,
};
pub use hash::{VOLATILE_METADATA, VOLATILE_TOP_LEVEL, content_hash};
pub use html::{STYLE, render_html_fragment, render_html_page, style_csp_source};
pub use text::render_text;

/// The drift as pretty JSON (what `meshcheck diff -o json` prints and the portal's API returns).
pub fn render_json(drift: &Drift) -> String {
    let mut text = serde_json::to_string_pretty(drift).expect("a drift always serializes");
    text.push('\n');
    text
}
