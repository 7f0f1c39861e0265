use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items, str_field};

use crate::facts::injector::istiod_native_sidecars;
use crate::facts::workloads::{Workload, any_pod, mesh_workloads};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports application init containers of mesh workloads that reach out over the network
    /// (their command, arguments or image show `curl`, `wget`, `nc`, `nslookup`, a URL, a
    /// database client or a schema-migration tool) and run before the sidecar proxy. They are
    /// left alone when they run as UID 1337 (the proxy's, exempt from redirection), when the pod
    /// excludes outbound traffic from interception
    /// (`traffic.sidecar.istio.io/excludeOutboundIPRanges`/`excludeOutboundPorts`), or when the
    /// proxy runs as a native sidecar (an `istio-proxy` init container with
    /// `restartPolicy: Always` placed before them, the `sidecar.istio.io/nativeSidecar: "true"`
    /// annotation, or istiod's `ENABLE_NATIVE_SIDECARS=true`).
    ///
    /// ## Why is this bad?
    /// `istio-init` (or the Istio CNI plugin) redirects all of the pod's traffic to the sidecar
    /// before any application init container runs, but the sidecar itself only starts with the
    /// main containers. An init container that fetches configuration, waits for a database or
    /// runs a migration therefore has no working network: it hangs or fails, and the pod is
    /// stuck in `Init`.
    ///
    /// ## How to fix
    /// Run the init container as user 1337, exclude its destinations with
    /// `traffic.sidecar.istio.io/excludeOutboundIPRanges` or `excludeOutboundPorts`, enable
    /// native sidecars (Kubernetes 1.29+, `ENABLE_NATIVE_SIDECARS=true`), or move the work into
    /// the main container.
    ///
    /// ## Example
    /// ```yaml
    /// initContainers:
    /// - name: wait-for-db
    ///   image: busybox:1.36
    ///   command: ["sh", "-c", "until nc -z postgres 5432; do sleep 2; done"]
    /// ```
    pub static INIT_CONTAINER_NETWORK = {
        code: "MC415",
        name: "init-container-network-before-proxy",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "Init containers of mesh pods cannot use the network before the sidecar starts",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::Job, Kind::CronJob, Kind::Pod, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/setup/additional-setup/cni/#compatibility-with-application-init-containers",
        remediation: "Run the init container as UID 1337, exclude its destinations from interception, or enable native sidecars.",
        check: check,
    }
}

/// Words in a command line or image that mean network access.
const NETWORK_TOOLS: [&str; 22] = [
    "curl",
    "wget",
    "nc",
    "ncat",
    "netcat",
    "nslookup",
    "dig",
    "telnet",
    "grpcurl",
    "pg_isready",
    "psql",
    "mysql",
    "mysqladmin",
    "redis-cli",
    "mongosh",
    "mongo",
    "kubectl",
    "vault",
    "flyway",
    "liquibase",
    "migrate",
    "alembic",
];

/// What in the init container suggests network access, if anything.
fn network_hint(container: &Value) -> Option<String> {
    let mut words: Vec<&str> = Vec::new();
    for field in ["command", "args"] {
        for item in items(container.get(field)) {
            if let Some(text) = item.as_str() {
                words.push(text);
            }
        }
    }
    let command = words.join(" ");
    if let Some(start) = command.find("://") {
        let begin = command[..start]
            .rfind(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '='))
            .map_or(0, |index| index + 1);
        let end = command[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ';')
            .map_or(command.len(), |index| start + index);
        return Some(format!("reaches {}", &command[begin..end]));
    }
    let tokens = command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '"' | '\''))
        .map(|token| token.rsplit('/').next().unwrap_or(token));
    for token in tokens {
        if NETWORK_TOOLS.contains(&token) {
            return Some(format!("runs {token}"));
        }
    }
    let image = str_field(container, "image").unwrap_or_default();
    let repository = image
        .rsplit('/')
        .next()
        .unwrap_or(image)
        .split([':', '@'])
        .next()
        .unwrap_or_default();
    NETWORK_TOOLS
        .iter()
        .find(|tool| repository == **tool || repository.starts_with(&format!("{tool}-")))
        .map(|tool| format!("uses the {tool} image"))
}

fn runs_as_proxy_user(workload: &Workload, container: &Value) -> bool {
    container
        .at("/securityContext/runAsUser")
        .or_else(|| workload.pod.spec.at("/securityContext/runAsUser"))
        .and_then(Value::as_i64)
        == Some(1337)
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let any_app_init = any_pod(mesh, |pod| {
        pod.init_containers().iter().any(|container| {
            !matches!(
                container.name,
                "istio-init" | "istio-validation" | "istio-proxy"
            )
        })
    });
    if !any_app_init {
        return;
    }
    let native_everywhere = istiod_native_sidecars(mesh);
    for workload in mesh_workloads(mesh) {
        if native_everywhere
            || workload.annotation("sidecar.istio.io/nativeSidecar") == Some("true")
            || workload
                .annotation("traffic.sidecar.istio.io/excludeOutboundIPRanges")
                .is_some()
            || workload
                .annotation("traffic.sidecar.istio.io/excludeOutboundPorts")
                .is_some()
        {
            continue;
        }
        let mut native_proxy_started = false;
        for container in workload.init_containers() {
            let (index, name, container) = (container.index, container.name, container.value);
            if name == "istio-proxy" {
                native_proxy_started = str_field(container, "restartPolicy") == Some("Always");
                continue;
            }
            if native_proxy_started
                || matches!(name, "istio-init" | "istio-validation")
                || runs_as_proxy_user(&workload, container)
            {
                continue;
            }
            let Some(hint) = network_hint(container) else {
                continue;
            };
            let index = index.to_string();
            let path = workload.path(&["spec", "initContainers", &index]);
            sink.report(
                workload.resource,
                &path,
                format!(
                    "Init container {name} of {} {hint}, but it runs after Istio has redirected the pod's traffic to the sidecar and before the sidecar starts: its connections fail and the pod can hang in Init",
                    workload.display()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::network_hint;
    use meshcheck_input::json;

    #[test]
    fn hints() {
        let wait = json!({"command": ["sh", "-c", "until nc -z postgres 5432; do sleep 2; done"]});
        assert_eq!(network_hint(&wait).as_deref(), Some("runs nc"));
        let fetch =
            json!({"args": ["wget -qO /cfg/app.yaml http://config-server.platform:8888/app.yaml"]});
        assert_eq!(
            network_hint(&fetch).as_deref(),
            Some("reaches http://config-server.platform:8888/app.yaml")
        );
        let migrate = json!({"image": "docker.io/flyway/flyway:10.4", "args": ["migrate"]});
        assert_eq!(network_hint(&migrate).as_deref(), Some("runs migrate"));
        let image = json!({"image": "docker.io/flyway/flyway:10.4"});
        assert_eq!(
            network_hint(&image).as_deref(),
            Some("uses the flyway image")
        );
        let local = json!({"image": "busybox", "command": ["sh", "-c", "chown -R 1000 /data"]});
        assert_eq!(network_hint(&local), None);
    }
}
