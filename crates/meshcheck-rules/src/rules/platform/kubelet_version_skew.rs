use crate::Context;
use std::collections::BTreeMap;

use meshcheck_model::Kind;
use meshcheck_model::inventory::{NodeInfo, kubernetes_version, nodes};

use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Compares each Node's kubelet version (`status.nodeInfo.kubeletVersion`) with the API
    /// server's version (from the collector). Reports kubelets newer than the API server (an
    /// error) and kubelets more minor releases behind than Kubernetes' skew policy allows
    /// (three since Kubernetes 1.28, two before). Nodes with the same kubelet version are
    /// reported together.
    ///
    /// ## Why is this bad?
    /// Outside the supported skew, kubelets and the API server may disagree on API versions
    /// and features (native sidecars, which Istio uses for sidecar start-up ordering, need
    /// kubelets that support them), and the next control plane upgrade is blocked.
    ///
    /// ## How to fix
    /// Upgrade the lagging node pools (or replace the nodes) to the API server's minor version
    /// before upgrading the control plane again.
    pub static KUBELET_VERSION_SKEW = {
        code: "MC118",
        name: "kubelet-version-skew",
        category: Platform,
        severity: Warning,
        summary: "Kubelets must be within Kubernetes' supported version skew of the API server",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Node],
        docs_url: "https://kubernetes.io/releases/version-skew-policy/#kubelet",
        remediation: "Upgrade the lagging node pools to the API server's minor version.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let Some(server) = kubernetes_version(mesh) else {
        return;
    };
    let allowed_behind = if server.minor_line() >= (1, 28) { 3 } else { 2 };
    let mut groups: BTreeMap<String, Vec<NodeInfo>> = BTreeMap::new();
    for node in nodes(mesh) {
        if let Some(kubelet) = &node.kubelet_version {
            groups.entry(kubelet.release_text()).or_default().push(node);
        }
    }
    for group in groups.values() {
        let kubelet = group[0]
            .kubelet_version
            .as_ref()
            .expect("grouped by version");
        let ahead = kubelet.minors_ahead_of(&server);
        let names: Vec<&str> = group.iter().take(5).map(NodeInfo::name).collect();
        let more = if group.len() > 5 {
            format!(" and {} more", group.len() - 5)
        } else {
            String::new()
        };
        let who = if group.len() == 1 {
            format!("node {} runs", names[0])
        } else {
            format!("{} nodes ({}{more}) run", group.len(), names.join(", "))
        };
        if ahead > 0 {
            sink.report(
                group[0].node,
                &["status", "nodeInfo", "kubeletVersion"],
                format!(
                    "{who} kubelet {kubelet}, newer than the API server ({server}); a kubelet must never be newer than the API server"
                ),
            )
            .severity(Severity::Error);
        } else if -ahead > allowed_behind {
            sink.report(
                group[0].node,
                &["status", "nodeInfo", "kubeletVersion"],
                format!(
                    "{who} kubelet {kubelet}, {} minor releases behind the API server ({server}); at most {allowed_behind} are supported",
                    -ahead
                ),
            );
        }
    }
}
