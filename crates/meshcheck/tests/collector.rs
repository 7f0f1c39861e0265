//! `meshcheck collect` against a real kube-apiserver (v1.20 + etcd on loopback, see
//! `scripts/testcluster.sh`): every expected object lands in the archive, planted secrets never
//! do, forbidden kinds are recorded, and a server that goes away leaves no archive.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine;
use meshcheck_archive::{Archive, Limits};
use meshcheck_collect::{CollectError, CollectOptions, Progress};
use serde_json::{Value, json};
use support::cluster::{TestCluster, apply, manifests, workspace_root};

const MESHCHECK: &str = env!("CARGO_BIN_EXE_meshcheck");

/// Strings planted in `tests/apiserver/canaries.yaml` that must never reach an archive.
const CANARIES: &[&str] = &[
    "CANARY-SECRET-DATA-4f1d",
    "CANARY-LASTAPPLIED-0e6d",
    "CANARY-TLS-CERT-1b9e",
    "CANARY-TLS-KEY-8d21",
    "CANARY-CONFIGMAP-PEM-7c2e",
    "CANARY-LASTAPPLIED-DEPLOY-2a7c",
    "CANARY-ANNOTATION-PEM-93ab",
    "CANARY-ENV-VALUE-58b0",
    "CANARY-POD-ENV-4410",
    "CANARY-JWT-3c44",
    "eyJzdWIiOiJDQU5BUlktSldULTNjNDQifQ",
    "CANARY-ARG-PASSWORD-77e1",
    "CANARY-CABUNDLE-61f9",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn seed_objects() -> Vec<Value> {
    let data = workspace_root().join("crates/meshcheck/tests/apiserver");
    let mut objects = manifests(&data.join("istio-crds.yaml"));
    objects.extend(manifests(&data.join("cluster.yaml")));
    for file in std::fs::read_dir(workspace_root().join("examples/bookinfo")).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            for mut object in manifests(&path) {
                if object.pointer("/metadata/namespace").is_none() {
                    object["metadata"]["namespace"] = json!("bookinfo");
                }
                objects.push(object);
            }
        }
    }
    objects.extend(manifests(&data.join("canaries.yaml")));
    objects
}

/// (kind, namespace, name) of every object, as the archive should hold them.
fn identities(objects: &[Value]) -> BTreeSet<(String, String, String)> {
    objects
        .iter()
        .map(|object| {
            let text = |pointer: &str| {
                object
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                text("/kind"),
                text("/metadata/namespace"),
                text("/metadata/name"),
            )
        })
        .collect()
}

fn archive_bytes(path: &std::path::Path) -> Vec<u8> {
    zstd::decode_all(std::fs::File::open(path).unwrap()).unwrap()
}

fn assert_no_canaries(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let standard = base64::engine::general_purpose::STANDARD;
    for canary in CANARIES {
        assert!(!text.contains(canary), "{what} contains canary {canary}");
        let encoded = standard.encode(canary);
        assert!(
            !text.contains(&encoded),
            "{what} contains base64 canary {canary} ({encoded})"
        );
    }
}

