//! Renderers: every output format is built from one [`Report`].

pub mod checklist;
mod html;
pub mod inventory;
mod junit;
mod markdown;
mod report;
mod sarif;
pub mod score;
pub mod svg;
mod text;

#[cfg(test)]
pub(crate) mod testing;

pub use checklist::{ChecklistItem, ItemStatus};
pub use html::render_html;
pub use inventory::Inventory;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use report::{DataSource, InputSummary, LoadProblem, PreApply, Report, Summary};
pub use sarif::render_sarif;
pub use score::{Grade, Score};
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
