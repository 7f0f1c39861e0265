use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::Kind;
use meshcheck_model::ValueAt;

use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds Sidecar resources that set `outboundTrafficPolicy.mode: ALLOW_ANY`. It is a
    /// warning when the mesh config is known to be `REGISTRY_ONLY` (the Sidecar reopens egress
    /// for its workloads) and info otherwise.
    ///
    /// ## Why is this bad?
    /// A Sidecar's outbound traffic policy overrides the mesh-wide one for the workloads it
    /// selects (its whole namespace without a `workloadSelector`): those workloads may then
    /// reach any external host, silently defeating a REGISTRY_ONLY egress posture.
    ///
    /// ## How to fix
    /// Remove the override and declare the destinations the workloads need with ServiceEntries
    /// (exported to their namespace).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Sidecar
    /// metadata: {name: default, namespace: batch}
    /// spec:
    ///   outboundTrafficPolicy:
    ///     mode: ALLOW_ANY
    /// ```
    pub static SIDECAR_OUTBOUND_ALLOW_ANY = {
        code: "MC302",
        name: "sidecar-outbound-allow-any",
        category: IngressEgress,
        severity: Warning,
        summary: "Sidecar resources should not reopen outbound traffic to any destination (ALLOW_ANY)",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Sidecar, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/sidecar/#OutboundTrafficPolicy",
        remediation: "Remove the ALLOW_ANY override and register the external destinations the workloads need with ServiceEntries.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let mesh_registry_only = mesh.mesh_config.explicit
        && matches!(
            mesh.mesh_config.at("/outboundTrafficPolicy/mode"),
            Some(Value::String(mode)) if mode.eq_ignore_ascii_case("REGISTRY_ONLY")
        );
    for sidecar in mesh.of_kind(Kind::Sidecar) {
        let allow_any = matches!(
            sidecar.spec().at("/outboundTrafficPolicy/mode"),
            Some(Value::String(mode)) if mode.eq_ignore_ascii_case("ALLOW_ANY")
        ) || sidecar
            .spec()
            .at("/outboundTrafficPolicy/mode")
            .and_then(Value::as_u64)
            == Some(1);
        if !allow_any {
            continue;
        }
        let scope = if sidecar
            .spec()
            .get("workloadSelector")
            .is_some_and(|selector| !selector.is_null())
        {
            "the workloads it selects"
        } else {
            "every workload of the namespace"
        };
        let context = if mesh_registry_only {
            ", overriding the mesh's REGISTRY_ONLY policy"
        } else {
            ""
        };
        let finding = sink.report(
            sidecar,
            &["spec", "outboundTrafficPolicy", "mode"],
            format!(
                "Sidecar {}/{} lets {scope} send traffic to any unregistered destination (ALLOW_ANY){context}",
                sidecar.namespace,
                sidecar.name()
            ),
        );
        if !mesh_registry_only {
            finding.severity(Severity::Info);
        }
    }
}
