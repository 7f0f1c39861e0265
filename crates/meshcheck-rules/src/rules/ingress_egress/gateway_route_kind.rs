use crate::Context;
use meshcheck_model::hosts::hosts_intersect;
use meshcheck_model::{Kind, items, strings};

use crate::facts::mesh_config::{bound_virtual_services, servers};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks that the VirtualServices bound to a Gateway server route the kind of traffic the
    /// server hands them:
    /// - a `tls.mode: PASSTHROUGH` server forwards encrypted bytes, so only `tls` routes
    ///   (matching `sniHosts`) or `tcp` routes apply: a bound VirtualService for its hosts with
    ///   only `http` routes never matches;
    /// - an HTTPS server that terminates TLS hands decrypted HTTP to the routes: a bound
    ///   VirtualService for its hosts with only `tls` routes never matches.
    ///
    /// ## Why is this bad?
    /// The routes are silently ignored: requests for the host get no route (connection reset
    /// or 404) although the configuration looks complete. It usually comes from switching a
    /// server between passthrough and termination without rewriting its VirtualService.
    ///
    /// ## How to fix
    /// For passthrough, route with `tls: [{match: [{sniHosts: [...]}], route: [...]}]`; for a
    /// terminating HTTPS server, use `http` routes (or change the server's TLS mode).
    ///
    /// ## Example
    /// ```yaml
    /// # Gateway server: HTTPS, tls.mode PASSTHROUGH, hosts [api.example.com]
    /// kind: VirtualService
    /// spec:
    ///   hosts: [api.example.com]
    ///   gateways: [api-gateway]
    ///   http:                        # never applies to passthrough traffic
    ///   - route: [{destination: {host: api}}]
    /// ```
    pub static GATEWAY_ROUTE_KIND = {
        code: "MC310",
        name: "gateway-route-kind",
        category: IngressEgress,
        severity: Error,
        summary: "VirtualServices must use tls routes for PASSTHROUGH Gateway servers and http routes for terminated HTTPS",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Gateway, Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-sni-passthrough/",
        remediation: "Route passthrough servers with tls routes (sniHosts) or tcp routes, and terminated HTTPS servers with http routes.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for gateway in mesh.of_kind(Kind::Gateway) {
        for server in servers(gateway) {
            let passthrough = server.tls_mode().is_some_and(|mode| mode == "PASSTHROUGH")
                && matches!(server.protocol.as_str(), "HTTPS" | "TLS");
            let terminated_https = server.protocol == "HTTPS" && server.terminates_tls();
            if !passthrough && !terminated_https {
                continue;
            }
            let hosts = server.bare_hosts();
            for service in bound_virtual_services(mesh, gateway) {
                let spec = service.spec();
                let serves_host = strings(spec.get("hosts"))
                    .iter()
                    .any(|routed| hosts.iter().any(|host| hosts_intersect(routed, host)));
                if !serves_host {
                    continue;
                }
                let has = |section: &str| items(spec.get(section)).next().is_some();
                let (wrong, expected) = if passthrough {
                    if !has("http") || has("tls") || has("tcp") {
                        continue;
                    }
                    ("http", "tls (sniHosts) or tcp")
                } else {
                    if !has("tls") || has("http") {
                        continue;
                    }
                    ("tls", "http")
                };
                let mode = if passthrough {
                    "passes TLS through"
                } else {
                    "terminates TLS"
                };
                sink.report(
                    service,
                    &["spec", wrong],
                    format!(
                        "VirtualService {}/{} has only {wrong} routes, but Gateway {}/{} {mode} on port {} for its hosts: the routes never match (use {expected} routes)",
                        service.namespace,
                        service.name(),
                        gateway.namespace,
                        gateway.name(),
                        server.port
                    ),
                );
            }
        }
    }
}
