//! Every output format on the bundled examples with the whole rule catalog, as users run them:
//! SARIF validated against the official 2.1.0 schema, JUnit, JSON and Markdown checked for their
//! structure. (Golden snapshots of each format live in `meshcheck-report/tests/golden.rs`, over a
//! frozen rule set so that new rules do not churn them.)

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

#[test]
fn text_ends_with_the_summary_table() {
    for example in EXAMPLES {
        let text = analyze(example, "text");
        let table = &text[text.find("Health score").expect("a score line")..];
        for row in ["Platform", "Security", "Ingress/Egress", "Overall"] {
            assert!(table.contains(row), "{example}: {table}");
        }
    }
}

#[test]
fn markdown_fits_a_pull_request_comment() {
    for example in EXAMPLES {
        let markdown = analyze(example, "markdown");
        assert!(markdown.starts_with("## meshcheck: health score "));
        assert!(markdown.len() < 65_536, "too long for a PR comment");
        assert!(markdown.contains("| **Overall** |"));
    }
}

#[test]
fn json_has_score_checklist_and_inventory() {
    for example in EXAMPLES {
        let report: Value = serde_json::from_str(&analyze(example, "json")).unwrap();
        let score = &report["summary"]["score"];
        assert!(score["overall"].as_u64().unwrap() <= 100);
        assert!(["A", "B", "C", "D", "F"].contains(&score["grade"].as_str().unwrap()));
        assert_eq!(score["categories"].as_object().unwrap().len(), 6);
        assert!(report["checklist"].is_array());
        assert_eq!(report["data"][0]["name"], "Istio security bulletins");
        assert!(report["data"][0]["as_of"].as_str().unwrap().len() == 10);
        assert!(report["inventory"]["proxy_versions"].is_array());
        // The older fields stay.
        for field in ["total", "by_severity", "by_category", "rules_run"] {
            assert!(!report["summary"][field].is_null(), "{field}");
        }
    }
    let broken: Value = serde_json::from_str(&analyze("bookinfo-broken", "json")).unwrap();
    assert_eq!(
        broken["inventory"]["proxy_versions"][0]["version"],
        "1.24.2"
    );
    // Plain manifests without istiod cannot show the whole mesh: the readiness rules stay silent,
    // and the checklist says so instead of passing.
    let checklist = broken["checklist"].as_array().unwrap();
    assert!(
        !checklist.is_empty(),
        "the readiness rules are in the catalog"
    );
    for item in checklist {
        assert_eq!(item["status"], "not-evaluated", "{item}");
    }
    assert!(broken["summary"]["score"]["categories"]["readiness"]["score"].is_null());
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
    // One failure per rule × resource with an error or critical finding.
    let report: Value = serde_json::from_str(&analyze("bookinfo-broken", "json")).unwrap();
    let failing: std::collections::BTreeSet<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| matches!(finding["severity"].as_str(), Some("error" | "critical")))
        .map(|finding| format!("{} {}", finding["code"], finding["resource"]))
        .collect();
    assert!(!failing.is_empty());
    assert!(
        xml.contains(&format!(
            "<testsuites name=\"meshcheck\" tests=\"{testcases}\" skipped=\"0\" failures=\"{}\"",
            failing.len()
        )),
        "{xml}"
    );
    let strict = meshcheck(&[
        "analyze",
        "examples/bookinfo-broken/",
        "-o",
        "junit",
        "--fail-on",
        "warning",
    ]);
    let failures = strict.matches("<failure ").count();
    assert!(failures > failing.len(), "warnings fail too: {failures}");
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
        assert_eq!(
            run["results"].as_array().unwrap().len(),
            serde_json::from_str::<Value>(&analyze(example, "json")).unwrap()["findings"]
                .as_array()
                .unwrap()
                .len()
        );
        assert_every_result_has_a_file(&log, example);
    }
}

