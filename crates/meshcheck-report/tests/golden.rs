//! Golden snapshots of every format on the bundled examples. The rules are frozen to the Istio
//! analyzer family (MC0xx) so that the snapshots change when a format or those rules change, not
//! whenever a rule lands elsewhere in the catalog (the CLI tests cover the whole catalog).

use std::path::{Path, PathBuf};
use std::sync::Once;

use meshcheck_model::{Mesh, MeshInputs};
use meshcheck_report::{InputSummary, PreApply, Report, TextOptions};
use meshcheck_rules::finding::FindingStatus;
use meshcheck_rules::{Rule, RunOptions, Severity, registry};
use serde_json::Value;

const EXAMPLES: [&str; 2] = ["bookinfo", "bookinfo-broken"];

fn frozen_rules() -> Vec<&'static Rule> {
    registry::all()
        .iter()
        .copied()
        .filter(|rule| rule.meta.code < "MC100")
        .collect()
}

/// Findings name files relative to the workspace, as `meshcheck analyze examples/...` prints them.
fn in_workspace() {
    static CHDIR: Once = Once::new();
    CHDIR.call_once(|| {
        let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::env::set_current_dir(root).expect("the workspace exists");
    });
}

fn report(example: &str) -> Report {
    in_workspace();
    let loaded = meshcheck_input::load_paths(&[PathBuf::from(format!("examples/{example}/"))])
        .expect("the example loads");
    assert!(loaded.issues.is_empty(), "{:?}", loaded.issues);
    let files = loaded.files;
    let mesh = Mesh::build(loaded.objects, MeshInputs::default());
    let rules = frozen_rules();
    let findings = meshcheck_rules::run(&mesh, &rules, &RunOptions::default());
    let input = InputSummary {
        kind: "manifests".to_owned(),
        files,
        objects: mesh.resources.len(),
        ..InputSummary::default()
    };
    let mut report = Report::with_rules(
        findings,
        rules.iter().map(|rule| &rule.meta).collect(),
        input,
    )
    .with_mesh(&mesh);
    // The reference data is refreshed on its own schedule; the snapshots are about the formats.
    report.data.clear();
    report
}

fn redact(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn text() {
    for example in EXAMPLES {
        let text = meshcheck_report::render_text(&report(example), TextOptions { color: false });
        insta::assert_snapshot!(format!("text_{example}"), text);
    }
}

#[test]
fn markdown() {
    for example in EXAMPLES {
        let markdown = meshcheck_report::render_markdown(&report(example));
        insta::assert_snapshot!(format!("markdown_{example}"), markdown);
    }
}

#[test]
fn json() {
    for example in EXAMPLES {
        let json = redact(&meshcheck_report::render_json(&report(example)));
        insta::assert_snapshot!(format!("json_{example}"), json);
    }
}

#[test]
fn junit() {
    for example in EXAMPLES {
        let xml = meshcheck_report::render_junit(&report(example), Severity::Error);
        insta::assert_snapshot!(format!("junit_{example}"), xml);
    }
}

#[test]
fn sarif() {
    for example in EXAMPLES {
        let mut log: Value =
            serde_json::from_str(&meshcheck_report::render_sarif(&report(example))).unwrap();
        // The rule descriptors are the rules' own documentation; the snapshot keeps their ids.
        let driver = &mut log["runs"][0]["tool"]["driver"];
        let ids: Vec<Value> = driver["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rule| rule["id"].clone())
            .collect();
        driver["rules"] = Value::Array(ids);
        driver["version"] = "[version]".into();
        driver["semanticVersion"] = "[version]".into();
        insta::assert_json_snapshot!(format!("sarif_{example}"), log);
    }
}

/// The page without its (unchanging) stylesheet and script, and with the policy hashes of those.
fn html_body(html: &str) -> String {
    let cut = |text: &str, open: &str, close: &str, placeholder: &str| -> String {
        let start = text.find(open).expect("opening tag") + open.len();
        let end = start + text[start..].find(close).expect("closing tag");
        format!("{}{placeholder}{}", &text[..start], &text[end..])
    };
    let html = cut(html, "<style>", "</style>", "[report.css]");
    let html = cut(&html, "<script>", "</script>", "[report.js]");
    let html = cut(
        &html,
        "Content-Security-Policy\" content=\"",
        "\"",
        "[policy]",
    );
    redact(&html)
}

#[test]
fn html() {
    for example in EXAMPLES {
        let html = meshcheck_report::render_html(&report(example));
        insta::assert_snapshot!(format!("html_{example}"), html_body(&html));
    }
}

/// A pre-apply check's shape: bookinfo-broken with the findings of two rules marked new, as if
/// the change set had brought them.
fn pre_apply_report() -> Report {
    let mut report = report("bookinfo-broken");
    let mut new = std::collections::BTreeMap::new();
    for severity in Severity::ALL {
        new.insert(severity.as_str().to_owned(), 0);
    }
    for finding in &mut report.findings {
        let brought = matches!(finding.code, "MC038" | "MC019");
        finding.status = Some(if brought {
            *new.get_mut(finding.severity.as_str()).unwrap() += 1;
            FindingStatus::New
        } else {
            FindingStatus::Existing
        });
    }
    report
        .findings
        .sort_by_key(|finding| finding.status != Some(FindingStatus::New));
    let new_total: usize = new.values().sum();
    report.pre_apply = Some(PreApply {
        against: "snapshot.tar.zst".to_owned(),
        added: 1,
        replaced: 2,
        deleted: 1,
        existing: report.findings.len() - new_total,
        new,
    });
    report
}

#[test]
fn pre_apply() {
    let report = pre_apply_report();
    let text = meshcheck_report::render_text(&report, TextOptions { color: false });
    insta::assert_snapshot!("text_pre_apply", text);
    insta::assert_snapshot!(
        "markdown_pre_apply",
        meshcheck_report::render_markdown(&report)
    );
    let json: Value = serde_json::from_str(&meshcheck_report::render_json(&report)).unwrap();
    // The findings and the pre-apply summary are what this mode adds to the document.
    insta::assert_json_snapshot!(
        "json_pre_apply",
        serde_json::json!({"pre_apply": json["pre_apply"], "findings": json["findings"]})
    );
}
