use crate::Context;
use std::collections::BTreeSet;

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::{matches_labels, value_text};
use meshcheck_model::{Kind, Resource, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// For every DestinationRule whose host is a Kubernetes Service, checks that each subset
    /// selects at least one pod *of that Service*: pods in the Service's namespace that match both
    /// the Service's selector and the subset's labels. It reports subsets whose labels match pods
    /// elsewhere in the mesh but none behind the host (subsets matching no pod at all are
    /// MC012's). Subsets on node topology labels are left out, and nothing is reported when the
    /// input holds none of the Service's pods.
    ///
    /// ## Why is this bad?
    /// Istio builds a subset's endpoints from the host's endpoints filtered by the subset labels.
    /// A subset whose labels only match other services' pods (`version: v3` exists on `ratings`,
    /// not on `reviews`) has no endpoints: every request routed to it fails with
    /// `503 UH (no healthy upstream)`, although a quick look finds pods with those labels.
    ///
    /// ## How to fix
    /// Deploy the version the subset names behind the Service, or fix the subset's labels to the
    /// labels the Service's pods carry (`kubectl get pods -l <service selector> --show-labels`).
    ///
    /// ## Example
    /// ```yaml
    /// kind: DestinationRule
    /// spec:
    ///   host: reviews
    ///   subsets:
    ///   - name: v3
    ///     labels: {version: v3}   # reviews runs v1 and v2 only
    /// ```
    pub static DESTINATION_RULE_SUBSET_HOST_PODS = {
        code: "MC401",
        name: "destination-rule-subset-host-pods",
        category: ApplicationPolicy,
        severity: Error,
        summary: "DestinationRule subsets must select pods of their host's Service, not only pods elsewhere",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule, Kind::Service, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/concepts/traffic-management/#destination-rules",
        remediation: "Make the subset labels match pods selected by the host's Service, or deploy the missing version behind that Service.",
        check: check,
    }
}

/// Labels Istio takes from the node rather than the pod; MC012 handles subsets on them.
const NODE_LABELS: [&str; 4] = [
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
    "kubernetes.io/hostname",
];

fn pairs(selector: &Map) -> String {
    let mut shown: Vec<String> = selector
        .iter()
        .map(|(key, value)| format!("{key}={}", value_text(value)))
        .collect();
    shown.sort();
    shown.join(",")
}

/// What the Service's pods carry under the subset's keys, e.g. `version=v1|v2`.
fn carried(pods: &[&Resource], keys: &Map) -> String {
    keys.keys()
        .map(|key| {
            let values: BTreeSet<String> = pods
                .iter()
                .filter_map(|pod| pod.labels().get(key))
                .map(value_text)
                .collect();
            if values.is_empty() {
                format!("no {key} label")
            } else {
                format!("{key}={}", values.into_iter().collect::<Vec<_>>().join("|"))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if mesh.count(Kind::Pod) == 0 {
        return;
    }
    for rule in mesh.of_kind(Kind::DestinationRule) {
        let spec = rule.spec();
        let host = str_field(spec, "host").unwrap_or_default();
        let Some(target) = mesh.hosts.lookup(&rule.namespace, &rule.export_to(), host) else {
            continue;
        };
        if target.kind != Kind::Service {
            continue;
        }
        let service = mesh.resource(target.resource);
        let Some(selector) = service
            .spec()
            .get("selector")
            .and_then(Value::as_object)
            .filter(|selector| !selector.is_empty())
        else {
            continue;
        };
        let service_pods = mesh.pods_matching(Some(&service.namespace), selector);
        if service_pods.is_empty() {
            continue;
        }
        let subsets = spec.get("subsets").and_then(Value::as_array);
        for (index, subset) in subsets.into_iter().flatten().enumerate() {
            let Some(labels) = subset
                .get("labels")
                .and_then(Value::as_object)
                .filter(|labels| !labels.is_empty())
            else {
                continue;
            };
            if labels.keys().any(|key| NODE_LABELS.contains(&key.as_str())) {
                continue;
            }
            if service_pods
                .iter()
                .any(|pod| matches_labels(labels, pod.labels()))
            {
                continue;
            }
            let elsewhere = mesh.pods_matching(None, labels);
            let Some(example) = elsewhere.first() else {
                // No pod at all has these labels: MC012 reports it.
                continue;
            };
            let name = str_field(subset, "name").unwrap_or_default();
            let index = index.to_string();
            sink.report(
                rule,
                &["spec", "subsets", &index],
                format!(
                    "Subset {name} of DestinationRule {} ({}) selects none of the {} pods of Service {}, which carry {}; the labels match only pods of other workloads (e.g. {}/{}), so traffic routed to {name} fails with 503 UH (no healthy upstream)",
                    rule.display_name(),
                    pairs(labels),
                    service_pods.len(),
                    service.display_name(),
                    carried(&service_pods, labels),
                    example.namespace,
                    example.name(),
                ),
            )
            .about_workloads();
        }
    }
}
