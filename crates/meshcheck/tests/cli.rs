//! The CLI as users run it: exit codes, errors on bad input, the JSON contract, suppression.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod support {
    pub mod command;
}
use support::command::{meshcheck, stderr, stdout};

fn meshcheck_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshcheck"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshcheck runs");
    // meshcheck may exit before reading stdin (a usage error): a broken pipe is expected then.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}\nstderr: {}",
            stdout(output),
            stderr(output)
        )
    })
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshcheck-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const UNNAMED_PORT: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - name: web\n    port: 80\n";

#[test]
fn healthy_bookinfo_has_no_error() {
    let output = meshcheck(&[
        "analyze",
        "examples/bookinfo",
        "-o",
        "json",
        "--fail-on",
        "error",
    ]);
    let report = json(&output);
    let errors: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| matches!(finding["severity"].as_str(), Some("error" | "critical")))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn json_contract_fields() {
    let output = meshcheck_stdin(&["analyze", "-", "-o", "json"], UNNAMED_PORT);
    let report = json(&output);
    let finding = &report["findings"][0];
    for field in [
        "code",
        "istio_code",
        "severity",
        "category",
        "resource",
        "message",
        "remediation",
        "docs_url",
        "source",
    ] {
        assert!(finding.get(field).is_some(), "missing {field} in {finding}");
    }
    assert_eq!(finding["istio_code"], "IST0118");
    assert_eq!(finding["resource"]["kind"], "Service");
    assert_eq!(finding["resource"]["api_version"], "v1");
    // The input object has no namespace: none is invented.
    assert!(finding["resource"].get("namespace").is_none());
    assert_eq!(finding["source"]["file"], "<stdin>");
    assert_eq!(finding["source"]["line"], 8);
    assert_eq!(report["summary"]["total"], 1);
}

#[test]
fn yaml_output_is_the_same_document() {
    let output = meshcheck_stdin(&["analyze", "-", "-o", "yaml"], UNNAMED_PORT);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("istio_code: IST0118"), "{text}");
}

