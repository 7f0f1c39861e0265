use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::hosts::host_covered_by;
use meshcheck_model::{Kind, items, str_field, strings};

use crate::facts::destination_tls::{TlsMode, tls_settings};
use crate::facts::mesh_config::is_external_entry;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds external ServiceEntries (`MESH_EXTERNAL`) with plain HTTP ports whose hosts no
    /// DestinationRule originates TLS for (`tls.mode: SIMPLE` or `MUTUAL`, for all ports or
    /// that port).
    ///
    /// ## Why is this bad?
    /// Requests to these hosts leave the cluster unencrypted: credentials, tokens and personal
    /// data cross networks the mesh does not control, readable and alterable by anyone on the
    /// path. Inside the mesh mutual TLS protects traffic; at the exit nothing does.
    ///
    /// ## How to fix
    /// Call the service over HTTPS, or keep plain HTTP in the application and let the sidecar
    /// (or the egress gateway) originate TLS with a DestinationRule (`tls.mode: SIMPLE`,
    /// verifying the server).
    ///
    /// ## Example
    /// ```yaml
    /// kind: ServiceEntry
    /// spec:
    ///   hosts: [partner.example.com]
    ///   ports:
    ///   - {number: 80, name: http, protocol: HTTP}
    ///   location: MESH_EXTERNAL
    /// ```
    pub static EGRESS_PLAINTEXT_HTTP = {
        code: "MC313",
        name: "egress-plaintext-http",
        category: IngressEgress,
        severity: Info,
        summary: "Plain HTTP to external hosts should be upgraded with TLS origination",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ServiceEntry, Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/egress/egress-tls-origination/",
        remediation: "Use HTTPS, or originate TLS for the host with a DestinationRule (tls.mode SIMPLE with caCertificates/sni).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for entry in mesh.of_kind(Kind::ServiceEntry) {
        if !is_external_entry(entry) {
            continue;
        }
        let hosts = strings(entry.spec().get("hosts"));
        for (index, port) in items(entry.spec().get("ports")).enumerate() {
            let protocol = str_field(port, "protocol").unwrap_or_default();
            if !matches!(protocol.to_ascii_uppercase().as_str(), "HTTP" | "HTTP2") {
                continue;
            }
            let number = port.get("number").and_then(Value::as_u64).unwrap_or(0);
            let target = port
                .get("targetPort")
                .and_then(Value::as_u64)
                .unwrap_or(number);
            let plaintext: Vec<&str> = hosts
                .iter()
                .copied()
                .filter(|host| {
                    !mesh.of_kind(Kind::DestinationRule).any(|rule| {
                        let rule_host = str_field(rule.spec(), "host").unwrap_or_default();
                        (rule_host == *host || host_covered_by(host, rule_host))
                            && tls_settings(rule).iter().any(|setting| {
                                matches!(setting.mode, Some(TlsMode::Simple | TlsMode::Mutual))
                                    && setting.port.is_none_or(|port| {
                                        u64::from(port) == number || u64::from(port) == target
                                    })
                            })
                    })
                })
                .collect();
            if plaintext.is_empty() {
                continue;
            }
            let index = index.to_string();
            sink.report(
                entry,
                &["spec", "ports", &index],
                format!(
                    "ServiceEntry {}/{} sends plain HTTP to {} on port {number} and no DestinationRule originates TLS: the traffic leaves the cluster unencrypted",
                    entry.namespace,
                    entry.name(),
                    plaintext.join(", ")
                ),
            );
        }
    }
}
