//! Uploads the portal must refuse without keeping anything: too large, corrupt, truncated,
//! decompression bombs, path traversal.

#[macro_use]
mod common;

use std::io::Read;

use common::{Backend, Portal, T0, archive};
use meshcheck_archive::Limits;
use meshcheck_server::Role;
use reqwest::StatusCode;

/// The members of a valid archive, to repack with hostile additions.
fn members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let tar = zstd::decode_all(bytes).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (path, data)
        })
        .collect()
}

/// A tar header written byte for byte (the tar crate's path setter refuses `..`, which is
/// exactly what a hostile archive carries).
fn raw_header(path: &str, size: u64) -> tar::Header {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    header
}

fn repack(members: &[(String, Vec<u8>)], extra: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in members {
        builder
            .append(&raw_header(path, data.len() as u64), data.as_slice())
            .unwrap();
    }
    for (path, data) in extra {
        builder
            .append(&raw_header(path, data.len() as u64), data.as_slice())
            .unwrap();
    }
    zstd::encode_all(builder.into_inner().unwrap().as_slice(), 3).unwrap()
}

async fn assert_nothing_stored(portal: &Portal) {
    assert_eq!(portal.snapshot_rows(), 0, "no snapshot row");
    let blobs = portal.blob_ids().await;
    assert!(blobs.is_empty(), "no blob: {blobs:?}");
    assert_eq!(portal.upload_leftovers(), 0, "no temporary file");
}

async fn broken_and_hostile_archives_are_400_and_nothing_is_stored(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let mut config = stores.config();
    config.archive_limits = Limits {
        max_total_bytes: 8 << 20,
        ..Limits::default()
    };
    let portal = Portal::start_with(&stores, config).await;

    let valid = archive("bookinfo-broken", Some("prod"), T0);
    let mut flipped = valid.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    // 64 MiB of zeros compresses to a few kilobytes.
    let bomb = repack(
        &members(&valid),
        &[("proxy-stats/bomb.txt", vec![0u8; 64 << 20])],
    );
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    let traversal = repack(
        &members(&valid),
        &[("../../etc/cron.d/evil", b"x".to_vec())],
    );
    let absolute = repack(&members(&valid), &[("/etc/passwd", b"x".to_vec())]);
    let unlisted = repack(&members(&valid), &[("objects/extra.json", b"{}".to_vec())]);

    let cases: [(&str, Vec<u8>, &str); 8] = [
        ("truncated", valid[..valid.len() / 2].to_vec(), "truncated"),
        ("flipped byte", flipped, ""),
        (
            "not an archive",
            b"apiVersion: v1\nkind: Service\n".to_vec(),
            "not a meshcheck archive",
        ),
        ("decompression bomb", bomb, "decompression bomb"),
        ("path traversal", traversal, "leaves the archive"),
        ("absolute path", absolute, "absolute path"),
        ("unlisted member", unlisted, "not listed in the manifest"),
        ("empty body", Vec::new(), "empty body"),
    ];
    for (name, body, expected) in cases {
        let (status, answer) = portal.upload(&uploader, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {answer}");
        let message = answer["error"].as_str().unwrap();
        assert_eq!(message.lines().count(), 1, "{name}: {message}");
        assert!(message.contains(expected), "{name}: {message}");
        assert!(
            !message.contains(&portal.data_dir().display().to_string()),
            "{name}: server paths stay private: {message}"
        );
        if name != "empty body" {
            assert!(message.starts_with("upload: "), "{name}: {message}");
        }
        assert_nothing_stored(&portal).await;
    }
    let log = stores.with_store(|store| store.audit_log(100).unwrap());
    assert_eq!(
        log.iter()
            .filter(|entry| entry.action == "upload" && entry.outcome.starts_with("rejected: "))
            .count(),
        7
    );

    // The server is still fine with a good archive afterwards.
    let (status, _) = portal.upload(&uploader, valid).await;
    assert_eq!(status, StatusCode::CREATED);
    portal.stop().await;
}

async fn uploads_over_the_limit_are_413_whether_declared_or_streamed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let bytes = archive("bookinfo-broken", Some("prod"), T0);
    let mut config = stores.config();
    config.max_upload_bytes = bytes.len() as u64 - 1;
    let portal = Portal::start_with(&stores, config).await;

    // Content-Length says it up front.
    let (status, answer) = portal.upload(&uploader, bytes.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("upload limit"),
        "{answer}"
    );
    assert_nothing_stored(&portal).await;

    // Chunked, no length: refused once the stream passes the cap.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(1024).map(|chunk| Ok(chunk.to_vec())).collect();
    let response = portal
        .client
        .post(format!("{}/api/v1/snapshots", portal.url))
        .bearer_auth(&uploader)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_nothing_stored(&portal).await;
    portal.stop().await;

    // Exactly at the limit is fine.
    let mut config = stores.config();
    config.max_upload_bytes = bytes.len() as u64;
    let portal = Portal::start_with(&stores, config).await;
    let (status, answer) = portal.upload(&uploader, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    portal.stop().await;
}

on_each_backend!(
    broken_and_hostile_archives_are_400_and_nothing_is_stored,
    uploads_over_the_limit_are_413_whether_declared_or_streamed,
);
