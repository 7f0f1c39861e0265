use meshcheck_model::{Kind, Mesh, str_field};

use super::duration;
use super::routes::{as_path, attempts, http_routes};
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

fn check(mesh: &Mesh, sink: &mut Sink) {
    for vs in mesh.of_kind(Kind::VirtualService) {
        for route in http_routes(vs) {
            let Some(retries) = route.retries() else {
                continue;
            };
            let attempts = attempts(retries).unwrap_or(0);
            let per_try = str_field(retries, "perTryTimeout").and_then(duration::seconds);
            let timeout = route.timeout();
            let (Some(per_try), Some(timeout)) = (per_try, timeout) else {
                continue;
            };
            if attempts <= 0 || per_try <= 0.0 || timeout <= 0.0 {
                continue;
            }
            let tries = attempts + 1;
            let path = route.path(&["retries", "perTryTimeout"]);
            if per_try >= timeout {
                sink.report(
                    vs,
                    &as_path(&path),
                    format!(
                        "{} of VirtualService {}: perTryTimeout {} is not shorter than the route timeout {}, so an attempt that times out uses the whole request budget and none of the {attempts} retries can run after it",
                        route.label(),
                        vs.display_name(),
                        duration::show(per_try),
                        duration::show(timeout)
                    ),
                );
            } else if tries as f64 * per_try > timeout + 1e-9 {
                let fitting = (timeout / per_try).floor() as i64;
                sink.report(
                    vs,
                    &as_path(&path),
                    format!(
                        "{} of VirtualService {}: {tries} tries of up to {} need {} but the route timeout is {}, so at most {fitting} of them can complete before the request fails with 504",
                        route.label(),
                        vs.display_name(),
                        duration::show(per_try),
                        duration::show(tries as f64 * per_try),
                        duration::show(timeout)
                    ),
                )
                .severity(Severity::Info);
            }
        }
    }
}
