//! Snapshot archives through the CLI: pack → inspect → analyze, and broken archives.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn meshcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshcheck"))
        .args(args)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1795000000")
        .env_remove("MESHCHECK_ANONYMIZE_KEY")
        .output()
        .expect("meshcheck runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        )
    })
}

/// A fresh directory per test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshcheck-archive-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pack(source: &str, dest: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["pack", source, "-o", dest.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = meshcheck(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "pack failed: {}",
        stderr(&output)
    );
    output
}

/// Findings without their source location (an archive points at members, not files).
fn findings(report: &Value) -> Vec<(String, String, String)> {
    let mut findings: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["code"].as_str().unwrap().to_owned(),
                finding["resource"].to_string(),
                finding["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    findings.sort();
    findings
}

#[test]
fn packed_manifests_analyze_like_the_directory() {
    let dir = temp_dir("same-findings");
    let archive = dir.join("bookinfo-broken.tar.zst");
    let packed = pack("examples/bookinfo-broken", &archive, &[]);
    assert!(
        stderr(&packed).contains("packed 33 objects"),
        "{}",
        stderr(&packed)
    );

    let inspected = meshcheck(&["inspect", archive.to_str().unwrap()]);
    assert_eq!(inspected.status.code(), Some(0), "{}", stderr(&inspected));
    let text = String::from_utf8(inspected.stdout).unwrap();
    for expected in [
        "(verified)",
        "source:        manifests",
        "objects: 33",
        "v1/Service",
        "networking.istio.io/v1/VirtualService",
        "env-value",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    let manifest = json(&meshcheck(&[
        "inspect",
        archive.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert_eq!(manifest["format_version"], 1);
    assert_eq!(manifest["source"], "manifests");
    assert_eq!(manifest["collected_at"], "2026-11-18T11:06:40Z");
    assert_eq!(manifest["counts"]["v1/Pod"], 7);

    let from_directory = json(&meshcheck(&[
        "analyze",
        "examples/bookinfo-broken",
        "-o",
        "json",
    ]));
    let from_archive = json(&meshcheck(&[
        "analyze",
        archive.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert!(!findings(&from_directory).is_empty());
    assert_eq!(findings(&from_archive), findings(&from_directory));
    let input = &from_archive["input"];
    assert_eq!(input["kind"], "archive");
    assert_eq!(input["collected_at"], "2026-11-18T11:06:40Z");
    assert_eq!(input["objects"], from_directory["input"]["objects"]);
    let source = &from_archive["findings"][0]["source"];
    assert!(
        source["file"].as_str().unwrap().starts_with("objects/"),
        "{source}"
    );
}

#[test]
fn archives_are_recognized_by_content_not_name() {
    let dir = temp_dir("magic");
    let archive = dir.join("snapshot.bin");
    pack("examples/bookinfo", &archive, &[]);
    let report = json(&meshcheck(&[
        "analyze",
        archive.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert_eq!(report["input"]["kind"], "archive");
    assert_eq!(report["summary"]["by_severity"]["error"], 0);
}

#[test]
fn packing_is_reproducible() {
    let dir = temp_dir("reproducible");
    let (first, second) = (dir.join("a.tar.zst"), dir.join("b.tar.zst"));
    pack("examples/bookinfo-broken", &first, &[]);
    pack("examples/bookinfo-broken", &second, &[]);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
}

#[test]
fn anonymized_archives_give_the_same_findings_under_other_names() {
    let dir = temp_dir("anonymized");
    let archive = dir.join("anonymized.tar.zst");
    pack("examples/bookinfo-broken", &archive, &["--anonymize"]);
    let manifest = json(&meshcheck(&[
        "inspect",
        archive.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert_eq!(manifest["anonymized"], true);
    let plain = json(&meshcheck(&[
        "analyze",
        "examples/bookinfo-broken",
        "-o",
        "json",
    ]));
    let anonymized = json(&meshcheck(&[
        "analyze",
        archive.to_str().unwrap(),
        "-o",
        "json",
    ]));
    let codes = |report: &Value| -> Vec<String> {
        findings(report)
            .into_iter()
            .map(|(code, _, _)| code)
            .collect()
    };
    assert_eq!(codes(&anonymized), codes(&plain));
    let text = anonymized["findings"].to_string();
    for name in ["productpage", "reviews", "bookinfo-gateway"] {
        assert!(!text.contains(name), "{name} in {text}");
    }
}

#[test]
fn corrupt_archive_exits_2_with_one_line() {
    let dir = temp_dir("corrupt");
    let archive = dir.join("snapshot.tar.zst");
    pack("examples/bookinfo-broken", &archive, &[]);
    let mut bytes = std::fs::read(&archive).unwrap();
    let truncated = dir.join("truncated.tar.zst");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let flipped = dir.join("flipped.tar.zst");
    std::fs::write(&flipped, &bytes).unwrap();
    // Named as archives but not one: each must be refused, never read as an empty manifest.
    let empty = dir.join("empty.tar.zst");
    std::fs::write(&empty, b"").unwrap();
    let stub = dir.join("stub.tar.zst");
    std::fs::write(&stub, &bytes[..2]).unwrap();
    let text = dir.join("text.tar.zst");
    std::fs::write(
        &text,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    )
    .unwrap();
    for broken in [&truncated, &flipped, &empty, &stub, &text] {
        let path = broken.to_str().unwrap();
        for args in [
            vec!["analyze", path],
            vec!["inspect", path],
            vec!["diff", path, "examples/bookinfo"],
            vec!["diff", "examples/bookinfo", path],
        ] {
            let command = args.join(" ");
            let output = meshcheck(&args);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{command} {path}: {}",
                stderr(&output)
            );
            let message = stderr(&output);
            assert_eq!(message.lines().count(), 1, "{command}: {message}");
            assert!(
                message.starts_with(&format!("meshcheck: error: {path}: ")),
                "{command}: {message}"
            );
            assert!(output.stdout.is_empty(), "{command}");
        }
    }
}

#[test]
fn an_archive_is_analyzed_on_its_own() {
    let dir = temp_dir("mixed");
    let archive = dir.join("snapshot.tar.zst");
    pack("examples/bookinfo", &archive, &[]);
    let output = meshcheck(&["analyze", archive.to_str().unwrap(), "examples/bookinfo"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("analyzed on its own"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn pack_refuses_broken_manifests_and_writes_nothing() {
    let dir = temp_dir("broken-input");
    let manifest = dir.join("broken.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Service\nmetadata: {name: a\n",
    )
    .unwrap();
    let archive = dir.join("out.tar.zst");
    let output = meshcheck(&[
        "pack",
        manifest.to_str().unwrap(),
        "-o",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("{}:", manifest.display())),
        "{message}"
    );
    assert!(message.contains("nothing was packed"), "{message}");
    assert!(!archive.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file is left behind"
    );
}