/// GitHub code scanning rejects a result without a physical location: mesh-wide findings (no
/// resource, no file) must point somewhere too. Returns the files of those mesh-wide results.
fn assert_every_result_has_a_file(log: &Value, what: &str) -> Vec<String> {
    let mut mesh_wide = Vec::new();
    for result in log["runs"][0]["results"].as_array().unwrap() {
        let location = &result["locations"][0];
        let uri = location["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: a result without a file: {result}"));
        if location["logicalLocations"].is_null() {
            mesh_wide.push(uri.to_owned());
        }
    }
    mesh_wide
}

#[test]
fn mesh_wide_findings_point_at_the_mesh_config_else_the_first_file() {
    // 24 namespaces outside the mesh and no mesh config: MC509 (discovery selectors) reports on the
    // mesh as a whole, with no object of its own to point at.
    let dir = workspace().join("target/report-formats");
    let namespaces = dir.join("many-namespaces");
    std::fs::create_dir_all(&namespaces).unwrap();
    let mut text = String::new();
    for index in 0..24 {
        text.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: team-{index:02}}}\n---\n"
        ));
    }
    std::fs::write(namespaces.join("b-namespaces.yaml"), text).unwrap();
    std::fs::write(
        namespaces.join("a-service.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: team-00}\nspec: {ports: [{port: 80}]}\n",
    )
    .unwrap();
    let sarif = |args: &[&str]| -> Value {
        let mut all = vec![
            "analyze",
            "target/report-formats/many-namespaces/",
            "-o",
            "sarif",
        ];
        all.extend_from_slice(args);
        serde_json::from_str(&meshcheck(&all)).unwrap()
    };
    let first_file = assert_every_result_has_a_file(&sarif(&[]), "directory");
    assert!(!first_file.is_empty(), "a mesh-wide finding");
    assert!(
        first_file
            .iter()
            .all(|uri| uri == "target/report-formats/many-namespaces/a-service.yaml"),
        "{first_file:?}"
    );

    let mesh_config = dir.join("mesh-config.yaml");
    std::fs::write(
        &mesh_config,
        "defaultConfig:\n  holdApplicationUntilProxyStarts: true\n",
    )
    .unwrap();
    let with_config = sarif(&["--mesh-config", "target/report-formats/mesh-config.yaml"]);
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            workspace().join("crates/meshcheck-report/tests/data/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(jsonschema::is_valid(&schema, &with_config));
    let anchored = assert_every_result_has_a_file(&with_config, "--mesh-config");
    assert!(!anchored.is_empty());
    assert!(
        anchored
            .iter()
            .all(|uri| uri == "target/report-formats/mesh-config.yaml"),
        "{anchored:?}"
    );
}

#[test]
fn every_format_renders_for_an_archive() {
    let dir = workspace().join("target/report-formats");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("bookinfo-broken.tar.zst");
    let _ = std::fs::remove_file(&archive);
    meshcheck(&[
        "pack",
        "examples/bookinfo-broken/",
        "-o",
        archive.to_str().unwrap(),
    ]);
    let path = archive.to_str().unwrap();
    let report: Value = serde_json::from_str(&meshcheck(&["analyze", path, "-o", "json"])).unwrap();
    assert_eq!(report["input"]["kind"], "archive");
    // Packed manifests are still manifests (the archive says so): the checklist is not judged,
    // exactly as for the directory.
    assert_eq!(report["cluster"]["source"], "manifests");
    for item in report["checklist"].as_array().unwrap() {
        assert_eq!(item["status"], "not-evaluated", "{item}");
    }
    let findings = report["findings"].as_array().unwrap().len();
    assert!(meshcheck(&["analyze", path]).contains("Health score"));
    assert!(meshcheck(&["analyze", path, "-o", "markdown"]).contains("### Go-live checklist"));
    assert!(
        meshcheck(&["analyze", path, "-o", "junit"]).contains("<testsuites name=\"meshcheck\"")
    );
    let sarif: Value = serde_json::from_str(&meshcheck(&["analyze", path, "-o", "sarif"])).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        findings
    );
    let html = meshcheck(&["analyze", path, "-o", "html"]);
    assert!(html.contains("<dt>Input</dt><dd>archive</dd>"));
    assert_eq!(html.matches("<tr class=\"finding\"").count(), findings);
}
