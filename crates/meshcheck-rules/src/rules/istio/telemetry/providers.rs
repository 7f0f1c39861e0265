use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, items};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// When the mesh config sets no default access log provider
    /// (`defaultProviders.accessLogging`), reports Telemetry `accessLogging` entries that name no
    /// provider and are not disabled.
    ///
    /// ## Why is this bad?
    /// Without a provider and without a mesh default, the entry has nothing to log to: Istio
    /// ignores it, and the access logs (or the filter) it was meant to enable never appear.
    ///
    /// ## How to fix
    /// Name a provider in the entry (`providers: [{name: envoy}]`), or set
    /// `defaultProviders.accessLogging` in the mesh config.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Telemetry
    /// spec:
    ///   accessLogging:
    ///   - filter:
    ///       expression: "response.code >= 400"    # no provider
    /// ```
    /// Use instead:
    /// ```yaml
    ///   accessLogging:
    ///   - providers: [{name: envoy}]
    ///     filter:
    ///       expression: "response.code >= 400"
    /// ```
    pub static TELEMETRY_PROVIDER = {
        code: "MC032",
        name: "telemetry-access-log-provider",
        category: Platform,
        severity: Warning,
        summary: "Telemetry access logging must name a provider when the mesh has no default",
        istio_analyzer: Some("telemetry.ProviderAnalyzer"),
        istio_codes: &["IST0157"],
        inputs: &[Kind::Telemetry, Kind::ConfigMap],
        docs_url: "https://istio.io/latest/docs/tasks/observability/logs/access-log/",
        remediation: "Name a provider in each accessLogging entry, or set defaultProviders.accessLogging in the mesh config.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let has_default = mesh
        .mesh_config
        .at("/defaultProviders/accessLogging")
        .and_then(Value::as_array)
        .is_some_and(|providers| !providers.is_empty());
    if has_default {
        return;
    }
    for telemetry in mesh.of_kind(Kind::Telemetry) {
        for (index, logging) in items(telemetry.spec().get("accessLogging")).enumerate() {
            if logging.get("disabled").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let has_provider = logging
                .get("providers")
                .and_then(Value::as_array)
                .is_some_and(|providers| !providers.is_empty());
            if has_provider {
                continue;
            }
            let index = index.to_string();
            sink.istio(
                "IST0157",
                telemetry,
                &["spec", "accessLogging", &index],
                format!(
                    "Telemetry {} has an accessLogging entry without providers and the mesh config sets no default access log provider: the entry is ignored.",
                    telemetry.display_name()
                ),
            );
        }
    }
}
