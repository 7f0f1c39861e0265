use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::{HashMap, HashSet};

use meshcheck_input::{Map, Value};
use meshcheck_model::selector::value_text;
use meshcheck_model::{Kind, Mesh, Resource, str_field};

use crate::facts::coverage::host_definers;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Resolves the host of every DestinationRule to a Service or ServiceEntry, and checks that
    /// every subset's labels (merged with the ServiceEntry's `workloadSelector`) select at least
    /// one pod. Pods carry the topology labels of their node (`topology.kubernetes.io/region`,
    /// `topology.kubernetes.io/zone`, `topology.istio.io/subzone`) and `kubernetes.io/hostname`,
    /// as Istio's service registry gives them. Where the input holds no pods, or no Service in
    /// the host's namespace, these conclusions are reported at info level.
    ///
    /// ## Why is this bad?
    /// A route to a subset that selects no pod has no endpoints: requests fail with
    /// `503 UH (NoHealthyUpstream)`. A DestinationRule whose host matches no service never
    /// applies, so its traffic policy (TLS, load balancing, outlier detection) silently does
    /// nothing.
    ///
    /// ## How to fix
    /// Fix the subset labels (usually `version`) to match the labels of the pods you deploy, or
    /// fix `host` to name an existing Service or ServiceEntry visible from the rule's namespace.
    ///
    /// ## Example
    /// ```yaml
    /// subsets:
    /// - name: v2
    ///   labels:
    ///     version: v2     # no pod has version=v2
    /// ```
    pub static DESTINATION_RULE_SUBSET_PODS = {
        code: "MC012",
        name: "destination-rule-subset-pods",
        category: ApplicationPolicy,
        severity: Error,
        summary: "DestinationRule hosts must exist and every subset must select at least one pod",
        istio_analyzer: Some("destinationrule.PodNotSelectedAnalyzer"),
        istio_codes: &["IST0173", "IST0174"],
        inputs: &[Kind::DestinationRule, Kind::Pod, Kind::Service, Kind::ServiceEntry, Kind::Node],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/destination-rule/#Subset",
        remediation: "Make the subset labels match the labels of running pods, or point host at an existing service.",
        check: check,
    }
}

const REGION: &str = "topology.kubernetes.io/region";
const ZONE: &str = "topology.kubernetes.io/zone";
const SUBZONE: &str = "topology.istio.io/subzone";
const HOSTNAME: &str = "kubernetes.io/hostname";

/// Labels the registry adds to a pod's own from its node; they win over the pod's labels.
fn node_labels(nodes: &HashMap<&str, &Resource>, pod: &Resource) -> Vec<(&'static str, String)> {
    let node_name = str_field(pod.spec(), "nodeName").unwrap_or_default();
    let mut added = Vec::new();
    if let Some(node) = nodes.get(node_name) {
        let label = |key: &str| node.label(key).unwrap_or_default().to_owned();
        let (region, zone, subzone) = (label(REGION), label(ZONE), label(SUBZONE));
        // Istio builds a locality `region[/zone[/subzone]]` and splits it again, so a subzone
        // only counts when there is a zone.
        if !region.is_empty() {
            added.push((REGION, region));
        }
        if !zone.is_empty() {
            added.push((ZONE, zone));
            if !subzone.is_empty() {
                added.push((SUBZONE, subzone));
            }
        }
    }
    if !node_name.is_empty() {
        added.push((HOSTNAME, node_name.to_owned()));
    }
    added
}

