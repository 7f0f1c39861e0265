use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::selector::value_text;

use meshcheck_input::Map;

use super::{catalog, values};
use crate::facts::states::{Seen, judge};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks the Istio annotations (keys under an `istio.io` domain, and
    /// `kubernetes.io/ingress.class`) on Namespaces, Services, Pods and Deployments against Istio's
    /// annotation catalog: unknown names, annotations placed on a kind they do not apply to,
    /// deprecated annotations, and values the sidecar injector cannot parse. It also checks the
    /// pod templates of controllers (what every new pod gets), once per workload, and says when
    /// the running pods predate the template.
    ///
    /// ## Why is this bad?
    /// Istio silently ignores an annotation it does not know or that sits on the wrong object (a
    /// Pod annotation on a Deployment's own metadata never reaches the pods), so the behaviour
    /// the author intended never happens. Deprecated annotations may stop working in a future
    /// release, and a malformed value (a port list with a typo, a bad CIDR) breaks injection.
    ///
    /// ## How to fix
    /// Fix the annotation name, move it to the kind it applies to (for workloads: the pod
    /// template's `metadata.annotations`), replace deprecated annotations, and correct the value.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata:
    ///   annotations:
    ///     sidecar.istio.io/proxyCPU: 500m   # ignored: belongs on the pod template
    /// ```
    /// Use instead:
    /// ```yaml
    /// kind: Deployment
    /// spec:
    ///   template:
    ///     metadata:
    ///       annotations:
    ///         sidecar.istio.io/proxyCPU: 500m
    /// ```
    pub static ISTIO_ANNOTATIONS = {
        code: "MC001",
        name: "istio-annotations",
        category: Platform,
        severity: Warning,
        summary: "Istio annotations must be known, placed on the right kind, current and well formed",
        istio_analyzer: Some("annotations.K8sAnalyzer"),
        istio_codes: &["IST0107", "IST0108", "IST0125", "IST0135"],
        inputs: &[Kind::Namespace, Kind::Service, Kind::Pod, Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet, Kind::ReplicaSet, Kind::Job, Kind::CronJob],
        docs_url: "https://istio.io/latest/docs/reference/config/annotations/",
        remediation: "Use an annotation from Istio's catalog, on the kind it applies to (pod annotations go on the pod template), with a valid value.",
        check: check,
    }
}

/// One annotation problem: the Istio message code, the annotation, what is wrong and the fix.
struct Problem<'a> {
    code: &'static str,
    name: &'a str,
    message: String,
    remediation: &'static str,
}

