use crate::Context;
use std::collections::HashMap;

use meshcheck_input::{Map, Value};
use meshcheck_model::hosts::{HostPatterns, to_fqdn};
use meshcheck_model::selector::matches_labels;
use meshcheck_model::{Kind, Mesh, Resource, str_field};

use crate::facts::workloads::{Workload, is_istio_component, workloads};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports Services backed by two or more replicas (running Pods when the input has them,
    /// else the `replicas` of the Deployments and StatefulSets they select) for which no
    /// DestinationRule, in any namespace, configures `outlierDetection` (at the top level, per
    /// port or per subset). Headless Services and Istio's own components are left out.
    ///
    /// ## Why is this bad?
    /// Without outlier detection, Envoy keeps sending its share of requests to a replica that
    /// fails every one of them (a bad node, a stuck JVM, a broken rollout): with three replicas,
    /// a third of the requests keep failing until Kubernetes' readiness probe notices, if it ever
    /// does. Outlier detection ejects the failing endpoint within seconds. It is also required
    /// for locality failover.
    ///
    /// ## How to fix
    /// Add `trafficPolicy.outlierDetection` to the host's DestinationRule, for example
    /// `consecutive5xxErrors: 5`, `interval: 10s`, `baseEjectionTime: 30s`,
    /// `maxEjectionPercent: 50`.
    ///
    /// ## Example
    /// ```yaml
    /// kind: DestinationRule
    /// spec:
    ///   host: reviews
    ///   trafficPolicy:
    ///     outlierDetection:
    ///       consecutive5xxErrors: 5
    ///       interval: 10s
    ///       baseEjectionTime: 30s
    /// ```
    pub static OUTLIER_DETECTION_MISSING = {
        code: "MC407",
        name: "outlier-detection-missing",
        category: ApplicationPolicy,
        severity: Info,
        summary: "Services with several replicas should have outlier detection",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::Service, Kind::DestinationRule, Kind::Deployment, Kind::StatefulSet, Kind::Pod],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/destination-rule/#OutlierDetection",
        remediation: "Add trafficPolicy.outlierDetection (consecutive5xxErrors, interval, baseEjectionTime) to the host's DestinationRule.",
        check: check,
    }
}

/// Whether a DestinationRule configures outlier detection anywhere.
fn has_outlier_detection(rule: &Resource) -> bool {
    let spec = rule.spec();
    let in_policy = |policy: Option<&Value>| {
        policy.is_some_and(|policy| {
            policy
                .get("outlierDetection")
                .is_some_and(|value| !value.is_null())
                || meshcheck_model::items(policy.get("portLevelSettings")).any(|port| {
                    port.get("outlierDetection")
                        .is_some_and(|value| !value.is_null())
                })
        })
    };
    in_policy(spec.get("trafficPolicy"))
        || meshcheck_model::items(spec.get("subsets"))
            .any(|subset| in_policy(subset.get("trafficPolicy")))
}

/// How many replicas back a Service: its running Pods, else the replicas its controllers ask for.
fn replicas(
    mesh: &Mesh,
    service: &Resource,
    selector: &Map,
    selected: &[&Workload],
) -> (u64, &'static str) {
    if mesh.count(Kind::Pod) > 0 {
        let pods = mesh.pods_matching(Some(&service.namespace), selector);
        return (pods.len() as u64, "pods");
    }
    let wanted: u64 = selected
        .iter()
        .filter(|workload| matches!(workload.resource.kind, Kind::Deployment | Kind::StatefulSet))
        .map(|workload| {
            workload
                .resource
                .spec()
                .get("replicas")
                .and_then(Value::as_u64)
                .unwrap_or(1)
        })
        .sum();
    (wanted, "replicas")
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    let protected = HostPatterns::new(
        mesh.of_kind(Kind::DestinationRule)
            .filter(|rule| has_outlier_detection(rule))
            .map(|rule| {
                to_fqdn(
                    &rule.namespace,
                    str_field(rule.spec(), "host").unwrap_or_default(),
                )
            }),
    );
    // Built only if some Service is not covered (rare in a tuned mesh).
    let by_namespace = std::cell::OnceCell::new();
    let by_namespace = || {
        by_namespace.get_or_init(|| {
            let mut grouped: HashMap<&str, Vec<Workload>> = HashMap::new();
            for workload in workloads(mesh) {
                grouped
                    .entry(workload.namespace())
                    .or_default()
                    .push(workload);
            }
            grouped
        })
    };
    for service in mesh.of_kind(Kind::Service) {
        let spec = service.spec();
        if service.namespace == mesh.root_namespace()
            || str_field(spec, "clusterIP") == Some("None")
            || service.labels().contains_key("istio")
        {
            continue;
        }
        let Some(selector) = spec
            .get("selector")
            .and_then(Value::as_object)
            .filter(|selector| !selector.is_empty())
        else {
            continue;
        };
        // The cheapest test first: most services of a tuned mesh are covered.
        let fqdn = to_fqdn(&service.namespace, service.name());
        if protected.covers(&fqdn) {
            continue;
        }
        let selected: Vec<&Workload> = by_namespace()
            .get(service.namespace.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|workload| matches_labels(selector, workload.labels()))
            .collect();
        let in_mesh = selected
            .iter()
            .any(|workload| workload.in_mesh() && !is_istio_component(workload));
        if !in_mesh {
            continue;
        }
        let (count, unit) = replicas(mesh, service, selector, &selected);
        if count < 2 {
            continue;
        }
        sink.report(
            service,
            &["metadata", "name"],
            format!(
                "Service {} has {count} {unit} but no DestinationRule configures outlierDetection for {fqdn}: a failing replica keeps receiving its share of requests instead of being ejected",
                service.display_name()
            ),
        );
    }
}
