use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource};

use crate::facts::mtls::{Effective, MtlsMode, PeerAuthentications, match_labels, policy_mode};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds namespace and workload PeerAuthentications that weaken mutual TLS:
    /// - under STRICT inherited from above, a namespace policy `PERMISSIVE`/`DISABLE` (under a
    ///   STRICT mesh-wide policy), a workload policy `PERMISSIVE`/`DISABLE` (under a STRICT
    ///   namespace or mesh), and `portLevelMtls` entries that do the same for single ports of a
    ///   STRICT workload: `DISABLE` is an error, `PERMISSIVE` a warning;
    /// - elsewhere (PERMISSIVE mesh, or a mesh-wide mode the input does not show), `DISABLE` on
    ///   a namespace, workload or port (warning): it turns mutual TLS off even for clients with
    ///   a sidecar.
    ///
    /// ## Why is this bad?
    /// Exceptions silently reopen plaintext access to what the mesh-wide policy was meant to
    /// protect. On a PERMISSIVE port any pod of the cluster can connect without a certificate;
    /// on a DISABLE port even mesh clients send plaintext, so the traffic is unencrypted and
    /// identity-based authorization (`principals`, `namespaces`) cannot apply.
    ///
    /// ## How to fix
    /// Remove exceptions that are no longer needed (migrations are usually over). Keep the ones
    /// you need as narrow as possible: one workload and one port (for example a metrics port
    /// scraped by a client without sidecar), never a whole namespace, and prefer PERMISSIVE to
    /// DISABLE.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: security.istio.io/v1
    /// kind: PeerAuthentication
    /// metadata: {name: default, namespace: payments}
    /// spec:
    ///   mtls: {mode: DISABLE}     # the mesh-wide policy says STRICT
    /// ```
    pub static PEER_AUTHENTICATION_WEAKENS_MTLS = {
        code: "MC202",
        name: "peer-authentication-weakens-mtls",
        category: Security,
        severity: Warning,
        summary: "Namespace and workload PeerAuthentications must not reopen plaintext under STRICT mTLS or disable mTLS",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::PeerAuthentication, Kind::Deployment, Kind::Pod, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/reference/config/security/peer_authentication/",
        remediation: "Remove the exception, or narrow it to the one workload and port that needs plaintext (PERMISSIVE rather than DISABLE).",
        check: check,
    }
}

fn weakens(mode: MtlsMode) -> bool {
    matches!(mode, MtlsMode::Permissive | MtlsMode::Disable)
}

fn severity(mode: MtlsMode) -> Severity {
    if mode == MtlsMode::Disable {
        Severity::Error
    } else {
        Severity::Warning
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let policies = PeerAuthentications::new(mesh);
    for policy in mesh.of_kind(Kind::PeerAuthentication) {
        if policies
            .mesh_wide()
            .is_some_and(|mesh_wide| std::ptr::eq(mesh_wide, policy))
        {
            continue;
        }
        let workload_level = match_labels(policy).is_some();
        let parent = if workload_level {
            policies.namespace_level(&policy.namespace)
        } else {
            // Only the namespace's first policy applies; later duplicates are ignored by Istio.
            if policies
                .namespace_wide(&policy.namespace)
                .is_some_and(|first| !std::ptr::eq(first, policy))
            {
                continue;
            }
            policies.mesh_level()
        };
        let own = policy_mode(policy);
        match parent {
            Some(parent) if parent.mode == MtlsMode::Strict && weakens(own) => {
                report_mode(sink, policy, own, &parent, workload_level);
            }
            _ if own == MtlsMode::Disable => report_disable(sink, policy, workload_level),
            _ => {}
        }
        if workload_level {
            let inherited = match (own, parent) {
                (MtlsMode::Unset, Some(parent)) => Some(parent.mode),
                (MtlsMode::Unset, None) => None,
                (own, _) => Some(own),
            };
            check_ports(sink, policy, inherited, parent.as_ref());
        }
    }
}

/// `DISABLE` where nothing above enforces STRICT: mutual TLS is turned off all the same.
fn report_disable(sink: &mut Sink, policy: &Resource, workload_level: bool) {
    let scope = if workload_level {
        "the workloads it selects"
    } else {
        "every workload of the namespace"
    };
    sink.report(
        policy,
        &["spec", "mtls", "mode"],
        format!(
            "PeerAuthentication {}/{} disables mutual TLS for {scope}: clients send plaintext and identity-based authorization cannot apply",
            policy.namespace,
            policy.name()
        ),
    );
}

fn report_mode(
    sink: &mut Sink,
    policy: &Resource,
    mode: MtlsMode,
    parent: &Effective,
    workload_level: bool,
) {
    let scope = if workload_level {
        "the workloads it selects"
    } else {
        "every workload of the namespace"
    };
    sink.report(
        policy,
        &["spec", "mtls", "mode"],
        format!(
            "PeerAuthentication {}/{} sets mTLS mode {} for {scope}, overriding STRICT from {}",
            policy.namespace,
            policy.name(),
            mode.as_str(),
            parent.origin()
        ),
    )
    .severity(severity(mode));
}

/// `portLevelMtls` exceptions: PERMISSIVE or DISABLE on a STRICT workload, DISABLE anywhere.
fn check_ports(
    sink: &mut Sink,
    policy: &Resource,
    workload_mode: Option<MtlsMode>,
    parent: Option<&Effective>,
) {
    let strict = workload_mode == Some(MtlsMode::Strict);
    let Some(ports) = policy
        .spec()
        .get("portLevelMtls")
        .and_then(Value::as_object)
    else {
        return;
    };
    for (port, setting) in ports {
        let mode = MtlsMode::parse(setting.get("mode"));
        if !strict {
            if mode == MtlsMode::Disable {
                sink.report(
                    policy,
                    &["spec", "portLevelMtls", port, "mode"],
                    format!(
                        "PeerAuthentication {}/{} disables mutual TLS on port {port}: clients send plaintext to it",
                        policy.namespace,
                        policy.name()
                    ),
                );
            }
            continue;
        }
        if !weakens(mode) {
            continue;
        }
        let origin = match parent {
            Some(parent) if policy_mode(policy) != MtlsMode::Strict => parent.origin(),
            _ => "the policy itself".to_owned(),
        };
        sink.report(
            policy,
            &["spec", "portLevelMtls", port, "mode"],
            format!(
                "PeerAuthentication {}/{} sets mTLS mode {} on port {port} of workloads that are STRICT by {origin}",
                policy.namespace,
                policy.name(),
                mode.as_str()
            ),
        )
        .severity(severity(mode));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn permissive_exceptions_need_a_strict_parent() {
        let workload = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: db, namespace: shop}\nspec:\n  selector: {matchLabels: {app: db}}\n  mtls: {mode: PERMISSIVE}\n";
        // Without any namespace or mesh policy the parent is unknown (files only).
        assert!(check(&PEER_AUTHENTICATION_WEAKENS_MTLS, workload).is_empty());
        let strict_namespace = format!(
            "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: default, namespace: shop}}\nspec: {{mtls: {{mode: STRICT}}}}\n---\n{workload}"
        );
        let findings = check(&PEER_AUTHENTICATION_WEAKENS_MTLS, &strict_namespace);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(
            findings[0]
                .message
                .contains("PeerAuthentication shop/default"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn disable_is_reported_without_strict_parent() {
        let yaml = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: legacy}\nspec: {mtls: {mode: DISABLE}}\n";
        let findings = check(&PEER_AUTHENTICATION_WEAKENS_MTLS, yaml);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
    }
}
