use crate::Context;
use std::collections::BTreeMap;

use meshcheck_model::{Kind, Resource};

use super::sorted_names;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports namespaces with more than one Telemetry that has no `selector`.
    ///
    /// ## Why is this bad?
    /// A Telemetry without selector applies to the whole namespace (the whole mesh in the root
    /// namespace). With two of them Istio picks one, and which one is undefined: metrics, access
    /// log or tracing settings of the namespace can change without any configuration change.
    ///
    /// ## How to fix
    /// Merge the namespace-wide Telemetries into one, or give all but one a `selector`.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Telemetry
    /// metadata: {name: access-logs, namespace: shop}
    /// spec:
    ///   accessLogging: [{providers: [{name: envoy}]}]
    /// ---
    /// kind: Telemetry
    /// metadata: {name: tracing, namespace: shop}
    /// spec:
    ///   tracing: [{randomSamplingPercentage: 10}]   # also namespace-wide
    /// ```
    /// Use one Telemetry with both `accessLogging` and `tracing`.
    pub static TELEMETRY_DEFAULT_SELECTOR = {
        code: "MC034",
        name: "telemetry-namespace-wide-duplicate",
        category: Platform,
        severity: Error,
        summary: "A namespace may have at most one Telemetry without a selector",
        istio_analyzer: Some("telemetry.DefaultSelectorAnalyzer"),
        istio_codes: &["IST0160"],
        inputs: &[Kind::Telemetry],
        docs_url: "https://istio.io/latest/docs/reference/config/telemetry/",
        remediation: "Merge the namespace-wide Telemetries into one, or give the others a selector.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let mut namespace_wide: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    for telemetry in mesh.of_kind(Kind::Telemetry) {
        // An explicit (even empty) selector counts as a selector.
        if telemetry
            .spec()
            .get("selector")
            .is_none_or(|selector| selector.is_null())
        {
            namespace_wide
                .entry(&telemetry.namespace)
                .or_default()
                .push(telemetry);
        }
    }
    for (namespace, telemetries) in &namespace_wide {
        if telemetries.len() < 2 {
            continue;
        }
        let conflicting = sorted_names(telemetries);
        for telemetry in telemetries {
            sink.istio(
                "IST0160",
                telemetry,
                &["metadata", "name"],
                format!(
                    "The Telemetries [{conflicting}] in namespace {namespace:?} have no selector: which one applies is undefined."
                ),
            );
        }
    }
}
