use crate::Context;
use std::collections::BTreeMap;

use meshcheck_input::Value;
use meshcheck_model::hosts::hosts_intersect;
use meshcheck_model::{Kind, Resource, items, str_field, strings};

use crate::facts::gateways::selector_string;
use crate::facts::mesh_config::{Server, bound_virtual_services, gateway_selector, servers};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds plain HTTP Gateway servers for hosts that the same gateway workload (Gateways with
    /// the same selector) also serves over HTTPS, when the HTTP server does not set
    /// `tls.httpsRedirect: true` and no VirtualService bound to it redirects every request of
    /// the host to `https`.
    ///
    /// ## Why is this bad?
    /// When a host is offered over HTTPS, its plain HTTP listener should only redirect. Serving
    /// the application over HTTP as well means clients that follow an `http://` link (or are
    /// downgraded by an attacker) send cookies, tokens and form data in clear text, and HSTS
    /// cannot be bootstrapped.
    ///
    /// ## How to fix
    /// Set `tls.httpsRedirect: true` on the HTTP server (the gateway answers 301 to `https`),
    /// or remove the HTTP server.
    ///
    /// ## Example
    /// ```yaml
    /// servers:
    /// - port: {number: 80, name: http, protocol: HTTP}
    ///   hosts: [shop.example.com]
    ///   tls:
    ///     httpsRedirect: true
    /// - port: {number: 443, name: https, protocol: HTTPS}
    ///   hosts: [shop.example.com]
    ///   tls: {mode: SIMPLE, credentialName: shop-cert}
    /// ```
    pub static GATEWAY_HTTPS_REDIRECT = {
        code: "MC309",
        name: "gateway-https-redirect",
        category: IngressEgress,
        severity: Warning,
        summary: "HTTP Gateway servers for hosts also served over HTTPS should redirect to HTTPS",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Gateway, Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/gateway/#ServerTLSSettings",
        remediation: "Set tls.httpsRedirect: true on the HTTP server (or remove it) for hosts served over HTTPS.",
        check: check,
    }
}

/// Whether every HTTP route of a VirtualService redirects to https.
fn redirects_to_https(service: &Resource) -> bool {
    let mut routes = items(service.spec().get("http")).peekable();
    routes.peek().is_some()
        && routes.all(|route| {
            route
                .get("redirect")
                .and_then(|redirect| str_field(redirect, "scheme"))
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https"))
        })
}

fn https_redirect(server: &Server) -> bool {
    server
        .tls()
        .and_then(|tls| tls.get("httpsRedirect"))
        .and_then(Value::as_bool)
        == Some(true)
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let gateways: Vec<&Resource> = mesh.of_kind(Kind::Gateway).collect();
    // Hosts served over HTTPS, per gateway workload (selector).
    let mut secure: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for gateway in &gateways {
        let key = gateway_selector(gateway)
            .map(selector_string)
            .unwrap_or_default();
        for server in servers(gateway) {
            if server.protocol == "HTTPS" && server.terminates_tls() {
                secure
                    .entry(key.clone())
                    .or_default()
                    .extend(server.bare_hosts());
            }
        }
    }
    for gateway in gateways {
        let key = gateway_selector(gateway)
            .map(selector_string)
            .unwrap_or_default();
        let Some(secure_hosts) = secure.get(&key) else {
            continue;
        };
        for server in servers(gateway) {
            if !matches!(server.protocol.as_str(), "HTTP" | "HTTP2") || https_redirect(&server) {
                continue;
            }
            let exposed: Vec<&str> = server
                .bare_hosts()
                .into_iter()
                .filter(|host| {
                    secure_hosts
                        .iter()
                        .any(|secure| hosts_intersect(host, secure))
                })
                .filter(|host| {
                    !bound_virtual_services(mesh, gateway).any(|service| {
                        redirects_to_https(service)
                            && strings(service.spec().get("hosts"))
                                .iter()
                                .any(|routed| hosts_intersect(routed, host))
                    })
                })
                .collect();
            if exposed.is_empty() {
                continue;
            }
            let path = server.path(&["port"]);
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            sink.report(
                gateway,
                &path,
                format!(
                    "Gateway {}/{} serves {} over plain HTTP on port {} without redirecting to HTTPS, although the gateway also serves {} over HTTPS",
                    gateway.namespace,
                    gateway.name(),
                    exposed.join(", "),
                    server.port,
                    if exposed.len() == 1 { "it" } else { "them" }
                ),
            );
        }
    }
}
