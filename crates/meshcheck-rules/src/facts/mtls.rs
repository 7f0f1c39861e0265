//! Peer authentication as Istio resolves it: the mTLS mode in force for a workload (and port)
//! comes from the oldest matching workload policy, else the namespace policy, else the mesh-wide
//! policy in the root namespace, else PERMISSIVE. `UNSET` at any level inherits from the next.

use meshcheck_model::ValueAt;
use std::collections::HashMap;

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Resource};

use super::workloads::control_plane_in_input;

/// A PeerAuthentication mTLS mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MtlsMode {
    Unset,
    Disable,
    Permissive,
    Strict,
}

impl MtlsMode {
    /// Reads a mode as written (`STRICT`, any case, or the enum number).
    pub(crate) fn parse(value: Option<&Value>) -> MtlsMode {
        match value {
            Some(Value::String(text)) => match text.to_ascii_uppercase().as_str() {
                "DISABLE" => MtlsMode::Disable,
                "PERMISSIVE" => MtlsMode::Permissive,
                "STRICT" => MtlsMode::Strict,
                _ => MtlsMode::Unset,
            },
            Some(Value::Number(number)) => match number.as_u64() {
                Some(1) => MtlsMode::Disable,
                Some(2) => MtlsMode::Permissive,
                Some(3) => MtlsMode::Strict,
                _ => MtlsMode::Unset,
            },
            _ => MtlsMode::Unset,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MtlsMode::Unset => "UNSET",
            MtlsMode::Disable => "DISABLE",
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Strict => "STRICT",
        }
    }

    fn or(self, parent: MtlsMode) -> MtlsMode {
        if self == MtlsMode::Unset {
            parent
        } else {
            self
        }
    }
}

/// The mode of a PeerAuthentication as a whole (`spec.mtls.mode`).
pub(crate) fn policy_mode(policy: &Resource) -> MtlsMode {
    MtlsMode::parse(policy.spec().at("/mtls/mode"))
}

/// The `spec.selector.matchLabels` of a policy, when it has a non-empty one.
pub(crate) fn match_labels(policy: &Resource) -> Option<&Map> {
    policy
        .spec()
        .at("/selector/matchLabels")
        .and_then(Value::as_object)
        .filter(|labels| !labels.is_empty())
}

/// The mode in force somewhere, and the policy that set it (`None`: Istio's default).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Effective<'a> {
    pub mode: MtlsMode,
    pub policy: Option<&'a Resource>,
}

impl Effective<'_> {
    /// `PeerAuthentication ns/name` or `Istio's default`, for messages.
    pub(crate) fn origin(&self) -> String {
        match self.policy {
            Some(policy) => format!("PeerAuthentication {}/{}", policy.namespace, policy.name()),
            None => "no PeerAuthentication: Istio's default".to_owned(),
        }
    }
}

/// The PeerAuthentications of the mesh, by scope.
pub(crate) struct PeerAuthentications<'a> {
    mesh_wide: Option<&'a Resource>,
    namespace_wide: HashMap<&'a str, &'a Resource>,
    workload: Vec<&'a Resource>,
    /// Whether the mesh-level default is known: the input holds a mesh-wide policy or shows the
    /// control plane (so that the absence of a mesh-wide policy means PERMISSIVE, not "elsewhere").
    pub mesh_level_known: bool,
}

/// Older first: Istio applies the oldest policy when several claim the same scope.
fn creation(policy: &Resource) -> &str {
    policy
        .metadata()
        .get("creationTimestamp")
        .and_then(Value::as_str)
        .unwrap_or("")
}

impl<'a> PeerAuthentications<'a> {
    pub(crate) fn new(mesh: &'a Mesh) -> PeerAuthentications<'a> {
        let root = mesh.root_namespace();
        let mut policies: Vec<&Resource> = mesh.of_kind(Kind::PeerAuthentication).collect();
        // Stable: input order breaks ties between policies without timestamps.
        policies.sort_by(|a, b| creation(a).cmp(creation(b)));
        let mut mesh_wide = None;
        let mut namespace_wide: HashMap<&str, &Resource> = HashMap::new();
        let mut workload = Vec::new();
        for policy in policies {
            if match_labels(policy).is_some() {
                workload.push(policy);
            } else if policy.namespace == root {
                mesh_wide.get_or_insert(policy);
            } else {
                namespace_wide
                    .entry(policy.namespace.as_str())
                    .or_insert(policy);
            }
        }
        PeerAuthentications {
            mesh_level_known: mesh_wide.is_some() || control_plane_in_input(mesh),
            mesh_wide,
            namespace_wide,
            workload,
        }
    }

    /// The mesh-wide policy (the oldest selector-less policy of the root namespace).
    pub(crate) fn mesh_wide(&self) -> Option<&'a Resource> {
        self.mesh_wide
    }

