//! Istio telemetry analyzers: Telemetry selectors and providers.

mod default_selector;
mod lightstep;
mod providers;
mod selector;

use meshcheck_model::Resource;

pub static RULES: &[&crate::Rule] = &[
    &providers::TELEMETRY_PROVIDER,
    &selector::TELEMETRY_SELECTOR,
    &default_selector::TELEMETRY_DEFAULT_SELECTOR,
    &lightstep::TELEMETRY_LIGHTSTEP,
];

/// Resource names, sorted, comma-separated.
fn sorted_names(resources: &[&Resource]) -> String {
    let mut names: Vec<&str> = resources.iter().map(|resource| resource.name()).collect();
    names.sort_unstable();
    names.join(", ")
}
