//! Availability checks istiod and gateway workloads share: replicas, disruption budgets,
//! resource requests, spreading across nodes.

use meshcheck_input::Value;
use meshcheck_model::inventory::{Workload, missing_requests};
use meshcheck_model::{Resource, str_field};

use super::planes::replicas_text;

/// Why the workload can drop to a single replica, or `None` when it keeps at least two.
/// Only controllers are judged (pods alone do not tell the desired count).
pub fn replica_problem(workload: &Workload) -> Option<String> {
    workload.controller?;
    let min = workload.min_replicas()?;
    if min >= 2 {
        return None;
    }
    Some(match workload.autoscaler() {
        Some(hpa) => format!(
            "its HorizontalPodAutoscaler {} lets it scale down to {}",
            hpa.name(),
            replicas_text(min)
        ),
        None => format!("it runs {} and no autoscaler", replicas_text(min)),
    })
}

/// [`replica_problem`] with the controller to report it on.
pub fn replica_problem_with_controller<'m>(
    workload: &Workload<'m>,
) -> Option<(&'m Resource, String)> {
    Some((workload.controller?, replica_problem(workload)?))
}

/// Why the workload is not highly available: too few replicas ([`replica_problem`]), then a
/// missing or eviction-blocking disruption budget ([`budget_problem`]). Empty when it is, or
/// when it has no controller.
pub fn high_availability_problems(workload: &Workload) -> Vec<String> {
    [
        replica_problem(workload),
        budget_problem(workload).map(|(problem, _)| problem),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// An integer or percentage field of a budget (`1`, `"50%"`).
fn budget_value(spec: &Value, field: &str) -> Option<(f64, bool)> {
    match spec.get(field)? {
        Value::Number(number) => number.as_f64().map(|n| (n, false)),
        Value::String(text) => match text.strip_suffix('%') {
            Some(percent) => percent.trim().parse().ok().map(|p| (p, true)),
            None => text.trim().parse().ok().map(|n| (n, false)),
        },
        _ => None,
    }
}

/// Whether a budget forbids every voluntary eviction for `replicas` pods.
fn blocks_eviction(budget: &Resource, replicas: i64) -> bool {
    let spec = budget.spec();
    // Kubernetes rounds percentages up for both fields.
    if let Some((value, _)) = budget_value(spec, "maxUnavailable") {
        return value <= 0.0;
    }
    match budget_value(spec, "minAvailable") {
        Some((value, true)) => (value / 100.0 * replicas as f64).ceil() >= replicas as f64,
        Some((value, false)) => value >= replicas as f64,
        None => false,
    }
}

/// A disruption-budget problem: none selects the pods, or the budget blocks every eviction.
/// Returns the message and the budget to point at (if any).
pub fn budget_problem<'m>(workload: &Workload<'m>) -> Option<(String, Option<&'m Resource>)> {
    workload.controller?;
    let budgets = workload.disruption_budgets();
    if budgets.is_empty() {
        return Some((
            "no PodDisruptionBudget selects its pods, so a node drain or cluster upgrade may evict every replica at once".to_owned(),
            None,
        ));
    }
    let replicas = workload.min_replicas()?;
    budgets
        .into_iter()
        .find(|budget| blocks_eviction(budget, replicas))
        .map(|budget| {
            let field = if budget.spec().get("maxUnavailable").is_some() {
                "maxUnavailable"
            } else {
                "minAvailable"
            };
            let value = budget
                .spec()
                .get(field)
                .map(meshcheck_model::selector::value_text)
                .unwrap_or_default();
            (
                format!(
                    "its PodDisruptionBudget {} ({field}: {value}) allows no voluntary eviction with {}, so node drains and cluster upgrades stall",
                    budget.name(),
                    replicas_text(replicas)
                ),
                Some(budget),
            )
        })
}

/// The container's missing requests (`cpu`, `memory`), as text, or `None`.
pub fn requests_problem(container: &Value) -> Option<String> {
    let missing = missing_requests(container);
    (!missing.is_empty()).then(|| {
        format!(
            "container {} has no {} request",
            str_field(container, "name").unwrap_or("?"),
            missing.join(" or ")
        )
    })
}

/// How the replicas are (not) spread: `(message, co_located)`. `co_located` is true when the
/// running pods are known to share one node; otherwise the template merely lacks a spreading
/// rule. `None` when fewer than two replicas run or they are spread.
pub fn spread_problem(workload: &Workload) -> Option<(String, bool)> {
    workload.controller?;
    let replicas = workload.min_replicas()?.max(workload.replicas()?);
    if replicas < 2 {
        return None;
    }
    let scheduled: Vec<&Resource> = workload
        .pods()
        .filter(|pod| str_field(pod.spec(), "nodeName").is_some())
        .collect();
    let nodes = workload.nodes();
    if scheduled.len() >= 2 && nodes.len() == 1 {
        return Some((
            format!(
                "all {} of its running pods are on node {}: losing that node takes it down",
                scheduled.len(),
                nodes[0]
            ),
            true,
        ));
    }
    if workload.spreads_replicas() {
        return None;
    }
    Some((
        format!(
            "its {} have no pod anti-affinity or topology spread constraint, so nothing but the scheduler's best-effort default keeps them on different nodes and zones",
            replicas_text(replicas)
        ),
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn budget(spec: &str) -> Resource {
        let yaml = format!(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: b, namespace: x}}\nspec: {spec}\n"
        );
        let (mut objects, _) = meshcheck_input::parse_documents(&Arc::from("t"), &yaml);
        Resource::new(objects.remove(0))
    }

    #[test]
    fn eviction_blocking_budgets() {
        assert!(blocks_eviction(&budget("{minAvailable: 1}"), 1));
        assert!(!blocks_eviction(&budget("{minAvailable: 1}"), 2));
        assert!(blocks_eviction(&budget("{minAvailable: '100%'}"), 3));
        assert!(!blocks_eviction(&budget("{minAvailable: '50%'}"), 2));
        assert!(blocks_eviction(&budget("{maxUnavailable: 0}"), 3));
        assert!(blocks_eviction(&budget("{maxUnavailable: '0%'}"), 3));
        assert!(!blocks_eviction(&budget("{maxUnavailable: '25%'}"), 2));
        assert!(blocks_eviction(&budget("{minAvailable: '50%'}"), 1));
        assert!(!blocks_eviction(&budget("{maxUnavailable: 1}"), 1));
        assert!(!blocks_eviction(&budget("{}"), 1));
    }
}