/// Whether any pod of the mesh, with its node's labels, matches `selector`.
fn any_pod_selected(mesh: &Mesh, nodes: &HashMap<&str, &Resource>, selector: &Map) -> bool {
    let augmented = [REGION, ZONE, SUBZONE, HOSTNAME];
    let (node_part, pod_part): (Map, Map) = selector
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .partition(|(key, _)| augmented.contains(&key.as_str()));
    if node_part.is_empty() {
        if pod_part.is_empty() {
            return mesh.count(Kind::Pod) > 0;
        }
        return !mesh.pods_matching(None, &pod_part).is_empty();
    }
    mesh.pods_matching(None, &pod_part).into_iter().any(|pod| {
        let added = node_labels(nodes, pod);
        node_part.iter().all(|(key, wanted)| {
            let wanted = value_text(wanted);
            match added.iter().find(|(added_key, _)| added_key == key) {
                Some((_, value)) => *value == wanted,
                None => pod
                    .labels()
                    .get(key)
                    .is_some_and(|have| value_text(have) == wanted),
            }
        })
    })
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let nodes: HashMap<&str, &Resource> = mesh
        .of_kind(Kind::Node)
        .map(|node| (node.name(), node))
        .collect();
    // Subsets match pods in every namespace, so the same labels (`version: v1`) give the same
    // answer for every rule: remember it.
    let mut answers: HashMap<String, bool> = HashMap::new();
    for rule in mesh.of_kind(Kind::DestinationRule) {
        let spec = rule.spec();
        let host = str_field(spec, "host").unwrap_or_default();
        let Some(target) = mesh.hosts.lookup(&rule.namespace, &rule.export_to(), host) else {
            let (kinds, namespaces) = host_definers(&rule.namespace, host);
            sink.istio(
                "IST0174",
                rule,
                &["spec", "host"],
                format!(
                    "The host {host} of DestinationRule {} matches no Service or ServiceEntry visible from namespace {}",
                    rule.display_name(),
                    rule.namespace
                ),
            )
            .from_absence(kinds, &namespaces);
            continue;
        };
        // Only a ServiceEntry selects its workloads here; a Service's own selector is not merged.
        let workload_labels = if target.kind == Kind::ServiceEntry {
            mesh.resource(target.resource)
                .spec()
                .at("/workloadSelector/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        } else {
            Map::new()
        };
        let mut seen = HashSet::new();
        let subsets = spec.get("subsets").and_then(Value::as_array);
        for (index, subset) in subsets.into_iter().flatten().enumerate() {
            let name = str_field(subset, "name").unwrap_or_default();
            if !seen.insert(name) {
                continue;
            }
            let mut selector = workload_labels.clone();
            if let Some(labels) = subset.get("labels").and_then(Value::as_object) {
                for (key, value) in labels {
                    selector.insert(key.clone(), value.clone());
                }
            }
            let shown: Vec<String> = selector
                .iter()
                .map(|(key, value)| format!("{key}={}", value_text(value)))
                .collect();
            let selected = *answers
                .entry(shown.join("\n"))
                .or_insert_with(|| any_pod_selected(mesh, &nodes, &selector));
            if selected {
                continue;
            }
            let index = index.to_string();
            sink.istio(
                "IST0173",
                rule,
                &["spec", "subsets", &index],
                format!(
                    "Subset {name} of DestinationRule {} selects no pods (labels {{{}}}), so traffic routed to it fails with 503 UH (NoHealthyUpstream)",
                    rule.display_name(),
                    shown.join(", ")
                ),
            )
    .about_workloads();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{name: http, port: 80}]}\n---\n";

    #[test]
    fn node_topology_labels_select_pods() {
        let yaml = format!(
            "{SERVICE}apiVersion: v1\nkind: Node\nmetadata: {{name: n1, labels: {{topology.kubernetes.io/region: eu, topology.istio.io/subzone: rack1}}}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web-1, namespace: shop, labels: {{app: web}}}}\nspec: {{nodeName: n1, containers: [{{name: web, image: web}}]}}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: web, namespace: shop}}\nspec:\n  host: web\n  subsets:\n  - {{name: eu, labels: {{topology.kubernetes.io/region: eu}}}}\n  - {{name: rack, labels: {{topology.istio.io/subzone: rack1}}}}\n  - {{name: node, labels: {{kubernetes.io/hostname: n1}}}}\n"
        );
        let findings = check(&DESTINATION_RULE_SUBSET_PODS, &yaml);
        // The subzone does not count without a zone.
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(findings[0].message.contains("Subset rack"));
    }

    #[test]
    fn unknown_host() {
        let yaml = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: web, namespace: shop}\nspec: {host: nowhere}\n";
        let findings = check(&DESTINATION_RULE_SUBSET_PODS, yaml);
        assert_eq!(findings[0].istio_code, Some("IST0174"));
    }
}
