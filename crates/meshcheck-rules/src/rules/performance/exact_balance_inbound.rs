use crate::Context;
use meshcheck_model::Kind;

use super::balance::{BalancedListener, balance_patches, filter_scope};
use crate::facts::routes::as_path;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Lists EnvoyFilter patches that set `connection_balance_config: {exact_balance: {}}` on
    /// listeners where it takes effect: the sidecar's inbound listener (port 15006,
    /// `virtualInbound`, context `SIDECAR_INBOUND`), gateway listeners, outbound service
    /// listeners (context `SIDECAR_OUTBOUND`, which Envoy balances when the virtual outbound
    /// listener hands connections to them), or every listener (context `ANY`). This is
    /// informational: it records a deliberate tuning and its trade-off. A patch on the virtual
    /// outbound listener alone (port 15001) has no effect and is MC503's.
    ///
    /// ## Why is this bad?
    /// It is usually a good choice for servers that receive few, long-lived, busy connections
    /// (gRPC streams, HTTP/2 from a few clients): without it Envoy's workers can end up with very
    /// different numbers of connections, and one saturated worker caps the pod's throughput.
    /// Exact balancing takes a lock on every accept, so for workloads with many short
    /// connections it costs throughput instead; review it with the per-worker connection stats
    /// (MC512).
    ///
    /// ## How to fix
    /// Keep it on inbound listeners of high-throughput servers with long-lived connections;
    /// remove it where connections are short and numerous. Use the `workloadSelector` to limit it
    /// to the workloads that need it.
    ///
    /// ## Example
    /// ```yaml
    /// configPatches:
    /// - applyTo: LISTENER
    ///   match:
    ///     context: SIDECAR_INBOUND
    ///     listener: {portNumber: 15006}
    ///   patch:
    ///     operation: MERGE
    ///     value:
    ///       connection_balance_config: {exact_balance: {}}
    /// ```
    pub static EXACT_BALANCE_INBOUND = {
        code: "MC504",
        name: "exact-balance-on-inbound-listener",
        category: Performance,
        severity: Info,
        summary: "exact_balance on inbound or gateway listeners: right for few long-lived connections",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::EnvoyFilter],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/envoy-filter/",
        remediation: "Keep exact_balance for servers with few long-lived busy connections, scoped with a workloadSelector; remove it where connections are short-lived.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for patch in balance_patches(mesh) {
        let where_ = match patch.listener {
            BalancedListener::VirtualOutbound => continue,
            BalancedListener::Inbound => "the inbound listener",
            BalancedListener::Gateway => "gateway listeners",
            BalancedListener::OutboundServices => "outbound service listeners",
            BalancedListener::AllOutbound => {
                "every outbound listener (on the virtual outbound listener 15001 it only adds cost)"
            }
            BalancedListener::Any => {
                "every listener (on the virtual outbound listener 15001 it only adds cost)"
            }
        };
        let path = patch.path();
        sink.report(
            patch.filter,
            &as_path(&path),
            format!(
                "EnvoyFilter {} enables exact connection balancing on {where_} ({}) for {}: it evens out connections across worker threads for few long-lived connections, at the cost of a lock per accepted connection",
                patch.filter.display_name(),
                patch.matched,
                filter_scope(mesh, patch.filter)
            ),
        );
    }
}
