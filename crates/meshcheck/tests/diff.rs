//! `meshcheck diff` as users run it: two archives packed from manifests (and written as a
//! collector would), compared as text, JSON and HTML, with the CI exit code and the cluster check.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use meshcheck_archive::{SnapshotInfo, SnapshotWriter, Source, Timestamp};
use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn meshcheck(args: &[&str], epoch: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshcheck"))
        .args(args)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", epoch)
        .env_remove("MESHCHECK_ANONYMIZE_KEY")
        .output()
        .expect("meshcheck runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory per test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshcheck-diff-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Packs an example into `dir/<name>.tar.zst` at a fixed time.
fn pack(dir: &Path, example: &str, epoch: &str) -> String {
    let dest = dir.join(format!("{example}.tar.zst"));
    let output = meshcheck(
        &[
            "pack",
            &format!("examples/{example}"),
            "-o",
            dest.to_str().unwrap(),
        ],
        epoch,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    dest.to_str().unwrap().to_owned()
}

/// Output with the temporary directory replaced, so snapshots do not depend on it.
fn stable(output: &Output, dir: &Path) -> String {
    text(&output.stdout).replace(dir.to_str().unwrap(), "[DIR]")
}

const WEEK_ONE: &str = "1795000000";
const WEEK_TWO: &str = "1795604800";

#[test]
fn bookinfo_broken_against_bookinfo_as_text_and_json() {
    let dir = temp_dir("bookinfo");
    let old = pack(&dir, "bookinfo", WEEK_ONE);
    let new = pack(&dir, "bookinfo-broken", WEEK_TWO);

    let output = meshcheck(&["diff", &old, &new], WEEK_TWO);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    insta::assert_snapshot!("bookinfo_text", stable(&output, &dir));

    let output = meshcheck(&["diff", &old, &new, "-o", "json"], WEEK_TWO);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let drift: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(drift["summary"]["introduced"].as_u64().unwrap() > 0);
    assert!(drift["score_change"].as_i64().unwrap() < 0);
    assert_eq!(drift["old"]["collected_at"], "2026-11-18T11:06:40Z");
    insta::assert_json_snapshot!("bookinfo_json", drift);

    let output = meshcheck(&["diff", &old, &new, "-o", "html"], WEEK_TWO);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let html = text(&output.stdout);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Introduced findings"));
}

#[test]
fn fail_on_new_exits_1_only_when_such_findings_were_introduced() {
    let dir = temp_dir("fail-on-new");
    let old = pack(&dir, "bookinfo", WEEK_ONE);
    let new = pack(&dir, "bookinfo-broken", WEEK_TWO);

    let worse = meshcheck(&["diff", &old, &new, "--fail-on-new", "error"], WEEK_TWO);
    assert_eq!(worse.status.code(), Some(1), "{}", text(&worse.stderr));
    // The other way round, the broken configuration's findings are resolved, not introduced.
    let better = meshcheck(&["diff", &new, &old, "--fail-on-new", "error"], WEEK_TWO);
    assert_eq!(better.status.code(), Some(0), "{}", text(&better.stderr));
    assert!(text(&better.stdout).contains("Resolved findings"));

    let same = meshcheck(&["diff", &old, &old, "--fail-on-new", "info"], WEEK_TWO);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stderr));
    assert!(text(&same.stdout).contains("No drift"));
}

/// Writes an archive the way `meshcheck collect` does, for a named cluster.
fn collected(dest: &Path, context: &str, epoch: i64, objects: Vec<Value>) {
    let mut writer = SnapshotWriter::new(SnapshotInfo {
        source: Source::Cluster,
        context: Some(context.to_owned()),
        kubernetes_version: Some("v1.30.2".to_owned()),
        version_json: Some(json!({"gitVersion": "v1.30.2"})),
        collected_at: Timestamp::from_second(epoch).unwrap(),
    });
    for object in objects {
        let api_version = object["apiVersion"].as_str().unwrap().to_owned();
        let kind = object["kind"].as_str().unwrap().to_owned();
        writer.add_objects(&api_version, &kind, vec![object]);
    }
    writer.write_atomic(dest).unwrap();
}

fn service(resource_version: &str, port: u16) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "reviews", "namespace": "shop", "resourceVersion": resource_version,
            "uid": format!("uid-{resource_version}"), "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubectl", "time": format!("2026-01-0{}T00:00:00Z", resource_version.len())}]
        },
        "spec": {"selector": {"app": "reviews"}, "ports": [{"name": "http", "port": port}]},
        "status": {"loadBalancer": {}}
    })
}

#[test]
fn a_recollected_unchanged_cluster_has_no_object_drift_but_a_changed_one_does() {
    let dir = temp_dir("recollected");
    let first = dir.join("first.tar.zst");
    let second = dir.join("second.tar.zst");
    let third = dir.join("third.tar.zst");
    collected(&first, "prod", 1_795_000_000, vec![service("100", 9080)]);
    collected(&second, "prod", 1_795_003_600, vec![service("2345", 9080)]);
    collected(&third, "prod", 1_795_007_200, vec![service("2399", 9081)]);
    let paths = [&first, &second, &third].map(|path| path.to_str().unwrap().to_owned());

    let output = meshcheck(&["diff", &paths[0], &paths[1], "-o", "json"], WEEK_ONE);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let drift: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(drift["objects"], json!([]), "{drift:#}");
    assert_eq!(drift["old"]["cluster"], "prod");

    let output = meshcheck(&["diff", &paths[1], &paths[2], "-o", "json"], WEEK_ONE);
    let drift: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        drift["objects"],
        json!([{"kind": "Service", "group": "", "added": [], "removed": [], "changed": ["shop/reviews"]}])
    );
}

#[test]
fn snapshots_of_different_clusters_are_refused_unless_asked_for() {
    let dir = temp_dir("clusters");
    let prod = dir.join("prod.tar.zst");
    let staging = dir.join("staging.tar.zst");
    collected(&prod, "prod", 1_795_000_000, vec![service("1", 9080)]);
    collected(&staging, "staging", 1_795_000_000, vec![service("1", 9080)]);
    let (prod, staging) = (prod.to_str().unwrap(), staging.to_str().unwrap());

    let refused = meshcheck(&["diff", prod, staging], WEEK_ONE);
    assert_eq!(refused.status.code(), Some(2));
    let message = text(&refused.stderr);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("cluster prod") && message.contains("cluster staging"));
    assert!(message.contains("--any-cluster"));

    let allowed = meshcheck(&["diff", prod, staging, "--any-cluster"], WEEK_ONE);
    assert_eq!(allowed.status.code(), Some(0), "{}", text(&allowed.stderr));
    assert!(text(&allowed.stdout).contains("comparing prod with staging"));
}

#[test]
fn a_missing_or_broken_archive_is_one_line_error() {
    let dir = temp_dir("broken");
    let broken = dir.join("broken.tar.zst");
    std::fs::write(&broken, b"\x28\xb5\x2f\xfdnot really zstd").unwrap();
    let old = pack(&dir, "bookinfo", WEEK_ONE);
    let output = meshcheck(&["diff", &old, broken.to_str().unwrap()], WEEK_ONE);
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output.stderr);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("broken.tar.zst"), "{message}");
}
