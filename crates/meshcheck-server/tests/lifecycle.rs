//! The portal across restarts and over time: pending work resumes, retention and the orphan
//! sweep, metrics, rate limit, TLS.

#[macro_use]
mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{Backend, Portal, Stores, T0, archive};
use meshcheck_server::{RateLimit, Role};
use reqwest::StatusCode;

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_restart_resumes_pending_analyses(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let mut paused = stores.config();
    paused.workers = 0;
    let portal = Portal::start_with(&stores, paused).await;
    let mut ids = Vec::new();
    for (index, cluster) in ["prod", "staging"].into_iter().enumerate() {
        let (status, created) = portal
            .upload(
                &uploader,
                archive("bookinfo-broken", Some(cluster), T0 + index as i64),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(portal.server.queue_depth(), 2);
    portal.stop().await;
    let pending = stores.with_store(|store| store.pending_ids(i64::MAX).unwrap());
    assert_eq!(pending, ids, "accepted and still pending");

    let portal = Portal::start(&stores).await;
    for id in &ids {
        let snapshot = portal.wait_analyzed(&uploader, id).await;
        assert_eq!(snapshot["status"], "done", "{snapshot}");
        let (status, _) = portal
            .get_json(&uploader, &format!("/api/v1/snapshots/{id}/findings"))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(portal.server.queue_depth(), 0);
    portal.stop().await;
}

/// Two replicas on the same stores: what one accepts, the other serves; what one leaves
/// pending (it analyses nothing here, as if it had died), the other picks up.
async fn replicas_share_snapshots_and_pick_up_each_others_pending_work(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let mut worker_config = stores.config();
    worker_config.stale_after = Duration::from_millis(800);
    let worker = Portal::start_with(&stores, worker_config).await;
    let mut idle_config = stores.config();
    idle_config.workers = 0;
    let idle = Portal::start_with(&stores, idle_config).await;

    let (status, created) = idle
        .upload(&uploader, archive("bookinfo-broken", Some("prod"), T0))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    // The worker replica never saw this upload; it finds it pending in the shared database.
    let snapshot = worker.wait_analyzed(&uploader, &id).await;
    assert_eq!(snapshot["status"], "done", "{snapshot}");
    let (status, _) = idle
        .get_json(&uploader, &format!("/api/v1/snapshots/{id}/findings"))
        .await;
    assert_eq!(status, StatusCode::OK, "reports are shared too");
    let (status, duplicate) = worker
        .upload(&uploader, archive("bookinfo-broken", Some("prod"), T0))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "duplicates are seen across replicas"
    );
    assert_eq!(duplicate["id"], id.as_str());
    idle.stop().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_snapshots_and_orphan_files_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let portal = Portal::start(&stores).await;
    let mut ids = Vec::new();
    for offset in 0..2 {
        let (_, created) = portal
            .upload(&uploader, archive("bookinfo", Some("prod"), T0 + offset))
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        portal.wait_analyzed(&uploader, &id).await;
        ids.push(id);
    }
    portal.stop().await;

    // The first upload happened ten days ago.
    let ten_days_ago = jiff::Timestamp::now().as_microsecond() - 10 * 86_400 * 1_000_000;
    rusqlite::Connection::open(dir.path().join("meshcheck.db"))
        .unwrap()
        .execute(
            "UPDATE snapshots SET uploaded_at = ?1 WHERE id = ?2",
            rusqlite::params![ten_days_ago, ids[0]],
        )
        .unwrap();
    // Files of a snapshot that has no row (a crash between storing and recording), two hours
    // old; and a fresh one that may belong to an upload in progress.
    let orphan = dir
        .path()
        .join("blobs/snapshots/ffffffffffffffffffffffffffffffff");
    std::fs::create_dir_all(&orphan).unwrap();
    let orphan_file = orphan.join("archive.tar.zst");
    std::fs::write(&orphan_file, b"left behind").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&orphan_file)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    let fresh = dir
        .path()
        .join("blobs/snapshots/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("archive.tar.zst"), b"in flight").unwrap();
    // An upload interrupted by a crash.
    std::fs::write(dir.path().join("tmp/upload-crashed"), b"partial").unwrap();

    let mut config = stores.config();
    config.retain_days = Some(7);
    let portal = Portal::start_with(&stores, config).await;
    assert!(!dir.path().join("tmp/upload-crashed").exists());
    wait_until("retention", || stores.snapshot_rows() == 1).await;
    wait_until("the orphan sweep", || !orphan.exists()).await;
    assert!(fresh.exists(), "recent files are left alone");
    let (status, _) = portal
        .get_json(&uploader, &format!("/api/v1/snapshots/{}", ids[0]))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = portal
        .get_json(&uploader, &format!("/api/v1/snapshots/{}", ids[1]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let files = stores.blob_ids().await;
    assert!(!files.contains(&ids[0]), "{files:?}");
    let log = stores.with_store(|store| store.audit_log(100).unwrap());
    assert!(log.iter().any(|entry| entry.action == "retention-delete"
        && entry.snapshot_id.as_deref() == Some(ids[0].as_str())));
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_need_no_token_and_count_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let portal = Portal::start(&stores).await;
    let response = portal.get(None, "/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");

    let (_, created) = portal
        .upload(&uploader, archive("bookinfo", None, T0))
        .await;
    portal
        .wait_analyzed(&uploader, created["id"].as_str().unwrap())
        .await;
    portal
        .upload(&uploader, archive("bookinfo", None, T0))
        .await;
    portal.upload(&uploader, b"garbage".to_vec()).await;

    let response = portal.get(None, "/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for line in [
        "meshcheck_uploads_total{outcome=\"created\"} 1",
        "meshcheck_uploads_total{outcome=\"duplicate\"} 1",
        "meshcheck_uploads_total{outcome=\"rejected\"} 1",
        "meshcheck_analyses_total{outcome=\"done\"} 1",
        "meshcheck_analysis_duration_seconds_count 1",
        "meshcheck_analysis_queue_depth 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    assert!(!text.contains(&uploader));

    let response = portal.get(None, "/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_has_its_own_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let busy = stores.token("team-a", Role::Viewer);
    let calm = stores.token("team-a", Role::Viewer);
    let mut config = stores.config();
    config.rate_limit = Some(RateLimit {
        per_second: 0.5,
        burst: 3.0,
    });
    let portal = Portal::start_with(&stores, config).await;
    for _ in 0..3 {
        let (status, _) = portal.get_json(&busy, "/api/v1/snapshots").await;
        assert_eq!(status, StatusCode::OK);
    }
    let response = portal.get(Some(&busy), "/api/v1/snapshots").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let (status, _) = portal.get_json(&calm, "/api/v1/snapshots").await;
    assert_eq!(status, StatusCode::OK);
    let text = portal.get(None, "/metrics").await.text().await.unwrap();
    assert!(text.contains("meshcheck_rate_limited_total 1"), "{text}");
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_the_api_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.path().join("tls.crt");
    let key = dir.path().join("tls.key");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();

    let mut tls = stores.config();
    tls.tls_cert = Some(cert.clone());
    tls.tls_key = Some(key);
    let server = meshcheck_server::start(tls).await.unwrap();
    assert!(server.url().starts_with("https://"));
    let port = server.local_addr().port();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap()])
        .resolve("localhost", server.local_addr())
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let response = client
        .post(format!("{base}/api/v1/snapshots"))
        .bearer_auth(&uploader)
        .body(archive("bookinfo", None, T0))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: serde_json::Value = response.json().await.unwrap();
    let report_url = created["report_url"].as_str().unwrap();
    assert!(
        report_url.starts_with(&format!("https://localhost:{port}/snapshots/")),
        "{report_url}"
    );
    // Plain HTTP on the TLS port gets nowhere.
    let plain = common::client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.map_or(true, |response| !response.status().is_success()));
    server.shutdown().await.unwrap();

    // A missing key file is one clear error.
    let mut broken = stores.config();
    broken.tls_cert = Some(cert);
    broken.tls_key = Some(dir.path().join("missing.key"));
    let error = meshcheck_server::start(broken).await.err().unwrap();
    assert!(format!("{error:#}").contains("missing.key"), "{error:#}");
}

on_each_backend!(
    a_restart_resumes_pending_analyses,
    replicas_share_snapshots_and_pick_up_each_others_pending_work,
);
