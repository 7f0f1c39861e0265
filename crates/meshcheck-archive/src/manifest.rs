//! `manifest.json`: what the archive holds, where it came from, and a checksum of every member.

use std::collections::BTreeMap;

use meshcheck_model::CollectionGap;
use serde::{Deserialize, Serialize};

/// The archive format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The manifest's own member path; every other member is listed in [`Manifest::members`].
pub const MANIFEST_MEMBER: &str = "manifest.json";

/// Where the snapshot's objects came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Collected from a live cluster's API server.
    Cluster,
    /// Packed from plain manifest files (`meshcheck pack`).
    Manifests,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cluster => "cluster",
            Source::Manifests => "manifests",
        }
    }
}

/// The archive's table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub meshcheck_version: String,
    /// RFC 3339 UTC, whole seconds.
    pub collected_at: String,
    pub source: Source,
    /// kubeconfig context the snapshot was collected from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// `gitVersion` of the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// `group/version/Kind` (`v1/Service` for the core group) → number of objects.
    pub counts: BTreeMap<String, usize>,
    /// Kinds that could not be collected.
    #[serde(default)]
    pub collection_errors: Vec<CollectionGap>,
    /// Redaction kind → how many values were removed (never the values).
    #[serde(default)]
    pub redaction: BTreeMap<String, u64>,
    /// Member path → SHA-256 (lowercase hex) of every member except the manifest itself.
    pub members: BTreeMap<String, String>,
    /// Names, namespaces, hosts and label values were replaced by keyed hashes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymized: bool,
}

impl Manifest {
    /// Total number of objects over all kinds.
    pub fn object_count(&self) -> usize {
        self.counts.values().sum()
    }
}

/// The member that holds objects of one kind: `objects/<group or core>/<version>/<Kind>.json`.
pub fn objects_member(api_version: &str, kind: &str) -> String {
    let (group, version) = match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("core", api_version),
    };
    format!(
        "objects/{}/{}/{}.json",
        path_segment(group),
        path_segment(version),
        path_segment(kind)
    )
}

/// The counts key of a kind: `networking.istio.io/v1/VirtualService`, `v1/Service`.
pub fn count_key(api_version: &str, kind: &str) -> String {
    format!("{api_version}/{kind}")
}

/// Keeps a name usable as one path segment: anything but `[A-Za-z0-9._-]` becomes `_`, and the
/// special segments `.`/`..` cannot occur.
pub(crate) fn path_segment(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        cleaned.replace('.', "_") + "_"
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_members_name_group_version_and_kind() {
        assert_eq!(
            objects_member("networking.istio.io/v1", "VirtualService"),
            "objects/networking.istio.io/v1/VirtualService.json"
        );
        assert_eq!(
            objects_member("v1", "Service"),
            "objects/core/v1/Service.json"
        );
        assert_eq!(objects_member("../x/v1", "K"), "objects/.._x/v1/K.json");
        assert_eq!(path_segment(".."), "___");
        assert_eq!(path_segment("a/b"), "a_b");
    }
}
