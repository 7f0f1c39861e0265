//! Pre-apply checks (`analyze CHANGES --against SNAPSHOT`, `--against-live`): a change set laid
//! over a snapshot of the healthy Bookinfo mesh, findings marked new or existing, and the
//! `--fail-on-new` gate a pull request needs.

mod support {
    pub mod cluster;
    pub mod command;
}

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use support::cluster::{TestCluster, apply, manifests, workspace_root};
use support::command::{meshcheck, stderr, stdout};

/// A fresh directory per test, under the target directory.
fn temp_dir(test: &str) -> PathBuf {
    let dir = workspace_root()
        .join("target/pre-apply-tests")
        .join(format!("{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The healthy mesh, packed as the snapshot the changes are checked against.
fn snapshot(dir: &Path) -> String {
    let archive = dir.join("bookinfo.tar.zst");
    let output = meshcheck(&["pack", "examples/bookinfo", "-o", archive.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    archive.to_str().unwrap().to_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn json_report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("not JSON ({error}); stderr: {}", stderr(output));
    })
}

/// `(code, kind name, file)` of each new finding at or above error.
fn new_errors(report: &Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["status"] == "new")
        .filter(|finding| matches!(finding["severity"].as_str(), Some("error" | "critical")))
        .map(|finding| {
            (
                finding["code"].as_str().unwrap().to_owned(),
                format!(
                    "{} {}",
                    finding["resource"]["kind"], finding["resource"]["name"]
                )
                .replace('"', ""),
                finding["source"]["file"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn every_finding_has_a_status(report: &Value) {
    for finding in report["findings"].as_array().unwrap() {
        assert!(
            matches!(finding["status"].as_str(), Some("new" | "existing")),
            "{finding}"
        );
    }
}

const REVIEWS_SPLIT: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - timeout: 5s
    route:
    - destination: {host: reviews, subset: v1}
      weight: 80
    - destination: {host: reviews, subset: v2}
      weight: 20
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      http: {http1MaxPendingRequests: 100}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"#;

const DETAILS_RETRIES: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: details
spec:
  hosts: [details]
  http:
  - timeout: 3s
    retries: {attempts: 2, perTryTimeout: 1s}
    route:
    - destination: {host: details, subset: v1}
"#;

#[test]
fn a_change_that_references_the_snapshots_services_brings_no_error() {
    let dir = temp_dir("clean");
    let archive = snapshot(&dir);
    write(&dir, "change/reviews.yaml", REVIEWS_SPLIT);
    let change = write(&dir, "change/details.yaml", DETAILS_RETRIES);
    let change_dir = Path::new(&change).parent().unwrap().to_str().unwrap();
    let output = meshcheck(&[
        "analyze",
        change_dir,
        "--against",
        &archive,
        "--fail-on-new",
        "error",
        "-o",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = json_report(&output);
    every_finding_has_a_status(&report);
    assert_eq!(new_errors(&report), []);
    let pre_apply = &report["pre_apply"];
    assert_eq!(pre_apply["against"], archive.as_str());
    assert_eq!(
        (
            &pre_apply["added"],
            &pre_apply["replaced"],
            &pre_apply["deleted"]
        ),
        (&json!(0), &json!(3), &json!(0))
    );
    assert_eq!(pre_apply["new"]["error"], 0);
    assert_eq!(pre_apply["new"]["critical"], 0);
    // Findings on changed objects point into the change files.
    let on_reviews = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["resource"]["name"] == "reviews")
        .map(|finding| finding["source"]["file"].as_str().unwrap().to_owned());
    if let Some(file) = on_reviews {
        assert!(file.ends_with("change/reviews.yaml"), "{file}");
    }
}

const REVIEWS_TO_V9: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v9}
"#;

#[test]
fn a_route_to_an_undefined_subset_is_one_new_error_and_fails_the_gate() {
    let dir = temp_dir("subset");
    let archive = snapshot(&dir);
    let change = write(&dir, "change/reviews.yaml", REVIEWS_TO_V9);
    let report = json_report(&meshcheck(&[
        "analyze",
        &change,
        "--against",
        &archive,
        "-o",
        "json",
    ]));
    every_finding_has_a_status(&report);
    assert_eq!(
        new_errors(&report),
        [(
            "MC038".to_owned(),
            "VirtualService reviews".to_owned(),
            change.clone()
        )]
    );
    assert_eq!(report["findings"][0]["status"], "new", "new findings first");
    assert_eq!(report["pre_apply"]["new"]["error"], 1);

    let gate = meshcheck(&[
        "analyze",
        &change,
        "--against",
        &archive,
        "--fail-on-new",
        "error",
    ]);
    assert_eq!(gate.status.code(), Some(1), "{}", stderr(&gate));
    let text = stdout(&gate);
    let new = text.find("══ New: ").expect("a new section");
    let existing = text.find("══ Existing: ").expect("an existing section");
    let error = text.find("Error [MC038").expect("the new error");
    assert!(new < error && error < existing, "{text}");
    assert!(text.contains("1 new finding (1 error)"), "{text}");

    let without = meshcheck(&["analyze", &change, "--against", &archive]);
    assert_eq!(without.status.code(), Some(0), "{}", stderr(&without));
    // Existing findings do not fail the gate: the snapshot's own warnings are still there.
    let warnings = meshcheck(&[
        "analyze",
        &change,
        "--against",
        &archive,
        "--fail-on-new",
        "warning",
    ]);
    assert_eq!(warnings.status.code(), Some(1));

    let markdown = stdout(&meshcheck(&[
        "analyze",
        &change,
        "--against",
        &archive,
        "-o",
        "markdown",
    ]));
    let table = markdown
        .find("### New findings")
        .expect("new findings table");
    assert!(
        markdown[table..].find("MC038").unwrap()
            < markdown[table..].find("### All findings").unwrap()
    );
    let html = stdout(&meshcheck(&[
        "analyze",
        &change,
        "--against",
        &archive,
        "-o",
        "html",
    ]));
    assert!(html.find("id=\"pre-apply\"").unwrap() < html.find("id=\"summary\"").unwrap());
    assert_eq!(html.matches("<tr class=\"new-finding\"").count(), 1);
    let sarif: Value = serde_json::from_str(&stdout(&meshcheck(&[
        "analyze",
        &change,
        "--against",
        &archive,
        "-o",
        "sarif",
    ])))
    .unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .all(|result| result["properties"]["status"].is_string())
    );
    assert_eq!(results[0]["properties"]["status"], "new");
}

#[test]
fn deleting_a_destination_rule_still_referenced_is_a_new_error_on_the_virtual_service() {
    let dir = temp_dir("delete");
    let archive = snapshot(&dir);
    let deleted = write(
        &dir,
        "deleted.txt",
        "# objects this change removes\nDestinationRule reviews   # default namespace\n",
    );
    let empty_change = dir.join("change");
    std::fs::create_dir_all(&empty_change).unwrap();
    let change = empty_change.to_str().unwrap();
    let listed = meshcheck(&[
        "analyze",
        change,
        "--against",
        &archive,
        "--deleted",
        &deleted,
        "--fail-on-new",
        "error",
        "-o",
        "json",
    ]);
    assert_eq!(listed.status.code(), Some(1), "{}", stderr(&listed));
    let report = json_report(&listed);
    assert_eq!(report["pre_apply"]["deleted"], 1);
    let errors = new_errors(&report);
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .all(|(_, resource, _)| resource == "VirtualService reviews"),
        "{errors:?}"
    );

    // The same deletion as an annotated document in the change set.
    let annotated = write(
        &dir,
        "annotated/reviews-gone.yaml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: reviews\n  annotations: {meshcheck.io/delete: \"true\"}\nspec: {host: reviews}\n",
    );
    let report = json_report(&meshcheck(&[
        "analyze",
        &annotated,
        "--against",
        &archive,
        "-o",
        "json",
    ]));
    assert_eq!(report["pre_apply"]["deleted"], 1);
    assert_eq!(new_errors(&report).len(), errors.len());
}

#[test]
fn bad_pre_apply_input_exits_2_with_one_line_naming_the_file() {
    let dir = temp_dir("bad");
    let archive = snapshot(&dir);
    let change = write(&dir, "change/reviews.yaml", REVIEWS_TO_V9);
    let bad_list = write(&dir, "deleted.txt", "DestinationRule reviews\nnot-a-line\n");
    let not_archive = write(&dir, "snapshot.yaml", "apiVersion: v1\n");
    let missing = format!("{archive}.missing");
    let cases: [(Vec<&str>, String); 4] = [
        (
            vec![
                "analyze",
                &change,
                "--against",
                &archive,
                "--deleted",
                &bad_list,
            ],
            format!("{bad_list}:2: "),
        ),
        (
            vec!["analyze", &change, "--against", &not_archive],
            format!("{not_archive}: not a snapshot archive"),
        ),
        (
            vec!["analyze", &archive, "--against", &archive],
            format!("{archive}: a snapshot archive cannot be part of the change set"),
        ),
        (
            vec!["analyze", &change, "--against", &missing],
            format!("{archive}.missing: no such file"),
        ),
    ];
    for (args, expected) in cases {
        let output = meshcheck(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.starts_with(&format!("meshcheck: error: {expected}")),
            "{message}"
        );
    }
    let live_and_snapshot = meshcheck(&["analyze", "--live", "--against", &archive]);
    assert_eq!(live_and_snapshot.status.code(), Some(2));
    // The gate and the list only make sense in a pre-apply check.
    for flag in [["--fail-on-new", "error"], ["--deleted", bad_list.as_str()]] {
        let output = meshcheck(&["analyze", &change, flag[0], flag[1]]);
        assert_eq!(output.status.code(), Some(2), "{flag:?}");
    }
}

#[test]
fn outside_a_pre_apply_check_findings_have_no_status() {
    let output = meshcheck(&["analyze", "examples/bookinfo-broken", "-o", "json"]);
    let report = json_report(&output);
    assert!(report.get("pre_apply").is_none());
    for finding in report["findings"].as_array().unwrap() {
        assert!(finding.get("status").is_none(), "{finding}");
    }
}

/// (d): the snapshot is the live test cluster, collected for the run.
#[test]
fn against_live_checks_the_change_against_the_test_cluster() {
    let cluster = TestCluster::start();
    assert!(cluster.server.starts_with("https://"), "{}", cluster.server);
    let data = workspace_root().join("crates/meshcheck/tests/apiserver");
    let mut objects = manifests(&data.join("istio-crds.yaml"));
    objects.extend(manifests(&data.join("cluster.yaml")));
    for file in std::fs::read_dir(workspace_root().join("examples/bookinfo")).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            for mut object in manifests(&path) {
                object["metadata"]["namespace"] = json!("bookinfo");
                objects.push(object);
            }
        }
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let client = cluster.admin_client().await;
            apply(&client, &objects).await;
        });

    let dir = temp_dir("live");
    let change = write(
        &dir,
        "change/reviews.yaml",
        &REVIEWS_TO_V9.replace("name: reviews\n", "name: reviews\n  namespace: bookinfo\n"),
    );
    let kubeconfig = cluster.kubeconfig("admin");
    let kubeconfig = kubeconfig.to_str().unwrap();
    let output = meshcheck(&[
        "analyze",
        &change,
        "--against-live",
        "--kubeconfig",
        kubeconfig,
        "--fail-on-new",
        "error",
        "-o",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = json_report(&output);
    every_finding_has_a_status(&report);
    assert!(
        report["pre_apply"]["against"]
            .as_str()
            .unwrap()
            .starts_with("live"),
        "{}",
        report["pre_apply"]
    );
    assert_eq!(report["pre_apply"]["replaced"], 1);
    assert_eq!(
        new_errors(&report),
        [(
            "MC038".to_owned(),
            "VirtualService reviews".to_owned(),
            change.clone()
        )]
    );
    assert_eq!(report["input"]["kind"], "live");

    // A harmless change passes the gate.
    let clean = write(
        &dir,
        "clean/details.yaml",
        &DETAILS_RETRIES.replace("name: details\n", "name: details\n  namespace: bookinfo\n"),
    );
    let output = meshcheck(&[
        "analyze",
        &clean,
        "--against-live",
        "--kubeconfig",
        kubeconfig,
        "--fail-on-new",
        "error",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
}
