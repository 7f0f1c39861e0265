use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports Istio configuration that uses deprecated or removed API: the integer
    /// `fault.delay.percent` of VirtualService HTTP routes, a Sidecar's
    /// `outboundTrafficPolicy.egressProxy`, and CustomResourceDefinitions of the removed
    /// `rbac.istio.io` kinds (`ClusterRbacConfig`, `RbacConfig`, `ServiceRole`,
    /// `ServiceRoleBinding`).
    ///
    /// ## Why is this bad?
    /// Deprecated fields are ignored or may stop working in a future release; the removed RBAC
    /// kinds have no effect at all since AuthorizationPolicy replaced them, so the access policy
    /// they describe is not enforced.
    ///
    /// ## How to fix
    /// Use `fault.delay.percentage.value` instead of `fault.delay.percent`, remove
    /// `egressProxy` (route egress through an egress gateway instead), and migrate RBAC objects to
    /// AuthorizationPolicy, then delete the old CRDs.
    ///
    /// ## Example
    /// ```yaml
    /// fault:
    ///   delay:
    ///     percent: 10
    ///     fixedDelay: 5s
    /// ```
    /// Use instead:
    /// ```yaml
    /// fault:
    ///   delay:
    ///     percentage:
    ///       value: 10
    ///     fixedDelay: 5s
    /// ```
    pub static DEPRECATED_FIELDS = {
        code: "MC005",
        name: "deprecated-fields",
        category: Platform,
        severity: Warning,
        summary: "Istio configuration must not use deprecated fields or removed resource types",
        istio_analyzer: Some("deprecation.FieldAnalyzer"),
        istio_codes: &["IST0002"],
        inputs: &[Kind::VirtualService, Kind::Sidecar, Kind::CustomResourceDefinition],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPFaultInjection-Delay",
        remediation: "Replace the deprecated field with its successor, or migrate away from the removed resource type.",
        check: check,
    }
}

/// Istio CRDs removed from the release manifests (group, kind).
const REMOVED_CRDS: [(&str, &str); 4] = [
    ("rbac.istio.io", "ClusterRbacConfig"),
    ("rbac.istio.io", "RbacConfig"),
    ("rbac.istio.io", "ServiceRole"),
    ("rbac.istio.io", "ServiceRoleBinding"),
];

fn positive_percent(value: &Value) -> bool {
    value.as_f64().is_some_and(|percent| percent > 0.0)
        || value
            .as_str()
            .and_then(|text| text.parse::<f64>().ok())
            .is_some_and(|percent| percent > 0.0)
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for service in mesh.of_kind(Kind::VirtualService) {
        let routes = service.spec().get("http").and_then(Value::as_array);
        // One finding per VirtualService: the first route that uses the field points at it.
        let first = routes.into_iter().flatten().position(|route| {
            route
                .at("/fault/delay/percent")
                .is_some_and(positive_percent)
        });
        if let Some(index) = first {
            let index = index.to_string();
            sink.istio(
                "IST0002",
                service,
                &["spec", "http", index.as_str(), "fault", "delay", "percent"],
                "Deprecated: HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage",
            )
            .remediation(
                "Replace fault.delay.percent: N with fault.delay.percentage.value: N.",
            );
        }
    }
    for sidecar in mesh.of_kind(Kind::Sidecar) {
        let egress_proxy = sidecar
            .spec()
            .at("/outboundTrafficPolicy/egressProxy")
            .is_some_and(|value| !value.is_null());
        if egress_proxy {
            sink.istio(
                "IST0002",
                sidecar,
                &["spec", "outboundTrafficPolicy", "egressProxy"],
                "Deprecated: OutboundTrafficPolicy.EgressProxy ignored",
            )
            .remediation(
                "Remove outboundTrafficPolicy.egressProxy; send egress traffic through an egress gateway with a VirtualService instead.",
            );
        }
    }
    for crd in mesh.of_kind(Kind::CustomResourceDefinition) {
        let spec = crd.spec();
        let group = str_field(spec, "group").unwrap_or_default();
        let kind = spec
            .get("names")
            .and_then(|names| str_field(names, "kind"))
            .unwrap_or_default();
        if REMOVED_CRDS.contains(&(group, kind)) {
            sink.istio(
                "IST0002",
                crd,
                &["spec", "names", "kind"],
                format!("Deprecated: Custom resource type {group} {kind} is removed"),
            )
            .remediation(
                "Migrate the RBAC objects to AuthorizationPolicy and delete the removed CRD.",
            );
        }
    }
}
