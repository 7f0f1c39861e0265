//! [`SnapshotDigest`]: what one analysis must remember so that a later one can be compared with it
//! without either snapshot at hand — versions, score, findings, and a content hash per object.

use std::collections::{BTreeMap, BTreeSet};

use meshcheck_input::Object;
use meshcheck_report::Report;
use meshcheck_rules::{Category, Finding, Severity};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::hash::content_hash;

/// The digest format this build writes and the newest it reads.
pub const DIGEST_FORMAT: u32 = 1;

/// The object a finding is about: kind, namespace and name (the version does not identify it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceKey {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ResourceKey {
    /// `Kind name.namespace` (or `Kind name`), as the reports print a resource.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{} {}.{namespace}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// One finding, reduced to what identifies it and what a reader needs to recognise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestFinding {
    pub code: String,
    pub severity: Severity,
    pub category: Category,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceKey>,
    pub message: String,
}

impl DigestFinding {
    pub fn of(finding: &Finding) -> DigestFinding {
        DigestFinding {
            code: finding.code.to_owned(),
            severity: finding.severity,
            category: finding.category,
            resource: finding.resource.as_ref().map(|resource| ResourceKey {
                kind: resource.kind.clone(),
                namespace: resource.namespace.clone(),
                name: resource.name.clone(),
            }),
            message: finding.message.clone(),
        }
    }

    /// What matches a finding across snapshots: the same rule, on the same resource, saying the
    /// same thing (a severity changed by configuration is not a new problem).
    pub fn identity(&self) -> (&str, Option<&ResourceKey>, &str) {
        (&self.code, self.resource.as_ref(), &self.message)
    }
}

/// Objects by kind (`apiVersion/Kind`, e.g. `networking.istio.io/v1/VirtualService`), then by
/// `namespace/name` (or `name` for cluster-scoped objects), to their content hash.
pub type ObjectHashes = BTreeMap<String, BTreeMap<String, String>>;

/// A compact, stable summary of one analysis (serde JSON), kept by the portal for every snapshot
/// and compared by [`crate::diff`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDigest {
    /// [`DIGEST_FORMAT`] of the build that wrote it.
    pub format: u32,
    /// The cluster's name: the kubeconfig context the archive was collected from (`None` for
    /// plain manifests, which name no cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// RFC 3339 UTC time of collection (`None` for plain manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<String>,
    /// The API server's `gitVersion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Versions of the Istio control planes (istiod), sorted, distinct.
    #[serde(default)]
    pub istio_versions: Vec<String>,
    /// Versions of the data-plane proxies, sorted, distinct.
    #[serde(default)]
    pub proxy_versions: Vec<String>,
    /// The overall health score (0–100) and its grade.
    pub score: u8,
    pub grade: String,
    pub findings: Vec<DigestFinding>,
    pub objects: ObjectHashes,
}

/// `namespace/name` or `name`: unambiguous, since neither may contain `/`.
pub fn object_name(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}

/// Hashes every object (in parallel: the portal does it for every analysis). When the input holds
/// the same object twice, the later one wins, as it would when applied.
pub fn hash_objects<'a>(objects: impl IndexedParallelIterator<Item = &'a Object>) -> ObjectHashes {
    let hashed: Vec<(&Object, String)> = objects
        .map(|object| (object, content_hash(object)))
        .collect();
    // Group by kind on borrowed names first: one key string per kind, not per object.
    let mut by_kind: BTreeMap<(&str, &str), BTreeMap<String, String>> = BTreeMap::new();
    for (object, hash) in hashed {
        by_kind
            .entry((&object.api_version, &object.kind))
            .or_default()
            .insert(object_name(object.namespace.as_deref(), &object.name), hash);
    }
    by_kind
        .into_iter()
        .map(|((api_version, kind), names)| (format!("{api_version}/{kind}"), names))
        .collect()
}

