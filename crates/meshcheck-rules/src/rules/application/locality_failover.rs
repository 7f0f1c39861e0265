use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items};

use crate::facts::policies::policy_blocks;
use crate::facts::routes::as_path;
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports DestinationRule traffic policies whose `loadBalancer.localityLbSetting` sets
    /// `failover` or `failoverPriority` while no `outlierDetection` applies to them (in the same
    /// block, or inherited from the top-level policy by a port or subset block). It also reports
    /// a `localityLbSetting` that sets both `distribute` and `failover`, which Istio rejects.
    ///
    /// ## Why is this bad?
    /// Envoy moves traffic to another locality only when the endpoints of the local one are
    /// unhealthy, and without outlier detection it never marks them unhealthy: when a zone's
    /// pods fail, traffic keeps going to them and the failover you configured never happens.
    ///
    /// ## How to fix
    /// Add `outlierDetection` (for example `consecutive5xxErrors: 5`, `interval: 10s`,
    /// `baseEjectionTime: 30s`) to the same traffic policy; use either `distribute` or
    /// `failover`, not both.
    ///
    /// ## Example
    /// ```yaml
    /// trafficPolicy:
    ///   loadBalancer:
    ///     localityLbSetting:
    ///       enabled: true
    ///       failover:
    ///       - from: us-east1
    ///         to: us-west1
    ///   # no outlierDetection: failover never triggers
    /// ```
    pub static LOCALITY_FAILOVER = {
        code: "MC419",
        name: "locality-failover-without-outlier-detection",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "Locality failover needs outlier detection in the same traffic policy",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/locality-load-balancing/failover/",
        remediation: "Add outlierDetection to the traffic policy that configures locality failover.",
        check: check,
    }
}

fn has_outlier_detection(policy: &Value) -> bool {
    policy
        .get("outlierDetection")
        .is_some_and(|value| value.is_object())
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for rule in mesh.of_kind(Kind::DestinationRule) {
        let top_level = rule
            .spec()
            .get("trafficPolicy")
            .is_some_and(has_outlier_detection);
        for block in policy_blocks(rule) {
            let Some(locality) = block
                .value
                .at("/loadBalancer/localityLbSetting")
                .filter(|locality| locality.is_object())
            else {
                continue;
            };
            if locality.get("enabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let failover = items(locality.get("failover")).next().is_some();
            let priority = items(locality.get("failoverPriority")).next().is_some();
            let distribute = items(locality.get("distribute")).next().is_some();
            if distribute && failover {
                let path = block.path_to(&["loadBalancer", "localityLbSetting"]);
                sink.report(
                    rule,
                    &as_path(&path),
                    format!(
                        "{} of DestinationRule {} sets both distribute and failover in localityLbSetting: Istio accepts only one of them",
                        block.title(),
                        rule.display_name()
                    ),
                )
                .severity(Severity::Error);
            }
            if !(failover || priority) {
                continue;
            }
            // Port and subset blocks inherit outlier detection from the policies above them.
            let parent = block
                .path
                .iter()
                .position(|part| part == "portLevelSettings")
                .and_then(|end| {
                    let pointer: String = block.path[..end]
                        .iter()
                        .map(|part| format!("/{part}"))
                        .collect();
                    rule.value().at(&pointer)
                });
            let inherited = (block.scope != "trafficPolicy" && top_level)
                || parent.is_some_and(has_outlier_detection);
            if has_outlier_detection(block.value) || inherited {
                continue;
            }
            let what = if failover {
                "failover"
            } else {
                "failoverPriority"
            };
            let path = block.path_to(&["loadBalancer", "localityLbSetting", what]);
            sink.report(
                rule,
                &as_path(&path),
                format!(
                    "{} of DestinationRule {} configures locality {what} without outlierDetection: endpoints are never marked unhealthy, so traffic never fails over to another locality",
                    block.title(),
                    rule.display_name()
                ),
            );
        }
    }
}
