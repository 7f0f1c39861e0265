//! What the go-live checks share: when an input can answer a mesh-wide question, and the
//! namespaces whose workloads are in the mesh.

use meshcheck_model::ValueAt;
use std::collections::BTreeSet;

use meshcheck_input::Value;
use meshcheck_model::inventory::gateway_role;
use meshcheck_model::{Mesh, Resource};

use crate::facts::workloads::{control_plane_in_input, workloads};

/// Whether the input can answer mesh-wide questions: it is a collected cluster, or it carries
/// the mesh configuration, or istiod runs in the root namespace. Only then does the absence of a
/// mesh-wide object (a STRICT PeerAuthentication, a default-deny policy, an egress setting)
/// mean that it does not exist, rather than that it was not among the files analyzed. This is
/// the rule the security checks (MC201, MC205) follow too, so the checklist agrees with them.
pub fn whole_mesh(mesh: &Mesh) -> bool {
    control_plane_in_input(mesh)
}

/// Application namespaces: those (other than the root namespace) with workloads in the mesh
/// (injected, or running a sidecar), gateways left out.
pub fn application_namespaces(mesh: &Mesh) -> BTreeSet<&str> {
    let root = mesh.root_namespace();
    let mut found = BTreeSet::new();
    for workload in workloads(mesh) {
        let namespace = workload.namespace();
        // One workload is enough to count a namespace: the others are not read.
        if namespace == root || found.contains(namespace) {
            continue;
        }
        let gateway = gateway_role(
            workload.labels(),
            workload.pod.annotations,
            workload.resource.name(),
        )
        .is_some();
        if !gateway && mesh.pod_in_mesh(namespace, workload.pod) {
            found.insert(namespace);
        }
    }
    found
}

/// Whether a policy applies to a whole namespace (no `selector` and no `targetRef(s)`).
pub fn namespace_wide(policy: &Resource) -> bool {
    let spec = policy.spec();
    let selector = spec
        .at("/selector/matchLabels")
        .and_then(Value::as_object)
        .is_some_and(|labels| !labels.is_empty());
    !selector && spec.get("targetRef").is_none() && spec.get("targetRefs").is_none()
}
