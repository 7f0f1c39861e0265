//! The mutual TLS mode PeerAuthentication gives a workload: a matching workload policy, else
//! the namespace policy, else the mesh-wide policy in the root namespace, else PERMISSIVE.
//! `UNSET` (or no mode) inherits from the next level.

use meshcheck_model::ValueAt;
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Resource, str_field};
use serde_json::{Map, Value};

/// The effective mode and the policy that decides it (`None` for Istio's default).
pub(crate) struct MtlsMode<'a> {
    pub mode: String,
    pub policy: Option<&'a Resource>,
}

fn mode_of(policy: &Resource, port: Option<u64>) -> Option<String> {
    let spec = policy.spec();
    if let Some(port) = port
        && let Some(mode) = spec
            .get("portLevelMtls")
            .and_then(|ports| ports.get(port.to_string()))
            .and_then(|setting| str_field(setting, "mode"))
            .filter(|mode| *mode != "UNSET")
    {
        return Some(mode.to_owned());
    }
    spec.at("/mtls/mode")
        .and_then(Value::as_str)
        .filter(|mode| *mode != "UNSET")
        .map(str::to_owned)
}

fn selector(policy: &Resource) -> Option<&Map<String, Value>> {
    policy
        .spec()
        .at("/selector/matchLabels")
        .and_then(Value::as_object)
        .filter(|labels| !labels.is_empty())
}

/// The mode for a workload's pods (with these labels, in this namespace), optionally for a port.
pub(crate) fn effective_mode<'a>(
    mesh: &'a Mesh,
    namespace: &str,
    labels: &Map<String, Value>,
    port: Option<u64>,
) -> MtlsMode<'a> {
    let policies: Vec<&Resource> = mesh.of_kind(Kind::PeerAuthentication).collect();
    let workload = policies.iter().find(|policy| {
        policy.namespace == namespace
            && selector(policy).is_some_and(|selector| matches_labels(selector, labels))
    });
    let namespace_wide = policies
        .iter()
        .find(|policy| policy.namespace == namespace && selector(policy).is_none());
    let mesh_wide = policies
        .iter()
        .find(|policy| policy.namespace == mesh.root_namespace() && selector(policy).is_none());
    for policy in [workload, namespace_wide, mesh_wide].into_iter().flatten() {
        if let Some(mode) = mode_of(policy, port) {
            return MtlsMode {
                mode,
                policy: Some(policy),
            };
        }
    }
    MtlsMode {
        mode: "PERMISSIVE".to_owned(),
        policy: None,
    }
}
