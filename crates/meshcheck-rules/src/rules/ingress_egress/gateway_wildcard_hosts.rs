use crate::Context;
use meshcheck_model::Kind;

use crate::facts::mesh_config::{is_internal_gateway, servers};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds ingress Gateway servers that accept any host: `"*"` or `"*/*"` in `hosts` (any
    /// host, from VirtualServices of any namespace). Egress and east-west gateways,
    /// `AUTO_PASSTHROUGH` servers and HTTP servers that only redirect to HTTPS are left out.
    ///
    /// ## Why is this bad?
    /// A server for `*` lets any VirtualService in any namespace bind to the gateway and expose
    /// any host on it: a team can publish an internal service on the public edge by writing a
    /// VirtualService, and requests with arbitrary `Host` headers reach whatever route matches.
    /// Istio's security best practices recommend avoiding overly broad gateway hosts.
    ///
    /// ## How to fix
    /// List the domains the gateway serves (`shop.example.com`) or restrict binding to one
    /// namespace (`shop/*`, `./*`).
    ///
    /// ## Example
    /// ```yaml
    /// servers:
    /// - port: {number: 443, name: https, protocol: HTTPS}
    ///   hosts: ["*"]
    /// ```
    /// Use instead: `hosts: ["shop/shop.example.com"]`.
    pub static GATEWAY_WILDCARD_HOSTS = {
        code: "MC306",
        name: "gateway-wildcard-hosts",
        category: IngressEgress,
        severity: Warning,
        summary: "Ingress Gateway servers should name their hosts instead of accepting any (\"*\")",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Gateway],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#avoid-overly-broad-hosts-configurations",
        remediation: "List the domains the server serves, or restrict it to one namespace's VirtualServices (namespace/*).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in mesh.of_kind(Kind::Gateway) {
        if is_internal_gateway(gateway) {
            continue;
        }
        for server in servers(gateway) {
            let redirects_only = server
                .tls()
                .and_then(|tls| tls.get("httpsRedirect"))
                .and_then(meshcheck_input::Value::as_bool)
                == Some(true);
            if redirects_only
                || server
                    .tls_mode()
                    .is_some_and(|mode| mode == "AUTO_PASSTHROUGH")
            {
                continue;
            }
            let Some(index) = server
                .hosts
                .iter()
                .position(|host| matches!(*host, "*" | "*/*"))
            else {
                continue;
            };
            let index = index.to_string();
            let path = server.path(&["hosts", &index]);
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            sink.report(
                gateway,
                &path,
                format!(
                    "Gateway {}/{} serves any host on port {} ({}): VirtualServices of any namespace can expose any host through it",
                    gateway.namespace,
                    gateway.name(),
                    server.port,
                    server.protocol
                ),
            );
        }
    }
}
