use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::hosts::host_covered_by;
use meshcheck_model::{Kind, Resource, items, strings};

use crate::facts::gateways::selector_string;
use crate::facts::mesh_config::{bound_virtual_services, gateway_selector, servers};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds gateway workloads where one server requires client certificates (`tls.mode:
    /// MUTUAL`) for a host, while another server on the same port terminates TLS without them
    /// (`SIMPLE`, `OPTIONAL_MUTUAL`) for a wildcard that covers that host, e.g. MUTUAL for
    /// `admin.example.com` and SIMPLE for `*.example.com`. It stays silent when a VirtualService
    /// bound to the wildcard server answers the protected host with status 421.
    ///
    /// ## Why is this bad?
    /// The gateway picks the TLS settings by SNI but routes by the HTTP `Host` header, and Envoy
    /// does not require the two to agree. A client can open a connection with the SNI
    /// `www.example.com` (no client certificate needed) and then send `Host:
    /// admin.example.com`: the mutual TLS requirement of the admin host is bypassed wherever a
    /// route for it is reachable through the wildcard server.
    ///
    /// ## How to fix
    /// Bind a VirtualService for the protected host to the wildcard server's Gateway that aborts
    /// every request with HTTP 421 (Misdirected Request), as Istio's security best practices
    /// show, or serve the protected host on its own gateway or port.
    ///
    /// ## Example
    /// ```yaml
    /// kind: VirtualService
    /// spec:
    ///   hosts: [admin.example.com]
    ///   gateways: [guest-gateway]
    ///   http:
    ///   - fault: {abort: {percentage: {value: 100}, httpStatus: 421}}
    ///     route: [{destination: {host: admin}}]
    /// ```
    pub static GATEWAY_SNI_HOST_OVERLAP = {
        code: "MC314",
        name: "gateway-sni-host-overlap",
        category: IngressEgress,
        severity: Warning,
        summary: "Hosts that require client certificates must not be reachable through a wildcard SIMPLE TLS server",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Gateway, Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#explicitly-disable-all-the-sensitive-http-host-under-relaxed-sni-host-matching",
        remediation: "Bind a VirtualService for the mutual-TLS host to the wildcard server's Gateway that aborts with HTTP 421, or serve it on a separate gateway or port.",
        check: check,
    }
}

/// Whether a VirtualService answers every request with 421 (a fault abort or direct response).
fn rejects_misdirected(service: &Resource) -> bool {
    let mut routes = items(service.spec().get("http")).peekable();
    routes.peek().is_some()
        && routes.all(|route| {
            route.at("/fault/abort/httpStatus").and_then(Value::as_u64) == Some(421)
                || route.at("/directResponse/status").and_then(Value::as_u64) == Some(421)
        })
}

struct TlsServer<'a> {
    gateway: &'a Resource,
    selector: String,
    port: u64,
    mode: String,
    hosts: Vec<&'a str>,
    index: usize,
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let mut all: Vec<TlsServer> = Vec::new();
    for gateway in mesh.of_kind(Kind::Gateway) {
        let selector = gateway_selector(gateway)
            .map(selector_string)
            .unwrap_or_default();
        for server in servers(gateway) {
            if !server.terminates_tls() {
                continue;
            }
            all.push(TlsServer {
                gateway,
                selector: selector.clone(),
                port: server.port,
                mode: server.tls_mode().unwrap_or_default(),
                hosts: server.bare_hosts(),
                index: server.index,
            });
        }
    }
    for relaxed in all.iter().filter(|server| server.mode != "MUTUAL") {
        for strict in all.iter().filter(|server| {
            server.mode == "MUTUAL"
                && server.selector == relaxed.selector
                && server.port == relaxed.port
        }) {
            for protected in strict.hosts.iter().filter(|host| !host.starts_with('*')) {
                let Some(wildcard) = relaxed
                    .hosts
                    .iter()
                    .find(|host| host.starts_with('*') && host_covered_by(protected, host))
                else {
                    continue;
                };
                let rejected = bound_virtual_services(mesh, relaxed.gateway).any(|service| {
                    rejects_misdirected(service)
                        && strings(service.spec().get("hosts")).contains(protected)
                });
                if rejected {
                    continue;
                }
                let index = relaxed.index.to_string();
                sink.report(
                    relaxed.gateway,
                    &["spec", "servers", &index, "hosts"],
                    format!(
                        "Gateway {}/{} terminates {wildcard} with TLS mode {} on port {}, which covers {protected}, a host Gateway {}/{} protects with MUTUAL TLS: a client can use another SNI and send Host: {protected} without a client certificate",
                        relaxed.gateway.namespace,
                        relaxed.gateway.name(),
                        relaxed.mode,
                        relaxed.port,
                        strict.gateway.namespace,
                        strict.gateway.name()
                    ),
                );
            }
        }
    }
}
