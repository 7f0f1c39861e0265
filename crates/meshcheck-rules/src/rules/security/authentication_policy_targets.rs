use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::selector::value_text;
use meshcheck_model::{InputSource, Kind, Mesh, Resource, items, str_field};

use crate::facts::authz::Scope;
use crate::facts::workloads::WorkloadIndex;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks that PeerAuthentications and RequestAuthentications apply to something: a
    /// `selector` must match a workload (Pod or pod template) of the policy's namespace, and a
    /// `targetRef`/`targetRefs` must name a Gateway API `Gateway` or a `Service` that exists in
    /// it. Selectors are checked against the workloads of the input (for plain manifests, only
    /// in namespaces whose workloads are part of it); the engine lowers the finding to info when
    /// the input holds no Pods at all.
    ///
    /// ## Why is this bad?
    /// A policy that selects nothing enforces nothing: the STRICT override, the plaintext
    /// exception or the JWT validation the author wrote silently does not apply, usually
    /// because of a label typo or a policy created in the wrong namespace (a workload selector
    /// in the root namespace only selects workloads of the root namespace).
    ///
    /// ## How to fix
    /// Match the pod labels of the intended workload, create the policy in that workload's
    /// namespace, or fix the target reference.
    ///
    /// ## Example
    /// ```yaml
    /// kind: RequestAuthentication
    /// metadata: {name: jwt, namespace: api}
    /// spec:
    ///   selector:
    ///     matchLabels: {app: order-api}   # pods are labelled app=orders-api
    /// ```
    pub static AUTHENTICATION_POLICY_TARGETS = {
        code: "MC228",
        name: "authentication-policy-targets",
        category: Security,
        severity: Warning,
        summary: "PeerAuthentication and RequestAuthentication selectors and targetRefs must match workloads",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::PeerAuthentication, Kind::RequestAuthentication, Kind::Pod, Kind::Deployment, Kind::Service, Kind::KubernetesGateway],
        docs_url: "https://istio.io/latest/docs/reference/config/type/workload-selector/",
        remediation: "Make the selector match the intended pods in the policy's namespace, or fix the targetRef.",
        check: check,
    }
}

fn selector_text(policy: &Resource) -> String {
    let mut pairs: Vec<String> = policy
        .spec()
        .at("/selector/matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, value)| format!("{key}={}", value_text(value)))
        .collect();
    pairs.sort();
    pairs.join(",")
}

fn check_target_refs(mesh: &Mesh, policy: &Resource, sink: &mut Sink) {
    let spec = policy.spec();
    let single = spec.get("targetRef").filter(|target| target.is_object());
    let refs: Vec<(Vec<String>, &Value)> = match single {
        Some(target) => vec![(vec!["spec".into(), "targetRef".into()], target)],
        None => items(spec.get("targetRefs"))
            .enumerate()
            .map(|(index, target)| {
                (
                    vec!["spec".into(), "targetRefs".into(), index.to_string()],
                    target,
                )
            })
            .collect(),
    };
    for (path, target) in refs {
        let kind = str_field(target, "kind").unwrap_or_default();
        let name = str_field(target, "name").unwrap_or_default();
        let namespace = str_field(target, "namespace").unwrap_or(&policy.namespace);
        let found = match kind {
            "Gateway" => mesh.get(Kind::KubernetesGateway, namespace, name).is_some(),
            "Service" => mesh.get(Kind::Service, namespace, name).is_some(),
            // ServiceEntries and other kinds are not resolved here.
            _ => continue,
        };
        // Without any object of that kind the input cannot tell.
        let known = match kind {
            "Gateway" => mesh.count(Kind::KubernetesGateway) > 0,
            _ => mesh.count(Kind::Service) > 0,
        };
        if found || !known {
            continue;
        }
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        sink.report(
            policy,
            &path,
            format!(
                "{} {}/{} targets {kind} {namespace}/{name}, which does not exist",
                policy.kind,
                policy.namespace,
                policy.name()
            ),
        );
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let index = WorkloadIndex::new(mesh);
    for kind in [Kind::PeerAuthentication, Kind::RequestAuthentication] {
        for policy in mesh.of_kind(kind) {
            let scope = Scope::of(mesh, policy);
            match scope {
                Scope::Targets(_) => check_target_refs(mesh, policy, sink),
                Scope::Workloads(namespace, selector) => {
                    let stand_in = mesh.stand_in_ingress.as_ref().is_some_and(|ingress| {
                        ingress.namespace == namespace && ingress.pod_selected_by(selector)
                    });
                    // In plain manifests a namespace without any workload is not evidence.
                    let unseen_namespace = mesh.cluster.source == InputSource::Manifests
                        && index.in_namespace(namespace).next().is_none();
                    if index.all().is_empty()
                        || stand_in
                        || unseen_namespace
                        || !index.in_scope(&scope).is_empty()
                    {
                        continue;
                    }
                    sink.report(
                        policy,
                        &["spec", "selector"],
                        format!(
                            "{kind} {namespace}/{} selects no workload in namespace {namespace} (selector {})",
                            policy.name(),
                            selector_text(policy)
                        ),
                    )
                    .about_workloads();
                }
                Scope::Mesh | Scope::Namespace(_) => {}
            }
        }
    }
}
