use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::HashSet;

use meshcheck_input::Value;
use meshcheck_model::{Kind, items, str_field};

use crate::{ResourceRef, Sink, SourceLocation, declare_rule, istio_messages};

declare_rule! {
    /// ## What it does
    /// Checks that every `fromRegistry` endpoint in the mesh networks configuration
    /// (`meshNetworks` of the `istio` ConfigMap, or `--mesh-networks`) names a service registry
    /// Istio knows: `Kubernetes` (the local cluster), `External`, `Mock`, or a remote cluster
    /// registered by a remote secret (a Secret labelled `istio/multiCluster: "true"`, whose keys
    /// are the cluster ids).
    ///
    /// ## Why is this bad?
    /// Istio assigns a network to the endpoints of each registry named in `meshNetworks`. An
    /// unknown name (often a case or spelling mismatch with the cluster id) leaves that cluster's
    /// endpoints on no network: cross-network traffic is then sent directly to pod IPs that are
    /// not reachable instead of through the network's gateway.
    ///
    /// ## How to fix
    /// Use the exact cluster id (the key of the remote secret, `Kubernetes` for the local
    /// cluster), or create the missing remote secret.
    ///
    /// ## Example
    /// ```yaml
    /// networks:
    ///   network1:
    ///     endpoints:
    ///     - fromRegistry: kubernetes     # the registry is named Kubernetes
    /// ```
    pub static MESH_NETWORKS_SERVICE_REGISTRY = {
        code: "MC024",
        name: "mesh-networks-service-registry",
        category: Platform,
        severity: Error,
        summary: "meshNetworks endpoints must name known service registries (cluster ids)",
        istio_analyzer: Some("multicluster.MeshNetworksAnalyzer"),
        istio_codes: &["IST0126"],
        inputs: &[Kind::ConfigMap, Kind::Secret],
        docs_url: "https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#Network-NetworkEndpoints",
        remediation: "Name the cluster exactly as its remote secret does (Kubernetes for the local cluster), or add the missing remote secret.",
        check: check,
    }
}

/// Registries Istio always knows.
const BUILT_IN: [&str; 3] = ["Mock", "Kubernetes", "External"];

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let Some(networks) = &mesh.mesh_networks else {
        return;
    };
    let mut known: HashSet<&str> = BUILT_IN.into_iter().collect();
    for secret in mesh.of_kind(Kind::Secret) {
        if secret.label("istio/multiCluster") != Some("true") {
            continue;
        }
        // Cluster ids are the secret's keys (`stringData` becomes `data` once applied).
        for field in ["data", "stringData"] {
            if let Some(data) = secret.value().get(field).and_then(Value::as_object) {
                known.extend(data.keys().map(|key| key.as_str()));
            }
        }
    }
    let root = networks
        .value
        .get("networks")
        .or_else(|| networks.value.at("/meshNetworks/networks"));
    let Some(root) = root.and_then(Value::as_object) else {
        return;
    };
    // Where to point: the ConfigMap that holds the networks, or the file given.
    let config_map = mesh
        .get(Kind::ConfigMap, &networks.namespace, "istio")
        .filter(|_| networks.source.starts_with("ConfigMap "));
    let source = match config_map {
        Some(config_map) => config_map
            .object()
            .source
            .as_ref()
            .map(|source| SourceLocation {
                file: source.file.to_string(),
                line: config_map.line_of(&["data", "meshNetworks"]),
            }),
        None => Some(SourceLocation {
            file: networks.source.clone(),
            line: None,
        }),
    };
    let mut reported: HashSet<(&str, &str)> = HashSet::new();
    for (network, config) in root {
        for endpoint in items(config.get("endpoints")) {
            let Some(registry) = str_field(endpoint, "fromRegistry") else {
                continue;
            };
            if known.contains(registry) || !reported.insert((network, registry)) {
                continue;
            }
            let resource = ResourceRef {
                api_version: "v1".into(),
                kind: "MeshNetworks".into(),
                namespace: Some(networks.namespace.clone()),
                name: "meshnetworks".into(),
            };
            let finding = sink
                .report_detached(
                    Some(resource),
                    source.clone(),
                    format!(
                        "Network {network} takes endpoints from registry {registry:?}, which is not a known cluster id (known: {})",
                        known_list(&known)
                    ),
                )
                .istio_code("IST0126");
            if let Some(level) = istio_messages::level("IST0126") {
                finding.severity(level);
            }
        }
    }
}

fn known_list(known: &HashSet<&str>) -> String {
    let mut names: Vec<&str> = known.iter().copied().collect();
    names.sort_unstable();
    names.join(", ")
}
