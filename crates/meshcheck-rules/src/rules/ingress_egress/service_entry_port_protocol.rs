use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::hosts::host_covered_by;
use meshcheck_model::{Kind, Mesh, Resource, items, str_field, strings};

use crate::facts::destination_tls::{TlsMode, tls_settings};
use crate::facts::mesh_config::is_external_entry;
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks the protocol of the HTTPS port (443) of external ServiceEntries:
    /// - `protocol: HTTP` on port 443 (error), unless a DestinationRule originates TLS for the
    ///   host (the pattern where the application sends plain HTTP to port 443 and the sidecar
    ///   upgrades it);
    /// - `protocol: TCP` (or none) on port 443 without `addresses` (warning).
    ///
    /// ## Why is this bad?
    /// Applications speak TLS on 443. Declared as HTTP, the sidecar tries to parse the TLS
    /// handshake as HTTP and every request fails. Declared as TCP without addresses, the entry
    /// becomes a catch-all listener `0.0.0.0:443`: the sidecar cannot tell hosts apart, so every
    /// destination on port 443 is treated as this service, which defeats `REGISTRY_ONLY` egress
    /// control for HTTPS. `TLS` or `HTTPS` lets it match the SNI against the hosts.
    ///
    /// ## How to fix
    /// Declare port 443 as `protocol: TLS` (or `HTTPS`) with a `tls-`/`https-` name; keep
    /// `HTTP` only together with a DestinationRule that originates TLS for the host.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hosts: [api.github.com]
    ///   ports:
    ///   - {number: 443, name: tcp, protocol: TCP}    # use {name: tls, protocol: TLS}
    ///   resolution: DNS
    /// ```
    pub static SERVICE_ENTRY_PORT_PROTOCOL = {
        code: "MC312",
        name: "service-entry-port-protocol",
        category: IngressEgress,
        severity: Warning,
        summary: "External ServiceEntries should declare port 443 as TLS/HTTPS, not HTTP or TCP",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ServiceEntry, Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/",
        remediation: "Declare port 443 with protocol TLS (or HTTPS); keep HTTP only with a DestinationRule that originates TLS.",
        check: check,
    }
}

/// Whether a DestinationRule originates TLS for a host on a port.
fn tls_originated(mesh: &Mesh, host: &str, port: u64) -> bool {
    mesh.of_kind(Kind::DestinationRule).any(|rule| {
        let target = str_field(rule.spec(), "host").unwrap_or_default();
        (target == host || host_covered_by(host, target))
            && tls_settings(rule).iter().any(|setting| {
                matches!(setting.mode, Some(TlsMode::Simple | TlsMode::Mutual))
                    && setting.port.is_none_or(|number| u64::from(number) == port)
            })
    })
}

fn check_entry(mesh: &Mesh, entry: &Resource, sink: &mut Sink) {
    let spec = entry.spec();
    let hosts = strings(spec.get("hosts"));
    let has_addresses = items(spec.get("addresses")).next().is_some();
    for (index, port) in items(spec.get("ports")).enumerate() {
        if port.get("number").and_then(Value::as_u64) != Some(443) {
            continue;
        }
        let protocol = str_field(port, "protocol")
            .unwrap_or_default()
            .to_ascii_uppercase();
        let index = index.to_string();
        let name = format!("{}/{}", entry.namespace, entry.name());
        match protocol.as_str() {
            "HTTP" | "HTTP2" => {
                if hosts.iter().any(|host| tls_originated(mesh, host, 443)) {
                    continue;
                }
                sink.report(
                    entry,
                    &["spec", "ports", &index, "protocol"],
                    format!(
                        "ServiceEntry {name} declares port 443 as {protocol}, but clients speak TLS there and no DestinationRule originates TLS: the sidecar parses the TLS handshake as HTTP and requests fail"
                    ),
                )
                .severity(Severity::Error);
            }
            "" | "TCP" if !has_addresses => {
                sink.report(
                    entry,
                    &["spec", "ports", &index],
                    format!(
                        "ServiceEntry {name} declares port 443 as TCP without addresses: the sidecar cannot match hosts ({}), so every destination on port 443 is treated as this entry",
                        hosts.join(", ")
                    ),
                );
            }
            _ => {}
        }
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for entry in mesh.of_kind(Kind::ServiceEntry) {
        if is_external_entry(entry) {
            check_entry(mesh, entry, sink);
        }
    }
}
