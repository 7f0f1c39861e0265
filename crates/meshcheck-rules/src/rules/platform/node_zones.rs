use crate::Context;
use std::collections::BTreeSet;

use meshcheck_model::Kind;
use meshcheck_model::inventory::nodes;

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Looks at the `topology.kubernetes.io/zone` label (or the legacy
    /// `failure-domain.beta.kubernetes.io/zone`) of the schedulable Nodes and reports when they
    /// are all in one zone. Nodes without zone labels (typical on premises) say nothing, so
    /// the rule stays silent for them.
    ///
    /// ## Why is this bad?
    /// A zone outage then takes down every istiod replica, every gateway and every workload at
    /// once; replicas and disruption budgets cannot help. Istio's locality load balancing and
    /// failover also need more than one zone to do anything.
    ///
    /// ## How to fix
    /// Spread the node pools over at least two (preferably three) zones of the region, and
    /// spread istiod and gateway replicas over them with topology spread constraints.
    pub static SINGLE_ZONE_NODES = {
        code: "MC116",
        name: "single-zone-nodes",
        category: Platform,
        severity: Warning,
        summary: "Worker nodes should span more than one availability zone",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Node],
        docs_url: "https://kubernetes.io/docs/setup/best-practices/multiple-zones/",
        remediation: "Run node pools in at least two (preferably three) zones and spread istiod and gateway replicas over them.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let schedulable: Vec<_> = nodes(mesh)
        .into_iter()
        .filter(|node| !node.unschedulable)
        .collect();
    let zones: BTreeSet<&str> = schedulable.iter().filter_map(|node| node.zone).collect();
    // Without zone labels, or with a single node (MC117's finding), there is nothing to say.
    if zones.len() != 1 || schedulable.len() < 2 {
        return;
    }
    let zone = zones.into_iter().next().expect("one zone");
    let first = schedulable[0].node;
    sink.report(
        first,
        &["metadata", "labels"],
        format!(
            "all {} schedulable nodes are in zone {zone}: a zone outage takes down the whole mesh, control plane and gateways included",
            schedulable.len()
        ),
    );
}
