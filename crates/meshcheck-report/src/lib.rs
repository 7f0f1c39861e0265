//! Renderers: every output format is built from one [`Report`].

mod report;
mod text;

pub use report::{InputSummary, LoadProblem, Report, Summary};
pub use text::{TextOptions, render_text};

/// The machine-readable report as JSON (the contract other tools rely on).
pub fn render_json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report always serializes");
    text.push('\n');
    text
}

/// The same document as YAML.
pub fn render_yaml(report: &Report) -> String {
    let value = serde_json::to_value(report).expect("a report always serializes");
    serde_saphyr::to_string(&value).expect("JSON values always serialize to YAML")
}
