use crate::Context;
use std::collections::HashMap;

use meshcheck_input::{Map, Value};
use meshcheck_model::{Kind, Resource, items, str_field};

use crate::facts::gateways::gateway_selector;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds TLS servers of different Gateways that use the same certificate (the same
    /// `credentialName`, or the same `serverCertificate` and `privateKey` files) where the
    /// Gateways configure the same workload: the other Gateway's selector includes every label of
    /// this one's (an empty selector includes all).
    ///
    /// ## Why is this bad?
    /// With one certificate covering the hosts of several Gateways, browsers and HTTP/2 clients
    /// reuse a connection opened for one host to reach another. The gateway routes that request
    /// with the first server's routes and answers 404.
    ///
    /// ## How to fix
    /// Serve all hosts of a certificate from one Gateway server (list every host there), or give
    /// each Gateway its own certificate.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Gateway
    /// metadata: {name: shop}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     tls: {mode: SIMPLE, credentialName: wildcard-example-com}
    ///     hosts: [shop.example.com]
    /// ---
    /// kind: Gateway
    /// metadata: {name: blog}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     tls: {mode: SIMPLE, credentialName: wildcard-example-com}   # same certificate
    ///     hosts: [blog.example.com]
    /// ```
    /// Use one Gateway with `hosts: [shop.example.com, blog.example.com]`.
    pub static GATEWAY_DUPLICATE_CERTIFICATE = {
        code: "MC018",
        name: "gateway-duplicate-certificate",
        category: IngressEgress,
        severity: Warning,
        summary: "Gateways of one workload should not share a TLS certificate across Gateways",
        istio_analyzer: Some("gateway.CertificateAnalyzer"),
        istio_codes: &["IST0138"],
        inputs: &[Kind::Gateway],
        docs_url: "https://istio.io/latest/docs/ops/common-problems/network-issues/#404-errors-occur-when-multiple-gateways-configured-with-same-tls-certificate",
        remediation: "Serve all hosts of a certificate from a single Gateway server, or give each Gateway its own certificate.",
        check: check,
    }
}

/// What identifies a server's certificate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum CertificateKey<'a> {
    Credential(&'a str),
    Files(&'a str, &'a str),
}

fn certificate_key(tls: &Value) -> Option<CertificateKey<'_>> {
    let non_empty = |key: &str| str_field(tls, key).filter(|value| !value.is_empty());
    if let Some(credential) = non_empty("credentialName") {
        return Some(CertificateKey::Credential(credential));
    }
    Some(CertificateKey::Files(
        non_empty("serverCertificate")?,
        non_empty("privateKey")?,
    ))
}

/// Whether every label of `inner` is in `outer` with the same value.
fn selector_included(inner: &Map, outer: &Map) -> bool {
    inner
        .iter()
        .all(|(key, value)| outer.get(key) == Some(value))
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let gateways: Vec<&Resource> = mesh.of_kind(Kind::Gateway).collect();
    // certificate → (gateway index, server index), in input order.
    let mut by_certificate: HashMap<CertificateKey, Vec<(usize, usize)>> = HashMap::new();
    for (gateway_index, gateway) in gateways.iter().enumerate() {
        for (server_index, server) in items(gateway.spec().get("servers")).enumerate() {
            let Some(tls) = server.get("tls").filter(|tls| tls.is_object()) else {
                continue;
            };
            if let Some(key) = certificate_key(tls) {
                by_certificate
                    .entry(key)
                    .or_default()
                    .push((gateway_index, server_index));
            }
        }
    }

    // (gateway, other gateway) → how many server pairs share a certificate, in report order.
    let mut shared: Vec<(usize, usize, usize)> = Vec::new();
    for users in by_certificate.values() {
        for &(gateway_index, server_index) in users {
            for &(other_index, _) in users {
                if other_index == gateway_index {
                    continue;
                }
                let selector = gateway_selector(gateways[gateway_index]);
                let other_selector = gateway_selector(gateways[other_index]);
                if selector_included(selector, other_selector) {
                    shared.push((gateway_index, server_index, other_index));
                }
            }
        }
    }
    shared.sort_unstable();

    for (gateway_index, server_index, other_index) in shared {
        let gateway = gateways[gateway_index];
        let other = gateways[other_index];
        let certificate = items(gateway.spec().get("servers"))
            .nth(server_index)
            .and_then(|server| server.get("tls"))
            .and_then(certificate_key)
            .map(|key| match key {
                CertificateKey::Credential(name) => format!("credential {name:?}"),
                CertificateKey::Files(cert, _) => format!("certificate file {cert:?}"),
            })
            .unwrap_or_default();
        let server_index = server_index.to_string();
        sink.istio(
            "IST0138",
            gateway,
            &["spec", "servers", &server_index, "tls"],
            format!(
                "Gateways {}/{} and {}/{} use the same {certificate} for the same workload, which may cause 404s when clients reuse HTTP/2 connections across their hosts.",
                gateway.namespace,
                gateway.name(),
                other.namespace,
                other.name()
            ),
        );
    }
}
