use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, str_field};

use crate::facts::policies::policy_blocks;
use crate::facts::routes::as_path;
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks the `loadBalancer` settings of every DestinationRule traffic policy (top level,
    /// per port, per subset):
    /// - `simple` and `consistentHash` together: they are alternatives (a protobuf `oneof`), and
    ///   the API server rejects the resource, or, where validation is bypassed, only one applies;
    /// - a slow-start `warmupDurationSecs` (or `warmup`) with `consistentHash` or with
    ///   `RANDOM`/`PASSTHROUGH`: Envoy supports slow start only for `ROUND_ROBIN` and
    ///   `LEAST_REQUEST`, so the warm-up is ignored.
    ///
    /// ## Why is this bad?
    /// The load-balancing policy the author wrote is not the one in force: session affinity
    /// expected from `consistentHash` does not happen, or new pods that were meant to be warmed
    /// up receive their full share of traffic immediately after a scale-up.
    ///
    /// ## How to fix
    /// Keep either `simple` or `consistentHash`; use warm-up only with `ROUND_ROBIN` or
    /// `LEAST_REQUEST`.
    ///
    /// ## Example
    /// ```yaml
    /// loadBalancer:
    ///   simple: ROUND_ROBIN
    ///   consistentHash:
    ///     httpHeaderName: x-user-id
    /// ```
    pub static LOAD_BALANCER_CONFLICT = {
        code: "MC412",
        name: "load-balancer-settings-conflict",
        category: ApplicationPolicy,
        severity: Error,
        summary: "DestinationRule loadBalancer settings must not combine exclusive or unsupported options",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::DestinationRule],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/destination-rule/#LoadBalancerSettings",
        remediation: "Use either simple or consistentHash, and slow-start warm-up only with ROUND_ROBIN or LEAST_REQUEST.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for rule in mesh.of_kind(Kind::DestinationRule) {
        for block in policy_blocks(rule) {
            let Some(balancer) = block
                .value
                .get("loadBalancer")
                .filter(|balancer| balancer.is_object())
            else {
                continue;
            };
            let simple = str_field(balancer, "simple");
            let hashed = balancer
                .get("consistentHash")
                .is_some_and(|hash| hash.is_object());
            if let (Some(simple), true) = (simple, hashed) {
                let path = block.path_to(&["loadBalancer", "consistentHash"]);
                sink.report(
                    rule,
                    &as_path(&path),
                    format!(
                        "{} of DestinationRule {} sets both loadBalancer.simple: {simple} and loadBalancer.consistentHash, which are alternatives: the API server rejects it, and where it is accepted only one of them applies",
                        block.title(),
                        rule.display_name()
                    ),
                );
            }
            let warmup = balancer
                .get("warmupDurationSecs")
                .or_else(|| balancer.get("warmup"))
                .filter(|value| !value.is_null());
            let Some(warmup) = warmup else {
                continue;
            };
            let unsupported = if hashed {
                Some("consistentHash")
            } else {
                simple.filter(|simple| matches!(*simple, "RANDOM" | "PASSTHROUGH"))
            };
            if let Some(policy) = unsupported {
                let shown = match warmup {
                    Value::String(text) => text.to_string(),
                    other => other.to_string(),
                };
                let field = if balancer.get("warmupDurationSecs").is_some() {
                    "warmupDurationSecs"
                } else {
                    "warmup"
                };
                let path = block.path_to(&["loadBalancer", field]);
                sink.report(
                    rule,
                    &as_path(&path),
                    format!(
                        "{} of DestinationRule {} sets a loadBalancer slow-start warm-up ({shown}) with {policy}: Envoy warms up new endpoints only for ROUND_ROBIN and LEAST_REQUEST, so new pods get their full share at once",
                        block.title(),
                        rule.display_name()
                    ),
                )
                .severity(Severity::Warning);
            }
        }
    }
}
