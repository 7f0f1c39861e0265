//! Uploads the portal must refuse without keeping anything: too large, corrupt, truncated,
//! decompression bombs, path traversal; and a client that writes its whole oversize body before
//! reading still reads the 413.

#[macro_use]
mod common;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{Backend, Portal, Stores, T0, archive};
use meshcheck_archive::Limits;
use meshcheck_server::Role;
use reqwest::StatusCode;
use serde_json::Value;

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

/// The upload limit of these tests: twice of it is more than loopback socket buffers hold
/// (4 MiB on Linux by default), so a server that stops reading is seen by the client.
const LIMIT: usize = 8 << 20;

/// The head of an upload request, with `framing` header lines.
fn request_head(token: &str, framing: &str) -> String {
    format!(
        "POST /api/v1/snapshots HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {token}\r\n{framing}\r\n"
    )
}

/// Writes an upload of `length` zero bytes, under a Content-Length or in 64 KiB chunks.
fn write_upload(out: &mut impl Write, token: &str, length: usize, chunked: bool) -> io::Result<()> {
    let framing = if chunked {
        "Transfer-Encoding: chunked\r\n".to_owned()
    } else {
        format!("Content-Length: {length}\r\n")
    };
    out.write_all(request_head(token, &framing).as_bytes())?;
    let zeros = [0u8; 64 << 10];
    let mut left = length;
    while left > 0 {
        let size = left.min(zeros.len());
        if chunked {
            write!(out, "{size:x}\r\n")?;
        }
        out.write_all(&zeros[..size])?;
        if chunked {
            out.write_all(b"\r\n")?;
        }
        left -= size;
    }
    if chunked {
        out.write_all(b"0\r\n\r\n")?;
    }
    Ok(())
}

/// Connects with time limits, so that a server that stops answering fails the test.
fn connect(address: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(20)))?;
    Ok(stream)
}

/// Reads until the server closes the connection.
fn read_all(stream: &mut TcpStream) -> io::Result<String> {
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// The upload is written in full before anything is read, as urllib and requests do; a broken
/// pipe or a reset on either side is an error.
fn upload_then_read(
    address: SocketAddr,
    token: &str,
    length: usize,
    chunked: bool,
) -> io::Result<String> {
    let mut stream = connect(address)?;
    write_upload(&mut stream, token, length, chunked)?;
    read_all(&mut stream)
}

/// A 413 that closes the connection, with the usual JSON error.
fn assert_refused(response: &str, case: &str) {
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{case}: no response head: {response:?}"));
    assert!(head.starts_with("HTTP/1.1 413 "), "{case}: {head}");
    assert!(
        head.to_ascii_lowercase().contains("\r\nconnection: close"),
        "{case}: {head}"
    );
    let answer: Value =
        serde_json::from_str(body).unwrap_or_else(|error| panic!("{case}: {error}: {body}"));
    assert!(
        answer["error"].as_str().unwrap().contains("upload limit"),
        "{case}: {answer}"
    );
}

async fn portal_with_a_small_limit(stores: &Stores) -> Portal {
    let mut config = stores.config();
    config.max_upload_bytes = LIMIT as u64;
    Portal::start_with(stores, config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_its_whole_oversize_body_first_reads_the_413() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let portal = portal_with_a_small_limit(&stores).await;
    let address = portal.server.local_addr();
    for chunked in [false, true] {
        let case = if chunked { "chunked" } else { "Content-Length" };
        let token = uploader.clone();
        // Twice the limit: the most of a refused body the server reads.
        let response = tokio::task::spawn_blocking(move || {
            upload_then_read(address, &token, 2 * LIMIT, chunked)
        })
        .await
        .unwrap()
        .unwrap_or_else(|error| panic!("{case}: {error}"));
        assert_refused(&response, case);
        assert_nothing_stored(&portal).await;
    }
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_expecting_100_continue_is_refused_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let portal = portal_with_a_small_limit(&stores).await;
    let address = portal.server.local_addr();
    // The head alone: the body would follow a `100 Continue`, which must not come.
    let framing = format!("Content-Length: {}\r\nExpect: 100-continue\r\n", 2 * LIMIT);
    let head = request_head(&uploader, &framing);
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = connect(address)?;
        stream.write_all(head.as_bytes())?;
        read_all(&mut stream)
    })
    .await
    .unwrap()
    .unwrap_or_else(|error| panic!("the server waits for a body it refused: {error}"));
    assert_refused(&response, "Expect: 100-continue");
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_far_past_the_bound_is_cut_off_and_the_server_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let portal = portal_with_a_small_limit(&stores).await;
    let address = portal.server.local_addr();
    let started = Instant::now();
    let (written, read) = tokio::task::spawn_blocking(move || {
        let mut stream = connect(address).unwrap();
        let mut writer = stream.try_clone().unwrap();
        // 16 times the limit: far more than the server reads and the socket buffers hold.
        let writing =
            std::thread::spawn(move || write_upload(&mut writer, &uploader, 16 * LIMIT, false));
        let read = read_all(&mut stream);
        (writing.join().unwrap(), read)
    })
    .await
    .unwrap();
    // Cut off: neither read to the end nor left hanging.
    let error = written.expect_err("the server read the whole body");
    assert!(
        !matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "the server stopped reading but kept the connection: {error}"
    );
    match read {
        Ok(response) if !response.is_empty() => assert_refused(&response, "16 times the limit"),
        Ok(_) => {}
        Err(error) => assert!(
            !matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "no answer: {error}"
        ),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    let response = portal.get(None, "/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_nothing_stored(&portal).await;
    portal.stop().await;
}
