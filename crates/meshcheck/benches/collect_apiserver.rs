//! Collection throughput against the real test kube-apiserver (`scripts/testcluster.sh`):
//! seeds ~10,000 objects, collects them a few times and prints objects/second, plus the archive
//! size against the raw JSON the API server served.
//!
//!     cargo bench -p meshcheck --bench collect_apiserver [-- NAMESPACES]
//!
//! Not a timed test: it asserts nothing about speed, it measures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use futures::StreamExt;
use meshcheck_collect::{CollectOptions, NoProgress};
use serde_json::{Value, json};
use support::cluster::{TestCluster, apply, manifests, workspace_root};

/// Per namespace: services, pods, VirtualServices and DestinationRules (25 each).
const PER_KIND: usize = 25;

fn namespace_objects(namespace: &str) -> Vec<Value> {
    let mut objects = Vec::new();
    for index in 0..PER_KIND {
        let app = format!("svc-{index}");
        objects.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app, "namespace": namespace, "labels": {"app": app}},
            "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 8080}]}}));
        objects.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{app}-7d9f8c-x{index}"), "namespace": namespace,
                "labels": {"app": app, "version": "v1"}},
            "spec": {"containers": [
                {"name": "app", "image": "registry.example.com/app:1.0",
                 "env": [{"name": "MODE", "value": "production"}]},
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.2", "args": ["proxy", "sidecar"]}]}}));
        objects.push(json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": app, "namespace": namespace},
            "spec": {"hosts": [app], "http": [{"route": [{"destination": {"host": app, "subset": "v1"}}],
                "timeout": "5s", "retries": {"attempts": 3, "perTryTimeout": "2s"}}]}}));
        objects.push(
            json!({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": app, "namespace": namespace},
            "spec": {"host": app, "subsets": [{"name": "v1", "labels": {"version": "v1"}}],
                "trafficPolicy": {"outlierDetection": {"consecutive5xxErrors": 5}}}}),
        );
    }
    objects
}

fn main() {
    let namespaces: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(100);
    let cluster = TestCluster::start();
    eprintln!("test apiserver at {}", cluster.server);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let seeded = runtime.block_on(async {
        let client = cluster.admin_client().await;
        let mut setup = manifests(
            &workspace_root().join("crates/meshcheck/tests/apiserver/istio-crds.yaml"),
        );
        for index in 0..namespaces {
            setup.push(json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": format!("team-{index}"), "labels": {"istio-injection": "enabled"}}}));
        }
        apply(&client, &setup).await;
        let started = Instant::now();
        let objects: Vec<Value> = (0..namespaces)
            .flat_map(|index| namespace_objects(&format!("team-{index}")))
            .collect();
        let count = objects.len();
        // Seed in parallel chunks; `apply` resolves kinds through discovery like kubectl.
        let chunks: Vec<Vec<Value>> = objects.chunks(250).map(<[Value]>::to_vec).collect();
        futures::stream::iter(chunks.iter().map(|chunk| apply(&client, chunk)))
            .buffer_unordered(8)
            .collect::<Vec<()>>()
            .await;
        eprintln!(
            "seeded {count} objects in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        count
    });

    let options = CollectOptions::default();
    let mut rates = Vec::new();
    let mut last = None;
    for round in 0..3 {
        let collection = runtime.block_on(async {
            let connection = cluster.target("admin").connect().await.unwrap();
            meshcheck_collect::collect(&connection, &options, &NoProgress)
                .await
                .unwrap()
        });
        let rate = collection.object_count() as f64 / collection.elapsed.as_secs_f64();
        println!(
            "round {round}: {} objects ({} seeded + cluster defaults) in {:.2}s = {:.0} objects/s, {} requests",
            collection.object_count(),
            seeded,
            collection.elapsed.as_secs_f64(),
            rate,
            collection.requests
        );
        rates.push(rate);
        last = Some(collection);
    }
    rates.sort_by(f64::total_cmp);
    println!("median: {:.0} objects/s", rates[rates.len() / 2]);

    let collection = last.unwrap();
    let raw_json: usize = collection
        .lists
        .iter()
        .flat_map(|list| &list.items)
        .chain(&collection.events)
        .map(|item| serde_json::to_vec(item).unwrap().len())
        .sum();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.tar.zst");
    let mut writer = meshcheck_archive::SnapshotWriter::new(meshcheck_archive::SnapshotInfo {
        source: meshcheck_archive::Source::Cluster,
        context: Some(collection.context.clone()),
        kubernetes_version: collection.kubernetes_version.clone(),
        version_json: Some(collection.version.clone()),
        collected_at: jiff::Timestamp::now(),
    });
    for list in collection.lists {
        writer.add_objects(&list.api_version, &list.kind, list.items);
    }
    writer.add_events(collection.events);
    let started = Instant::now();
    writer.write_atomic(&path).unwrap();
    let written = started.elapsed();
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "archive: {:.2} MB (raw JSON as served and trimmed: {:.2} MB, ratio {:.1}x), written in {:.2}s",
        size as f64 / 1e6,
        raw_json as f64 / 1e6,
        raw_json as f64 / size as f64,
        written.as_secs_f64()
    );
}
