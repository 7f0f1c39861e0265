use meshcheck_model::{Kind, Mesh, str_field};

use super::duration;
use super::routes::{as_path, attempts, http_routes};
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

fn check(mesh: &Mesh, sink: &mut Sink) {
    for vs in mesh.of_kind(Kind::VirtualService) {
        for route in http_routes(vs) {
            let Some(retries) = route.retries() else {
                continue;
            };
            let attempts = attempts(retries).unwrap_or(0);
            let per_try = str_field(retries, "perTryTimeout").and_then(duration::seconds);
            if attempts <= 0 || per_try.is_some_and(|seconds| seconds > 0.0) || !route.forwards() {
                continue;
            }
            let path = route.path(&["retries"]);
            match route.timeout().filter(|seconds| *seconds > 0.0) {
                None => {
                    sink.report(
                        vs,
                        &as_path(&path),
                        format!(
                            "{} of VirtualService {} retries {attempts} times but sets neither retries.perTryTimeout nor timeout: an attempt to a hung upstream never ends, so slow failures are never retried and callers wait indefinitely",
                            route.label(),
                            vs.display_name()
                        ),
                    );
                }
                Some(timeout) => {
                    sink.report(
                        vs,
                        &as_path(&path),
                        format!(
                            "{} of VirtualService {} retries {attempts} times without retries.perTryTimeout: each attempt may use the whole route timeout of {}, so a request that times out is never retried",
                            route.label(),
                            vs.display_name(),
                            duration::show(timeout)
                        ),
                    )
                    .severity(Severity::Info);
                }
            }
        }
    }
}
