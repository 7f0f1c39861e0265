use crate::Context;
use meshcheck_model::Kind;

use crate::facts::policies::{int_field, policy_blocks};
use crate::facts::routes::as_path;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports DestinationRule traffic policies (top level, per port, per subset) that set
    /// `connectionPool.http.maxRequestsPerConnection: 1`.
    ///
    /// ## Why is this bad?
    /// One request per connection turns keep-alive off: every request opens a new TCP
    /// connection and, inside the mesh, performs a new mTLS handshake. That adds one or two round
    /// trips and a handshake's CPU to each request on both proxies, fills the client's ephemeral
    /// ports with `TIME_WAIT` sockets under load, and defeats HTTP/2 multiplexing. The setting
    /// often survives from Istio's locality-failover and circuit-breaking examples, where it
    /// makes failover visible in a demo.
    ///
    /// ## How to fix
    /// Remove `maxRequestsPerConnection` (unlimited by default), or set a value in the hundreds
    /// or thousands if connections must be recycled to rebalance load.
    ///
    /// ## Example
    /// ```yaml
    /// trafficPolicy:
    ///   connectionPool:
    ///     http:
    ///       maxRequestsPerConnection: 1
    /// ```
    pub static KEEPALIVE_DISABLED = {
        code: "MC511",
        name: "connection-keepalive-disabled",
        category: Performance,
        severity: Warning,
        summary: "maxRequestsPerConnection: 1 opens a new (mTLS) connection for every request",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/destination-rule/#ConnectionPoolSettings-HTTPSettings",
        remediation: "Remove maxRequestsPerConnection, or set it in the hundreds or more if connections must be recycled.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for rule in mesh.of_kind(Kind::DestinationRule) {
        for block in policy_blocks(rule) {
            if int_field(block.value, "/connectionPool/http/maxRequestsPerConnection") != Some(1) {
                continue;
            }
            let path = block.path_to(&["connectionPool", "http", "maxRequestsPerConnection"]);
            sink.report(
                rule,
                &as_path(&path),
                format!(
                    "{} of DestinationRule {} sets maxRequestsPerConnection: 1: every request opens a new connection with a new mTLS handshake, adding latency and CPU on both proxies",
                    block.title(),
                    rule.display_name()
                ),
            );
        }
    }
}
