use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items};

use crate::facts::namespaces::is_test_namespace;

use crate::facts::routes::{as_path, http_routes};
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports HTTP fault injection (`fault.delay`, `fault.abort`) in VirtualServices outside
    /// test namespaces. A fault that applies to every request (no `percentage`, or 100%) and is
    /// not limited by a header match is a warning; a partial or header-targeted fault is
    /// reported for information. Test namespaces are those whose name contains `test`, `qa`,
    /// `dev`, `staging`, `stage`, `chaos`, `sandbox`, `perf` or `load` as a word, or whose
    /// Namespace carries an `environment`/`env` label with such a value.
    ///
    /// ## Why is this bad?
    /// Fault injection is a testing tool. Left behind after a resilience test, it adds latency to
    /// or fails real users' requests, and the failures look like a broken service: a missing
    /// `percentage` means *every* request is delayed or aborted.
    ///
    /// ## How to fix
    /// Remove the `fault` block once the experiment is over, restrict it to test traffic with a
    /// header match (`end-user: {exact: chaos-test}`), or keep experiments in test namespaces.
    ///
    /// ## Example
    /// ```yaml
    /// http:
    /// - fault:
    ///     delay:
    ///       fixedDelay: 7s          # no percentage: every request waits 7s
    ///   route:
    ///   - destination: {host: ratings}
    /// ```
    pub static FAULT_INJECTION_ACTIVE = {
        code: "MC408",
        name: "fault-injection-active",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "Fault injection should not be left active outside test namespaces",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::VirtualService, Kind::Namespace],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/fault-injection/",
        remediation: "Remove the fault block after the experiment, or limit it to test traffic with a header match.",
        check: check,
    }
}

/// The share of requests a fault applies to: `percentage.value`, the deprecated `percent`, or
/// 100 when neither is given.
fn share(fault: &Value) -> f64 {
    if let Some(value) = fault.at("/percentage/value").and_then(Value::as_f64) {
        return value;
    }
    if let Some(value) = fault.get("percent").and_then(Value::as_f64) {
        return value;
    }
    100.0
}

/// A fault kind's description, e.g. `a 7s delay`, `an HTTP 503 abort`.
fn describe(kind: &str, fault: &Value) -> String {
    if kind == "delay" {
        let delay = fault
            .get("fixedDelay")
            .or_else(|| fault.get("exponentialDelay"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        format!("a {delay} delay")
    } else if let Some(status) = fault.get("httpStatus").and_then(Value::as_i64) {
        format!("an HTTP {status} abort")
    } else if let Some(status) = fault.get("grpcStatus").and_then(Value::as_str) {
        format!("a gRPC {status} abort")
    } else {
        "an abort".to_owned()
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for vs in mesh.of_kind(Kind::VirtualService) {
        if is_test_namespace(mesh, &vs.namespace) {
            continue;
        }
        for route in http_routes(vs) {
            let Some(fault) = route.value.get("fault").filter(|fault| fault.is_object()) else {
                continue;
            };
            let targeted = items(route.value.get("match")).next().is_some()
                && items(route.value.get("match")).all(|condition| {
                    condition
                        .get("headers")
                        .and_then(Value::as_object)
                        .is_some_and(|headers| !headers.is_empty())
                });
            for kind in ["delay", "abort"] {
                let Some(spec) = fault.get(kind).filter(|spec| spec.is_object()) else {
                    continue;
                };
                let share = share(spec);
                if share <= 0.0 {
                    continue;
                }
                let what = describe(kind, spec);
                let path = route.path(&["fault", kind]);
                let finding = sink.report(
                    vs,
                    &as_path(&path),
                    if targeted {
                        format!(
                            "{} of VirtualService {} injects {what} into {share}% of the requests matching its header conditions, in namespace {} that is not a test namespace",
                            route.label(),
                            vs.display_name(),
                            vs.namespace
                        )
                    } else if share >= 100.0 {
                        format!(
                            "{} of VirtualService {} injects {what} into every request (no percentage, or 100%) in namespace {}: real users get the fault",
                            route.label(),
                            vs.display_name(),
                            vs.namespace
                        )
                    } else {
                        format!(
                            "{} of VirtualService {} injects {what} into {share}% of requests in namespace {}, which is not a test namespace",
                            route.label(),
                            vs.display_name(),
                            vs.namespace
                        )
                    },
                );
                if targeted || share < 100.0 {
                    finding.severity(Severity::Info);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

    #[test]
    fn shares() {
        assert_eq!(share(&json!({"fixedDelay": "5s"})), 100.0);
        assert_eq!(share(&json!({"percentage": {"value": 0.1}})), 0.1);
        assert_eq!(share(&json!({"percent": 50})), 50.0);
    }
}
