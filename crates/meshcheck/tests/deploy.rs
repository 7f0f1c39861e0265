//! `deploy/`, the in-cluster scheduled collection: meshcheck finds nothing wrong with it, its
//! ClusterRoles grant exactly what the collector reads (derived from the collector's own tables),
//! the CronJob is locked down, and — against a real API server and portal — `meshcheck collect`
//! run as the deployed service account, with in-cluster configuration, reads everything and
//! uploads the snapshot.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use meshcheck_archive::{Archive, Limits};
use meshcheck_collect::{CORE_KINDS, ListMode, is_mesh_group, list_mode};
use meshcheck_model::Kind;
use serde_json::Value;
use support::cluster::{TestCluster, apply, manifests, workspace_root};

const MESHCHECK: &str = env!("CARGO_BIN_EXE_meshcheck");
const NAMESPACE: &str = "meshcheck";
const SERVICE_ACCOUNT: &str = "meshcheck-collector";

fn deploy_dir() -> PathBuf {
    workspace_root().join("deploy")
}

/// Every object of `deploy/`, read by meshcheck's own loader.
fn deploy_objects() -> Vec<Value> {
    let loaded = meshcheck_input::load_paths(&[deploy_dir()]).expect("deploy/ loads");
    loaded
        .objects
        .into_iter()
        .map(|object| object.value.into())
        .collect()
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|object| object["kind"] == kind)
        .collect()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn meshcheck_finds_no_error_in_its_own_deployment() {
    let output = Command::new(MESHCHECK)
        .args(["analyze", "-o", "json", "--fail-on", "error"])
        .arg(deploy_dir())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let serious: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| matches!(finding["severity"].as_str(), Some("error" | "critical")))
        .map(|finding| format!("{} {}", finding["code"], finding["message"]))
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report["input"]["objects_by_kind"]["CronJob"], 1);
}

/// `(API group, resource)` → verbs.
type Grants = BTreeMap<(String, String), BTreeSet<String>>;

/// What `deploy/` grants the collector's service account: verbs per `(group, resource)`, and
/// the non-resource URLs it may get.
fn granted(objects: &[Value]) -> (Grants, BTreeSet<String>) {
    let bound: BTreeSet<&str> = of_kind(objects, "ClusterRoleBinding")
        .into_iter()
        .filter(|binding| {
            binding["subjects"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|subject| {
                    subject["kind"] == "ServiceAccount"
                        && subject["name"] == SERVICE_ACCOUNT
                        && subject["namespace"] == NAMESPACE
                })
        })
        .filter(|binding| binding["roleRef"]["kind"] == "ClusterRole")
        .filter_map(|binding| binding["roleRef"]["name"].as_str())
        .collect();
    let mut resources: Grants = BTreeMap::new();
    let mut urls = BTreeSet::new();
    for role in of_kind(objects, "ClusterRole") {
        if !bound.contains(role["metadata"]["name"].as_str().unwrap_or_default()) {
            continue;
        }
        for rule in role["rules"].as_array().unwrap() {
            let verbs = strings(&rule["verbs"]);
            for url in strings(&rule["nonResourceURLs"]) {
                assert_eq!(verbs, ["get"], "{url}: only get on non-resource URLs");
                urls.insert(url.to_owned());
            }
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    resources
                        .entry((group.to_owned(), resource.to_owned()))
                        .or_default()
                        .extend(verbs.iter().map(|verb| (*verb).to_owned()));
                }
            }
        }
    }
    (resources, urls)
}

/// RBAC's plural of a kind, as the API server and kube-rs derive it.
fn plural(group: &str, kind: &str) -> String {
    kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(group, "v1", kind)).plural
}

