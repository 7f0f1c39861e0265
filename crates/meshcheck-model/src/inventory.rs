//! Platform facts derived from the mesh: Istio control planes (istiod per revision) and their
//! versions, gateway workloads, every data-plane proxy with its version and revision, the node
//! agents (ztunnel, istio-cni), the nodes and the Kubernetes version.
//!
//! Each part is a plain function of the [`Mesh`] (cheap: a pass over pods or controllers), so a
//! rule computes only what it reads; [`Inventory::of`] computes everything at once.

mod coverage;
mod istio;
mod nodes;
mod version;
mod workload;

pub use crate::workloads::Workload;
pub use coverage::{NamespacePods, PodCoverage, pod_coverage};
pub(crate) use istio::ProxyFacts;
pub use istio::{
    ControlPlane, DEFAULT_REVISION, GatewayRole, GatewayWorkload, NodeAgentKind, Proxy, ProxyKind,
    control_planes, gateway_role, gateways, is_istiod_labels, is_ztunnel, node_agents, proxies,
};
pub use nodes::{NodeInfo, bytes, cpu_millis, nodes};
pub use version::{Version, image_name, image_tag, image_version};
pub use workload::{missing_requests, pod_owner};

use crate::Mesh;

/// The API server's version from the collector's facts (`v1.29.4-gke.1043002` → 1.29.4).
pub fn kubernetes_version(mesh: &Mesh) -> Option<Version> {
    mesh.cluster
        .kubernetes_version
        .as_deref()
        .and_then(Version::parse)
}

/// Every platform fact of a mesh.
#[derive(Debug, Clone)]
pub struct Inventory<'m> {
    pub control_planes: Vec<ControlPlane<'m>>,
    pub gateways: Vec<GatewayWorkload<'m>>,
    pub proxies: Vec<Proxy<'m>>,
    pub node_agents: Vec<(NodeAgentKind, &'m crate::Resource)>,
    pub nodes: Vec<NodeInfo<'m>>,
    pub kubernetes_version: Option<Version>,
}

impl<'m> Inventory<'m> {
    pub fn of(mesh: &'m Mesh) -> Inventory<'m> {
        Inventory {
            control_planes: control_planes(mesh),
            gateways: gateways(mesh),
            proxies: proxies(mesh),
            node_agents: node_agents(mesh),
            nodes: nodes(mesh),
            kubernetes_version: kubernetes_version(mesh),
        }
    }

    /// The control plane of a revision.
    pub fn control_plane(&self, revision: &str) -> Option<&ControlPlane<'m>> {
        self.control_planes
            .iter()
            .find(|plane| plane.revision == revision)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{ClusterInfo, MeshInputs};

    fn mesh(yaml: &str, cluster: ClusterInfo) -> Mesh {
        let (objects, issues) = meshcheck_input::parse_documents(&Arc::from("t.yaml"), yaml);
        assert!(issues.is_empty(), "{issues:?}");
        Mesh::build(
            objects,
            MeshInputs {
                cluster,
                ..MeshInputs::default()
            },
        )
    }

    const CLUSTER: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-1-24-2, namespace: istio-system, labels: {app: istiod, istio.io/rev: 1-24-2}}
spec:
  replicas: 2
  selector: {matchLabels: {app: istiod, istio.io/rev: 1-24-2}}
  template:
    metadata: {labels: {app: istiod, istio: pilot, istio.io/rev: 1-24-2}}
    spec:
      containers:
      - name: discovery
        image: docker.io/istio/pilot:1.24.2-distroless
        resources: {requests: {cpu: 500m, memory: 2Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: istiod-1-24-2-5c8f-abcde, namespace: istio-system, labels: {app: istiod, istio: pilot, istio.io/rev: 1-24-2}}
spec:
  nodeName: node-a
  containers: [{name: discovery, image: docker.io/istio/pilot:1.24.2-distroless}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: istiod, namespace: istio-system}
spec: {minAvailable: 1, selector: {matchLabels: {app: istiod}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: istiod, namespace: istio-system}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: istiod-1-24-2}, minReplicas: 3, maxReplicas: 5}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata: {labels: {app: istio-ingressgateway, istio: ingressgateway}}
    spec:
      containers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.24.2}]
---
apiVersion: v1
kind: Pod
metadata: {name: istio-egressgateway-7d9-x2kq4, namespace: istio-system, labels: {app: istio-egressgateway, istio: egressgateway}}
spec:
  containers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.23.4}]
---
apiVersion: v1
kind: Pod
metadata:
  name: reviews-v1-5f7b9c8d4-abcde
  namespace: bookinfo
  labels: {app: reviews, pod-template-hash: 5f7b9c8d4, service.istio.io/canonical-revision: v1}
  annotations: {sidecar.istio.io/status: '{"initContainers":["istio-init"],"containers":["istio-proxy"],"revision":"1-24-2"}'}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: reviews-v1-5f7b9c8d4}]
spec:
  initContainers: [{name: istio-init, image: docker.io/istio/proxyv2:1.23.4}]
  containers:
  - {name: reviews, image: docker.io/istio/examples-bookinfo-reviews-v1:1.20.2}
  - {name: istio-proxy, image: docker.io/istio/proxyv2:1.23.4}
