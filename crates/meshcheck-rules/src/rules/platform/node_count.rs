use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::inventory::nodes;

use crate::{Sink, declare_rule};

/// Fewer schedulable nodes than this cannot keep a replica of everything through a node loss
/// while another node is drained for an upgrade.
const MIN_NODES: usize = 3;

declare_rule! {
    /// ## What it does
    /// Counts the Nodes ordinary pods can be scheduled on (not cordoned, not tainted
    /// `NoSchedule`/`NoExecute`, which excludes dedicated control-plane nodes) and reports
    /// fewer than three. Silent when the input holds no Nodes.
    ///
    /// ## Why is this bad?
    /// With one or two worker nodes, draining one for an upgrade while another fails leaves no
    /// room for istiod and gateway replicas; anti-affinity and disruption budgets either
    /// cannot be satisfied or block the drain.
    ///
    /// ## How to fix
    /// Run at least three schedulable nodes (across zones) for a production mesh.
    pub static TOO_FEW_NODES = {
        code: "MC117",
        name: "too-few-nodes",
        category: Platform,
        severity: Warning,
        summary: "A production mesh should have at least three schedulable nodes",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Node],
        docs_url: "https://kubernetes.io/docs/setup/best-practices/cluster-large/",
        remediation: "Add schedulable worker nodes (at least three, across zones).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let all = nodes(mesh);
    let Some(first) = all.first() else {
        return;
    };
    let schedulable: Vec<&str> = all
        .iter()
        .filter(|node| !node.unschedulable)
        .map(|node| node.name())
        .collect();
    if schedulable.len() >= MIN_NODES {
        return;
    }
    let listed = if schedulable.is_empty() {
        "none".to_owned()
    } else {
        schedulable.join(", ")
    };
    sink.report(
        first.node,
        &[],
        format!(
            "only {} of {} nodes can run ordinary pods ({listed}): losing or draining one leaves no room to keep istiod and gateway replicas apart",
            schedulable.len(),
            all.len()
        ),
    );
}
