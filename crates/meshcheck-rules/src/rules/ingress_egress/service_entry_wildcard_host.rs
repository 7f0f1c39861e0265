use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, items, strings};

use crate::facts::mesh_config::{is_external_entry, resolution};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks external ServiceEntries with wildcard hosts:
    /// - `hosts: ["*"]` admits every destination on the entry's ports (error);
    /// - a wildcard host (`*.example.com`) with `resolution: NONE` (the default) lets the proxy
    ///   forward to whatever address the client connected to (warning);
    /// - a wildcard host with `resolution: DNS` or `DNS_ROUND_ROBIN` and no `endpoints` cannot be
    ///   resolved (error; Istio's validation rejects it).
    ///
    /// ## Why is this bad?
    /// With `resolution: NONE` the sidecar does not check that the destination IP belongs to the
    /// host: the host only selects the listener. Any client can connect to an arbitrary address
    /// and claim a matching `Host` header or SNI, so a wildcard entry for `*.example.com` opens
    /// egress to every address on that port. `*` is the same as turning egress control off for
    /// those ports.
    ///
    /// ## How to fix
    /// List the exact hosts with `resolution: DNS`, or route the wildcard through an egress
    /// gateway that resolves and checks SNI (Istio's "egress to wildcard hosts" task).
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hosts: ["*.amazonaws.com"]
    ///   ports:
    ///   - {number: 443, name: tls, protocol: TLS}
    ///   resolution: NONE
    /// ```
    pub static SERVICE_ENTRY_WILDCARD_HOST = {
        code: "MC305",
        name: "service-entry-wildcard-host",
        category: IngressEgress,
        severity: Warning,
        summary: "External ServiceEntries should not declare wildcard hosts without resolving them",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ServiceEntry],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/egress/wildcard-egress-hosts/",
        remediation: "List exact hosts with resolution DNS, or send the wildcard through an egress gateway that checks SNI.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for entry in mesh.of_kind(Kind::ServiceEntry) {
        if !is_external_entry(entry) {
            continue;
        }
        let resolution = resolution(entry);
        let has_endpoints = items(entry.spec().get("endpoints")).next().is_some();
        let ports: Vec<String> = items(entry.spec().get("ports"))
            .filter_map(|port| port.get("number").and_then(Value::as_u64))
            .map(|number| number.to_string())
            .collect();
        let ports = if ports.is_empty() {
            "its ports".to_owned()
        } else {
            format!("port {}", ports.join(", "))
        };
        for (index, host) in strings(entry.spec().get("hosts")).into_iter().enumerate() {
            if !host.starts_with('*') {
                continue;
            }
            let index = index.to_string();
            let name = format!("{}/{}", entry.namespace, entry.name());
            let (message, severity) = if host == "*" {
                (
                    format!(
                        "ServiceEntry {name} declares host \"*\": every destination on {ports} is treated as registered, which turns egress control off for it"
                    ),
                    Severity::Error,
                )
            } else if resolution.starts_with("DNS") && !has_endpoints {
                (
                    format!(
                        "ServiceEntry {name} asks for resolution {resolution} of wildcard host {host} without endpoints: a wildcard cannot be resolved, so the entry does not work"
                    ),
                    Severity::Error,
                )
            } else if resolution == "NONE" {
                (
                    format!(
                        "ServiceEntry {name} declares wildcard host {host} with resolution NONE: the proxy forwards to whatever address the client connected to, so any address on {ports} is reachable by claiming a matching Host or SNI"
                    ),
                    Severity::Warning,
                )
            } else {
                continue;
            };
            sink.report(entry, &["spec", "hosts", &index], message)
                .severity(severity);
        }
    }
}
