use crate::Context;
use std::collections::HashSet;

use meshcheck_model::{Kind, items, str_field};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports Telemetry tracing configurations that use a mesh config extension provider of
    /// type `lightstep`.
    ///
    /// ## Why is this bad?
    /// The Lightstep tracer is deprecated in Istio (and in Envoy): it is no longer maintained and
    /// will be removed, at which point the traces it sends stop.
    ///
    /// ## How to fix
    /// Define an `opentelemetry` extension provider pointing at your collector (Lightstep /
    /// ServiceNow Cloud Observability accepts OTLP) and reference it from the Telemetry.
    ///
    /// ## Example
    /// ```yaml
    /// # mesh config
    /// extensionProviders:
    /// - name: lightstep
    ///   lightstep: {service: lightstep.monitoring.svc.cluster.local, port: 443}
    /// ```
    /// Use instead:
    /// ```yaml
    /// extensionProviders:
    /// - name: otel
    ///   opentelemetry: {service: otel-collector.monitoring.svc.cluster.local, port: 4317}
    /// ```
    pub static TELEMETRY_LIGHTSTEP = {
        code: "MC035",
        name: "telemetry-lightstep-provider",
        category: Platform,
        severity: Warning,
        summary: "Telemetry tracing should not use the deprecated Lightstep provider",
        istio_analyzer: Some("telemetry.LightstepAnalyzer"),
        istio_codes: &["IST0002"],
        inputs: &[Kind::Telemetry, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/tasks/observability/distributed-tracing/opentelemetry/",
        remediation: "Switch the tracing provider to an OpenTelemetry extension provider.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let lightstep: HashSet<&str> = items(mesh.mesh_config.at("/extensionProviders"))
        .filter(|provider| {
            provider
                .get("lightstep")
                .is_some_and(|value| !value.is_null())
        })
        .filter_map(|provider| str_field(provider, "name"))
        .collect();
    if lightstep.is_empty() {
        return;
    }
    for telemetry in mesh.of_kind(Kind::Telemetry) {
        for (index, tracing) in items(telemetry.spec().get("tracing")).enumerate() {
            for (provider_index, provider) in items(tracing.get("providers")).enumerate() {
                let Some(name) =
                    str_field(provider, "name").filter(|name| lightstep.contains(name))
                else {
                    continue;
                };
                let index = index.to_string();
                let provider_index = provider_index.to_string();
                sink.istio(
                    "IST0002",
                    telemetry,
                    &["spec", "tracing", &index, "providers", &provider_index],
                    format!(
                        "Telemetry {} traces with the Lightstep provider {name:?}, which is deprecated: migrate to an OpenTelemetry provider.",
                        telemetry.display_name()
                    ),
                );
            }
        }
    }
}
