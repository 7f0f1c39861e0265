use crate::Context;
use meshcheck_model::Kind;

use super::retries::retrying_routes;
use crate::facts::duration;
use crate::{Severity, Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports HTTP routes that configure retries (`retries.attempts` > 0) without
    /// `retries.perTryTimeout`. Without a route `timeout` either, it is a warning; with one, it is
    /// advice (the first attempt may use the whole route timeout).
    ///
    /// ## Why is this bad?
    /// Envoy bounds each attempt by `perTryTimeout`, which defaults to the route timeout. With
    /// neither set, an attempt to a hung upstream never ends, so it is never retried: the retries
    /// only cover fast failures and the caller waits forever on slow ones. With only a route
    /// timeout, the first attempt can consume the entire budget and a timed-out request is
    /// never retried.
    ///
    /// ## How to fix
    /// Set `perTryTimeout` to a fraction of the route `timeout` so that the attempts you allow fit
    /// in it (for example `timeout: 3s`, `attempts: 2`, `perTryTimeout: 1s`).
    ///
    /// ## Example
    /// ```yaml
    /// http:
    /// - route:
    ///   - destination: {host: ratings}
    ///   retries:
    ///     attempts: 3          # no perTryTimeout, no timeout
    /// ```
    pub static RETRY_PER_TRY_TIMEOUT = {
        code: "MC404",
        name: "retry-without-per-try-timeout",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "Retries should bound each attempt with perTryTimeout",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/concepts/traffic-management/#retries",
        remediation: "Set retries.perTryTimeout (and a route timeout that leaves room for every attempt).",
        check: check,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for retrying in retrying_routes(mesh) {
        let attempts = retrying.attempts;
        if retrying.per_try.is_some_and(|seconds| seconds > 0.0) || !retrying.route.forwards() {
            continue;
        }
        match retrying.route.timeout().filter(|seconds| *seconds > 0.0) {
            None => {
                retrying.report(
                    sink,
                    &["retries"],
                    &format!(
                        " retries {attempts} times but sets neither retries.perTryTimeout nor timeout: an attempt to a hung upstream never ends, so slow failures are never retried and callers wait indefinitely"
                    ),
                );
            }
            Some(timeout) => {
                retrying
                    .report(
                        sink,
                        &["retries"],
                        &format!(
                            " retries {attempts} times without retries.perTryTimeout: each attempt may use the whole route timeout of {}, so a request that times out is never retried",
                            duration::show(timeout)
                        ),
                    )
                    .severity(Severity::Info);
            }
        }
    }
}
