use crate::Context;
use meshcheck_model::ValueAt;
use std::collections::HashSet;

use meshcheck_input::Value;
use meshcheck_model::{Kind, Resource};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks each `configPatches` entry of every EnvoyFilter:
    /// - `ADD` or `REMOVE` on `ROUTE_CONFIGURATION` or `HTTP_ROUTE` (ignored by Istio);
    /// - `REPLACE` on anything but `HTTP_FILTER`, `NETWORK_FILTER` or `VIRTUAL_HOST` (invalid);
    /// - a relative operation (`INSERT_BEFORE`, `INSERT_AFTER`, `REPLACE`, `REMOVE`) in a filter
    ///   without `priority`, which depends on the order other filters happen to apply in; it is
    ///   called out separately when an earlier patch for the same filter name is pinned to a
    ///   `proxyVersion`, since the outcome then changes during an upgrade.
    ///
    /// ## Why is this bad?
    /// EnvoyFilters patch the generated Envoy configuration directly. A patch Istio ignores does
    /// nothing without any error; a relative patch without priority may find its anchor missing
    /// (another filter applied first or not at all) and silently not apply.
    ///
    /// ## How to fix
    /// Use an operation valid for the `applyTo` target, and give filters with relative operations
    /// an explicit `priority` (or use `INSERT_FIRST`/`ADD`).
    ///
    /// ## Example
    /// ```yaml
    /// configPatches:
    /// - applyTo: HTTP_FILTER
    ///   patch:
    ///     operation: INSERT_BEFORE   # no spec.priority
    /// ```
    pub static ENVOY_FILTER_PATCH_OPERATION = {
        code: "MC013",
        name: "envoy-filter-patch-operation",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "EnvoyFilter patches must use operations valid for their target and a priority for relative operations",
        istio_analyzer: Some("envoyfilter.EnvoyPatchAnalyzer"),
        istio_codes: &["IST0151", "IST0152", "IST0153", "IST0154", "IST0155"],
        inputs: &[Kind::EnvoyFilter],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/envoy-filter/",
        remediation: "Use an operation valid for applyTo, and set spec.priority on EnvoyFilters with relative operations (or use INSERT_FIRST/ADD).",
        check: check,
    }
}

