use crate::Context;
use meshcheck_model::Kind;
use meshcheck_model::selector::value_text;

use super::{catalog, values};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks the Istio annotations (keys under an `istio.io` domain, and
    /// `kubernetes.io/ingress.class`) on Namespaces, Services, Pods and Deployments against Istio's
    /// annotation catalog: unknown names, annotations placed on a kind they do not apply to,
    /// deprecated annotations, and values the sidecar injector cannot parse.
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
        inputs: &[Kind::Namespace, Kind::Service, Kind::Pod, Kind::Deployment],
        docs_url: "https://istio.io/latest/docs/reference/config/annotations/",
        remediation: "Use an annotation from Istio's catalog, on the kind it applies to (pod annotations go on the pod template), with a valid value.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for kind in [Kind::Namespace, Kind::Service, Kind::Pod, Kind::Deployment] {
        for resource in mesh.of_kind(kind) {
            for (name, value) in resource.annotations() {
                if !catalog::is_istio_annotation(name) || catalog::always_ignored(name) {
                    continue;
                }
                let path = ["metadata", "annotations", name.as_str()];
                let Some(def) = catalog::lookup(name) else {
                    sink.istio(
                        "IST0108",
                        resource,
                        &path,
                        format!("Unknown annotation: {name}"),
                    )
                    .remediation(
                        "Check the annotation name against Istio's annotation reference; Istio ignores names it does not know.",
                    );
                    continue;
                };
                if def.deprecated {
                    let has_label_too = name == "sidecar.istio.io/inject"
                        && resource.labels().contains_key("sidecar.istio.io/inject");
                    if !has_label_too {
                        let extra = if name == "sidecar.istio.io/inject" {
                            " in favor of the \"sidecar.istio.io/inject\" label"
                        } else {
                            ""
                        };
                        sink.istio(
                            "IST0135",
                            resource,
                            &path,
                            format!(
                                "Annotation {name:?} has been deprecated{extra} and may not work in future Istio versions."
                            ),
                        )
                        .remediation(
                            "Replace the deprecated annotation with its successor (see Istio's annotation reference).",
                        );
                    }
                }
                if def.applies_to_any() {
                    continue;
                }
                if !def.applies_to(kind.name()) {
                    let allowed: Vec<&str> = def.resources.iter().map(String::as_str).collect();
                    sink.istio(
                        "IST0107",
                        resource,
                        &path,
                        format!(
                            "Misplaced annotation: {name} can only be applied to {}",
                            allowed.join(", ")
                        ),
                    )
                    .remediation(
                        "Move the annotation to a resource of the kind it applies to (for a workload, the pod template's metadata).",
                    );
                    continue;
                }
                let value = value_text(value);
                if let Some(Err(problem)) = values::validate(name, &value) {
                    sink.istio(
                        "IST0125",
                        resource,
                        &path,
                        format!("Invalid annotation {name}: {problem}"),
                    )
                    .remediation(
                        "Correct the annotation's value; the sidecar injector rejects it.",
                    );
                }
            }
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
}
