//! Round trips, determinism, redaction in the written bytes, atomic writes and anonymization.

mod common;

use common::{info, open, sample_bytes, sample_writer, service};
use meshcheck_archive::{Archive, Limits, SnapshotWriter, Source};
use meshcheck_input::Value;
use meshcheck_model::InputSource;

#[test]
fn round_trip_keeps_objects_facts_and_extras() {
    let archive = open(&sample_bytes()).unwrap();
    let manifest = archive.manifest();
    assert_eq!(manifest.format_version, 1);
    assert_eq!(manifest.source, Source::Cluster);
    assert_eq!(manifest.collected_at, "2026-11-24T10:00:00Z");
    assert_eq!(manifest.counts["v1/Service"], 3);
    assert_eq!(manifest.counts["networking.istio.io/v1/VirtualService"], 1);
    assert_eq!(manifest.redaction["secret-data"], 1);
    assert!(
        manifest
            .members
            .contains_key("objects/core/v1/Service.json")
    );
    assert_eq!(archive.member_count(), manifest.members.len() + 1);

    let (objects, issues) = archive.objects();
    assert!(issues.is_empty(), "{issues:?}");
    // Four objects and one Event (events are objects for the rules).
    assert_eq!(objects.len(), 5 + 1);
    assert!(objects.iter().any(|object| object.kind == "Event"));
    let cart = objects.iter().find(|object| object.name == "cart").unwrap();
    assert_eq!(cart.kind, "Service");
    assert_eq!(cart.api_version, "v1");
    let source = cart.source.as_ref().unwrap();
    assert_eq!(&*source.file, "objects/core/v1/Service.json");
    // Sorted by namespace then name: details, reviews (default), cart (shop).
    assert_eq!(source.line, 4);

    let cluster = archive.cluster_info();
    assert_eq!(cluster.source, InputSource::Archive);
    assert_eq!(cluster.context.as_deref(), Some("prod-eu"));
    assert_eq!(cluster.kubernetes_version.as_deref(), Some("v1.29.4"));
    assert_eq!(
        cluster.collected_at.as_deref(),
        Some("2026-11-24T10:00:00Z")
    );
    assert_eq!(cluster.collection_gaps[0].kind, "AuthorizationPolicy");

    let stats = archive.proxy_stats();
    assert_eq!(stats[0].0, "reviews-v1-abc.default");
    assert!(stats[0].1.contains("upstream_cx_total: 3"));
    assert_eq!(archive.events()[0]["reason"], "Unhealthy");
    assert_eq!(archive.version_json().unwrap()["gitVersion"], "v1.29.4");
}

#[test]
fn same_input_gives_identical_bytes() {
    assert_eq!(sample_bytes(), sample_bytes());
    // Order of collection does not matter either.
    let mut writer = SnapshotWriter::new(info());
    writer.add_objects("v1", "Service", vec![service("shop", "cart")]);
    writer.add_objects(
        "v1",
        "Service",
        vec![service("default", "details"), service("default", "reviews")],
    );
    let mut other = SnapshotWriter::new(info());
    other.add_objects(
        "v1",
        "Service",
        vec![
            service("default", "reviews"),
            service("default", "details"),
            service("shop", "cart"),
        ],
    );
    assert_eq!(writer.to_bytes().unwrap().1, other.to_bytes().unwrap().1);
}

#[test]
fn secret_data_survives_nowhere_in_the_bytes() {
    let bytes = sample_bytes();
    let tar = zstd::decode_all(bytes.as_slice()).unwrap();
    let text = String::from_utf8_lossy(&tar);
    assert!(!text.contains("c3VwZXItc2VjcmV0LXBhc3N3b3Jk"));
    assert!(!text.contains("super-secret-password"));
    assert!(text.contains("\"name\":\"db\""));
}

#[test]
fn write_atomic_leaves_only_the_final_file() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("snapshot.tar.zst");
    let manifest = sample_writer().write_atomic(&dest).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["snapshot.tar.zst"]);
    let archive = Archive::open(&dest, &Limits::default()).unwrap();
    assert_eq!(archive.manifest(), &manifest);
    assert!(meshcheck_archive::is_archive(&dest).unwrap());
    assert!(
        !meshcheck_archive::is_archive(
            &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")
        )
        .unwrap()
    );
}

#[test]
fn a_file_named_as_an_archive_is_one_even_when_empty() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("snapshot.TAR.ZST");
    std::fs::write(&empty, b"").unwrap();
    assert!(meshcheck_archive::claims_archive(&empty).unwrap());
    assert!(!meshcheck_archive::is_archive(&empty).unwrap());
    let error = Archive::open(&empty, &Limits::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: not a meshcheck archive or truncated/corrupt (empty file)",
            empty.display()
        )
    );
    let manifest = dir.path().join("mesh.yaml");
    std::fs::write(&manifest, "apiVersion: v1\n").unwrap();
    assert!(!meshcheck_archive::claims_archive(&manifest).unwrap());
}

#[test]
fn write_atomic_into_a_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("missing/snapshot.tar.zst");
    let error = sample_writer().write_atomic(&dest).unwrap_err();
    assert!(
        error.to_string().contains("missing/snapshot.tar.zst"),
        "{error}"
    );
}

#[test]
fn anonymized_archives_hide_names_and_keep_references() {
    let build = || {
        let mut writer = sample_writer();
        writer.anonymize_with_key("stable-key");
        writer.to_bytes().unwrap()
    };
    let (manifest, bytes) = build();
    assert!(manifest.anonymized);
    assert_eq!(manifest.redaction["event-message"], 1);
    assert_ne!(manifest.context.as_deref(), Some("prod-eu"));
    assert_eq!(bytes, build().1, "a stable key gives the same archive");

    let tar = zstd::decode_all(bytes.as_slice()).unwrap();
    let text = String::from_utf8_lossy(&tar);
    for name in [
        "reviews",
        "details",
        "cart",
        "shop",
        "prod-eu",
        "probe failed",
    ] {
        assert!(!text.contains(name), "{name} survived");
    }
    let archive = open(&bytes).unwrap();
    let (objects, _) = archive.objects();
    let service = objects.iter().find(|object| {
        object.kind == "Service"
            && object.namespace.as_deref() == Some("default")
            && object
                .value
                .pointer("/spec/selector/app")
                .and_then(Value::as_str)
                == Some(object.name.as_str())
    });
    assert!(
        service.is_some(),
        "Service names and their selectors change alike"
    );
    let virtual_service = objects
        .iter()
        .find(|object| object.kind == "VirtualService")
        .unwrap();
    let host = virtual_service
        .value
        .pointer("/spec/hosts/0")
        .and_then(Value::as_str)
        .unwrap();
    assert!(
        objects
            .iter()
            .any(|object| object.kind == "Service" && object.name == host)
    );
    let stats = archive.proxy_stats();
    assert!(
        stats[0]
            .1
            .contains(&format!("||{host}.default.svc.cluster.local")),
        "{}",
        stats[0].1
    );

    let mut random = sample_writer();
    random.anonymize(true);
    let mut other = sample_writer();
    other.anonymize(true);
    assert_ne!(
        random.to_bytes().unwrap().1,
        other.to_bytes().unwrap().1,
        "random keys differ per archive"
    );
}
