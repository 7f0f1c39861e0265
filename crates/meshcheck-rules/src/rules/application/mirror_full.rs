use crate::Context;
use meshcheck_input::Value;
use meshcheck_model::ValueAt;
use meshcheck_model::{Kind, items, str_field};

use crate::facts::routes::{as_path, http_routes};
use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports HTTP routes that mirror all of their traffic: a `mirror` without
    /// `mirrorPercentage` (Istio then mirrors 100%), a `mirrorPercentage` of 100, or a `mirrors`
    /// entry without `percentage` or at 100%.
    ///
    /// ## Why is this bad?
    /// Every mirrored request is sent a second time to the mirror host, fire-and-forget: the
    /// mirror must carry the full production load, the calling proxies spend CPU and connections
    /// on the copies, and writes (`POST`, `PUT`) are executed twice if the mirror shares a
    /// database or calls downstream services. Full mirroring is usually a debugging step that
    /// was never turned down.
    ///
    /// ## How to fix
    /// Mirror a sample (`mirrorPercentage: {value: 5}`), make sure the mirror target has no side
    /// effects, and remove the mirror when the comparison is done.
    ///
    /// ## Example
    /// ```yaml
    /// - route:
    ///   - destination: {host: httpbin, subset: v1}
    ///   mirror: {host: httpbin, subset: v2}     # 100% of the traffic
    /// ```
    /// Use instead:
    /// ```yaml
    ///   mirror: {host: httpbin, subset: v2}
    ///   mirrorPercentage: {value: 10}
    /// ```
    pub static MIRROR_FULL_TRAFFIC = {
        code: "MC409",
        name: "mirror-full-traffic",
        category: ApplicationPolicy,
        severity: Info,
        summary: "Traffic mirroring should sample, not copy 100% of requests",
        istio_analyzer: None,
        istio_codes: &[],
        inputs: &[Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/tasks/traffic-management/mirroring/",
        remediation: "Set mirrorPercentage (or mirrors[].percentage) to a sample, and remove the mirror when done.",
        check: check,
    }
}

fn target(destination: &Value) -> String {
    let host = str_field(destination, "host").unwrap_or("?");
    match str_field(destination, "subset") {
        Some(subset) => format!("{host} (subset {subset})"),
        None => host.to_owned(),
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    for vs in mesh.of_kind(Kind::VirtualService) {
        for route in http_routes(vs) {
            if let Some(mirror) = route
                .value
                .get("mirror")
                .filter(|mirror| mirror.is_object())
            {
                let share = route
                    .value
                    .at("/mirrorPercentage/value")
                    .and_then(Value::as_f64)
                    .or_else(|| route.value.get("mirrorPercent").and_then(Value::as_f64))
                    .unwrap_or(100.0);
                if share >= 100.0 {
                    let path = route.path(&["mirror"]);
                    sink.report(
                        vs,
                        &as_path(&path),
                        format!(
                            "{} of VirtualService {} mirrors 100% of its requests to {}: the mirror receives the full load and every write is executed twice",
                            route.label(),
                            vs.display_name(),
                            target(mirror)
                        ),
                    );
                }
            }
            for (index, mirror) in items(route.value.get("mirrors")).enumerate() {
                let share = mirror
                    .at("/percentage/value")
                    .and_then(Value::as_f64)
                    .unwrap_or(100.0);
                if share < 100.0 {
                    continue;
                }
                let index = index.to_string();
                let path = route.path(&["mirrors", &index]);
                sink.report(
                    vs,
                    &as_path(&path),
                    format!(
                        "{} of VirtualService {} mirrors 100% of its requests to {}: the mirror receives the full load and every write is executed twice",
                        route.label(),
                        vs.display_name(),
                        target(mirror.get("destination").unwrap_or(&Value::Null))
                    ),
                );
            }
        }
    }
}
