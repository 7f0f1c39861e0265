//! A real kube-apiserver + etcd on loopback for collector tests (`scripts/testcluster.sh`), and a
//! way to load manifests into it through the API, the way kubectl would.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use kube::discovery::Discovery;
use meshcheck_collect::ClusterTarget;
use serde_json::Value;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running test cluster; stopped when dropped (also when a test panics).
pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub server: String,
}

impl TestCluster {
    /// Starts etcd and the API server (building/caching the server binary first if needed).
    pub fn start() -> TestCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = workspace_root().join("scripts/testcluster.sh");
        let output = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(dir.path())
            .output()
            .expect("run scripts/testcluster.sh");
        assert!(
            output.status.success(),
            "scripts/testcluster.sh start failed (run `scripts/testcluster.sh provision` as root first):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let server = std::fs::read_to_string(dir.path().join("server"))
            .expect("server file")
            .trim()
            .to_owned();
        TestCluster { dir, server }
    }

    pub fn kubeconfig(&self, user: &str) -> PathBuf {
        self.dir.path().join(format!("kubeconfig-{user}"))
    }

    pub fn target(&self, user: &str) -> ClusterTarget {
        ClusterTarget {
            kubeconfig: Some(self.kubeconfig(user)),
            context: None,
        }
    }

    pub fn stop(&self) {
        let _ = Command::new("bash")
            .arg(workspace_root().join("scripts/testcluster.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }

    pub async fn admin_client(&self) -> Client {
        self.target("admin")
            .connect()
            .await
            .expect("admin client")
            .client
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Parses a multi-document YAML file into objects (with meshcheck's own loader).
pub fn manifests(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name: Arc<str> = Arc::from(path.display().to_string());
    let (objects, issues) = meshcheck_input::parse_documents(&name, &text);
    assert!(issues.is_empty(), "{}: {issues:?}", path.display());
    objects
        .into_iter()
        .map(|object| object.value.into())
        .collect()
}

fn group_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// Creates objects in order: Namespaces and CRDs first (waiting for the CRDs to be served), then
/// the rest, resolving each kind through discovery as kubectl does.
pub async fn apply(client: &Client, objects: &[Value]) {
    let kind_of = |object: &Value| object["kind"].as_str().unwrap_or_default().to_owned();
    let (first, rest): (Vec<&Value>, Vec<&Value>) = objects.iter().partition(|object| {
        matches!(
            kind_of(object).as_str(),
            "Namespace" | "CustomResourceDefinition"
        )
    });
    let discovery = discover(client).await;
    for object in &first {
        create(client, &discovery, object).await;
    }
    let crd_groups: Vec<String> = first
        .iter()
        .filter(|object| kind_of(object) == "CustomResourceDefinition")
        .filter_map(|crd| {
            crd.pointer("/spec/group")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    // Wait until every CRD group is discoverable.
    let mut discovery = discovery;
    for _ in 0..60 {
        discovery = discover(client).await;
        if crd_groups.iter().all(|group| discovery.has_group(group)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for object in &rest {
        create(client, &discovery, object).await;
    }
}

/// Discovery, retried: while CRDs are being established a group can be listed before its
/// version is served (404).
async fn discover(client: &Client) -> Discovery {
    let mut last_error = None;
    for _ in 0..60 {
        match Discovery::new(client.clone()).run().await {
            Ok(discovery) => return discovery,
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("discovery kept failing: {last_error:?}");
}

async fn create(client: &Client, discovery: &Discovery, object: &Value) {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (group, version) = group_version(api_version);
    let (resource, capabilities) = discovery
        .get(group)
        .and_then(|g| {
            g.versioned_resources(version)
                .into_iter()
                .find(|(resource, _)| resource.kind == kind)
        })
        .unwrap_or_else(|| panic!("the test apiserver does not serve {api_version} {kind}"));
    let api: Api<DynamicObject> = if capabilities.scope == kube::discovery::Scope::Namespaced {
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        Api::namespaced_with(client.clone(), namespace, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    let dynamic: DynamicObject =
        serde_json::from_value(object.clone()).unwrap_or_else(|e| panic!("{kind} {name}: {e}"));
    api.create(&PostParams::default(), &dynamic)
        .await
        .unwrap_or_else(|e| panic!("create {api_version} {kind} {name}: {e}"));
}
