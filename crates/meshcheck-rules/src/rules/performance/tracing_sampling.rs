use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items, str_field};

use super::mesh_config_ref::report_mesh_config;
use crate::facts::namespaces::is_test_namespace;
use crate::facts::proxy_config::annotation_config;
use crate::facts::workloads::{any_pod, workloads};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports trace sampling rates of 50% or more: the mesh config's
    /// `defaultConfig.tracing.sampling`, a pod's `proxy.istio.io/config` `tracing.sampling`,
    /// Telemetry `tracing[].randomSamplingPercentage`, and istiod's `PILOT_TRACE_SAMPLING`.
    /// Telemetry in test namespaces is reported for information only.
    ///
    /// ## Why is this bad?
    /// Every sampled request makes every proxy on its path create, buffer and export spans:
    /// at 100% that is proxy CPU and memory on each hop, network traffic to the collector, and a
    /// tracing backend sized for all of your traffic. Istio samples 1% by default; a few percent
    /// is enough to see latency patterns, and errors can be kept with tail sampling in the
    /// collector.
    ///
    /// ## How to fix
    /// Lower the rate to a few percent (`randomSamplingPercentage: 1` in the mesh-wide
    /// Telemetry), and raise it temporarily, or per workload, while investigating.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Telemetry
    /// metadata: {name: mesh-default, namespace: istio-system}
    /// spec:
    ///   tracing:
    ///   - randomSamplingPercentage: 100.0
    /// ```
    pub static TRACING_SAMPLING_HIGH = {
        code: "MC507",
        name: "tracing-sampling-high",
        category: Performance,
        severity: Warning,
        summary: "Trace sampling of 50% or more costs proxy CPU on every request",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ConfigMap, Kind::Telemetry, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/tasks/observability/distributed-tracing/sampling/",
        remediation: "Sample a few percent of requests (randomSamplingPercentage: 1-5) and raise it only temporarily or per workload.",
        check: check,
    }
}

/// Sampling at or above this percentage is reported.
const HIGH: f64 = 50.0;

fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if let Some(rate) =
        number(mesh.mesh_config.at("/defaultConfig/tracing/sampling")).filter(|rate| *rate >= HIGH)
    {
        report_mesh_config(
            mesh,
            sink,
            format!(
                "The mesh config samples {rate}% of requests for tracing (defaultConfig.tracing.sampling): every proxy creates and exports spans for most of the traffic"
            ),
        );
    }
    for telemetry in mesh.of_kind(Kind::Telemetry) {
        for (index, tracing) in items(telemetry.spec().get("tracing")).enumerate() {
            let Some(rate) =
                number(tracing.get("randomSamplingPercentage")).filter(|rate| *rate >= HIGH)
            else {
                continue;
            };
            let has_selector = telemetry
                .spec()
                .get("selector")
                .is_some_and(|value| !value.is_null());
            let scope = if has_selector {
                "the workloads it selects".to_owned()
            } else if telemetry.namespace == mesh.root_namespace() {
                "every proxy of the mesh".to_owned()
            } else {
                format!("every proxy of namespace {}", telemetry.namespace)
            };
            let index = index.to_string();
            let finding = sink.report(
                telemetry,
                &["spec", "tracing", &index, "randomSamplingPercentage"],
                format!(
                    "Telemetry {} samples {rate}% of requests for tracing on {scope}",
                    telemetry.display_name()
                ),
            );
            if telemetry.namespace != mesh.root_namespace()
                && is_test_namespace(mesh, &telemetry.namespace)
            {
                finding.severity(Severity::Info);
            }
        }
    }
    let any_annotation = any_pod(mesh, |pod| {
        pod.annotation("proxy.istio.io/config")
            .is_some_and(|config| config.contains("sampling"))
    });
    let annotated = if any_annotation {
        workloads(mesh)
    } else {
        Vec::new()
    };
    for workload in annotated {
        let Some(rate) = annotation_config(&workload)
            .and_then(|config| {
                number(
                    config
                        .get("tracing")
                        .and_then(|tracing| tracing.get("sampling")),
                )
            })
            .filter(|rate| *rate >= HIGH)
        else {
            continue;
        };
        let path = workload.path(&["metadata", "annotations", "proxy.istio.io/config"]);
        sink.report(
            workload.resource,
            &path,
            format!(
                "{} samples {rate}% of its requests for tracing (proxy.istio.io/config tracing.sampling)",
                workload.display()
            ),
        );
    }
    for istiod in mesh.of_kind(Kind::Deployment) {
        if !istiod.name().starts_with("istiod") {
            continue;
        }
        for container in items(istiod.spec().at("/template/spec/containers")) {
            for env in items(container.get("env")) {
                if str_field(env, "name") != Some("PILOT_TRACE_SAMPLING") {
                    continue;
                }
                let Some(rate) = number(env.get("value")).filter(|rate| *rate >= HIGH) else {
                    continue;
                };
                sink.report(
                    istiod,
                    &["spec", "template", "spec", "containers"],
                    format!(
                        "istiod {} sets PILOT_TRACE_SAMPLING={rate}: proxies without their own setting sample {rate}% of requests for tracing",
                        istiod.display_name()
                    ),
                );
            }
        }
    }
}
