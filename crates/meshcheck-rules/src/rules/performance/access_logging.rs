use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, Resource, items, str_field};

use super::mesh_config_ref::report_mesh_config;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports access logging turned on for the whole mesh without a filter: the mesh config's
    /// `accessLogFile` (e.g. `/dev/stdout`) or `defaultProviders.accessLogging`, or a Telemetry
    /// resource in the root namespace without `selector` whose `accessLogging` entry is enabled
    /// and has no `filter`.
    ///
    /// ## Why is this bad?
    /// Every proxy then formats and writes one log line per request, inbound and outbound: at
    /// high request rates that costs a noticeable share of the proxy's CPU, adds latency under
    /// load, and produces a volume of logs (and log-pipeline bills) that grows with traffic
    /// rather than with problems.
    ///
    /// ## How to fix
    /// Enable access logs where they are needed (a namespace or workload Telemetry), or keep them
    /// mesh-wide with a filter such as `response.code >= 400 || duration > 1000`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: telemetry.istio.io/v1
    /// kind: Telemetry
    /// metadata: {name: mesh-default, namespace: istio-system}
    /// spec:
    ///   accessLogging:
    ///   - providers: [{name: envoy}]
    ///     filter:
    ///       expression: response.code >= 400
    /// ```
    pub static MESH_ACCESS_LOGGING = {
        code: "MC506",
        name: "mesh-wide-access-logging",
        category: Performance,
        severity: Info,
        summary: "Unfiltered mesh-wide access logging costs proxy CPU on every request",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::ConfigMap, Kind::Telemetry],
        docs_url: "https://istio.io/latest/docs/tasks/observability/logs/access-log/",
        remediation: "Enable access logs per namespace or workload, or add a filter (e.g. response.code >= 400) to the mesh-wide Telemetry.",
        check: check,
    }
}

fn mesh_wide_unfiltered(telemetry: &Resource) -> Option<usize> {
    if telemetry
        .spec()
        .get("selector")
        .is_some_and(|selector| !selector.is_null())
        || telemetry.spec().get("targetRef").is_some()
        || telemetry.spec().get("targetRefs").is_some()
    {
        return None;
    }
    items(telemetry.spec().get("accessLogging")).position(|logging| {
        logging.get("disabled").and_then(Value::as_bool) != Some(true)
            && logging
                .at("/filter/expression")
                .and_then(Value::as_str)
                .is_none_or(|expression| expression.trim().is_empty())
    })
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if let Some(file) = mesh
        .mesh_config
        .at("/accessLogFile")
        .and_then(Value::as_str)
        .filter(|file| !file.is_empty())
    {
        report_mesh_config(
            mesh,
            sink,
            format!(
                "The mesh config sets accessLogFile: {file}: every proxy writes a log line for every request, with no filter"
            ),
        );
    } else if let Some(providers) = mesh
        .mesh_config
        .at("/defaultProviders/accessLogging")
        .and_then(Value::as_array)
        .filter(|providers| !providers.is_empty())
    {
        let names: Vec<&str> = providers.iter().filter_map(Value::as_str).collect();
        report_mesh_config(
            mesh,
            sink,
            format!(
                "The mesh config enables access logging for every proxy (defaultProviders.accessLogging: {}) with no filter",
                names.join(", ")
            ),
        );
    }
    for telemetry in mesh.of_kind(Kind::Telemetry) {
        if telemetry.namespace != mesh.root_namespace() {
            continue;
        }
        let Some(index) = mesh_wide_unfiltered(telemetry) else {
            continue;
        };
        let logging = items(telemetry.spec().get("accessLogging")).nth(index);
        let providers: Vec<&str> = items(logging.and_then(|logging| logging.get("providers")))
            .filter_map(|provider| str_field(provider, "name"))
            .collect();
        let index = index.to_string();
        sink.report(
            telemetry,
            &["spec", "accessLogging", &index],
            format!(
                "Telemetry {} in the root namespace enables access logging{} for every proxy of the mesh without a filter: one log line per request, inbound and outbound",
                telemetry.display_name(),
                if providers.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", providers.join(", "))
                }
            ),
        );
    }
}
