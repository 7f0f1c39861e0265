use crate::Context;
use std::collections::BTreeSet;

use meshcheck_model::{Kind, Mesh};

use crate::facts::mtls::{MtlsMode, PeerAuthentications, policy_mode};
use crate::facts::workloads::workloads;
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks the mesh-wide PeerAuthentication: the selector-less policy in the root namespace
    /// (`istio-system` unless the mesh config says otherwise). It reports when there is none, or
    /// when its mode is `PERMISSIVE`, `UNSET` or `DISABLE` instead of `STRICT`. The rule only
    /// runs when the input shows the control plane (a mesh config, a collected cluster, or istiod
    /// in the root namespace) or holds a root-namespace policy, so that a missing policy really
    /// is missing.
    ///
    /// ## Why is this bad?
    /// Without a STRICT mesh-wide policy every sidecar runs in PERMISSIVE mode, Istio's default:
    /// it accepts plaintext as well as mutual TLS. Any pod of the cluster, in the mesh or not, can
    /// then talk to mesh workloads without a certificate: traffic is neither encrypted nor
    /// authenticated, and authorization rules based on identities (`principals`, `namespaces`)
    /// can be sidestepped. `DISABLE` turns mutual TLS off for the whole mesh.
    ///
    /// ## How to fix
    /// Once every client runs with a sidecar, create the mesh-wide policy in the root namespace
    /// with mode `STRICT` (migrate namespace by namespace if needed, keeping narrow PERMISSIVE
    /// exceptions for the workloads that still need plaintext).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: security.istio.io/v1
    /// kind: PeerAuthentication
    /// metadata:
    ///   name: default
    ///   namespace: istio-system
    /// spec:
    ///   mtls:
    ///     mode: STRICT
    /// ```
    pub static MESH_MTLS_NOT_STRICT = {
        code: "MC201",
        name: "mesh-mtls-not-strict",
        category: Security,
        severity: Warning,
        summary: "The mesh-wide PeerAuthentication (root namespace) should enforce STRICT mutual TLS",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::PeerAuthentication, Kind::Namespace, Kind::Deployment, Kind::Pod, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/",
        remediation: "Create a PeerAuthentication without selector in the root namespace with mtls.mode STRICT once all clients have sidecars.",
        check: check,
    }
}

/// Namespaces with mesh workloads (outside the root namespace).
fn mesh_namespaces(mesh: &Mesh) -> BTreeSet<String> {
    let root = mesh.root_namespace();
    workloads(mesh)
        .iter()
        .filter(|workload| workload.namespace() != root && workload.in_mesh())
        .map(|workload| workload.namespace().to_owned())
        .collect()
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let policies = PeerAuthentications::new(mesh);
    if !policies.mesh_level_known {
        return;
    }
    let root = mesh.root_namespace().to_owned();
    let with_workloads = mesh_namespaces(mesh);
    let exposed: BTreeSet<&String> = with_workloads
        .iter()
        .filter(|namespace| {
            policies
                .namespace_wide(namespace)
                .is_none_or(|policy| policy_mode(policy) != MtlsMode::Strict)
        })
        .collect();
    // Every namespace with workloads enforces STRICT itself: advice rather than exposure.
    let covered_below = !with_workloads.is_empty() && exposed.is_empty();
    let mitigation = if exposed.is_empty() {
        String::new()
    } else {
        let listed: Vec<&str> = exposed.iter().take(5).map(|name| name.as_str()).collect();
        let more = exposed.len().saturating_sub(listed.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!(
            "; namespaces with mesh workloads and no STRICT policy of their own: {}{more}",
            listed.join(", ")
        )
    };
    match policies.mesh_wide() {
        Some(policy) => {
            let mode = policy_mode(policy);
            if mode == MtlsMode::Strict {
                return;
            }
            let effect = match mode {
                MtlsMode::Disable => "mutual TLS is disabled for the whole mesh",
                _ => "every sidecar accepts plaintext as well as mutual TLS",
            };
            let finding = sink.report(
                policy,
                &["spec", "mtls", "mode"],
                format!(
                    "The mesh-wide PeerAuthentication {}/{} sets mTLS mode {}: {effect}{mitigation}",
                    policy.namespace,
                    policy.name(),
                    mode.as_str()
                ),
            );
            if mode == MtlsMode::Disable {
                finding.severity(Severity::Error);
            } else if covered_below {
                finding.severity(Severity::Info);
            }
        }
        None => {
            let message = format!(
                "No mesh-wide PeerAuthentication in root namespace {root}: workloads run in Istio's default PERMISSIVE mode and accept plaintext{mitigation}"
            );
            let finding = sink.report_namespace(mesh, &root, message);
            if covered_below {
                finding.severity(Severity::Info);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    const ISTIOD: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod, namespace: istio-system, labels: {app: istiod}}\nspec: {template: {metadata: {labels: {app: istiod}}, spec: {containers: [{name: discovery, image: pilot}]}}}\n";

    #[test]
    fn silent_without_control_plane() {
        let yaml = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: shop}\nspec: {mtls: {mode: STRICT}}\n";
        assert!(check(&MESH_MTLS_NOT_STRICT, yaml).is_empty());
        let findings = check(&MESH_MTLS_NOT_STRICT, &format!("{ISTIOD}---\n{yaml}"));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
    }

    #[test]
    fn disable_is_an_error() {
        let yaml = format!(
            "{ISTIOD}---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: default, namespace: istio-system}}\nspec: {{mtls: {{mode: DISABLE}}}}\n"
        );
        let findings = check(&MESH_MTLS_NOT_STRICT, &yaml);
        assert_eq!(findings[0].severity, Severity::Error);
    }
}
