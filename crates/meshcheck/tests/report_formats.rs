//! Every output format on the bundled examples, as users run them: golden snapshots (with the
//! version and the size of the rule catalog redacted, so that they change only when findings or
//! formats do), SARIF validated against the official 2.1.0 schema, JUnit and JSON parsed back.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const EXAMPLES: [&str; 2] = ["bookinfo", "bookinfo-broken"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn meshcheck(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_meshcheck"))
        .args(args)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .output()
        .expect("meshcheck runs");
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "meshcheck {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("output is UTF-8")
}

fn analyze(example: &str, format: &str) -> String {
    meshcheck(&["analyze", &format!("examples/{example}/"), "-o", format])
}

fn rule_count() -> usize {
    let rules: Value = serde_json::from_str(&meshcheck(&["rules", "-o", "json"])).unwrap();
    rules.as_array().expect("rules are a list").len()
}

/// Replaces what changes with every release or every new rule elsewhere in the catalog.
fn redact(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
        .replace(&format!("{} rules", rule_count()), "[N] rules")
}

#[test]
fn text_summary_table() {
    for example in EXAMPLES {
        let text = redact(&analyze(example, "text"));
        let table = &text[text.find("Health score").expect("a score line")..];
        insta::assert_snapshot!(format!("text_{example}"), table);
    }
}

#[test]
fn markdown() {
    for example in EXAMPLES {
        let markdown = redact(&analyze(example, "markdown"));
        assert!(markdown.len() < 65_536, "too long for a PR comment");
        insta::assert_snapshot!(format!("markdown_{example}"), markdown);
    }
}

#[test]
fn json_score_and_checklist() {
    for example in EXAMPLES {
        let mut report: Value = serde_json::from_str(&analyze(example, "json")).unwrap();
        let summary = &mut report["summary"];
        summary["meshcheck_version"] = "[version]".into();
        summary["rules_run"] = "[N]".into();
        for category in summary["score"]["categories"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            category["rules"] = "[N]".into();
        }
        let subset = serde_json::json!({
            "score": report["summary"]["score"],
            "checklist": report["checklist"],
            "inventory": report["inventory"],
        });
        insta::assert_json_snapshot!(format!("json_{example}"), subset);
    }
}

#[test]
fn junit() {
    for example in EXAMPLES {
        let xml = redact(&analyze(example, "junit"));
        // Passing cases of rules that found nothing are one line each; they come and go with the
        // catalog, so the snapshot keeps the cases with findings and the failure counts.
        let kept: Vec<String> = xml
            .lines()
            .filter(|line| !(line.trim_start().starts_with("<testcase") && line.ends_with("/>")))
            .map(|line| {
                let mut line = line.to_owned();
                if let Some(start) = line.find(" tests=\"") {
                    let end = line[start + 8..].find('"').unwrap() + start + 8;
                    line.replace_range(start..=end, " tests=\"[N]\"");
                }
                line
            })
            .collect();
        insta::assert_snapshot!(format!("junit_{example}"), kept.join("\n"));
    }
}

#[test]
fn junit_counts_every_rule_and_fails_on_threshold() {
    let xml = analyze("bookinfo-broken", "junit");
    let rules = rule_count();
    let testcases = xml.matches("<testcase ").count();
    assert!(
        testcases >= rules,
        "{testcases} test cases for {rules} rules"
    );
    assert!(xml.contains("failures=\"5\""), "{xml}");
    let strict = meshcheck(&[
        "analyze",
        "examples/bookinfo-broken/",
        "-o",
        "junit",
        "--fail-on",
        "warning",
    ]);
    let failures = strict.matches("<failure ").count();
    assert!(failures > 5, "warnings fail too: {failures}");
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            workspace().join("crates/meshcheck-report/tests/data/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for example in EXAMPLES {
        let log: Value = serde_json::from_str(&analyze(example, "sarif")).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|error| format!("{error} at {}", error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{example}: {errors:#?}");
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), rule_count());
        for rule in rules {
            for field in [
                "id",
                "name",
                "shortDescription",
                "fullDescription",
                "help",
                "helpUri",
            ] {
                assert!(
                    !rule[field].is_null(),
                    "{example}: rule without {field}: {rule}"
                );
            }
        }
        insta::assert_json_snapshot!(format!("sarif_results_{example}"), run["results"]);
    }
}
