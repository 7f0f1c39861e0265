use crate::Context;
use std::collections::BTreeMap;

use meshcheck_model::{Kind, Resource, str_field};

use crate::facts::gateways::selector_string;
use crate::facts::mesh_config::{gateway_selector, servers};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds servers that configure the same gateway workload (Gateways with the same selector)
    /// on the same port and bind address with incompatible protocols: a plaintext server (HTTP,
    /// HTTP2, GRPC) next to a TLS server (HTTPS, TLS) or a TCP one, or a TCP server next to a
    /// TLS one. (Duplicate hosts with the same protocol are `gateway-conflicting-servers`.)
    ///
    /// ## Why is this bad?
    /// A gateway port is one Envoy listener: it either speaks plaintext HTTP or TLS or raw TCP.
    /// When Gateways disagree, istiod keeps the first server (by creation time) and rejects the
    /// others, so the hosts of the rejected server are not served on that port at all.
    ///
    /// ## How to fix
    /// Use one protocol per port and workload: move the plaintext server to another port (80
    /// for HTTP, 443 for HTTPS), or give the servers different `bind` addresses.
    ///
    /// ## Example
    /// ```yaml
    /// # Gateway a
    /// - port: {number: 8443, name: https, protocol: HTTPS}
    /// # Gateway b, same selector
    /// - port: {number: 8443, name: http, protocol: HTTP}
    /// ```
    pub static GATEWAY_PORT_PROTOCOL_CONFLICT = {
        code: "MC316",
        name: "gateway-port-protocol-conflict",
        category: IngressEgress,
        severity: Error,
        summary: "Servers of one gateway workload must use compatible protocols on a shared port",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Gateway],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/gateway/#Server",
        remediation: "Use one protocol family per gateway port and workload, or separate the servers by port or bind address.",
        check: check,
    }
}

/// The listener family a server protocol needs.
fn family(protocol: &str) -> &'static str {
    match protocol {
        "HTTP" | "HTTP2" | "GRPC" | "GRPC-WEB" => "plaintext HTTP",
        "HTTPS" | "TLS" => "TLS",
        _ => "TCP",
    }
}

/// `HTTP (plaintext HTTP)`, or just `TCP` when the protocol names its family.
fn describe(protocol: &str) -> String {
    let family = family(protocol);
    if family == protocol {
        protocol.to_owned()
    } else {
        format!("{protocol} ({family})")
    }
}

struct Entry<'a> {
    gateway: &'a Resource,
    index: usize,
    protocol: String,
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // (selector, port, bind) → servers, in input order.
    let mut listeners: BTreeMap<(String, u64, String), Vec<Entry>> = BTreeMap::new();
    for gateway in mesh.of_kind(Kind::Gateway) {
        let selector = gateway_selector(gateway)
            .map(selector_string)
            .unwrap_or_default();
        for server in servers(gateway) {
            if server.port == 0 || server.protocol.is_empty() {
                continue;
            }
            let bind = str_field(server.value, "bind")
                .unwrap_or_default()
                .to_owned();
            listeners
                .entry((selector.clone(), server.port, bind))
                .or_default()
                .push(Entry {
                    gateway,
                    index: server.index,
                    protocol: server.protocol.clone(),
                });
        }
    }
    for ((selector, port, _), entries) in listeners {
        let Some(first) = entries.first() else {
            continue;
        };
        let first_family = family(&first.protocol);
        for entry in &entries[1..] {
            if family(&entry.protocol) == first_family {
                continue;
            }
            let index = entry.index.to_string();
            sink.report(
                entry.gateway,
                &["spec", "servers", &index, "port", "protocol"],
                format!(
                    "Gateway {}/{} declares port {port} as {} but Gateway {}/{} already declares it as {} on the same workload ({selector}): only one listener protocol can serve the port",
                    entry.gateway.namespace,
                    entry.gateway.name(),
                    describe(&entry.protocol),
                    first.gateway.namespace,
                    first.gateway.name(),
                    describe(&first.protocol),
                ),
            );
        }
    }
}