#[test]
fn cluster_roles_grant_exactly_what_the_collector_reads() {
    let (granted, urls) = granted(&deploy_objects());

    // What the collector needs, from its own tables: the built-in kinds it lists (and `get` for
    // the ConfigMaps it reads in full), and every kind of the mesh groups meshcheck knows.
    let mut needed: BTreeMap<(String, String), BTreeSet<&str>> = BTreeMap::new();
    for (group, kinds) in CORE_KINDS {
        for kind in *kinds {
            let verbs = needed
                .entry((group.to_string(), plural(group, kind)))
                .or_default();
            verbs.insert("list");
            if list_mode(group, kind) == ListMode::ConfigMapMetadata {
                verbs.insert("get");
            }
        }
    }
    let mesh_groups: BTreeSet<&str> = Kind::ALL
        .iter()
        .map(|kind| kind.group())
        .filter(|group| is_mesh_group(group))
        .collect();
    assert!(mesh_groups.contains("networking.istio.io") && mesh_groups.len() >= 4);
    for group in &mesh_groups {
        needed
            .entry((group.to_string(), "*".to_owned()))
            .or_default()
            .insert("list");
    }

    for ((group, resource), verbs) in &needed {
        let have = granted
            .get(&(group.clone(), resource.clone()))
            .unwrap_or_else(|| panic!("no rule for {resource:?} in group {group:?}"));
        for verb in verbs {
            assert!(
                have.contains(*verb),
                "{verb} {resource} ({group:?}) not granted"
            );
        }
    }
    // Nothing beyond: every grant is needed, read-only, and a wildcard only over a mesh group.
    for ((group, resource), verbs) in &granted {
        assert!(
            verbs.iter().all(|verb| verb == "get" || verb == "list"),
            "{resource} ({group:?}): {verbs:?} is not read-only"
        );
        assert_ne!(group, "*", "a wildcard API group grants far too much");
        if resource == "*" {
            assert!(is_mesh_group(group), "wildcard resources in {group:?}");
        } else {
            let needed_verbs = needed
                .get(&(group.clone(), resource.clone()))
                .unwrap_or_else(|| panic!("{resource} ({group:?}) is granted but never read"));
            for verb in verbs {
                assert!(
                    needed_verbs.contains(verb.as_str()),
                    "{verb} {resource} ({group:?}) is granted but never used"
                );
            }
        }
    }
    let expected_urls: BTreeSet<String> = ["/version", "/api", "/api/*", "/apis", "/apis/*"]
        .map(str::to_owned)
        .into();
    assert_eq!(urls, expected_urls);
}