/// What is wrong with the Istio annotations of one object of kind `kind`.
fn problems<'a>(kind: &str, annotations: &'a Map, labels: &Map) -> Vec<Problem<'a>> {
    let mut found = Vec::new();
    for (name, value) in annotations {
        if !catalog::is_istio_annotation(name) || catalog::always_ignored(name) {
            continue;
        }
        let name = name.as_str();
        let Some(def) = catalog::lookup(name) else {
            found.push(Problem {
                code: "IST0108",
                name,
                message: format!("Unknown annotation: {name}"),
                remediation: "Check the annotation name against Istio's annotation reference; Istio ignores names it does not know.",
            });
            continue;
        };
        if def.deprecated {
            let has_label_too =
                name == "sidecar.istio.io/inject" && labels.contains_key("sidecar.istio.io/inject");
            if !has_label_too {
                let extra = if name == "sidecar.istio.io/inject" {
                    " in favor of the \"sidecar.istio.io/inject\" label"
                } else {
                    ""
                };
                found.push(Problem {
                    code: "IST0135",
                    name,
                    message: format!(
                        "Annotation {name:?} has been deprecated{extra} and may not work in future Istio versions."
                    ),
                    remediation: "Replace the deprecated annotation with its successor (see Istio's annotation reference).",
                });
            }
        }
        if def.applies_to_any() {
            continue;
        }
        if !def.applies_to(kind) {
            let allowed: Vec<&str> = def.resources.iter().map(String::as_str).collect();
            found.push(Problem {
                code: "IST0107",
                name,
                message: format!(
                    "Misplaced annotation: {name} can only be applied to {}",
                    allowed.join(", ")
                ),
                remediation: "Move the annotation to a resource of the kind it applies to (for a workload, the pod template's metadata).",
            });
            continue;
        }
        if let Some(Err(problem)) = values::validate(name, &value_text(value)) {
            found.push(Problem {
                code: "IST0125",
                name,
                message: format!("Invalid annotation {name}: {problem}"),
                remediation: "Correct the annotation's value; the sidecar injector rejects it.",
            });
        }
    }
    found
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // Istio's analyzer: the objects' own annotations, each Pod on its own.
    for kind in [Kind::Namespace, Kind::Service, Kind::Pod, Kind::Deployment] {
        for resource in mesh.of_kind(kind) {
            for problem in problems(kind.name(), resource.annotations(), resource.labels()) {
                sink.istio(
                    problem.code,
                    resource,
                    &["metadata", "annotations", problem.name],
                    problem.message,
                )
                .remediation(problem.remediation);
            }
        }
    }
    // Beyond Istio: the pod templates of controllers, which every new pod gets. Findings carry no
    // Istio code (istioctl does not read templates); running pods already have their own above.
    for workload in mesh.workloads().all(mesh) {
        if workload.is_pod() {
            continue;
        }
        let verdict = judge(mesh, &workload, |state| {
            let found = problems("Pod", state.pod.annotations, state.pod.labels);
            if found.is_empty() {
                Seen::Clean
            } else {
                Seen::Problem(found)
            }
        });
        let Some(verdict) = verdict.filter(|verdict| !verdict.running_only) else {
            continue;
        };
        for problem in verdict.problem {
            let path = workload.path(&["metadata", "annotations", problem.name]);
            sink.report(
                workload.resource,
                &path,
                format!(
                    "{} in the pod template of {}{}",
                    problem.message.trim_end_matches('.'),
                    workload.describe(),
                    verdict.note
                ),
            )
            .remediation(problem.remediation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ISTIO_ANNOTATIONS;
    use crate::testing::check;

    fn codes(yaml: &str) -> Vec<&'static str> {
        let mut codes: Vec<_> = check(&ISTIO_ANNOTATIONS, yaml)
            .iter()
            .filter_map(|finding| finding.istio_code)
            .collect();
        codes.sort_unstable();
        codes
    }

    #[test]
    fn inject_annotation_with_label_is_not_reported_as_deprecated() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {sidecar.istio.io/inject: \"true\"}\n  annotations: {sidecar.istio.io/inject: \"true\"}\n";
        assert!(codes(yaml).is_empty());
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {sidecar.istio.io/inject: \"true\"}\n";
        assert_eq!(codes(yaml), ["IST0135"]);
    }

    #[test]
    fn deprecated_and_misplaced_both_reported() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  annotations: {sidecar.istio.io/statsInclusionPrefixes: a, galley.istio.io/analyze-suppress: IST0001, example.istio.io/x: y}\n";
        assert_eq!(codes(yaml), ["IST0107", "IST0108", "IST0135"]);
    }

    const TEMPLATE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}, annotations: {ANNOTATION}}\n    spec: {containers: [{name: web, image: web}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: {app: web}, annotations: {POD}}\nspec: {containers: [{name: web, image: web}]}\n";

    #[test]
    fn a_misspelt_template_annotation_fires_while_its_older_pod_is_right() {
        let yaml = TEMPLATE
            .replace("ANNOTATION", "sidecar.istio.io/proxyCPUs: 500m")
            .replace("POD", "sidecar.istio.io/proxyCPU: 500m");
        let findings = check(&ISTIO_ANNOTATIONS, &yaml);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!(finding.istio_code, None);
        assert_eq!(finding.resource.as_ref().unwrap().kind, "Deployment");
        assert!(
            finding.message.contains("Unknown annotation: sidecar.istio.io/proxyCPUs in the pod template of Deployment shop/web")
                && finding.message.contains("1 running pod predates"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn a_misspelt_annotation_left_on_running_pods_only_is_reported_on_the_pods() {
        let yaml = TEMPLATE
            .replace("ANNOTATION", "sidecar.istio.io/proxyCPU: 500m")
            .replace("POD", "sidecar.istio.io/proxyCPUs: 500m");
        let findings = check(&ISTIO_ANNOTATIONS, &yaml);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].istio_code, Some("IST0108"));
        assert_eq!(findings[0].resource.as_ref().unwrap().kind, "Pod");
    }
}
