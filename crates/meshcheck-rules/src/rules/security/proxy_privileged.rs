use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Container, Kind, PodTemplate, items};

use crate::facts::workloads::{Workload, running_workloads};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks the security context of the injected containers of every workload (the Pods of a
    /// cluster snapshot, else the pod templates that spell them out):
    /// - `istio-proxy` running `privileged: true` (error);
    /// - `istio-proxy` running as root (`runAsUser: 0`, set on the container or the pod) or
    ///   with added capabilities `NET_ADMIN`, `SYS_ADMIN` or `ALL`, unless the pod uses TPROXY
    ///   interception, which needs them;
    /// - `istio-proxy` with `allowPrivilegeEscalation: true`;
    /// - `istio-init` running `privileged: true` (it only needs `NET_ADMIN` and `NET_RAW`).
    ///
    /// ## Why is this bad?
    /// The proxy terminates every connection of the pod and parses untrusted input; by default
    /// Istio runs it as UID 1337, unprivileged, without privilege escalation and with all
    /// capabilities dropped. A privileged or root proxy (often from `global.proxy.privileged` or
    /// a copied debugging patch) turns any Envoy vulnerability into a node compromise.
    ///
    /// ## How to fix
    /// Remove the overrides (`values.global.proxy.privileged: false`, no `runAsUser: 0` in the
    /// injection template or pod annotations). Consider the Istio CNI plugin so that pods need
    /// no `istio-init` container with network capabilities at all.
    ///
    /// ## Example
    /// ```yaml
    /// - name: istio-proxy
    ///   securityContext:
    ///     privileged: true
    ///     runAsUser: 0
    /// ```
    pub static PROXY_PRIVILEGED = {
        code: "MC216",
        name: "proxy-privileged",
        category: Security,
        severity: Warning,
        summary: "Sidecar proxies must not run privileged, as root or with extra capabilities",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Pod, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet],
        docs_url: "https://istio.io/latest/docs/ops/deployment/application-requirements/",
        remediation: "Remove privileged, runAsUser: 0, added capabilities and allowPrivilegeEscalation from the proxy (values.global.proxy.privileged=false); consider the Istio CNI plugin.",
        check: check,
    }
}

/// A field of the container's security context, else of the pod's.
fn effective<'a>(container: &Container<'a>, pod: &PodTemplate<'a>, key: &str) -> Option<&'a Value> {
    container
        .security_context
        .get(key)
        .or_else(|| pod.security_context.get(key))
}

fn problems(workload: &Workload, container: &Container, proxy: bool) -> (Vec<String>, Severity) {
    let mut found = Vec::new();
    let mut severity = Severity::Warning;
    let context = |key: &str| container.security_context.get(key);
    if context("privileged").and_then(Value::as_bool) == Some(true) {
        found.push("privileged: true".to_owned());
        if proxy {
            severity = Severity::Error;
        }
    }
    if !proxy {
        return (found, severity);
    }
    let tproxy = workload.annotation("sidecar.istio.io/interceptionMode") == Some("TPROXY");
    if !tproxy && effective(container, workload.pod, "runAsUser").and_then(Value::as_i64) == Some(0)
    {
        found.push("runAsUser: 0 (root)".to_owned());
    }
    if context("allowPrivilegeEscalation").and_then(Value::as_bool) == Some(true) {
        found.push("allowPrivilegeEscalation: true".to_owned());
    }
    if !tproxy {
        let added: Vec<&str> = items(context("capabilities").and_then(|caps| caps.get("add")))
            .filter_map(Value::as_str)
            .filter(|capability| {
                matches!(
                    capability.trim_start_matches("CAP_"),
                    "NET_ADMIN" | "SYS_ADMIN" | "ALL"
                )
            })
            .collect();
        if !added.is_empty() {
            found.push(format!("capabilities added: {}", added.join(", ")));
        }
    }
    (found, severity)
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for workload in running_workloads(mesh) {
        for (name, proxy) in [("istio-proxy", true), ("istio-init", false)] {
            let Some(container) = workload.container(name) else {
                continue;
            };
            let (index, field) = (container.index, container.field);
            let (found, severity) = problems(&workload, container, proxy);
            if found.is_empty() {
                continue;
            }
            let index = index.to_string();
            let path = workload.path(&["spec", field, &index, "securityContext"]);
            sink.report(
                workload.resource,
                &path,
                format!(
                    "{} runs its {name} container with {}",
                    workload.describe(),
                    found.join(", ")
                ),
            )
            .severity(severity);
        }
    }
}
