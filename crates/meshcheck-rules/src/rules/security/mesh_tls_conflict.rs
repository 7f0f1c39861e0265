use crate::Context;
use meshcheck_model::{Kind, Resource, str_field};

use crate::facts::destination_tls::{TlsMode, tls_settings};
use crate::facts::mtls::{MtlsMode, PeerAuthentications, policy_mode};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds a mesh-wide DestinationRule — in the root namespace (`istio-system` unless the mesh
    /// config says otherwise), without `workloadSelector` or a narrowing `exportTo`, for a host
    /// that covers every Service (`*.local`, `*.cluster.local`, `*.svc.cluster.local` or `*`) —
    /// that sets `tls.mode: DISABLE` (for all ports or for one port) while the mesh-wide
    /// PeerAuthentication of the root namespace is `STRICT`.
    ///
    /// The two mesh-wide defaults contradict each other whatever workloads run: the finding needs
    /// neither Services nor Pods in the input, so it holds for a GitOps folder too. (MC203 names
    /// the in-mesh Services such a DestinationRule affects, when the input shows them.)
    ///
    /// ## Why is this bad?
    /// Every sidecar then sends plaintext to every host that has no DestinationRule of its own,
    /// and every server that inherits the mesh-wide STRICT mode refuses plaintext: requests fail
    /// (`connection reset`, 503 `UF`/`URX`) across the mesh. It is the classic half-finished
    /// mTLS migration: the client side was switched off while the server side was locked down.
    ///
    /// ## How to fix
    /// Remove the `tls` block from the mesh-wide DestinationRule (auto mTLS then picks Istio
    /// mutual TLS for mesh destinations) or set `mode: ISTIO_MUTUAL`; keep `DISABLE` only in
    /// DestinationRules for the specific hosts that have no sidecar.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: default, namespace: istio-system}
    /// spec:
    ///   host: "*.local"
    ///   trafficPolicy:
    ///     tls: {mode: DISABLE}          # while PeerAuthentication istio-system/default is STRICT
    /// ```
    pub static MESH_TLS_CONFLICT = {
        code: "MC230",
        name: "mesh-tls-conflict",
        category: Security,
        severity: Error,
        summary: "A mesh-wide DestinationRule must not disable TLS while the mesh-wide PeerAuthentication is STRICT",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule, Kind::PeerAuthentication],
        docs_url: "https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/",
        remediation: "Remove tls from the mesh-wide DestinationRule (auto mTLS) or set tls.mode ISTIO_MUTUAL; disable TLS only for specific hosts without sidecars.",
        check: check,
    }
}

/// Whether a DestinationRule host covers every Service of the cluster domain.
fn covers_every_service(host: &str) -> bool {
    const DOMAIN: &str = "svc.cluster.local";
    host == "*"
        || host.strip_prefix("*.").is_some_and(|suffix| {
            suffix == DOMAIN
                || DOMAIN
                    .strip_suffix(suffix)
                    .is_some_and(|rest| rest.ends_with('.'))
        })
}

/// Whether a root-namespace DestinationRule applies to the clients of every namespace.
fn applies_mesh_wide(rule: &Resource) -> bool {
    let export_to = rule.export_to();
    let exported = export_to.is_empty() || export_to.contains(&"*");
    rule.spec().get("workloadSelector").is_none() && exported
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let root = mesh.root_namespace();
    let policies = PeerAuthentications::new(mesh);
    let Some(strict) = policies
        .mesh_wide()
        .filter(|policy| policy_mode(policy) == MtlsMode::Strict)
    else {
        return;
    };
    for rule in mesh.of_kind(Kind::DestinationRule) {
        let host = str_field(rule.spec(), "host").unwrap_or_default();
        if rule.namespace != root || !covers_every_service(host) || !applies_mesh_wide(rule) {
            continue;
        }
        for setting in tls_settings(rule) {
            // A subset of a wildcard host selects nothing in particular; only the host-wide
            // settings make every client send plaintext.
            if setting.subset.is_some() || setting.mode != Some(TlsMode::Disable) {
                continue;
            }
            let mut path = setting.path();
            path.push("mode");
            sink.report(
                rule,
                &path,
                format!(
                    "Mesh-wide DestinationRule {root}/{} disables TLS for every host ({host:?}, {}) while the mesh-wide PeerAuthentication {root}/{} requires STRICT mutual TLS: sidecars send plaintext that every workload inheriting STRICT refuses, so those requests fail",
                    rule.name(),
                    setting.describe(),
                    strict.name()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::covers_every_service;

    #[test]
    fn hosts_that_cover_every_service() {
        for host in ["*", "*.local", "*.cluster.local", "*.svc.cluster.local"] {
            assert!(covers_every_service(host), "{host}");
        }
        for host in [
            "*.shop.svc.cluster.local",
            "reviews",
            "*.example.com",
            "*.",
            "*.cal",
        ] {
            assert!(!covers_every_service(host), "{host}");
        }
    }
}
