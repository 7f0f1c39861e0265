use crate::Context;
use meshcheck_model::Kind;

use super::balance::{BalancedListener, balance_patches, filter_scope};
use crate::facts::routes::as_path;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports EnvoyFilter patches that set `connection_balance_config: {exact_balance: {}}` on
    /// the sidecar's virtual outbound listener: a listener match on port 15001 or on the name
    /// `virtualOutbound`.
    ///
    /// ## Why is this bad?
    /// Envoy assigns each accepted connection to one worker thread, and measurements of Istio
    /// sidecars show connections spread unevenly, so a few busy connections can saturate one
    /// worker while others idle. The virtual outbound listener does not serve connections: it
    /// uses original-destination hand-off, passing each connection to the listener of the
    /// destination service (`bind_to_port: false`). A balancer on 15001 therefore decides
    /// nothing; Envoy's documentation recommends disabling it there to avoid its cost. The
    /// imbalance stays while the configuration suggests it was handled.
    ///
    /// ## How to fix
    /// Remove the patch. To relieve a saturated client-side proxy, run more replicas with a lower
    /// `concurrency` each (fewer connections per worker), or let the application open more
    /// connections. Where balancing is wanted, put it on the listeners that keep the
    /// connections: the inbound listener (port 15006, `SIDECAR_INBOUND`), gateway listeners, or
    /// the destination service's outbound listener (`SIDECAR_OUTBOUND` with its port).
    ///
    /// ## Example
    /// ```yaml
    /// configPatches:
    /// - applyTo: LISTENER
    ///   match:
    ///     context: SIDECAR_OUTBOUND
    ///     listener: {portNumber: 15001}
    ///   patch:
    ///     operation: MERGE
    ///     value:
    ///       connection_balance_config: {exact_balance: {}}
    /// ```
    pub static EXACT_BALANCE_OUTBOUND = {
        code: "MC503",
        name: "exact-balance-on-outbound-listener",
        category: Performance,
        severity: Warning,
        summary: "exact_balance on the outbound virtual listener (15001) has no effect",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::EnvoyFilter],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/envoy-filter/",
        remediation: "Remove the patch; scale out with lower proxy concurrency instead, and balance only inbound (15006) or gateway listeners.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for patch in balance_patches(mesh) {
        if patch.listener != BalancedListener::VirtualOutbound {
            continue;
        }
        let path = patch.path();
        sink.report(
            patch.filter,
            &as_path(&path),
            format!(
                "EnvoyFilter {} sets exact_balance on the virtual outbound listener ({}) for {}: that listener hands every connection to its original destination's listener, so its balancer has no effect; lower the proxy concurrency and scale out instead, or balance the listeners that keep the connections",
                patch.filter.display_name(),
                patch.matched,
                filter_scope(mesh, patch.filter)
            ),
        );
    }
}
