use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::{Kind, items, str_field};

use super::retries::retrying_routes;
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports HTTP routes that match non-idempotent methods (`POST`, `PATCH`) and retry on
    /// conditions where the upstream may already have processed the request: `5xx`,
    /// `gateway-error`, `reset`, `retriable-4xx`, `retriable-status-codes`. Retrying on
    /// `connect-failure`, `refused-stream` or `reset-before-request` is safe (the request never
    /// reached the application) and is not reported.
    ///
    /// ## Why is this bad?
    /// A `500` or a connection reset after the request was sent does not mean the request was not
    /// executed. Retrying a `POST` then repeats its side effect: a second order, a double
    /// payment, a duplicated message. Istio retries transparently, so the application never
    /// learns that its request ran twice.
    ///
    /// ## How to fix
    /// Retry non-idempotent routes only on `connect-failure,refused-stream` (or
    /// `reset-before-request`), make the operations idempotent (idempotency keys), or split the
    /// write methods into their own route without retries (`attempts: 0`).
    ///
    /// ## Example
    /// ```yaml
    /// - match:
    ///   - method: {exact: POST}
    ///   retries:
    ///     attempts: 3
    ///     retryOn: 5xx,reset      # retries payments that may have succeeded
    /// ```
    pub static RETRY_NON_IDEMPOTENT = {
        code: "MC406",
        name: "retry-non-idempotent-method",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "Routes for POST/PATCH should not retry on errors that may follow processing",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry",
        remediation: "Retry POST/PATCH routes only on connect-failure,refused-stream (or reset-before-request), or make the operation idempotent.",
        check: check,
    }
}

/// Retry conditions after which the upstream may have executed the request.
const UNSAFE_CONDITIONS: [&str; 5] = [
    "5xx",
    "gateway-error",
    "reset",
    "retriable-4xx",
    "retriable-status-codes",
];

const NON_IDEMPOTENT: [&str; 2] = ["POST", "PATCH"];

/// The non-idempotent methods a route's matches select.
fn matched_methods(route: &Value) -> Vec<&'static str> {
    let mut methods = Vec::new();
    for condition in items(route.get("match")) {
        let Some(method) = condition.get("method") else {
            continue;
        };
        for candidate in NON_IDEMPOTENT {
            let selected = if let Some(exact) = str_field(method, "exact") {
                exact.eq_ignore_ascii_case(candidate)
            } else if let Some(prefix) = str_field(method, "prefix") {
                !prefix.is_empty() && candidate.starts_with(&prefix.to_ascii_uppercase())
            } else if let Some(pattern) = str_field(method, "regex") {
                regex::Regex::new(&format!("^(?:{pattern})$"))
                    .is_ok_and(|regex| regex.is_match(candidate))
            } else {
                false
            };
            if selected && !methods.contains(&candidate) {
                methods.push(candidate);
            }
        }
    }
    methods
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for retrying in retrying_routes(mesh) {
        let retry_on = str_field(retrying.retries, "retryOn").unwrap_or_default();
        let unsafe_conditions: Vec<&str> = retry_on
            .split(',')
            .map(str::trim)
            .filter(|condition| UNSAFE_CONDITIONS.contains(condition))
            .collect();
        if unsafe_conditions.is_empty() {
            continue;
        }
        let methods = matched_methods(retrying.route.value);
        if methods.is_empty() {
            continue;
        }
        retrying.report(
            sink,
            &["retries", "retryOn"],
            &format!(
                " matches {} and retries on {}: the upstream may already have executed the request, so a retry repeats its side effects",
                methods.join("/"),
                unsafe_conditions.join(",")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::matched_methods;
    use meshcheck_input::json;

    #[test]
    fn method_matches() {
        let route =
            json!({"match": [{"method": {"exact": "post"}}, {"method": {"regex": "PUT|PATCH"}}]});
        assert_eq!(matched_methods(&route), ["POST", "PATCH"]);
        let route = json!({"match": [{"method": {"exact": "GET"}}, {"uri": {"prefix": "/"}}]});
        assert!(matched_methods(&route).is_empty());
        let route = json!({"match": [{"method": {"prefix": "P"}}]});
        assert_eq!(matched_methods(&route), ["POST", "PATCH"]);
    }
}
