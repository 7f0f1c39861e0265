//! Platform inventory for the report: Kubernetes version, Istio control planes, gateways and
//! revisions, data-plane proxy versions, node topology. A serializable summary of the model's
//! [`meshcheck_model::inventory`] (which rules use too, so the report and the findings agree);
//! every part is empty when the input does not hold the objects it comes from (plain manifests
//! rarely hold Pods or Nodes).

use std::collections::{BTreeMap, BTreeSet};

use meshcheck_model::inventory::{self as model, Version, Workload, image_tag};
use meshcheck_model::{Kind, Mesh};
use serde::Serialize;

/// An Istio workload: an istiod revision or a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    pub namespace: String,
    /// The controller's name, or the first pod's when only pods are known.
    pub name: String,
    /// `Deployment`, `StatefulSet`, `DaemonSet` or `Pod`.
    pub kind: String,
    /// `istio.io/rev` (control planes) or the gateway's role.
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Desired replicas (absent for DaemonSets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    /// Pods of the workload found in the input.
    pub pods: usize,
}

/// How many proxies (or nodes) run one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionCount {
    pub version: String,
    pub count: usize,
}

/// Nodes of one zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Zone {
    /// `topology.kubernetes.io/zone`, or `(no zone label)`.
    pub zone: String,
    pub nodes: usize,
    /// Allocatable CPU in cores.
    pub cpu_cores: f64,
    /// Allocatable memory in GiB (one decimal).
    pub memory_gib: f64,
    /// Instance types (`node.kubernetes.io/instance-type`) seen in the zone.
    pub instance_types: Vec<String>,
}

/// What the mesh runs on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inventory {
    /// The API server's `gitVersion` from the collector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    pub namespaces: usize,
    pub services: usize,
    pub pods: usize,
    /// Pods with an Envoy proxy (sidecars and gateways).
    pub proxies: usize,
    /// Running pods in and outside the mesh; absent when the input holds no Pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_coverage: Option<model::PodCoverage>,
    pub control_planes: Vec<Component>,
    pub gateways: Vec<Component>,
    /// Revisions of control planes and of the proxies connected to them.
    pub revisions: Vec<String>,
    /// Envoy proxy versions from the proxy image tags, most proxies first.
    pub proxy_versions: Vec<VersionCount>,
    /// ztunnel and istio-cni pods by kind.
    pub node_agents: Vec<VersionCount>,
    pub nodes: usize,
    /// Kubelet versions of the nodes, most nodes first.
    pub kubelet_versions: Vec<VersionCount>,
    pub zones: Vec<Zone>,
}

fn version_text(version: Option<&Version>, image: Option<&str>) -> Option<String> {
    version
        .map(ToString::to_string)
        .or_else(|| image.and_then(image_tag).map(str::to_owned))
}

fn component(workload: &Workload, role: String, version: Option<String>) -> Component {
    let resource = workload.resource;
    Component {
        namespace: resource.namespace.clone(),
        name: resource.name().to_owned(),
        kind: resource.kind.name().to_owned(),
        role,
        version,
        replicas: workload.replicas(),
        pods: workload.pod_count(),
    }
}

/// Counts, most frequent first, then by name.
fn ranked(counts: BTreeMap<String, usize>) -> Vec<VersionCount> {
    let mut ranked: Vec<VersionCount> = counts
        .into_iter()
        .map(|(version, count)| VersionCount { version, count })
        .collect();
    ranked.sort_by(|a, b| b.count.cmp(&a.count).then(a.version.cmp(&b.version)));
    ranked
}

fn zones(nodes: &[model::NodeInfo]) -> Vec<Zone> {
    let mut zones: BTreeMap<&str, (Zone, BTreeSet<String>)> = BTreeMap::new();
    for node in nodes {
        let name = node.zone.unwrap_or("(no zone label)");
        let (zone, instance_types) = zones.entry(name).or_insert_with(|| {
            (
                Zone {
                    zone: name.to_owned(),
                    nodes: 0,
                    cpu_cores: 0.0,
                    memory_gib: 0.0,
                    instance_types: Vec::new(),
                },
                BTreeSet::new(),
            )
        });
        zone.nodes += 1;
        zone.cpu_cores += node.allocatable_cpu_millis.unwrap_or(0) as f64 / 1000.0;
        zone.memory_gib += node.allocatable_memory_bytes.unwrap_or(0) as f64 / 1_073_741_824.0;
        if let Some(instance_type) = node.instance_type {
            instance_types.insert(instance_type.to_owned());
        }
    }
    zones
        .into_values()
        .map(|(mut zone, instance_types)| {
            zone.instance_types = instance_types.into_iter().collect();
            zone.cpu_cores = (zone.cpu_cores * 100.0).round() / 100.0;
            zone.memory_gib = (zone.memory_gib * 10.0).round() / 10.0;
            zone
        })
        .collect()
}