---
apiVersion: v1
kind: Pod
metadata: {name: native, namespace: bookinfo, labels: {app: native, istio.io/rev: 1-24-2}}
spec:
  initContainers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.24.2, restartPolicy: Always}]
  containers: [{name: app, image: app:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: ztunnel-abcde, namespace: istio-system, labels: {app: ztunnel}}
spec:
  containers: [{name: istio-proxy, image: docker.io/istio/ztunnel:1.24.2}]
---
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {topology.kubernetes.io/zone: eu-west-1a, node.kubernetes.io/instance-type: m5.xlarge}}
status:
  allocatable: {cpu: 3920m, memory: 15896Mi}
  nodeInfo: {kubeletVersion: v1.29.4-eks-036c24b}
"#;

    #[test]
    fn finds_the_platform() {
        let mesh = mesh(
            CLUSTER,
            ClusterInfo {
                kubernetes_version: Some("v1.29.4-gke.1043002".into()),
                ..ClusterInfo::default()
            },
        );
        let inventory = Inventory::of(&mesh);

        assert_eq!(inventory.control_planes.len(), 1);
        let plane = &inventory.control_planes[0];
        assert_eq!(plane.revision, "1-24-2");
        assert_eq!(
            plane.version.as_ref().unwrap().to_string(),
            "1.24.2-distroless"
        );
        assert_eq!(plane.workload.pod_count(), 1);
        assert_eq!(plane.workload.replicas(), Some(2));
        assert_eq!(plane.workload.min_replicas(), Some(3));
        assert_eq!(plane.workload.disruption_budgets().len(), 1);
        assert!(inventory.control_plane("1-24-2").is_some());

        let roles: Vec<GatewayRole> = inventory.gateways.iter().map(|g| g.role).collect();
        assert_eq!(roles, vec![GatewayRole::Ingress, GatewayRole::Egress]);
        assert!(inventory.gateways[1].workload.controller.is_none());

        let kinds: Vec<(&str, ProxyKind, String)> = inventory
            .proxies
            .iter()
            .map(|proxy| (proxy.pod.name(), proxy.kind, proxy.revision.to_owned()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (
                    "istio-egressgateway-7d9-x2kq4",
                    ProxyKind::Gateway(GatewayRole::Egress),
                    "default".to_owned()
                ),
                (
                    "reviews-v1-5f7b9c8d4-abcde",
                    ProxyKind::Sidecar,
                    "1-24-2".to_owned()
                ),
                ("native", ProxyKind::Sidecar, "1-24-2".to_owned()),
                ("ztunnel-abcde", ProxyKind::Ztunnel, "default".to_owned()),
            ]
        );
        let reviews = &inventory.proxies[1];
        assert_eq!(reviews.container_index, 1);
        assert!(reviews.init_image.is_some());
        assert_eq!(
            pod_owner(reviews.pod),
            ("Deployment".to_owned(), "reviews-v1".to_owned())
        );
        assert_eq!(inventory.proxies[2].container_field, "initContainers");

        let node = &inventory.nodes[0];
        assert_eq!(node.zone, Some("eu-west-1a"));
        assert_eq!(node.allocatable_cpu_millis, Some(3920));
        assert_eq!(node.kubelet_version.as_ref().unwrap().minor, 29);
        assert_eq!(inventory.kubernetes_version.unwrap().patch, Some(4));
    }

    #[test]
    fn control_plane_version_from_install_labels() {
        let mesh = mesh(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod, namespace: istio-system, labels: {helm.sh/chart: istiod-1.26.3}}\nspec:\n  template:\n    metadata: {labels: {app: istiod}}\n    spec:\n      containers: [{name: discovery, image: 'registry.local/istio/pilot@sha256:0123'}]\n",
            ClusterInfo::default(),
        );
        let planes = control_planes(&mesh);
        assert_eq!(planes[0].version.as_ref().unwrap().to_string(), "1.26.3");
    }

    #[test]
    fn gateway_roles() {
        let labels = |value: meshcheck_input::Value| value.as_object().unwrap().clone();
        let none = meshcheck_input::Map::new();
        let role = |l: meshcheck_input::Value| gateway_role(&labels(l), &none, "x");
        assert_eq!(role(meshcheck_input::json!({"istio": "pilot"})), None);
        assert_eq!(role(meshcheck_input::json!({"app": "reviews"})), None);
        assert_eq!(
            role(meshcheck_input::json!({"istio": "eastwestgateway"})),
            Some(GatewayRole::EastWest)
        );
        assert_eq!(
            role(meshcheck_input::json!({"gateway.istio.io/managed": "istio.io-mesh-controller"})),
            Some(GatewayRole::Waypoint)
        );
        assert_eq!(
            role(
                meshcheck_input::json!({"gateway.istio.io/managed": "istio.io-gateway-controller", "istio.io/gateway-name": "web"})
            ),
            Some(GatewayRole::Ingress)
        );
        let annotations = labels(meshcheck_input::json!({"inject.istio.io/templates": "gateway"}));
        assert_eq!(
            gateway_role(
                &labels(meshcheck_input::json!({"app": "istio-egress"})),
                &annotations,
                "istio-egress"
            ),
            Some(GatewayRole::Egress)
        );
    }
}
