use crate::Context;
use std::collections::BTreeMap;

use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource};

use super::sorted_names;
use crate::facts::gateways::{Workloads, first_key, selector_string};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks that every Telemetry with `selector.matchLabels` selects at least one pod of its
    /// namespace, and that no pod is selected by more than one such Telemetry.
    ///
    /// ## Why is this bad?
    /// Istio applies one workload-level Telemetry per workload. When several select the same
    /// pod, which one wins is undefined: metrics, access logs or tracing settings can change
    /// without any configuration change. A selector matching nothing usually hides a label typo.
    ///
    /// ## How to fix
    /// Fix the selector labels, and merge the Telemetries that select the same workload into one.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Telemetry
    /// metadata: {name: reviews-logs, namespace: shop}
    /// spec:
    ///   selector:
    ///     matchLabels: {app: reviews}
    /// ---
    /// kind: Telemetry
    /// metadata: {name: reviews-tracing, namespace: shop}
    /// spec:
    ///   selector:
    ///     matchLabels: {app: reviews}    # selects the same pods
    /// ```
    pub static TELEMETRY_SELECTOR = {
        code: "MC033",
        name: "telemetry-workload-selector",
        category: Platform,
        severity: Error,
        summary: "Each Telemetry selector must match pods, and no workload may match more than one Telemetry",
        istio_analyzer: Some("telemetry.SelectorAnalyzer"),
        istio_codes: &["IST0101", "IST0159"],
        inputs: &[Kind::Telemetry, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/reference/config/telemetry/",
        remediation: "Make each Telemetry selector match existing pods, and select every workload with at most one Telemetry.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let workloads = Workloads::new(mesh);
    // (namespace, pod name) → Telemetries selecting the pod.
    let mut pods: BTreeMap<(&str, &str), Vec<&Resource>> = BTreeMap::new();
    for telemetry in mesh.of_kind(Kind::Telemetry) {
        let Some(labels) = telemetry
            .spec()
            .get("selector")
            .and_then(|selector| selector.get("matchLabels"))
            .and_then(Value::as_object)
            .filter(|labels| !labels.is_empty())
        else {
            continue;
        };
        let selected = workloads.matching(Some(&telemetry.namespace), labels);
        if selected.is_empty() {
            let key = first_key(labels).unwrap_or_default();
            sink.istio(
                "IST0101",
                telemetry,
                &["spec", "selector", "matchLabels", key],
                format!(
                    "Telemetry {} selects no pod: nothing in namespace {:?} matches selector {:?}.",
                    telemetry.display_name(),
                    telemetry.namespace,
                    selector_string(labels)
                ),
            )
            .about_workloads();
            continue;
        }
        for pod in selected {
            pods.entry((pod.namespace, pod.name))
                .or_default()
                .push(telemetry);
        }
    }

    for ((namespace, pod), telemetries) in &pods {
        if telemetries.len() < 2 {
            continue;
        }
        let conflicting = sorted_names(telemetries);
        for telemetry in telemetries {
            sink.istio(
                "IST0159",
                telemetry,
                &["metadata", "name"],
                format!(
                    "The Telemetries [{conflicting}] in namespace {namespace:?} all select pod {pod:?}: which one applies is undefined."
                ),
            );
        }
    }
}