impl Inventory {
    pub fn of(mesh: &Mesh) -> Inventory {
        let facts = model::Inventory::of(mesh);
        let control_planes: Vec<Component> = facts
            .control_planes
            .iter()
            .map(|plane| {
                component(
                    &plane.workload,
                    plane.revision.clone(),
                    version_text(plane.version.as_ref(), plane.image),
                )
            })
            .collect();
        let gateways: Vec<Component> = facts
            .gateways
            .iter()
            .map(|gateway| {
                let image = gateway
                    .workload
                    .containers()
                    .iter()
                    .map(|container| (container.index, container.value))
                    .find(|(_, container)| {
                        container.get("name").and_then(|name| name.as_str()) == Some("istio-proxy")
                    })
                    .and_then(|(_, container)| container.get("image"))
                    .and_then(|image| image.as_str());
                component(
                    &gateway.workload,
                    gateway.role.as_str().to_owned(),
                    image.and_then(image_tag).map(str::to_owned),
                )
            })
            .collect();
        let mut revisions: BTreeSet<String> = control_planes
            .iter()
            .map(|plane| plane.role.clone())
            .collect();
        let mut proxy_versions: BTreeMap<String, usize> = BTreeMap::new();
        let mut proxies = 0;
        for proxy in facts.proxies.iter().filter(|proxy| proxy.kind.is_envoy()) {
            proxies += 1;
            revisions.insert(proxy.revision.to_owned());
            let version = version_text(proxy.version.as_ref(), Some(proxy.image))
                .unwrap_or_else(|| "unknown".to_owned());
            *proxy_versions.entry(version).or_default() += 1;
        }
        let mut node_agents: BTreeMap<String, usize> = BTreeMap::new();
        for (kind, _) in &facts.node_agents {
            *node_agents.entry(kind.as_str().to_owned()).or_default() += 1;
        }
        let mut kubelet_versions: BTreeMap<String, usize> = BTreeMap::new();
        for node in &facts.nodes {
            if let Some(version) = &node.kubelet_version {
                *kubelet_versions.entry(version.to_string()).or_default() += 1;
            }
        }
        Inventory {
            pod_coverage: model::pod_coverage(mesh),
            kubernetes_version: mesh.cluster.kubernetes_version.clone(),
            namespaces: mesh.namespace_names().len(),
            services: mesh.count(Kind::Service),
            pods: mesh.count(Kind::Pod),
            proxies,
            control_planes,
            gateways,
            revisions: revisions.into_iter().collect(),
            proxy_versions: ranked(proxy_versions),
            node_agents: ranked(node_agents),
            nodes: facts.nodes.len(),
            kubelet_versions: ranked(kubelet_versions),
            zones: zones(&facts.nodes),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshcheck_model::{ClusterInfo, MeshInputs};

    use super::*;

    fn mesh(yaml: &str) -> Mesh {
        let (objects, issues) = meshcheck_input::parse_documents(&Arc::from("t.yaml"), yaml);
        assert!(issues.is_empty(), "{issues:?}");
        Mesh::build(
            objects,
            MeshInputs {
                cluster: ClusterInfo {
                    kubernetes_version: Some("v1.29.4".to_owned()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
    }

    const CLUSTER: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-1-22, namespace: istio-system, labels: {app: istiod, istio.io/rev: 1-22}}
spec:
  replicas: 2
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod, istio.io/rev: 1-22}}
    spec:
      containers: [{name: discovery, image: "docker.io/istio/pilot:1.22.1"}]
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/rev: 1-22}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: shop, labels: {istio.io/rev: 1-22}}
spec:
  containers: [{name: app, image: shop:1}, {name: istio-proxy, image: "docker.io/istio/proxyv2:1.22.1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: shop}
spec:
  containers: [{name: app, image: shop:1}]
  initContainers: [{name: istio-proxy, image: "docker.io/istio/proxyv2:1.21.0", restartPolicy: Always}]
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: shop}
spec:
  containers: [{name: app, image: shop:1}, {name: istio-proxy, image: "docker.io/istio/proxyv2:1.22.1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: d, namespace: shop}
spec:
  containers: [{name: app, image: shop:1}]
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {topology.kubernetes.io/zone: eu-west-1a, node.kubernetes.io/instance-type: m5.xlarge}}
status: {allocatable: {cpu: "4", memory: 16Gi}, nodeInfo: {kubeletVersion: v1.29.4}}
---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {topology.kubernetes.io/zone: eu-west-1a, node.kubernetes.io/instance-type: m5.2xlarge}}
status: {allocatable: {cpu: "8", memory: 32Gi}, nodeInfo: {kubeletVersion: v1.29.4}}
---
apiVersion: v1
kind: Node
metadata: {name: n3}
status: {allocatable: {cpu: 3500m, memory: 8000000Ki}, nodeInfo: {kubeletVersion: v1.28.9}}
"#;

    #[test]
    fn inventory_of_a_cluster() {
        let inventory = Inventory::of(&mesh(CLUSTER));
        assert_eq!(inventory.kubernetes_version.as_deref(), Some("v1.29.4"));
        assert_eq!(
            inventory.control_planes,
            vec![Component {
                namespace: "istio-system".to_owned(),
                name: "istiod-1-22".to_owned(),
                kind: "Deployment".to_owned(),
                role: "1-22".to_owned(),
                version: Some("1.22.1".to_owned()),
                replicas: Some(2),
                pods: 0,
            }]
        );
        assert_eq!(inventory.revisions, vec!["1-22", "default"]);
        assert_eq!(inventory.pods, 4);
        assert_eq!(inventory.proxies, 3);
        assert_eq!(
            inventory.proxy_versions,
            vec![
                VersionCount {
                    version: "1.22.1".to_owned(),
                    count: 2
                },
                VersionCount {
                    version: "1.21.0".to_owned(),
                    count: 1
                },
            ]
        );
        assert_eq!(inventory.nodes, 3);
        assert_eq!(inventory.kubelet_versions[0].version, "1.29.4");
        assert_eq!(inventory.kubelet_versions[0].count, 2);
        assert_eq!(inventory.zones.len(), 2);
        let zone = &inventory.zones[1];
        assert_eq!(zone.zone, "eu-west-1a");
        assert_eq!(zone.nodes, 2);
        assert_eq!(zone.cpu_cores, 12.0);
        assert_eq!(zone.memory_gib, 48.0);
        assert_eq!(zone.instance_types, vec!["m5.2xlarge", "m5.xlarge"]);
        assert_eq!(inventory.zones[0].zone, "(no zone label)");
        assert_eq!(inventory.zones[0].cpu_cores, 3.5);
    }

    #[test]
    fn istiod_pods_stand_in_for_deployments() {
        let inventory = Inventory::of(&mesh(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: istiod-x1, namespace: istio-system, labels: {app: istiod}}\nspec: {containers: [{name: discovery, image: 'istio/pilot:1.23.0'}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: istiod-x2, namespace: istio-system, labels: {app: istiod}}\nspec: {containers: [{name: discovery, image: 'istio/pilot:1.23.0'}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: gw, namespace: edge, labels: {istio: ingressgateway}}\nspec: {containers: [{name: istio-proxy, image: 'istio/proxyv2:1.23.0'}]}\n",
        ));
        assert_eq!(inventory.control_planes.len(), 1);
        assert_eq!(inventory.control_planes[0].kind, "Pod");
        assert_eq!(inventory.control_planes[0].pods, 2);
        assert_eq!(inventory.control_planes[0].replicas, Some(2));
        assert_eq!(
            inventory.control_planes[0].version.as_deref(),
            Some("1.23.0")
        );
        assert_eq!(inventory.gateways.len(), 1);
        assert_eq!(inventory.gateways[0].role, "ingress gateway");
        assert_eq!(inventory.gateways[0].version.as_deref(), Some("1.23.0"));
        assert_eq!(inventory.revisions, vec!["default"]);
    }

    #[test]
    fn manifests_without_workloads_give_an_empty_inventory() {
        let inventory = Inventory::of(&mesh(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\nspec: {ports: [{port: 80}]}\n",
        ));
        assert_eq!(inventory.services, 1);
        assert!(inventory.control_planes.is_empty());
        assert!(inventory.proxy_versions.is_empty());
        assert!(inventory.zones.is_empty());
    }
}