#[test]
fn collects_a_cluster_into_a_redacted_archive() {
    let cluster = TestCluster::start();
    let seeded = seed_objects();
    runtime().block_on(async {
        let client = cluster.admin_client().await;
        apply(&client, &seeded).await;
    });

    let out = cluster.dir.path().join("snapshot.tar.zst");
    let run = Command::new(MESHCHECK)
        .args(["collect", "--quiet", "--kubeconfig"])
        .arg(cluster.kubeconfig("admin"))
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "collect failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        out.display().to_string()
    );

    // Every seeded object is in the archive (CRDs as summaries, Secrets as metadata).
    let archive = Archive::open(&out, &Limits::default()).expect("archive verifies");
    let (objects, issues) = archive.objects();
    assert!(issues.is_empty(), "{issues:?}");
    let collected: BTreeSet<_> = objects
        .iter()
        .map(|object| {
            (
                object.kind.clone(),
                object.namespace.clone().unwrap_or_default(),
                object.name.clone(),
            )
        })
        .collect();
    // Events are stored apart (newest first, capped) and checked below.
    let missing: Vec<_> = identities(&seeded)
        .difference(&collected)
        .filter(|(kind, _, _)| kind != "Event")
        .cloned()
        .collect();
    assert!(missing.is_empty(), "not collected: {missing:?}");
    let events = archive.events();
    assert!(
        events.iter().any(|event| event["reason"] == "BackOff"),
        "events: {events:?}"
    );

    let manifest = archive.manifest();
    assert_eq!(manifest.context.as_deref(), Some("test"));
    assert!(
        manifest
            .kubernetes_version
            .as_deref()
            .unwrap_or_default()
            .starts_with("v1.20")
    );
    assert!(
        manifest.collection_errors.is_empty(),
        "{:?}",
        manifest.collection_errors
    );
    assert!(
        manifest
            .counts
            .keys()
            .any(|key| key.ends_with("/VirtualService"))
    );
    assert!(
        manifest.redaction.values().sum::<u64>() > 0,
        "{:?}",
        manifest.redaction
    );

    // What is kept: Secret names and types, Istio's mesh config, env names.
    let find = |kind: &str, name: &str| -> Value {
        objects
            .iter()
            .find(|object| object.kind == kind && object.name == name)
            .unwrap_or_else(|| panic!("{kind} {name}"))
            .value
            .clone()
            .into()
    };
    let secret = find("Secret", "bookinfo-credential");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert!(secret.get("data").is_none() && secret.pointer("/metadata/annotations").is_none());
    let mesh = find("ConfigMap", "istio");
    assert!(
        mesh.pointer("/data/mesh")
            .and_then(Value::as_str)
            .unwrap()
            .contains("REGISTRY_ONLY")
    );
    let deployment = find("Deployment", "payments");
    assert_eq!(
        deployment.pointer("/spec/template/spec/containers/0/env/0/name"),
        Some(&json!("DB_PASSWORD"))
    );

    // No planted secret anywhere in the decompressed bytes.
    assert_no_canaries("archive", &archive_bytes(&out));

    // The archive analyzes like manifests do.
    let analyze = Command::new(MESHCHECK)
        .args(["analyze", "--output", "json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        analyze.status.code().is_some_and(|code| code < 2),
        "{}",
        String::from_utf8_lossy(&analyze.stderr)
    );
    let report: Value = serde_json::from_slice(&analyze.stdout).unwrap();
    assert!(
        report["input"]["objects"].as_u64().unwrap() > 40,
        "{}",
        report["input"]
    );
    assert_eq!(report["input"]["kind"], "archive");

    // `analyze --live` reads the cluster directly and sees the same objects.
    let live = Command::new(MESHCHECK)
        .args(["analyze", "--live", "--output", "json", "--kubeconfig"])
        .arg(cluster.kubeconfig("admin"))
        .output()
        .unwrap();
    assert!(
        live.status.code().is_some_and(|code| code < 2),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    let live_report: Value = serde_json::from_slice(&live.stdout).unwrap();
    assert_eq!(live_report["input"]["kind"], "live");
    assert_eq!(live_report["input"]["objects"], report["input"]["objects"]);
    assert_eq!(
        live_report["findings"].as_array().map(Vec::len),
        report["findings"].as_array().map(Vec::len)
    );
}

#[test]
fn forbidden_kinds_are_recorded_and_collection_goes_on() {
    let cluster = TestCluster::start();
    let rbac = serde_json::from_value::<Vec<Value>>(json!([
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "meshcheck-partial"},
         "rules": [
            {"apiGroups": [""], "resources": ["namespaces", "pods", "services", "nodes"], "verbs": ["get", "list"]},
            {"apiGroups": ["networking.istio.io"], "resources": ["*"], "verbs": ["get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "meshcheck-partial"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "meshcheck-partial"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited"}]}
    ])).unwrap();
    let mut seeded =
        manifests(&workspace_root().join("crates/meshcheck/tests/apiserver/istio-crds.yaml"));
    seeded.extend(manifests(
        &workspace_root().join("crates/meshcheck/tests/apiserver/cluster.yaml"),
    ));
    seeded.extend(rbac);
    runtime().block_on(async {
        let client = cluster.admin_client().await;
        apply(&client, &seeded).await;
    });

    let out = cluster.dir.path().join("partial.tar.zst");
    let run = Command::new(MESHCHECK)
        .args(["collect", "--kubeconfig"])
        .arg(cluster.kubeconfig("limited"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "collect failed: {stderr}");
    assert!(
        stderr.contains("could not list v1 Secret: forbidden"),
        "{stderr}"
    );

    let archive = Archive::open(&out, &Limits::default()).unwrap();
    let forbidden: BTreeSet<&str> = archive
        .manifest()
        .collection_errors
        .iter()
        .filter(|gap| gap.reason.starts_with("forbidden"))
        .map(|gap| gap.kind.as_str())
        .collect();
    for kind in [
        "Secret",
        "ConfigMap",
        "Deployment",
        "PeerAuthentication",
        "Event",
    ] {
        assert!(
            forbidden.contains(kind),
            "{kind} not recorded as forbidden: {forbidden:?}"
        );
    }
    for kind in ["Pod", "Service", "Namespace", "VirtualService"] {
        assert!(!forbidden.contains(kind), "{kind} should be readable");
    }
    let (objects, _) = archive.objects();
    assert!(
        objects
            .iter()
            .any(|object| object.kind == "Pod" && object.name.starts_with("istiod"))
    );

    // The gaps surface as readiness findings when the archive is analyzed.
    let analyze = Command::new(MESHCHECK)
        .args(["analyze", "-o", "json"])
        .arg(&out)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&analyze.stdout).unwrap();
    assert_eq!(report["input"]["kind"], "archive", "{}", report["input"]);
    let gap_findings: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["category"] == "readiness" && finding["code"] == "MC608")
        .filter_map(|finding| finding["message"].as_str())
        .collect();
    assert!(
        gap_findings
            .iter()
            .any(|message| message.contains("could not list Secret")
                && message.contains("forbidden")),
        "{gap_findings:?}"
    );
}

