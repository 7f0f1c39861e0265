use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items, str_field};

use crate::facts::injector::injector_values;
use crate::facts::mtls::{MtlsMode, PeerAuthentications};
use crate::facts::workloads::{Workload, mesh_workloads};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports mesh workloads with HTTP (`httpGet`) or gRPC liveness, readiness or startup
    /// probes that Istio does not rewrite, on pods whose PeerAuthentication mode is `STRICT`.
    /// Rewriting is off when the pod template sets
    /// `sidecar.istio.io/rewriteAppHTTPProbers: "false"`, or when the injector's values set
    /// `sidecarInjectorWebhook.rewriteAppHTTPProbe: false` (and the pod does not turn it back
    /// on); an injected Pod whose probe still targets the application port instead of the agent
    /// (port 15020, `/app-health/...`) was not rewritten either.
    ///
    /// ## Why is this bad?
    /// The kubelet has no Istio certificate. With `STRICT` mTLS the sidecar refuses its
    /// plain-text probe requests, so readiness probes never pass (the pods never receive
    /// traffic) and liveness probes fail (the pods restart in a loop). Istio avoids this by
    /// rewriting probes to its agent, which probes the application from inside the pod.
    ///
    /// ## How to fix
    /// Remove `sidecar.istio.io/rewriteAppHTTPProbers: "false"` (rewriting is the default), or
    /// set it to `"true"`; or serve the probe on a port excluded from interception
    /// (`traffic.sidecar.istio.io/excludeInboundPorts`) or left PERMISSIVE with `portLevelMtls`.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   annotations:
    ///     sidecar.istio.io/rewriteAppHTTPProbers: "false"
    /// spec:
    ///   containers:
    ///   - readinessProbe:
    ///       httpGet: {path: /healthz, port: 8080}
    /// ```
    pub static PROBES_NOT_REWRITTEN = {
        code: "MC414",
        name: "strict-mtls-probes-not-rewritten",
        category: ApplicationPolicy,
        severity: Error,
        summary: "HTTP probes of STRICT-mTLS workloads must be rewritten by the sidecar injector",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::PeerAuthentication, Kind::ConfigMap, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/",
        remediation: "Let Istio rewrite the probes (remove sidecar.istio.io/rewriteAppHTTPProbers: \"false\"), or exclude the probe port from interception or from STRICT mTLS.",
        check: check,
    }
}

const PROBES: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];

/// Whether the injector rewrites this workload's probes.
fn rewrite_enabled(workload: &Workload, mesh_default: bool) -> bool {
    match workload.annotation("sidecar.istio.io/rewriteAppHTTPProbers") {
        Some(value) => value.trim().eq_ignore_ascii_case("true"),
        None => mesh_default,
    }
}

/// The port number a probe targets (a named port resolves through the container's ports).
fn probe_port(container: &Value, probe: &Value) -> Option<u64> {
    let port = probe
        .at("/httpGet/port")
        .or_else(|| probe.at("/grpc/port"))?;
    match port {
        Value::Number(number) => number.as_u64(),
        Value::String(name) => name.parse().ok().or_else(|| {
            items(container.get("ports"))
                .find(|port| str_field(port, "name") == Some(name))
                .and_then(|port| port.get("containerPort"))
                .and_then(Value::as_u64)
        }),
        _ => None,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let any_strict = mesh
        .of_kind(Kind::PeerAuthentication)
        .any(|policy| policy.spec().to_string().contains("STRICT"));
    if !any_strict {
        return;
    }
    let mesh_default = injector_values(mesh)
        .and_then(|values| {
            values
                .at("/sidecarInjectorWebhook/rewriteAppHTTPProbe")
                .and_then(Value::as_bool)
        })
        .unwrap_or(true);
    let policies = PeerAuthentications::new(mesh);
    for workload in mesh_workloads(mesh) {
        let injected = workload.proxy_container().is_some();
        // Templates are rewritten at injection; injected Pods show whether it happened.
        if !injected && rewrite_enabled(&workload, mesh_default) {
            continue;
        }
        for container in workload.containers() {
            let (index, container_name) = (container.index, container.name);
            let container = container.value;
            if container_name == "istio-proxy" {
                continue;
            }
            for probe_name in PROBES {
                let Some(probe) = container.get(probe_name) else {
                    continue;
                };
                let kind = if probe.get("httpGet").is_some() {
                    "HTTP"
                } else if probe.get("grpc").is_some() {
                    "gRPC"
                } else {
                    continue;
                };
                let port = probe_port(container, probe);
                // A rewritten probe targets the agent's port 15020.
                if port == Some(15020) {
                    continue;
                }
                let port = port.and_then(|port| u32::try_from(port).ok());
                let Some(mtls) = policies
                    .for_workload(workload.namespace(), workload.labels(), port)
                    .filter(|effective| effective.mode == MtlsMode::Strict)
                else {
                    continue;
                };
                let decided_by = mtls
                    .policy
                    .map(|policy| format!("PeerAuthentication {}", policy.display_name()))
                    .unwrap_or_default();
                let why = if injected {
                    "the injected pod still probes the application port".to_owned()
                } else if workload
                    .annotation("sidecar.istio.io/rewriteAppHTTPProbers")
                    .is_some()
                {
                    "sidecar.istio.io/rewriteAppHTTPProbers is \"false\"".to_owned()
                } else {
                    "the injector's rewriteAppHTTPProbe is false".to_owned()
                };
                let index = index.to_string();
                let path = workload.path(&["spec", "containers", &index, probe_name]);
                sink.report(
                    workload.resource,
                    &path,
                    format!(
                        "The {kind} {probe_name} of container {container_name} in {} is not rewritten ({why}) while {decided_by} requires STRICT mTLS: the kubelet's plain-text probe is refused by the sidecar, so the probe always fails",
                        workload.display()
                    ),
                );
            }
        }
    }
}