    /// The namespace-wide policy of a namespace (not the mesh-wide one).
    pub(crate) fn namespace_wide(&self, namespace: &str) -> Option<&'a Resource> {
        self.namespace_wide.get(namespace).copied()
    }

    /// The mesh level: the mesh-wide policy's mode, PERMISSIVE when it is absent or UNSET.
    /// `None` when the input cannot tell (no mesh-wide policy and no control plane).
    pub(crate) fn mesh_level(&self) -> Option<Effective<'a>> {
        match self.mesh_wide {
            Some(policy) => Some(Effective {
                mode: policy_mode(policy).or(MtlsMode::Permissive),
                policy: Some(policy),
            }),
            None if self.mesh_level_known => Some(Effective {
                mode: MtlsMode::Permissive,
                policy: None,
            }),
            None => None,
        }
    }

    /// The namespace level: its namespace-wide policy unless UNSET, else the mesh level.
    pub(crate) fn namespace_level(&self, namespace: &str) -> Option<Effective<'a>> {
        if let Some(policy) = self.namespace_wide(namespace) {
            let mode = policy_mode(policy);
            if mode != MtlsMode::Unset {
                return Some(Effective {
                    mode,
                    policy: Some(policy),
                });
            }
        }
        self.mesh_level()
    }

    /// The oldest workload policy of `namespace` whose selector matches `labels`.
    pub(crate) fn workload_policy(&self, namespace: &str, labels: &Map) -> Option<&'a Resource> {
        self.workload.iter().copied().find(|policy| {
            policy.namespace == namespace
                && match_labels(policy).is_some_and(|selector| matches_labels(selector, labels))
        })
    }

    /// The mode for a workload's port (`None`: the workload as a whole). `None` when the input
    /// cannot tell.
    pub(crate) fn for_workload(
        &self,
        namespace: &str,
        labels: &Map,
        port: Option<u32>,
    ) -> Option<Effective<'a>> {
        let Some(policy) = self.workload_policy(namespace, labels) else {
            return self.namespace_level(namespace);
        };
        if let Some(port) = port {
            let port_mode = MtlsMode::parse(
                policy
                    .spec()
                    .get("portLevelMtls")
                    .and_then(|ports| ports.get(port.to_string()))
                    .and_then(|setting| setting.get("mode")),
            );
            if port_mode != MtlsMode::Unset {
                return Some(Effective {
                    mode: port_mode,
                    policy: Some(policy),
                });
            }
        }
        match policy_mode(policy) {
            MtlsMode::Unset => self.namespace_level(namespace),
            mode => Some(Effective {
                mode,
                policy: Some(policy),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mesh;

    const POLICIES: &str = "apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: legacy}
spec: {mtls: {mode: PERMISSIVE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  portLevelMtls:
    '9104': {mode: DISABLE}
";

    #[test]
    fn inheritance_through_levels() {
        let mesh = mesh(POLICIES);
        let policies = PeerAuthentications::new(&mesh);
        let labels = |app: &str| {
            meshcheck_input::json!({ "app": app })
                .as_object()
                .unwrap()
                .clone()
        };
        let mode = |ns: &str, app: &str, port: Option<u32>| {
            policies.for_workload(ns, &labels(app), port).unwrap().mode
        };
        assert_eq!(mode("shop", "web", None), MtlsMode::Strict);
        assert_eq!(mode("legacy", "web", None), MtlsMode::Permissive);
        // The db policy sets no mode: the port exception applies, other ports inherit STRICT.
        assert_eq!(mode("shop", "db", Some(9104)), MtlsMode::Disable);
        assert_eq!(mode("shop", "db", Some(5432)), MtlsMode::Strict);
        assert_eq!(mode("shop", "db", None), MtlsMode::Strict);
    }

    #[test]
    fn mesh_level_unknown_without_control_plane() {
        let mesh = mesh(
            "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: shop}\nspec: {}\n",
        );
        let policies = PeerAuthentications::new(&mesh);
        assert!(policies.mesh_level().is_none());
        assert!(policies.namespace_level("shop").is_none());
    }
}
