//! Facts about where the input came from that are not Kubernetes objects: the collector's
//! manifest (context, Kubernetes version, kinds it could not list) or the fact that the input was
//! plain manifests.

use serde::{Deserialize, Serialize};

/// What kind of input the mesh was built from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputSource {
    /// Plain YAML/JSON manifests: absence of an object is not evidence of anything.
    #[default]
    Manifests,
    /// A `meshcheck collect` archive.
    Archive,
    /// A live cluster read directly (`analyze --live`).
    Live,
}

/// A kind the collector could not read, and why (403, 404, timeout...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionGap {
    /// `group/version` as served, e.g. `networking.istio.io/v1`.
    pub api_version: String,
    pub kind: String,
    /// Namespace the list was scoped to, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// One line, e.g. `forbidden: User "x" cannot list resource "secrets"`.
    pub reason: String,
}

/// Input-level facts a rule may use (version support, collection gaps).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub source: InputSource,
    /// kubeconfig context name the archive was collected from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// RFC 3339 UTC time of collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<String>,
    /// `gitVersion` from the API server's `/version`, e.g. `v1.29.4-gke.1043002`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Kinds that could not be collected; rules depending on them are partially blind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collection_gaps: Vec<CollectionGap>,
}
