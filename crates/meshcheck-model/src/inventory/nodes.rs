//! Node facts: topology (zone, region), size (allocatable CPU and memory), kubelet version and
//! whether ordinary workloads can be scheduled there.

use crate::ValueAt;
use meshcheck_input::Value;

use super::version::Version;
use crate::resource::{items, str_field};
use crate::{Kind, Mesh, Resource};

/// One Node.
#[derive(Debug, Clone)]
pub struct NodeInfo<'m> {
    pub node: &'m Resource,
    /// `topology.kubernetes.io/zone` (or the legacy `failure-domain.beta.kubernetes.io/zone`).
    pub zone: Option<&'m str>,
    pub region: Option<&'m str>,
    pub instance_type: Option<&'m str>,
    pub allocatable_cpu_millis: Option<u64>,
    pub allocatable_memory_bytes: Option<u64>,
    pub kubelet_version: Option<Version>,
    /// Labelled as a control-plane (or master) node.
    pub control_plane: bool,
    /// Ordinary pods cannot be scheduled there: cordoned, or tainted `NoSchedule`/`NoExecute`.
    pub unschedulable: bool,
}

fn first_label<'m>(node: &'m Resource, keys: &[&str]) -> Option<&'m str> {
    keys.iter()
        .find_map(|key| node.label(key))
        .filter(|value| !value.is_empty())
}

impl<'m> NodeInfo<'m> {
    pub fn of(node: &'m Resource) -> NodeInfo<'m> {
        let status = node.value().get("status").unwrap_or(&Value::Null);
        let allocatable = status.get("allocatable").unwrap_or(&Value::Null);
        let control_plane = node.labels().keys().any(|key| {
            key == "node-role.kubernetes.io/control-plane"
                || key == "node-role.kubernetes.io/master"
        });
        let tainted = items(node.spec().get("taints")).any(|taint| {
            matches!(
                str_field(taint, "effect"),
                Some("NoSchedule") | Some("NoExecute")
            )
        });
        let cordoned = node
            .spec()
            .get("unschedulable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        NodeInfo {
            node,
            zone: first_label(
                node,
                &[
                    "topology.kubernetes.io/zone",
                    "failure-domain.beta.kubernetes.io/zone",
                ],
            ),
            region: first_label(
                node,
                &[
                    "topology.kubernetes.io/region",
                    "failure-domain.beta.kubernetes.io/region",
                ],
            ),
            instance_type: first_label(
                node,
                &[
                    "node.kubernetes.io/instance-type",
                    "beta.kubernetes.io/instance-type",
                ],
            ),
            allocatable_cpu_millis: allocatable.get("cpu").and_then(cpu_millis),
            allocatable_memory_bytes: allocatable.get("memory").and_then(bytes),
            kubelet_version: status
                .at("/nodeInfo/kubeletVersion")
                .and_then(Value::as_str)
                .and_then(Version::parse),
            control_plane,
            unschedulable: cordoned || tainted,
        }
    }

    pub fn name(&self) -> &'m str {
        self.node.name()
    }
}

/// Every Node of the input.
pub fn nodes(mesh: &Mesh) -> Vec<NodeInfo<'_>> {
    mesh.of_kind(Kind::Node).map(NodeInfo::of).collect()
}

/// A Kubernetes CPU quantity (`250m`, `2`, `0.5`, `"4"`) in millicores.
pub fn cpu_millis(value: &Value) -> Option<u64> {
    let text = quantity_text(value)?;
    if let Some(millis) = text.strip_suffix('m') {
        return millis.parse::<f64>().ok().map(|m| m.round() as u64);
    }
    let (number, factor) = split_suffix(&text)?;
    Some((number * factor * 1000.0).round() as u64)
}

/// A Kubernetes memory quantity (`128Mi`, `1Gi`, `500M`, `1e9`, `16374512Ki`) in bytes.
pub fn bytes(value: &Value) -> Option<u64> {
    let text = quantity_text(value)?;
    let (number, factor) = split_suffix(&text)?;
    Some((number * factor).round() as u64)
}

fn quantity_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
    .filter(|text| !text.is_empty())
}

/// Splits `16Gi` into (16, 2^34); plain numbers and exponents (`1e9`) have factor 1.
fn split_suffix(text: &str) -> Option<(f64, f64)> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|number| (number, factor));
        }
    }
    for (suffix, factor) in [("P", 1e15), ("E", 1e18)] {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|number| (number, factor));
        }
    }
    text.parse::<f64>().ok().map(|number| (number, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

    #[test]
    fn quantities() {
        assert_eq!(cpu_millis(&json!("250m")), Some(250));
        assert_eq!(cpu_millis(&json!("2")), Some(2000));
        assert_eq!(cpu_millis(&json!(4)), Some(4000));
        assert_eq!(cpu_millis(&json!("0.5")), Some(500));
        assert_eq!(cpu_millis(&json!("3920m")), Some(3920));
        assert_eq!(bytes(&json!("128Mi")), Some(134_217_728));
        assert_eq!(bytes(&json!("1Gi")), Some(1_073_741_824));
        assert_eq!(bytes(&json!("500M")), Some(500_000_000));
        assert_eq!(bytes(&json!("1e9")), Some(1_000_000_000));
        assert_eq!(bytes(&json!("16374512Ki")), Some(16_767_500_288));
        assert_eq!(bytes(&json!("lots")), None);
        assert_eq!(cpu_millis(&json!(null)), None);
    }
}
