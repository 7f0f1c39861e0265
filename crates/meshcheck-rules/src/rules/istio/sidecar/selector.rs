use crate::Context;
use std::collections::{BTreeMap, HashSet};

use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource};

use crate::facts::gateways::{Workloads, first_key, selector_string};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks the Sidecar resources of each namespace:
    /// - a Sidecar with a `workloadSelector` must select at least one pod of its namespace;
    /// - no pod may be selected by more than one Sidecar;
    /// - a namespace may have at most one Sidecar without `workloadSelector`;
    /// - a Sidecar that applies only to ambient workloads (or to an ambient namespace) has no
    ///   effect, since those pods run without a sidecar proxy.
    ///
    /// ## Why is this bad?
    /// Istio applies exactly one Sidecar to each proxy. When several match, which one wins is
    /// undefined and can change between istiod restarts, so egress limits and listener settings
    /// flip unpredictably. A selector that matches nothing usually hides a typo in a label.
    ///
    /// ## How to fix
    /// Fix the selector labels; give each workload one Sidecar; keep a single namespace-wide
    /// Sidecar (without `workloadSelector`) per namespace; use waypoint policies for ambient
    /// workloads instead of Sidecars.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Sidecar
    /// metadata: {name: reviews-egress, namespace: shop}
    /// spec:
    ///   workloadSelector:
    ///     labels: {app: review}      # pods are labelled app: reviews
    /// ```
    pub static SIDECAR_SELECTOR = {
        code: "MC031",
        name: "sidecar-workload-selector",
        category: ApplicationPolicy,
        severity: Error,
        summary: "Each Sidecar must select existing pods, and no workload may match more than one Sidecar",
        istio_analyzer: Some("sidecar.SelectorAnalyzer"),
        istio_codes: &["IST0101", "IST0110", "IST0111", "IST0167"],
        inputs: &[Kind::Sidecar, Kind::Pod, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/sidecar/",
        remediation: "Make each Sidecar's workloadSelector match existing pods, select every workload with at most one Sidecar, and keep one selector-less Sidecar per namespace.",
        check: check,
    }
}

/// The pods a Sidecar is about: ambient ones make it ineffective, others may conflict.
struct SelectedPod<'a> {
    ambient: bool,
    sidecars: Vec<&'a Resource>,
}

fn names(sidecars: &[&Resource]) -> String {
    let mut names: Vec<&str> = sidecars.iter().map(|sidecar| sidecar.name()).collect();
    names.sort_unstable();
    names.join(", ")
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let workloads = Workloads::new(mesh);
    // (namespace, pod name) → Sidecars selecting the pod, in a stable order.
    let mut pods: BTreeMap<(&str, &str), SelectedPod> = BTreeMap::new();
    // namespace → Sidecars without a workload selector.
    let mut namespace_wide: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();

    for sidecar in mesh.of_kind(Kind::Sidecar) {
        let labels = sidecar
            .spec()
            .get("workloadSelector")
            .and_then(|selector| selector.get("labels"))
            .and_then(Value::as_object)
            .filter(|labels| !labels.is_empty());
        let Some(labels) = labels else {
            namespace_wide
                .entry(&sidecar.namespace)
                .or_default()
                .push(sidecar);
            continue;
        };
        let selected = workloads.matching(Some(&sidecar.namespace), labels);
        if selected.is_empty() {
            let key = first_key(labels).unwrap_or_default();
            sink.istio(
                "IST0101",
                sidecar,
                &["spec", "workloadSelector", "labels", key],
                format!(
                    "Sidecar {} selects no pod: nothing in namespace {:?} matches workload selector {:?}.",
                    sidecar.display_name(),
                    sidecar.namespace,
                    selector_string(labels)
                ),
            )
    .about_workloads();
            continue;
        }
        for pod in selected {
            pods.entry((pod.namespace, pod.name))
                .or_insert_with(|| SelectedPod {
                    ambient: pod.in_ambient(),
                    sidecars: Vec::new(),
                })
                .sidecars
                .push(sidecar);
        }
    }

    // Sidecars already reported as ineffective (once each).
    let mut ineffective: HashSet<(&str, &str)> = HashSet::new();
    for ((namespace, pod_name), pod) in &pods {
        if pod.ambient {
            for sidecar in &pod.sidecars {
                if ineffective.insert((&sidecar.namespace, sidecar.name())) {
                    sink.istio(
                        "IST0167",
                        sidecar,
                        &["spec", "workloadSelector"],
                        format!(
                            "Sidecar {} has no impact: the selected workload {namespace}/{pod_name} is in ambient mode and runs without a sidecar.",
                            sidecar.display_name()
                        ),
                    );
                }
            }
            continue;
        }
        if pod.sidecars.len() < 2 {
            continue;
        }
        let conflicting = names(&pod.sidecars);
        for sidecar in &pod.sidecars {
            sink.istio(
                "IST0110",
                sidecar,
                &["metadata", "name"],
                format!(
                    "The Sidecars [{conflicting}] in namespace {namespace:?} all select pod {pod_name:?}: which one applies is undefined."
                ),
            );
        }
    }

    for (namespace, sidecars) in &namespace_wide {
        if mesh.namespace_in_ambient(namespace) {
            for sidecar in sidecars {
                if ineffective.insert((&sidecar.namespace, sidecar.name())) {
                    sink.istio(
                        "IST0167",
                        sidecar,
                        &["metadata", "name"],
                        format!(
                            "Sidecar {} has no impact: namespace {namespace:?} is in ambient mode and its workloads run without sidecars.",
                            sidecar.display_name()
                        ),
                    );
                }
            }
            continue;
        }
        if sidecars.len() < 2 {
            continue;
        }
        let conflicting = names(sidecars);
        for sidecar in sidecars {
            sink.istio(
                "IST0111",
                sidecar,
                &["metadata", "name"],
                format!(
                    "The Sidecars [{conflicting}] in namespace {namespace:?} have no workload selector: which one applies is undefined."
                ),
            );
        }
    }
}
