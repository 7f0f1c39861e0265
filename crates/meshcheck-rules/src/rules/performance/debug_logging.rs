use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items};

use crate::facts::injector::injector_values;
use crate::facts::proxy_config::proxied_workloads;
use crate::facts::workloads::any_pod;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports proxies that log at `debug` or `trace` level: the pod annotations
    /// `sidecar.istio.io/logLevel` and `sidecar.istio.io/componentLogLevel`, an injected proxy's
    /// `--proxyLogLevel`/`--proxyComponentLogLevel` arguments, and the injector's
    /// `global.proxy.logLevel` / `global.proxy.componentLogLevel` for the whole mesh.
    ///
    /// ## Why is this bad?
    /// At debug and trace level Envoy logs several lines per connection and per request, often
    /// with headers: it burns proxy CPU, adds latency on the request path, floods the log
    /// pipeline, and can write credentials and personal data into logs. Debug logging is meant
    /// for a few minutes on one pod while investigating.
    ///
    /// ## How to fix
    /// Remove the annotation (the default level is `warning`), or change the level at runtime
    /// for one pod with `istioctl proxy-config log <pod> --level debug` and reset it afterwards.
    ///
    /// ## Example
    /// ```yaml
    /// annotations:
    ///   sidecar.istio.io/logLevel: debug
    /// ```
    pub static PROXY_DEBUG_LOGGING = {
        code: "MC514",
        name: "proxy-debug-logging",
        category: Performance,
        severity: Warning,
        summary: "Proxies should not log at debug or trace level",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::ConfigMap, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/ops/diagnostic-tools/component-logging/",
        remediation: "Remove the debug log level; use istioctl proxy-config log on a single pod while investigating.",
        check: check,
    }
}

fn verbose(level: &str) -> bool {
    matches!(
        level.trim().to_ascii_lowercase().as_str(),
        "debug" | "trace"
    )
}

/// `misc:error,upstream:debug` → the components at debug or trace.
fn verbose_components(levels: &str) -> Vec<&str> {
    levels
        .split(',')
        .filter_map(|pair| pair.split_once(':'))
        .filter(|(_, level)| verbose(level))
        .map(|(component, _)| component.trim())
        .collect()
}

/// The value of `--name=value` or `--name value` in a container's arguments.
fn argument<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    let args: Vec<&'a str> = items(container.get("args"))
        .filter_map(Value::as_str)
        .collect();
    for (index, arg) in args.iter().enumerate() {
        if let Some(value) = arg
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
        {
            return Some(value);
        }
        if *arg == name {
            return args.get(index + 1).copied();
        }
    }
    None
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if let Some(values) = injector_values(mesh) {
        let level = values.at("/global/proxy/logLevel").and_then(Value::as_str);
        let components = values
            .at("/global/proxy/componentLogLevel")
            .and_then(Value::as_str)
            .map(verbose_components)
            .unwrap_or_default();
        let what = match (level.filter(|level| verbose(level)), components.is_empty()) {
            (Some(level), _) => Some(format!("global.proxy.logLevel: {level}")),
            (None, false) => Some(format!(
                "global.proxy.componentLogLevel at debug for {}",
                components.join(", ")
            )),
            (None, true) => None,
        };
        if let (Some(what), Some(config_map)) = (
            what,
            mesh.get(
                Kind::ConfigMap,
                mesh.root_namespace(),
                "istio-sidecar-injector",
            ),
        ) {
            sink.report(
                config_map,
                &["data", "values"],
                format!(
                    "The sidecar injector gives every proxy of the mesh verbose logging ({what})"
                ),
            );
        }
    }
    let any_verbose = any_pod(mesh, |pod| {
        pod.annotations.contains_key("sidecar.istio.io/logLevel")
            || pod
                .annotations
                .contains_key("sidecar.istio.io/componentLogLevel")
            || pod
                .all_containers()
                .iter()
                .flat_map(|container| items(container.get("args")))
                .filter_map(Value::as_str)
                .any(|arg| arg.contains("LogLevel"))
    });
    if !any_verbose {
        return;
    }
    for proxied in proxied_workloads(mesh) {
        let workload = &proxied.workload;
        let observed = &proxied.observed;
        let mut causes = Vec::new();
        if let Some(level) = observed
            .annotation("sidecar.istio.io/logLevel")
            .filter(|level| verbose(level))
        {
            causes.push(format!("sidecar.istio.io/logLevel: {level}"));
        }
        if let Some(levels) = observed.annotation("sidecar.istio.io/componentLogLevel") {
            let components = verbose_components(levels);
            if !components.is_empty() {
                causes.push(format!(
                    "componentLogLevel at debug for {}",
                    components.join(", ")
                ));
            }
        }
        if causes.is_empty()
            && let Some(container) = observed.proxy_container()
        {
            if let Some(level) =
                argument(container, "--proxyLogLevel").filter(|level| verbose(level))
            {
                causes.push(format!("--proxyLogLevel={level}"));
            }
            if let Some(levels) = argument(container, "--proxyComponentLogLevel") {
                let components = verbose_components(levels);
                if !components.is_empty() {
                    causes.push(format!(
                        "--proxyComponentLogLevel at debug for {}",
                        components.join(", ")
                    ));
                }
            }
        }
        if causes.is_empty() {
            continue;
        }
        let path = workload.path(&["metadata", "annotations"]);
        sink.report(
            workload.resource,
            &path,
            format!(
                "The proxy of {} logs at debug level ({}): several log lines per request cost proxy CPU and latency and may expose headers",
                workload.display(),
                causes.join("; ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

    #[test]
    fn levels_and_arguments() {
        assert_eq!(
            verbose_components("misc:error,upstream:debug,http:trace"),
            ["upstream", "http"]
        );
        let container = json!({"args": ["proxy", "sidecar", "--proxyLogLevel=debug", "--proxyComponentLogLevel", "misc:error"]});
        assert_eq!(argument(&container, "--proxyLogLevel"), Some("debug"));
        assert_eq!(
            argument(&container, "--proxyComponentLogLevel"),
            Some("misc:error")
        );
        assert_eq!(argument(&container, "--concurrency"), None);
    }
}
