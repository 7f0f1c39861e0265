use crate::Context;
use meshcheck_model::Kind;

use super::retries::retrying_routes;
use crate::facts::duration;
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// For HTTP routes with a `timeout`, `retries.attempts` and `retries.perTryTimeout`, checks
    /// that the attempts fit in the route timeout: the first try plus `attempts` retries, each up
    /// to `perTryTimeout`. A `perTryTimeout` at or above the route timeout is a warning (no retry
    /// after a timed-out attempt can ever run); attempts that only partly fit are advice.
    ///
    /// ## Why is this bad?
    /// The route `timeout` bounds the whole request, retries included. Retries that cannot fit
    /// are dead configuration: the caller gets a 504 when the route timeout fires, however many
    /// attempts were configured, and the retry policy promises resilience it does not deliver.
    ///
    /// ## How to fix
    /// Choose `perTryTimeout` ≤ `timeout / (attempts + 1)`, or raise the route timeout, or lower
    /// `attempts`.
    ///
    /// ## Example
    /// ```yaml
    /// timeout: 2s
    /// retries:
    ///   attempts: 3
    ///   perTryTimeout: 2s     # the first attempt already uses the whole 2s
    /// ```
    pub static RETRY_BUDGET = {
        code: "MC405",
        name: "retry-budget-exceeds-timeout",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "Retry attempts times perTryTimeout should fit in the route timeout",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry",
        remediation: "Make (attempts + 1) x perTryTimeout fit in the route timeout: lower perTryTimeout or attempts, or raise timeout.",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for retrying in retrying_routes(mesh) {
        let (Some(per_try), Some(timeout)) = (retrying.per_try, retrying.route.timeout()) else {
            continue;
        };
        if per_try <= 0.0 || timeout <= 0.0 {
            continue;
        }
        let attempts = retrying.attempts;
        let tries = attempts + 1;
        let below = ["retries", "perTryTimeout"];
        if per_try >= timeout {
            retrying.report(
                sink,
                &below,
                &format!(
                    ": perTryTimeout {} is not shorter than the route timeout {}, so an attempt that times out uses the whole request budget and none of the {attempts} retries can run after it",
                    duration::show(per_try),
                    duration::show(timeout)
                ),
            );
        } else if tries as f64 * per_try > timeout + 1e-9 {
            let fitting = (timeout / per_try).floor() as i64;
            retrying
                .report(
                    sink,
                    &below,
                    &format!(
                        ": {tries} tries of up to {} need {} but the route timeout is {}, so at most {fitting} of them can complete before the request fails with 504",
                        duration::show(per_try),
                        duration::show(tries as f64 * per_try),
                        duration::show(timeout)
                    ),
                )
                .severity(Severity::Info);
        }
    }
}
