use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::Kind;

use crate::facts::mesh_config::report_mesh_config_setting;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// When the mesh config is known (`--mesh-config`, or the `istio` ConfigMap of the root
    /// namespace), checks `outboundTrafficPolicy.mode`. It reports `ALLOW_ANY`, which is also
    /// what applies when the field is not set.
    ///
    /// ## Why is this bad?
    /// With `ALLOW_ANY` a sidecar passes traffic for hosts it knows nothing about straight to
    /// its destination: any workload can reach any address on the internet or in the corporate
    /// network, and nothing lists which external services the mesh depends on.
    /// `REGISTRY_ONLY` makes sidecars refuse destinations that are not in the registry
    /// (Services and ServiceEntries). It is not a security boundary on its own (an application
    /// can bypass its own sidecar), but it is the basis of egress control together with an
    /// egress gateway and NetworkPolicies.
    ///
    /// ## How to fix
    /// Declare every external dependency with a ServiceEntry, then set
    /// `meshConfig.outboundTrafficPolicy.mode: REGISTRY_ONLY`.
    ///
    /// ## Example
    /// ```yaml
    /// meshConfig:
    ///   outboundTrafficPolicy:
    ///     mode: REGISTRY_ONLY
    /// ```
    pub static OUTBOUND_TRAFFIC_ALLOW_ANY = {
        code: "MC301",
        name: "outbound-traffic-allow-any",
        category: IngressEgress,
        severity: Warning,
        summary: "The mesh should only allow outbound traffic to registered destinations (REGISTRY_ONLY)",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ConfigMap, Kind::ServiceEntry],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/#envoy-passthrough-to-external-services",
        remediation: "Declare external dependencies with ServiceEntries and set meshConfig.outboundTrafficPolicy.mode to REGISTRY_ONLY.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if !mesh.mesh_config.explicit {
        return;
    }
    let mode = match mesh.mesh_config.at("/outboundTrafficPolicy/mode") {
        Some(Value::String(mode)) => mode.as_str().to_ascii_uppercase(),
        Some(Value::Number(number)) if number.as_u64() == Some(0) => "REGISTRY_ONLY".to_owned(),
        _ => "ALLOW_ANY".to_owned(),
    };
    if mode == "REGISTRY_ONLY" {
        return;
    }
    let explicit = mesh.mesh_config.at("/outboundTrafficPolicy/mode").is_some();
    let how = if explicit {
        "sets outboundTrafficPolicy.mode ALLOW_ANY"
    } else {
        "sets no outboundTrafficPolicy, so Istio's default ALLOW_ANY applies"
    };
    report_mesh_config_setting(
        mesh,
        sink,
        &format!("{how}: sidecars pass traffic to any unregistered host or address"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    fn config(mesh: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\ndata:\n  mesh: |\n    {mesh}\n"
        )
    }

    #[test]
    fn default_is_allow_any() {
        assert!(
            check(
                &OUTBOUND_TRAFFIC_ALLOW_ANY,
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
            )
            .is_empty()
        );
        assert_eq!(
            check(
                &OUTBOUND_TRAFFIC_ALLOW_ANY,
                &config("trustDomain: cluster.local")
            )
            .len(),
            1
        );
        assert!(
            check(
                &OUTBOUND_TRAFFIC_ALLOW_ANY,
                &config("outboundTrafficPolicy: {mode: REGISTRY_ONLY}")
            )
            .is_empty()
        );
    }
}
