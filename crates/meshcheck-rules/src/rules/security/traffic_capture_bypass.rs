use crate::Context;
use std::collections::BTreeSet;

use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource, items};

use crate::facts::workloads::{Workload, service_selector, services_by_namespace, workloads};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds mesh workloads whose annotations take traffic away from the sidecar:
    /// - `sidecar.istio.io/interceptionMode: NONE` (nothing is captured);
    /// - `traffic.sidecar.istio.io/includeInboundPorts: ""` or
    ///   `traffic.sidecar.istio.io/includeOutboundIPRanges: ""` (no inbound / no outbound
    ///   capture);
    /// - `traffic.sidecar.istio.io/excludeInboundPorts` listing a port the workload serves (a
    ///   container port, or the target port of a Service selecting it);
    /// - `traffic.sidecar.istio.io/excludeOutboundIPRanges` containing `0.0.0.0/0` or `::/0`;
    /// - `traffic.sidecar.istio.io/excludeOutboundPorts` (info: egress on those ports is not
    ///   policed).
    ///
    /// ## Why is this bad?
    /// Traffic the sidecar does not capture skips everything the mesh enforces: an excluded
    /// inbound port accepts plaintext from anyone without mTLS or AuthorizationPolicy checks,
    /// and excluded outbound traffic leaves without mTLS, egress policy or telemetry. Istio's
    /// security best practices warn that such exclusions remove the sidecar from the security
    /// boundary.
    ///
    /// ## How to fix
    /// Remove the annotation, or narrow it to the port or range that truly must bypass the proxy
    /// (for example a cloud metadata address), and protect it with a NetworkPolicy.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   annotations:
    ///     traffic.sidecar.istio.io/excludeInboundPorts: "8080"   # the application port
    /// ```
    pub static TRAFFIC_CAPTURE_BYPASS = {
        code: "MC218",
        name: "traffic-capture-bypass",
        category: Security,
        severity: Warning,
        summary: "Mesh workloads must not exclude their serving ports or all egress from the sidecar",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Pod, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Service, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/ops/best-practices/security/#understand-traffic-capture-limitations",
        remediation: "Remove the capture exclusion, or narrow it to what must bypass the proxy and protect that with a NetworkPolicy.",
        check: check,
    }
}

/// The ports a workload serves: its container ports and the target ports of its Services.
fn served_ports(services: &[&Resource], workload: &Workload) -> BTreeSet<String> {
    let mut ports = BTreeSet::new();
    for container in items(workload.pod.spec.get("containers")) {
        for port in items(container.get("ports")) {
            if let Some(number) = port.get("containerPort").and_then(Value::as_u64) {
                ports.insert(number.to_string());
            }
        }
    }
    for service in services {
        if !service_selector(service).is_some_and(|selector| {
            meshcheck_model::selector::matches_labels(selector, workload.labels())
        }) {
            continue;
        }
        for port in items(service.spec().get("ports")) {
            match port.get("targetPort").or_else(|| port.get("port")) {
                Some(Value::Number(number)) => {
                    ports.insert(number.to_string());
                }
                Some(Value::String(text)) if text.parse::<u32>().is_ok() => {
                    ports.insert(text.to_string());
                }
                _ => {}
            }
        }
    }
    ports
}

fn list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect()
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let services = services_by_namespace(mesh);
    for workload in workloads(mesh) {
        if !workload.in_mesh() {
            continue;
        }
        let mut report = |key: &str, problem: String, severity: Severity| {
            let path = workload.path(&["metadata", "annotations", key]);
            sink.report(
                workload.resource,
                &path,
                format!("{} {problem}", workload.describe()),
            )
            .severity(severity);
        };
        if workload
            .annotation("sidecar.istio.io/interceptionMode")
            .is_some_and(|mode| mode.eq_ignore_ascii_case("NONE"))
        {
            report(
                "sidecar.istio.io/interceptionMode",
                "sets interception mode NONE: no traffic is redirected through its sidecar"
                    .to_owned(),
                Severity::Warning,
            );
        }
        if workload
            .annotation("traffic.sidecar.istio.io/includeInboundPorts")
            .is_some_and(|ports| ports.trim().is_empty())
        {
            report(
                "traffic.sidecar.istio.io/includeInboundPorts",
                "captures no inbound port: every connection to it bypasses mTLS and authorization"
                    .to_owned(),
                Severity::Warning,
            );
        }
        if workload
            .annotation("traffic.sidecar.istio.io/includeOutboundIPRanges")
            .is_some_and(|ranges| ranges.trim().is_empty())
        {
            report(
                "traffic.sidecar.istio.io/includeOutboundIPRanges",
                "captures no outbound traffic: its calls leave without mTLS or egress policy"
                    .to_owned(),
                Severity::Warning,
            );
        }
        if let Some(excluded) = workload.annotation("traffic.sidecar.istio.io/excludeInboundPorts")
        {
            let in_namespace = services
                .get(workload.namespace())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let served = served_ports(in_namespace, &workload);
            let bypassed: Vec<&str> = list(excluded)
                .into_iter()
                .filter(|port| served.contains(*port))
                .collect();
            if !bypassed.is_empty() {
                report(
                    "traffic.sidecar.istio.io/excludeInboundPorts",
                    format!(
                        "excludes port {} it serves from inbound capture: connections to it bypass mTLS and AuthorizationPolicies",
                        bypassed.join(", ")
                    ),
                    Severity::Warning,
                );
            }
        }
        if let Some(ranges) =
            workload.annotation("traffic.sidecar.istio.io/excludeOutboundIPRanges")
            && list(ranges)
                .iter()
                .any(|range| matches!(*range, "0.0.0.0/0" | "::/0" | "*"))
        {
            report(
                "traffic.sidecar.istio.io/excludeOutboundIPRanges",
                format!(
                    "excludes every destination ({ranges}) from outbound capture: its calls leave without mTLS or egress policy"
                ),
                Severity::Warning,
            );
        }
        if let Some(ports) = workload.annotation("traffic.sidecar.istio.io/excludeOutboundPorts")
            && !list(ports).is_empty()
        {
            report(
                "traffic.sidecar.istio.io/excludeOutboundPorts",
                format!(
                    "excludes outbound port {ports} from capture: traffic to those ports is not encrypted by the mesh or subject to egress policy"
                ),
                Severity::Info,
            );
        }
    }
}