#[test]
fn fail_on_sets_exit_status() {
    let file = temp_file("port.yaml", UNNAMED_PORT);
    let file = file.to_str().unwrap();
    assert_eq!(meshcheck(&["analyze", file]).status.code(), Some(0));
    assert_eq!(
        meshcheck(&["analyze", file, "--fail-on", "info"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        meshcheck(&["analyze", file, "--fail-on", "warning"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn broken_document_is_named_and_the_rest_is_analyzed() {
    let file = temp_file(
        "broken.yaml",
        &format!("{UNNAMED_PORT}---\napiVersion: v1\nkind: Service\nmetadata: {{name: [oops\n"),
    );
    let output = meshcheck(&["analyze", file.to_str().unwrap(), "-o", "json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    let line = stderr
        .lines()
        .find(|line| line.contains("broken.yaml:"))
        .expect(&stderr);
    assert!(
        line.contains("broken.yaml:13") || line.contains("broken.yaml:14"),
        "{line}"
    );
    assert_eq!(
        json(&output)["summary"]["total"],
        1,
        "the good document is still analyzed"
    );
    assert_eq!(json(&output)["input"]["problems"][0]["severity"], "error");
}

#[test]
fn missing_path_is_a_one_line_error() {
    let output = meshcheck(&["analyze", "no/such/dir"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert_eq!(
        stderr.trim(),
        "meshcheck: error: no/such/dir: no such file or directory"
    );
}

#[test]
fn non_kubernetes_documents_are_skipped_with_a_warning() {
    let output = meshcheck_stdin(&["analyze", "-"], "foo: bar\n");
    assert_eq!(output.status.code(), Some(0));
    let stderr = stderr(&output);
    assert!(
        stderr.contains("warning: <stdin>:1: skipped: not a Kubernetes object"),
        "{stderr}"
    );
}

#[test]
fn binary_and_invalid_utf8_input_is_an_error_not_a_panic() {
    let file = temp_file("binary.yaml", "");
    std::fs::write(&file, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let output = meshcheck(&["analyze", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not UTF-8"));
}

#[test]
fn suppression_by_flag_and_annotation() {
    let by_flag = meshcheck_stdin(
        &[
            "analyze",
            "-",
            "-o",
            "json",
            "--suppress",
            "IST0118=Service web",
        ],
        UNNAMED_PORT,
    );
    assert_eq!(json(&by_flag)["summary"]["total"], 0);
    let by_glob = meshcheck_stdin(
        &[
            "analyze",
            "-",
            "-o",
            "json",
            "--suppress",
            "MC028=Service *",
        ],
        UNNAMED_PORT,
    );
    assert_eq!(json(&by_glob)["summary"]["total"], 0);
    let annotated = UNNAMED_PORT.replace(
        "  name: web\n",
        "  name: web\n  annotations:\n    galley.istio.io/analyze-suppress: IST0118\n",
    );
    let report = json(&meshcheck_stdin(
        &["analyze", "-", "-o", "json"],
        &annotated,
    ));
    let port_findings = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["istio_code"] == "IST0118")
        .count();
    assert_eq!(port_findings, 0, "{report}");
    let bad = meshcheck_stdin(&["analyze", "-", "--suppress", "IST0118"], UNNAMED_PORT);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn namespace_focus() {
    let input = format!(
        "{UNNAMED_PORT}---\n{}",
        UNNAMED_PORT.replace("  name: web\n", "  name: api\n  namespace: shop\n")
    );
    let shop = json(&meshcheck_stdin(
        &["analyze", "-", "-o", "json", "-n", "shop"],
        &input,
    ));
    assert_eq!(shop["summary"]["total"], 1);
    assert_eq!(shop["findings"][0]["resource"]["name"], "api");
    // An object without a namespace lives in `default`.
    let default = json(&meshcheck_stdin(
        &["analyze", "-", "-o", "json", "-n", "default"],
        &input,
    ));
    assert_eq!(default["findings"][0]["resource"]["name"], "web");
}

#[test]
fn rules_and_explain() {
    let rules = json(&meshcheck(&["rules", "--output", "json"]));
    let rules = rules.as_array().unwrap();
    assert!(rules.iter().any(|rule| rule["code"] == "MC028"));
    let explain = meshcheck(&["explain", "IST0118"]);
    let text = stdout(&explain);
    assert!(text.contains("## What it does"), "{text}");
    let unknown = meshcheck(&["explain", "MC999"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn proxy_stats_feed_the_envoy_stats_rules() {
    let stats = temp_file(
        "ratings-grpc-5d8f7b9c6-q2x7w.shop.txt",
        "listener.0.0.0.0_15006.worker_0.downstream_cx_active: 13\nlistener.0.0.0.0_15006.worker_1.downstream_cx_active: 1\nlistener.0.0.0.0_15006.worker_2.downstream_cx_active: 0\nlistener.0.0.0.0_15006.worker_3.downstream_cx_active: 2\nserver.concurrency: 4\n",
    );
    let output = meshcheck(&[
        "analyze",
        "examples/bookinfo",
        "--proxy-stats",
        stats.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let findings = json(&output)["findings"].as_array().unwrap().clone();
    let imbalance = findings
        .iter()
        .find(|finding| finding["code"] == "MC512")
        .expect("MC512 reported");
    assert_eq!(
        imbalance["resource"]["name"],
        "ratings-grpc-5d8f7b9c6-q2x7w"
    );
    assert_eq!(imbalance["resource"]["namespace"], "shop");
    assert!(
        imbalance["remediation"]
            .as_str()
            .unwrap()
            .contains("exact_balance on the inbound listener")
    );

    let broken = temp_file("broken.txt", "server.concurrency: 4\nnot a stat line\n");
    let output = meshcheck(&[
        "analyze",
        "examples/bookinfo",
        "--proxy-stats",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(
        stderr.contains("broken.txt:2: expected `name: value`"),
        "{stderr}"
    );
}

#[test]
fn advisories_file_replaces_the_bundled_bulletins() {
    let istiod = temp_file(
        "istiod-1-24-1.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod, namespace: istio-system}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: istiod}}\n  template:\n    metadata: {labels: {app: istiod, istio: pilot}}\n    spec:\n      containers:\n      - name: discovery\n        image: docker.io/istio/pilot:1.24.1\n",
    );
    let istiod = istiod.to_str().unwrap();
    let advisory = |output: &Output| -> Value {
        json(output)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|finding| finding["code"] == "MC290")
            .cloned()
            .unwrap_or(Value::Null)
    };

    let bundled = advisory(&meshcheck(&["analyze", istiod, "-o", "json"]));
    let message = bundled["message"].as_str().unwrap();
    assert!(message.contains("ISTIO-SECURITY-2024-007"), "{message}");
    assert!(message.contains("advisory data as of 2026-"), "{message}");

    let file = temp_file(
        "advisories.json",
        r#"{"source": "internal mirror", "data_as_of": "2027-01-15", "bulletins": [
            {"id": "TEST-2027-001", "date": "2027-01-10", "summary": "test", "cves": ["CVE-2027-0001"],
             "cvss": 9.8, "components": ["control-plane"],
             "affected": [{"from": "1.24.0", "through": "1.24.9", "fixed": "1.24.10"}]}]}"#,
    );
    let custom = advisory(&meshcheck(&[
        "analyze",
        istiod,
        "--advisories",
        file.to_str().unwrap(),
        "-o",
        "json",
    ]));
    let message = custom["message"].as_str().unwrap();
    assert!(message.contains("TEST-2027-001"), "{message}");
    assert!(!message.contains("ISTIO-SECURITY"), "{message}");
    assert!(message.contains("upgrade to 1.24.10 or later"), "{message}");
    assert!(
        message.contains("advisory data as of 2027-01-15"),
        "{message}"
    );
    assert_eq!(custom["severity"], "critical");

    let broken = temp_file(
        "broken-advisories.json",
        "{\"source\": \"x\",\n  \"bulletins\": [\n",
    );
    let output = meshcheck(&["analyze", istiod, "--advisories", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(
        stderr.contains("broken-advisories.json:3:"),
        "error should name file and line: {stderr}"
    );
}