/// Stops the API server as soon as the first kind has been listed.
struct StopAfterFirstKind<'a> {
    cluster: &'a TestCluster,
    stopped: AtomicBool,
}

impl Progress for StopAfterFirstKind<'_> {
    fn kind_done(&self, _api_version: &str, _kind: &str, _objects: usize) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            self.cluster.stop();
        }
    }
}

#[test]
fn an_api_server_that_goes_away_aborts_with_a_clear_error_and_no_archive() {
    let cluster = TestCluster::start();
    let progress = StopAfterFirstKind {
        cluster: &cluster,
        stopped: AtomicBool::new(false),
    };
    let options = CollectOptions {
        parallel_lists: 1,
        initial_backoff: std::time::Duration::from_millis(50),
        ..CollectOptions::default()
    };
    let result = runtime().block_on(async {
        let connection = cluster.target("admin").connect().await.unwrap();
        meshcheck_collect::collect(&connection, &options, &progress).await
    });
    assert!(
        progress.stopped.load(Ordering::SeqCst),
        "the server was never stopped"
    );
    let error = result.expect_err("collection must fail once the server is gone");
    assert!(matches!(error, CollectError::Unreachable { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains(&cluster.server) && message.contains("context test"),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");

    // The CLI against the stopped server: exit 2, one line naming the server, no archive.
    let out = cluster.dir.path().join("never.tar.zst");
    let run = Command::new(MESHCHECK)
        .args(["collect", "--quiet", "--kubeconfig"])
        .arg(cluster.kubeconfig("admin"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&cluster.server), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!out.exists(), "an archive was written");
    let leftovers: Vec<_> = std::fs::read_dir(cluster.dir.path())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().contains("never"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
