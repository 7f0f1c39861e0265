use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, Mesh, items, str_field};

use crate::facts::injector::{injector_values, istiod_native_sidecars};
use crate::facts::proxy_config::effective_proxy_config;
use crate::facts::workloads::{Workload, mesh_workloads};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports long-running mesh workloads whose application containers are configured to call
    /// a Service or ServiceEntry of the input (an environment variable holds a URL such as
    /// `http://config-server.platform:8888`, or a `*_HOST`/`*_ADDR`/`*_URL`/`*_URI`/`*_ENDPOINT`
    /// variable names its host) while `holdApplicationUntilProxyStarts` is off: not set by the
    /// pod's `proxy.istio.io/config`, a ProxyConfig, the mesh config's `defaultConfig` or the
    /// injector's `global.proxy.holdApplicationUntilProxyStarts`, and no native sidecars.
    ///
    /// ## Why is this bad?
    /// Without it, the application container may start before the sidecar is ready. Traffic is
    /// already redirected to the proxy, so connections made in the first moments (fetching
    /// configuration, opening a database pool, registering with a broker) fail with
    /// "connection refused"; applications that do not retry crash-loop or start half
    /// configured.
    ///
    /// ## How to fix
    /// Annotate the pod template with
    /// `proxy.istio.io/config: '{"holdApplicationUntilProxyStarts": true}'`, set it mesh-wide in
    /// `meshConfig.defaultConfig`, or enable native sidecars.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    /// - name: SPRING_CLOUD_CONFIG_URI
    ///   value: http://config-server.platform:8888     # fetched at startup
    /// ```
    pub static HOLD_APPLICATION = {
        code: "MC420",
        name: "hold-application-until-proxy-starts",
        category: ApplicationPolicy,
        severity: Info,
        summary: "Workloads that call out at startup should wait for the sidecar",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Pod, Kind::ProxyConfig, Kind::ConfigMap, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/ops/common-problems/injection/",
        remediation: "Set holdApplicationUntilProxyStarts: true (pod annotation proxy.istio.io/config, ProxyConfig or meshConfig.defaultConfig), or enable native sidecars.",
        check: check,
    }
}

const HOST_SUFFIXES: [&str; 7] = [
    "_HOST",
    "_HOSTS",
    "_ADDR",
    "_URL",
    "_URI",
    "_ENDPOINT",
    "_SERVERS",
];

/// The host part of `scheme://[user@]host[:port]/...`.
fn url_host(value: &str) -> Option<&str> {
    let rest = &value[value.find("://")? + 3..];
    let authority = rest.split(['/', '?', ',']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

fn is_local(host: &str) -> bool {
    matches!(
        host,
        "localhost" | "127.0.0.1" | "0.0.0.0" | "::1" | "[::1]"
    )
}

/// A host as a client in `namespace` would resolve it: `svc` and `svc.ns` (and `svc.ns.svc`)
/// become cluster FQDNs; other names are kept.
fn resolvable_name(namespace: &str, host: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [service] => format!("{service}.{namespace}.svc.cluster.local"),
        [service, namespace] | [service, namespace, "svc"] => {
            format!("{service}.{namespace}.svc.cluster.local")
        }
        _ => host.to_owned(),
    }
}

/// The first environment variable of the app containers that points at a Service or
/// ServiceEntry host of the mesh (so the dependency is known, not guessed).
fn outbound_dependency(mesh: &Mesh, workload: &Workload) -> Option<(String, String)> {
    for container in workload.containers() {
        if container.name == "istio-proxy" {
            continue;
        }
        for env in items(container.get("env")) {
            let (Some(name), Some(value)) = (str_field(env, "name"), str_field(env, "value"))
            else {
                continue;
            };
            let host = url_host(value).or_else(|| {
                HOST_SUFFIXES
                    .iter()
                    .any(|suffix| name.ends_with(suffix))
                    .then(|| value.split([':', ',', '/']).next().unwrap_or(value))
                    .filter(|host| host.chars().any(|c| c.is_ascii_alphabetic()))
            });
            let Some(host) = host.filter(|host| !is_local(host)) else {
                continue;
            };
            let fqdn = resolvable_name(workload.namespace(), host);
            if mesh
                .hosts
                .lookup(workload.namespace(), &[], &fqdn)
                .is_some()
            {
                return Some((name.to_owned(), host.to_owned()));
            }
        }
    }
    None
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    if istiod_native_sidecars(mesh) {
        return;
    }
    let injector_default = injector_values(mesh)
        .and_then(|values| {
            values
                .at("/global/proxy/holdApplicationUntilProxyStarts")
                .and_then(Value::as_bool)
        })
        .unwrap_or(false);
    for workload in mesh_workloads(mesh) {
        if matches!(workload.resource.kind, Kind::Job | Kind::CronJob)
            || mesh.pod_in_ambient(workload.resource)
            || workload.annotation("sidecar.istio.io/nativeSidecar") == Some("true")
        {
            continue;
        }
        let held =
            match effective_proxy_config(mesh, &workload).get("holdApplicationUntilProxyStarts") {
                Some(setting) => setting.value.as_bool() == Some(true),
                None => injector_default,
            };
        if held {
            continue;
        }
        let Some((variable, host)) = outbound_dependency(mesh, &workload) else {
            continue;
        };
        let path = workload.path(&["spec", "containers"]);
        sink.report(
            workload.resource,
            &path,
            format!(
                "{} is configured to reach {host} (env {variable}) but may start before its sidecar: without holdApplicationUntilProxyStarts, connections made at startup fail until the proxy is ready",
                workload.display()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::url_host;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            url_host("http://config-server.platform:8888/app"),
            Some("config-server.platform")
        );
        assert_eq!(
            url_host("postgres://app:secret@orders-db.data.svc:5432/orders"),
            Some("orders-db.data.svc")
        );
        assert_eq!(url_host("plain"), None);
        assert_eq!(
            super::resolvable_name("orders", "kafka"),
            "kafka.orders.svc.cluster.local"
        );
        assert_eq!(
            super::resolvable_name("orders", "config-server.platform"),
            "config-server.platform.svc.cluster.local"
        );
        assert_eq!(
            super::resolvable_name("orders", "api.example.com"),
            "api.example.com"
        );
    }
}