/// An enum field as its name (Istio accepts the name or the number).
fn enum_name<'a>(value: Option<&'a Value>, names: &[&'a str]) -> &'a str {
    match value {
        Some(Value::String(name)) => name.as_str(),
        Some(Value::Number(number)) => number
            .as_u64()
            .and_then(|index| names.get(index as usize))
            .copied()
            .unwrap_or("INVALID"),
        _ => "INVALID",
    }
}

const OPERATIONS: &[&str] = &[
    "INVALID",
    "MERGE",
    "ADD",
    "REMOVE",
    "INSERT_BEFORE",
    "INSERT_AFTER",
    "INSERT_FIRST",
    "REPLACE",
];

const APPLY_TO: &[&str] = &[
    "INVALID",
    "LISTENER",
    "FILTER_CHAIN",
    "NETWORK_FILTER",
    "HTTP_FILTER",
    "ROUTE_CONFIGURATION",
    "VIRTUAL_HOST",
    "HTTP_ROUTE",
    "CLUSTER",
    "EXTENSION_CONFIG",
    "BOOTSTRAP",
    "LISTENER_FILTER",
];

/// The name a patch is known by, to relate patches across filters: the `name` of its value, or
/// (when the value has none) the filter it matches in a listener's filter chain. The two sources
/// are kept apart, as Istio compares them in different forms.
fn instance_name(patch_entry: &Value, value: &Value) -> String {
    let Some(fields) = value.as_object() else {
        return String::new();
    };
    if let Some(name) = fields.get("name") {
        return format!("value:{name}");
    }
    patch_entry
        .at("/match/listener/filterChain")
        .filter(|chain| !chain.is_null())
        .and_then(|chain| chain.at("/filter/name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn priority(spec: &Value) -> i64 {
    match spec.get("priority") {
        Some(Value::Number(number)) => number.as_i64().unwrap_or(0),
        Some(Value::String(text)) => text.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Reports on one filter, each message at most once (at its first patch), as istioctl does.
struct FilterReport<'a> {
    filter: &'a Resource,
    reported: HashSet<&'static str>,
}

impl FilterReport<'_> {
    fn report(&mut self, sink: &mut Sink, code: &'static str, index: usize, message: String) {
        if !self.reported.insert(code) {
            return;
        }
        let index = index.to_string();
        sink.istio(
            code,
            self.filter,
            &["spec", "configPatches", &index, "patch", "operation"],
            message,
        );
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
    // Names of patches pinned to a proxy version, over all filters seen so far.
    let mut versioned_names: HashSet<String> = HashSet::new();
    for filter in mesh.of_kind(Kind::EnvoyFilter) {
        let spec = filter.spec();
        let priority = priority(spec);
        let display = filter.display_name();
        let mut report = FilterReport {
            filter,
            reported: HashSet::new(),
        };
        let patches = spec.get("configPatches").and_then(Value::as_array);
        for (index, entry) in patches.into_iter().flatten().enumerate() {
            let Some(patch) = entry.get("patch").filter(|patch| !patch.is_null()) else {
                break;
            };
            let name = patch
                .get("value")
                .map(|value| instance_name(entry, value))
                .unwrap_or_default();
            let operation = enum_name(patch.get("operation"), OPERATIONS);
            let apply_to = enum_name(entry.get("applyTo"), APPLY_TO);
            let route_level = matches!(apply_to, "ROUTE_CONFIGURATION" | "HTTP_ROUTE");
            let relative = match operation {
                "ADD" => {
                    if route_level {
                        report.report(
                            sink,
                            "IST0153",
                            index,
                            format!(
                                "EnvoyFilter {display} patch {index} uses ADD on {apply_to}, where Istio ignores it"
                            ),
                        );
                    }
                    false
                }
                "REMOVE" if route_level => {
                    report.report(
                        sink,
                        "IST0154",
                        index,
                        format!(
                            "EnvoyFilter {display} patch {index} uses REMOVE on {apply_to}, where Istio ignores it"
                        ),
                    );
                    false
                }
                "REPLACE"
                    if !matches!(apply_to, "NETWORK_FILTER" | "HTTP_FILTER" | "VIRTUAL_HOST") =>
                {
                    report.report(
                        sink,
                        "IST0152",
                        index,
                        format!(
                            "EnvoyFilter {display} patch {index} uses REPLACE on {apply_to}; REPLACE is only valid for HTTP_FILTER, NETWORK_FILTER and VIRTUAL_HOST"
                        ),
                    );
                    false
                }
                "REMOVE" | "REPLACE" | "INSERT_BEFORE" | "INSERT_AFTER" => true,
                _ => false,
            };
            if relative && priority == 0 {
                if versioned_names.contains(&name) {
                    report.report(
                        sink,
                        "IST0155",
                        index,
                        format!(
                            "EnvoyFilter {display} has no priority and patch {index} uses the relative operation {operation} on a filter another patch pins to a proxyVersion; it may not apply during an upgrade"
                        ),
                    );
                } else {
                    report.report(
                        sink,
                        "IST0151",
                        index,
                        format!(
                            "EnvoyFilter {display} has no priority and patch {index} uses the relative operation {operation}, so it may not apply depending on the order of other filters"
                        ),
                    );
                }
            }
            let version = entry
                .at("/match/proxy/proxyVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !version.is_empty() {
                versioned_names.insert(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn missing_patch_stops_the_filter() {
        let yaml = "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: f, namespace: ns}\nspec:\n  configPatches:\n  - applyTo: HTTP_FILTER\n  - applyTo: HTTP_ROUTE\n    patch: {operation: REMOVE}\n";
        assert!(check(&ENVOY_FILTER_PATCH_OPERATION, yaml).is_empty());
    }

    #[test]
    fn one_message_per_code_and_filter() {
        let yaml = "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: f, namespace: ns}\nspec:\n  configPatches:\n  - applyTo: HTTP_FILTER\n    patch: {operation: INSERT_BEFORE, value: {name: a}}\n  - applyTo: HTTP_FILTER\n    patch: {operation: INSERT_AFTER, value: {name: b}}\n";
        let findings = check(&ENVOY_FILTER_PATCH_OPERATION, yaml);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].istio_code, Some("IST0151"));
    }
}
