//! Which kinds to list: every kind of every `*.istio.io` and Gateway API group found by discovery
//! (at the group's preferred version), plus the core kinds the rules read.

use kube::core::ApiResource;
use kube::discovery::{Scope, verbs};

use meshcheck_model::CollectionGap;

use crate::CollectError;
use crate::fetch::Fetcher;

/// How a kind is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMode {
    /// Full objects.
    Full,
    /// Metadata only, plus the type from field-selected lists: data never leaves the server.
    SecretMetadata,
    /// Metadata only, except Istio's mesh/injector ConfigMaps which are read in full.
    ConfigMapMetadata,
    /// Names, groups, scope and versions only (schemas are large and say nothing about health).
    CrdSummary,
    /// Full objects, newest first, capped.
    Events,
}

/// One kind to list.
#[derive(Debug, Clone)]
pub struct CollectTarget {
    pub api_version: String,
    pub kind: String,
    pub resource: ApiResource,
    pub namespaced: bool,
    pub mode: ListMode,
}

/// Built-in groups and the kinds read from each (the version is the server's preferred one).
/// Public so that the in-cluster deployment's RBAC can be checked against it (`deploy/`).
pub const CORE_KINDS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "Namespace",
            "Node",
            "Pod",
            "Service",
            "Endpoints",
            "ServiceAccount",
            "ConfigMap",
            "Secret",
            "Event",
        ],
    ),
    (
        "apps",
        &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"],
    ),
    ("autoscaling", &["HorizontalPodAutoscaler"]),
    ("policy", &["PodDisruptionBudget"]),
    ("discovery.k8s.io", &["EndpointSlice"]),
    ("networking.k8s.io", &["NetworkPolicy", "Ingress"]),
    (
        "admissionregistration.k8s.io",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
    ),
    ("apiextensions.k8s.io", &["CustomResourceDefinition"]),
];

/// Built-in groups the collector reads some kinds from.
pub(crate) fn is_core_group(group: &str) -> bool {
    CORE_KINDS.iter().any(|(core, _)| *core == group)
}

/// Groups whose every kind is collected.
pub fn is_mesh_group(group: &str) -> bool {
    group == "istio.io"
        || group.ends_with(".istio.io")
        || group == "gateway.networking.k8s.io"
        || group == "gateway.networking.x-k8s.io"
}

/// How a kind of a collected group is read.
pub fn list_mode(group: &str, kind: &str) -> ListMode {
    match (group, kind) {
        ("", "Secret") => ListMode::SecretMetadata,
        ("", "ConfigMap") => ListMode::ConfigMapMetadata,
        ("", "Event") => ListMode::Events,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => ListMode::CrdSummary,
        _ => ListMode::Full,
    }
}

/// Namespaces to list namespaced kinds in: `None` for all. A restricted collection still reads
/// the Istio root namespace, where mesh configuration and the control plane live.
pub(crate) fn namespaces_to_list(requested: &[String]) -> Option<Vec<String>> {
    if requested.is_empty() {
        return None;
    }
    let mut namespaces = requested.to_vec();
    if !namespaces
        .iter()
        .any(|namespace| namespace == "istio-system")
    {
        namespaces.push("istio-system".to_owned());
    }
    namespaces.sort();
    namespaces.dedup();
    Some(namespaces)
}

/// Asks the server which groups and kinds it serves and picks the ones to collect.
pub(crate) async fn discover(
    fetcher: &Fetcher,
) -> Result<(Vec<CollectTarget>, Vec<CollectionGap>), CollectError> {
    let (groups, gaps) = fetcher.discovery().await?;
    let mut targets = Vec::new();
    for group in &groups {
        let name = group.name.as_str();
        let wanted: Option<&[&str]> = CORE_KINDS
            .iter()
            .find(|(core, _)| *core == name)
            .map(|(_, kinds)| *kinds);
        if wanted.is_none() && !is_mesh_group(name) {
            continue;
        }
        for (resource, capabilities) in group.resources.iter().cloned() {
            if !capabilities.supports_operation(verbs::LIST) {
                continue;
            }
            if let Some(kinds) = wanted
                && !kinds.contains(&resource.kind.as_str())
            {
                continue;
            }
            targets.push(CollectTarget {
                api_version: resource.api_version.clone(),
                kind: resource.kind.clone(),
                namespaced: capabilities.scope == Scope::Namespaced,
                mode: list_mode(name, &resource.kind),
                resource,
            });
        }
    }
    // Big kinds first so the parallel lists finish together; then a stable order.
    targets.sort_by_key(|target| {
        (
            !matches!(target.kind.as_str(), "Pod" | "Event" | "ReplicaSet"),
            target.api_version.clone(),
            target.kind.clone(),
        )
    });
    Ok((targets, gaps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesh_groups() {
        assert!(is_mesh_group("networking.istio.io"));
        assert!(is_mesh_group("install.istio.io"));
        assert!(is_mesh_group("gateway.networking.k8s.io"));
        assert!(!is_mesh_group("networking.k8s.io"));
        assert!(!is_mesh_group("notistio.io.example.com"));
    }

    #[test]
    fn restricted_namespaces_keep_the_root_namespace() {
        assert_eq!(namespaces_to_list(&[]), None);
        assert_eq!(
            namespaces_to_list(&["shop".to_owned()]),
            Some(vec!["istio-system".to_owned(), "shop".to_owned()])
        );
    }
}