#[test]
fn the_cronjob_runs_locked_down_and_uploads_with_the_token_from_its_secret() {
    let objects = deploy_objects();
    let cronjobs = of_kind(&objects, "CronJob");
    assert_eq!(cronjobs.len(), 1);
    let pod = &cronjobs[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], SERVICE_ACCOUNT);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
    assert!(security["capabilities"]["add"].is_null());
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][kind][resource].is_string(),
                "{kind}.{resource} unset"
            );
        }
    }

    // The arguments are ones `meshcheck collect` accepts, the token file is in the Secret's
    // mount, the archive goes to the writable volume, and the env comes from the ConfigMap.
    let args = strings(&container["args"]);
    assert_eq!(args[0], "collect");
    let arg = |name: &str| {
        args.iter()
            .find_map(|arg| arg.strip_prefix(&format!("--{name}=")))
            .unwrap_or_else(|| panic!("--{name} missing from {args:?}"))
    };
    assert_eq!(arg("upload"), "$(MESHCHECK_SERVER_URL)");
    assert_eq!(arg("cluster"), "$(MESHCHECK_CLUSTER)");
    let mounts: BTreeMap<&str, &str> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mount| {
            (
                mount["name"].as_str().unwrap(),
                mount["mountPath"].as_str().unwrap(),
            )
        })
        .collect();
    let volumes: BTreeMap<&str, &Value> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|volume| (volume["name"].as_str().unwrap(), volume))
        .collect();
    let token_volume = volumes
        .iter()
        .find(|(_, volume)| volume["secret"]["secretName"] == "meshcheck-upload-token")
        .map(|(name, _)| *name)
        .expect("a volume of the upload token Secret");
    let token_path = format!("{}/token", mounts[token_volume]);
    assert_eq!(arg("token-file"), token_path);
    let output = arg("output");
    assert!(
        mounts
            .iter()
            .any(|(name, path)| output.starts_with(&format!("{path}/"))
                && !volumes[name]["emptyDir"].is_null()),
        "{output} is not on a writable emptyDir"
    );
    let configmap = of_kind(&objects, "ConfigMap")
        .into_iter()
        .find(|configmap| configmap["metadata"]["name"] == "meshcheck-collector")
        .expect("the collector's ConfigMap");
    for env in container["env"].as_array().unwrap() {
        let reference = &env["valueFrom"]["configMapKeyRef"];
        assert_eq!(reference["name"], "meshcheck-collector");
        let key = reference["key"].as_str().unwrap();
        assert!(configmap["data"][key].is_string(), "ConfigMap has no {key}");
    }
    let help = Command::new(MESHCHECK)
        .args(["collect", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for name in ["output", "upload", "token-file", "cluster", "quiet"] {
        assert!(
            help.contains(&format!("--{name}")),
            "collect has no --{name}"
        );
    }
}

/// The Kubernetes version of the test API server has no batch/v1 CronJob (1.21+), and no
/// kubelet: the service account's identity and the in-cluster configuration are what is tested.
#[test]
fn collect_in_cluster_as_the_deployed_service_account_and_upload() {
    let cluster = TestCluster::start();
    let data = workspace_root().join("crates/meshcheck/tests/apiserver");
    let cluster_objects = manifests(&data.join("cluster.yaml"));
    // Every kind of the seeded cluster must come back (events go to their own member).
    let seeded_kinds: BTreeSet<String> = cluster_objects
        .iter()
        .filter_map(|object| object["kind"].as_str())
        .filter(|kind| *kind != "Event")
        .map(str::to_owned)
        .collect();
    assert!(seeded_kinds.contains("PeerAuthentication") && seeded_kinds.contains("ConfigMap"));
    let mut seeded = manifests(&data.join("istio-crds.yaml"));
    seeded.extend(cluster_objects);
    seeded.extend(deploy_objects().into_iter().filter(|object| {
        matches!(
            object["kind"].as_str(),
            Some("Namespace" | "ServiceAccount" | "ClusterRole" | "ClusterRoleBinding")
        )
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let token = runtime.block_on(async {
        let client = cluster.admin_client().await;
        apply(&client, &seeded).await;
        let accounts: Api<ServiceAccount> = Api::namespaced(client, NAMESPACE);
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                audiences: Some(Vec::new()),
                expiration_seconds: Some(600),
                ..Default::default()
            }),
            ..Default::default()
        };
        accounts
            .create_token_request(SERVICE_ACCOUNT, &PostParams::default(), &request)
            .await
            .expect("a service-account token")
            .status
            .and_then(|status| status.token)
            .expect("a token in the answer")
    });

    // The portal the CronJob uploads to, with an uploader token in a file as the Secret mounts it.
    let portal_dir = tempfile::tempdir().unwrap();
    let mut config = meshcheck_server::Config::new(
        portal_dir.path().join("data"),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.workers = 1;
    config.rate_limit = None;
    let server = runtime
        .block_on(meshcheck_server::start(config))
        .expect("the portal starts");
    let store = meshcheck_server::store::open(&portal_dir.path().join("data"), None).unwrap();
    let upload_token = meshcheck_server::tokens::create(
        store.as_ref(),
        "platform",
        meshcheck_server::Role::Uploader,
        1,
    )
    .unwrap()
    .token;
    let token_file = portal_dir.path().join("upload-token");
    std::fs::write(&token_file, &upload_token).unwrap();

    // What the kubelet gives a Pod: the service-account files at their fixed path and the API
    // server's address in the environment. A private mount namespace puts the files there
    // without touching the machine's /run.
    let account_dir = cluster.dir.path().join("serviceaccount");
    std::fs::create_dir_all(&account_dir).unwrap();
    std::fs::write(account_dir.join("token"), &token).unwrap();
    std::fs::write(account_dir.join("namespace"), NAMESPACE).unwrap();
    std::fs::copy(
        cluster.dir.path().join("certs/apiserver.crt"),
        account_dir.join("ca.crt"),
    )
    .unwrap();
    let port = cluster.server.rsplit(':').next().unwrap().to_owned();
    let archive = cluster.dir.path().join("in-cluster.tar.zst");
    let script = format!(
        "set -e; mount -t tmpfs tmpfs /run; mkdir -p /run/secrets/kubernetes.io; \
         cp -r '{account}' /run/secrets/kubernetes.io/serviceaccount; \
         exec '{meshcheck}' collect --quiet --output='{archive}' --upload='{url}' \
         --token-file='{token_file}' --cluster=test-cluster",
        account = account_dir.display(),
        meshcheck = MESHCHECK,
        archive = archive.display(),
        url = server.url(),
        token_file = token_file.display(),
    );
    let root = Command::new("id").arg("-u").output().unwrap();
    let mut unshare = Command::new("unshare");
    if String::from_utf8_lossy(&root.stdout).trim() != "0" {
        unshare.args(["--user", "--map-root-user"]);
    }
    let run = unshare
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_remove("KUBECONFIG")
        .env("HOME", cluster.dir.path().join("no-home"))
        .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", &port)
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "collect in-cluster failed: {stderr}");

    let archive = Archive::open(&archive, &Limits::default()).unwrap();
    assert_eq!(archive.manifest().context.as_deref(), Some("in-cluster"));
    assert_eq!(
        archive.manifest().collection_errors,
        Vec::new(),
        "the deployed role left gaps"
    );
    let (objects, _) = archive.objects();
    for kind in &seeded_kinds {
        assert!(
            objects.iter().any(|object| &object.kind == kind),
            "no {kind} collected"
        );
    }

    // The archive path, then the report URL as the last line; the portal has it under the name.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let report_url = lines[1];
    assert!(report_url.starts_with(&format!("{}/snapshots/", server.url())));
    let id = report_url.rsplit('/').next().unwrap().to_owned();
    let (status, cluster_name) = runtime.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/snapshots/{id}", server.url()))
            .bearer_auth(&upload_token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (status, body["cluster"].clone())
    });
    assert_eq!(status, 200);
    assert_eq!(cluster_name, "test-cluster");
    runtime.block_on(server.shutdown()).unwrap();
}
