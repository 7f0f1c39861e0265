//! HTTP routes that retry, as the retry rules (budget, per-try timeout, idempotency) read them.

use meshcheck_input::Value;
use meshcheck_model::{Kind, Mesh, Resource, str_field};

use crate::facts::duration;
use crate::facts::routes::{HttpRoute, as_path, attempts, http_routes};
use crate::{Finding, Sink};

/// A VirtualService HTTP route whose `retries` block asks for at least one retry.
pub(crate) struct RetryingRoute<'a> {
    pub vs: &'a Resource,
    pub route: HttpRoute<'a>,
    pub retries: &'a Value,
    /// `retries.attempts`, above zero.
    pub attempts: i64,
    /// `retries.perTryTimeout` in seconds, when it is a duration.
    pub per_try: Option<f64>,
}

impl RetryingRoute<'_> {
    /// Reports at `below` the route (`["retries", "perTryTimeout"]`), the message starting with
    /// the route: `http[0] of VirtualService reviews.shop` followed by `rest`.
    pub(crate) fn report<'s>(
        &self,
        sink: &'s mut Sink,
        below: &[&str],
        rest: &str,
    ) -> &'s mut Finding {
        let path = self.route.path(below);
        sink.report(
            self.vs,
            &as_path(&path),
            format!(
                "{} of VirtualService {}{rest}",
                self.route.label(),
                self.vs.display_name()
            ),
        )
    }
}

/// Every retrying HTTP route of the mesh's VirtualServices, in input order.
pub(crate) fn retrying_routes(mesh: &Mesh) -> impl Iterator<Item = RetryingRoute<'_>> {
    mesh.of_kind(Kind::VirtualService).flat_map(|vs| {
        http_routes(vs).filter_map(move |route| {
            let retries = route.retries()?;
            let attempts = attempts(retries).filter(|attempts| *attempts > 0)?;
            Some(RetryingRoute {
                vs,
                route,
                retries,
                attempts,
                per_try: str_field(retries, "perTryTimeout").and_then(duration::seconds),
            })
        })
    })
}
