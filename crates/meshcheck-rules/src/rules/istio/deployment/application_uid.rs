use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, PodTemplate, Resource};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports Pods and Deployments whose pod security context, or the security context of one
    /// of their application containers, runs as user ID 1337. Istio's own components are
    /// exempt.
    ///
    /// ## Why is this bad?
    /// UID 1337 is reserved for the Istio sidecar proxy: the traffic-capture rules exempt
    /// traffic from that user so the proxy does not capture itself. An application running as
    /// 1337 bypasses the sidecar entirely, so its outbound traffic escapes mTLS, authorization
    /// and telemetry.
    ///
    /// ## How to fix
    /// Run the application under any other user ID.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   runAsUser: 1337
    /// ```
    /// Use instead:
    /// ```yaml
    /// securityContext:
    ///   runAsUser: 1000
    /// ```
    pub static APPLICATION_UID = {
        code: "MC010",
        name: "application-uid",
        category: Security,
        severity: Warning,
        summary: "Applications must not run as UID 1337, which is reserved for the sidecar proxy",
        istio_analyzer: Some("deployment.ApplicationUIDAnalyzer"),
        istio_codes: &["IST0144"],
        inputs: &[Kind::Pod, Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/ops/deployment/application-requirements/",
        remediation: "Run the application under a user ID other than 1337 (runAsUser in the pod or container securityContext).",
        check: check,
    }
}

const PROXY_UID: i64 = 1337;

fn runs_as_proxy(security_context: Option<&Value>) -> bool {
    security_context
        .and_then(|context| context.get("runAsUser"))
        .and_then(Value::as_i64)
        == Some(PROXY_UID)
}

fn is_control_plane(resource: &Resource) -> bool {
    resource.labels().contains_key("istio") || resource.label("release") == Some("istio")
}

/// The path (under `prefix`) of the first place the pod spec runs as UID 1337.
fn offending_path(pod: &PodTemplate) -> Option<Vec<String>> {
    if runs_as_proxy(Some(pod.security_context)) {
        return Some(vec!["securityContext".into(), "runAsUser".into()]);
    }
    pod.containers()
        .iter()
        .find(|container| {
            !matches!(container.name, "istio-proxy" | "istio-operator")
                && runs_as_proxy(Some(container.security_context))
        })
        .map(|container| {
            vec![
                "containers".into(),
                container.index.to_string(),
                "securityContext".into(),
                "runAsUser".into(),
            ]
        })
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for (kind, prefix) in [
        (Kind::Pod, &["spec"][..]),
        (Kind::Deployment, &["spec", "template", "spec"][..]),
    ] {
        for resource in mesh.of_kind(kind) {
            if is_control_plane(resource) {
                continue;
            }
            let Some(rest) = resource.pod_template().and_then(offending_path) else {
                continue;
            };
            let path: Vec<&str> = prefix
                .iter()
                .copied()
                .chain(rest.iter().map(String::as_str))
                .collect();
            sink.istio(
                "IST0144",
                resource,
                &path,
                format!(
                    "{} {} runs as user ID (UID) 1337, which is reserved for the sidecar proxy.",
                    kind.name(),
                    resource.display_name()
                ),
            );
        }
    }
}