impl SnapshotDigest {
    /// The digest of an analysis: its report and the hashes of the objects it read.
    pub fn new(report: &Report, objects: ObjectHashes) -> SnapshotDigest {
        let cluster = report.cluster.as_ref();
        let inventory = report.inventory.as_ref();
        let istio_versions: BTreeSet<String> = inventory
            .into_iter()
            .flat_map(|inventory| &inventory.control_planes)
            .filter_map(|plane| plane.version.clone())
            .collect();
        let proxy_versions: BTreeSet<String> = inventory
            .into_iter()
            .flat_map(|inventory| &inventory.proxy_versions)
            .map(|count| count.version.clone())
            .collect();
        SnapshotDigest {
            format: DIGEST_FORMAT,
            cluster: cluster
                .and_then(|cluster| cluster.context.clone())
                .or_else(|| report.input.context.clone()),
            collected_at: cluster
                .and_then(|cluster| cluster.collected_at.clone())
                .or_else(|| report.input.collected_at.clone()),
            kubernetes_version: cluster
                .and_then(|cluster| cluster.kubernetes_version.clone())
                .or_else(|| inventory.and_then(|inventory| inventory.kubernetes_version.clone())),
            istio_versions: istio_versions.into_iter().collect(),
            proxy_versions: proxy_versions.into_iter().collect(),
            score: report.summary.score.overall,
            grade: report.summary.score.grade.as_str().to_owned(),
            findings: report.findings.iter().map(DigestFinding::of).collect(),
            objects,
        }
    }

    /// Number of objects over all kinds.
    pub fn object_count(&self) -> usize {
        self.objects.values().map(BTreeMap::len).sum()
    }

    /// Findings at `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.severity == severity)
            .count()
    }

    /// Compact JSON (what the portal stores).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a digest always serializes")
    }

    /// Reads a digest written by [`SnapshotDigest::to_json`], refusing a newer format.
    pub fn from_json(text: &str) -> Result<SnapshotDigest, DigestError> {
        let digest: SnapshotDigest =
            serde_json::from_str(text).map_err(|error| DigestError::Invalid(error.to_string()))?;
        if digest.format > DIGEST_FORMAT {
            return Err(DigestError::NewerFormat(digest.format));
        }
        Ok(digest)
    }
}

/// Why a stored digest cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("not a snapshot digest: {0}")]
    Invalid(String),
    #[error("snapshot digest format {0} is newer than this build reads ({DIGEST_FORMAT})")]
    NewerFormat(u32),
}

#[cfg(test)]
mod tests {
    use meshcheck_input::json;

    use super::*;

    fn object(value: meshcheck_input::Value) -> Object {
        Object::from_value(value, None).expect("a Kubernetes object")
    }

    #[test]
    fn objects_are_grouped_by_kind_and_named_by_namespace() {
        let objects = [
            object(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "shop"}}),
            ),
            object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})),
            object(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b", "namespace": "shop"}}),
            ),
        ];
        let hashes = hash_objects(objects.par_iter());
        assert_eq!(
            hashes.keys().collect::<Vec<_>>(),
            vec!["v1/Namespace", "v1/Service"]
        );
        assert_eq!(
            hashes["v1/Service"].keys().collect::<Vec<_>>(),
            vec!["shop/a", "shop/b"]
        );
        assert_eq!(
            hashes["v1/Namespace"].keys().collect::<Vec<_>>(),
            vec!["shop"]
        );
        assert_ne!(
            hashes["v1/Service"]["shop/a"],
            hashes["v1/Service"]["shop/b"]
        );
    }

    #[test]
    fn json_round_trip_and_newer_formats_are_refused() {
        let digest = SnapshotDigest {
            format: DIGEST_FORMAT,
            cluster: Some("prod".to_owned()),
            collected_at: Some("2026-01-01T00:00:00Z".to_owned()),
            kubernetes_version: Some("v1.30.2".to_owned()),
            istio_versions: vec!["1.23.0".to_owned()],
            proxy_versions: vec!["1.22.1".to_owned(), "1.23.0".to_owned()],
            score: 88,
            grade: "B".to_owned(),
            findings: vec![DigestFinding {
                code: "MC012".to_owned(),
                severity: Severity::Error,
                category: Category::IngressEgress,
                resource: Some(ResourceKey {
                    kind: "VirtualService".to_owned(),
                    namespace: Some("shop".to_owned()),
                    name: "reviews".to_owned(),
                }),
                message: "host not found".to_owned(),
            }],
            objects: BTreeMap::from([(
                "v1/Service".to_owned(),
                BTreeMap::from([("shop/reviews".to_owned(), "0123456789abcdef".to_owned())]),
            )]),
        };
        let text = digest.to_json();
        assert!(!text.contains('\n'));
        assert_eq!(SnapshotDigest::from_json(&text).unwrap(), digest);
        assert_eq!(digest.object_count(), 1);
        assert_eq!(digest.count(Severity::Error), 1);

        let newer = text.replacen("\"format\":1", "\"format\":99", 1);
        assert_eq!(
            SnapshotDigest::from_json(&newer).unwrap_err(),
            DigestError::NewerFormat(99)
        );
        assert!(matches!(
            SnapshotDigest::from_json("{}"),
            Err(DigestError::Invalid(_))
        ));
    }
}
