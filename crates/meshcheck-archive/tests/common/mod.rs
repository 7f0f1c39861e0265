//! Shared by the archive tests: a sample snapshot and helpers to open one.
#![allow(dead_code)]

use meshcheck_archive::{Archive, ArchiveError, Limits, SnapshotInfo, SnapshotWriter, Source};
use meshcheck_model::CollectionGap;
use serde_json::{Value, json};

pub fn info() -> SnapshotInfo {
    SnapshotInfo {
        source: Source::Cluster,
        context: Some("prod-eu".to_owned()),
        kubernetes_version: Some("v1.29.4".to_owned()),
        version_json: Some(json!({"major": "1", "minor": "29", "gitVersion": "v1.29.4"})),
        collected_at: "2026-11-24T10:00:00Z".parse().unwrap(),
    }
}

pub fn service(namespace: &str, name: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 9080}]}
    })
}

pub fn sample_writer() -> SnapshotWriter {
    let mut writer = SnapshotWriter::new(info());
    writer.add_objects(
        "v1",
        "Service",
        vec![service("default", "reviews"), service("default", "details")],
    );
    writer.add_objects("v1", "Service", vec![service("shop", "cart")]);
    writer.add_objects(
        "networking.istio.io/v1",
        "VirtualService",
        vec![json!({
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "reviews", "namespace": "default"},
            "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]}
        })],
    );
    writer.add_objects(
        "v1",
        "Secret",
        vec![json!({
            "metadata": {"name": "db", "namespace": "default"},
            "type": "Opaque",
            "data": {"password": "c3VwZXItc2VjcmV0LXBhc3N3b3Jk"}
        })],
    );
    writer.add_events(vec![json!({
        "metadata": {"name": "e1", "namespace": "default"},
        "reason": "Unhealthy", "message": "probe failed", "lastTimestamp": "2026-11-24T09:59:00Z"
    })]);
    writer.add_proxy_stats(
        "reviews-v1-abc.default",
        "cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_cx_total: 3\n"
            .to_owned(),
    );
    writer.add_collection_error(CollectionGap {
        api_version: "security.istio.io/v1".to_owned(),
        kind: "AuthorizationPolicy".to_owned(),
        namespace: None,
        reason: "forbidden: cannot list".to_owned(),
    });
    writer
}

pub fn sample_bytes() -> Vec<u8> {
    sample_writer().to_bytes().unwrap().1
}

pub fn open(bytes: &[u8]) -> Result<Archive, ArchiveError> {
    Archive::from_reader("test.tar.zst", bytes, &Limits::default())
}

pub fn open_limited(bytes: &[u8], limits: Limits) -> Result<Archive, ArchiveError> {
    Archive::from_reader("test.tar.zst", bytes, &limits)
}
