use crate::Context;
use std::collections::BTreeMap;

use meshcheck_input::Value;
use meshcheck_model::hosts::to_fqdn;
use meshcheck_model::{Kind, Resource, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Groups DestinationRules that Istio merges: same namespace, same host (as a fully
    /// qualified name), same `workloadSelector` and same `exportTo`. Within a group it reports
    /// rules whose parts Istio cannot merge: a top-level `trafficPolicy` defined by more than
    /// one of them, or a subset name defined twice.
    ///
    /// ## Why is this bad?
    /// Istio merges such DestinationRules only where they do not overlap: the rule created first
    /// keeps its `trafficPolicy` and its subsets, and the later rule's `trafficPolicy` and
    /// same-named subsets are silently dropped. TLS settings, connection pools or outlier
    /// detection you believe active are not, and which one wins depends on creation order, so a
    /// re-apply in another order changes behaviour.
    ///
    /// ## How to fix
    /// Keep one DestinationRule per host and namespace holding the traffic policy and all
    /// subsets, or move traffic policy into per-subset `trafficPolicy` blocks of distinct
    /// subsets.
    ///
    /// ## Example
    /// ```yaml
    /// kind: DestinationRule
    /// metadata: {name: reviews-tls, namespace: shop}
    /// spec:
    ///   host: reviews
    ///   trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
    /// ---
    /// kind: DestinationRule
    /// metadata: {name: reviews-cb, namespace: shop}
    /// spec:
    ///   host: reviews.shop.svc.cluster.local
    ///   trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}}}   # one of the two is ignored
    /// ```
    pub static DESTINATION_RULE_MERGE_CONFLICT = {
        code: "MC402",
        name: "destination-rule-merge-conflict",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "DestinationRules for the same host and namespace must not both set trafficPolicy or the same subset",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/traffic-management/#split-virtual-services",
        remediation: "Merge the DestinationRules for this host into one, or give each its own subsets without a second top-level trafficPolicy.",
        check: check,
    }
}

/// What makes two DestinationRules merge: namespace, host FQDN, selector, exportTo.
type GroupKey = (String, String, String, String);

fn group_key(rule: &Resource) -> GroupKey {
    let spec = rule.spec();
    let host = to_fqdn(&rule.namespace, str_field(spec, "host").unwrap_or_default());
    let selector = spec
        .get("workloadSelector")
        .map(Value::to_string)
        .unwrap_or_default();
    let mut export_to = rule.export_to();
    export_to.sort_unstable();
    (rule.namespace.clone(), host, selector, export_to.join(","))
}

fn created(rule: &Resource) -> &str {
    str_field(rule.metadata(), "creationTimestamp").unwrap_or_default()
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let mut groups: BTreeMap<GroupKey, Vec<&Resource>> = BTreeMap::new();
    for rule in mesh.of_kind(Kind::DestinationRule) {
        groups.entry(group_key(rule)).or_default().push(rule);
    }
    for ((_, host, _, _), mut rules) in groups {
        if rules.len() < 2 {
            continue;
        }
        // Istio merges oldest first; without timestamps, input order stands in for it.
        rules.sort_by(|a, b| created(a).cmp(created(b)));
        let mut policy_owner: Option<&Resource> = None;
        let mut subset_owners: BTreeMap<&str, &Resource> = BTreeMap::new();
        for rule in rules {
            let spec = rule.spec();
            if spec
                .get("trafficPolicy")
                .is_some_and(|policy| !policy.is_null())
            {
                match policy_owner {
                    Some(first) => {
                        sink.report(
                            rule,
                            &["spec", "trafficPolicy"],
                            format!(
                                "DestinationRule {} and {} both set a top-level trafficPolicy for host {host} in namespace {}: Istio merges them and keeps only the policy of the one created first, so the other's settings are silently ignored",
                                rule.display_name(),
                                first.display_name(),
                                rule.namespace
                            ),
                        );
                    }
                    None => policy_owner = Some(rule),
                }
            }
            let subsets = spec.get("subsets").and_then(Value::as_array);
            for (index, subset) in subsets.into_iter().flatten().enumerate() {
                let name = str_field(subset, "name").unwrap_or_default();
                match subset_owners.get(name) {
                    Some(first) if !std::ptr::eq(*first, rule) => {
                        let index = index.to_string();
                        sink.report(
                            rule,
                            &["spec", "subsets", &index],
                            format!(
                                "Subset {name} of DestinationRule {} is also defined by {} for host {host}: Istio keeps the subset of the rule created first and drops the other",
                                rule.display_name(),
                                first.display_name()
                            ),
                        );
                    }
                    Some(_) => {}
                    None => {
                        subset_owners.insert(name, rule);
                    }
                }
            }
        }
    }
}
