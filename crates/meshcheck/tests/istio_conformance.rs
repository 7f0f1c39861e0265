//! Istio's own analyzer table tests (copied in `tests/conformance/istio/`, see its NOTICE), run
//! against the `meshcheck` binary the way `istioctl analyze` users would run it.
//!
//! A case passes when the multiset of (Istio code, resource) among findings whose Istio code the
//! analyzer under test can emit equals the expected multiset. Findings that name the Istio analyzer
//! they mirror count only in that analyzer's cases (Istio runs one analyzer per case). The test
//! fails when fewer cases pass than the floor kept in `FLOOR`; raise it as rules improve.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/istio")
}

type Counts = BTreeMap<(String, String), usize>;

fn origin(resource: &Value) -> String {
    let kind = resource["kind"].as_str().unwrap_or_default();
    let name = resource["name"].as_str().unwrap_or_default();
    match resource.get("namespace").and_then(Value::as_str) {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Runs one case; returns the difference (missing, extra) — both empty when it passes.
fn run_case(case: &Value) -> Result<(Vec<String>, Vec<String>), String> {
    let inputs = suite_dir().join("inputs");
    let mut command = Command::new(env!("CARGO_BIN_EXE_meshcheck"));
    command.arg("analyze");
    for file in case["input_files"].as_array().unwrap() {
        command.arg(inputs.join(file.as_str().unwrap()));
    }
    if let Some(file) = case["mesh_config"].as_str() {
        command.arg("--mesh-config").arg(inputs.join(file));
    }
    if let Some(file) = case["mesh_networks"].as_str() {
        command.arg("--mesh-networks").arg(inputs.join(file));
    }
    command.args(["--output", "json"]);
    let output = command.output().map_err(|error| error.to_string())?;
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|error| {
        format!(
            "no JSON output ({error}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let analyzer = case["analyzer"].as_str().unwrap();
    let codes: Vec<&str> = case["analyzer_codes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut got: Counts = BTreeMap::new();
    for finding in report["findings"].as_array().unwrap() {
        let Some(code) = finding.get("istio_code").and_then(Value::as_str) else {
            continue;
        };
        let named = finding.get("istio_analyzer").and_then(Value::as_str);
        if !codes.contains(&code) || named.is_some_and(|named| named != analyzer) {
            continue;
        }
        let resource = finding.get("resource").map(origin).unwrap_or_default();
        *got.entry((code.to_owned(), resource)).or_default() += 1;
    }
    let mut want: Counts = BTreeMap::new();
    for expected in case["expected"].as_array().unwrap() {
        let key = (
            expected["code"].as_str().unwrap().to_owned(),
            expected["resource"].as_str().unwrap().to_owned(),
        );
        *want.entry(key).or_default() += 1;
    }
    let difference = |a: &Counts, b: &Counts| -> Vec<String> {
        a.iter()
            .flat_map(|(key, &count)| {
                let extra = count.saturating_sub(b.get(key).copied().unwrap_or(0));
                std::iter::repeat_n(format!("{} {}", key.0, key.1), extra)
            })
            .collect()
    };
    Ok((difference(&want, &got), difference(&got, &want)))
}

#[test]
fn istio_analyzer_conformance() {
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(suite_dir().join("cases.json")).unwrap())
            .unwrap();
    let cases = cases["cases"].as_array().unwrap();
    let floor: usize = std::fs::read_to_string(suite_dir().join("FLOOR"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut passed = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let analyzer = case["analyzer"].as_str().unwrap();
        match run_case(case) {
            Ok((missing, extra)) if missing.is_empty() && extra.is_empty() => passed += 1,
            Ok((missing, extra)) => {
                println!("FAIL {name} ({analyzer})");
                for line in missing {
                    println!("   missing  {line}");
                }
                for line in extra {
                    println!("   extra    {line}");
                }
            }
            Err(error) => println!("FAIL {name} ({analyzer}): {error}"),
        }
    }
    println!(
        "istio analyzer conformance: {passed}/{} cases pass",
        cases.len()
    );
    assert!(
        passed >= floor,
        "conformance fell below the floor: {passed} < {floor} (tests/conformance/istio/FLOOR)"
    );
}
