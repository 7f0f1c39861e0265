//! The portal's API over real HTTP: upload → analysis → findings → report, duplicates, tenant
//! isolation, tokens and roles, listing.

#[macro_use]
mod common;

use common::{Backend, Portal, T0, archive, archive_with, token_id};
use meshcheck_archive::{Archive, Limits};
use meshcheck_pipeline::{AnalyzeOptions, LoadedInput, analyze};
use meshcheck_server::Role;
use reqwest::StatusCode;
use serde_json::Value;

/// What `meshcheck analyze -o json` prints for the archive.
fn local_report_json(bytes: &[u8]) -> String {
    let archive = Archive::from_reader("archive", bytes, &Limits::default()).unwrap();
    let input = LoadedInput::from_archive(&archive).unwrap();
    meshcheck_report::render_json(&analyze(input, AnalyzeOptions::default()).report)
}

async fn upload_is_analyzed_and_its_reports_are_served(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let portal = Portal::start(&stores).await;
    let bytes = archive("bookinfo-broken", Some("prod-eu"), T0);

    let (status, created) = portal.upload(&uploader, bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(created["cluster"], "prod-eu");
    assert_eq!(created["collected_at"], "2026-11-18T11:06:40Z");
    assert_eq!(created["status"], "pending");
    assert_eq!(
        created["report_url"],
        format!("{}/snapshots/{id}", portal.url)
    );

    let snapshot = portal.wait_analyzed(&uploader, &id).await;
    assert_eq!(snapshot["status"], "done", "{snapshot}");
    assert_eq!(snapshot["kubernetes_version"], "v1.30.4");
    let summary = &snapshot["summary"];
    assert!(summary["score"].as_i64().unwrap() <= 100, "{snapshot}");
    assert!(summary["grade"].is_string(), "{snapshot}");
    assert!(summary["error"].as_i64().unwrap() > 0, "{snapshot}");
    assert_eq!(summary["objects"], 33);
    assert_eq!(snapshot["archive_bytes"], bytes.len());

    // Findings: byte for byte what the CLI prints for the same archive.
    let response = portal
        .get(Some(&uploader), &format!("/api/v1/snapshots/{id}/findings"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), local_report_json(&bytes));

    // The HTML report, with a policy that lets only its own style and script run.
    let response = portal
        .get(Some(&uploader), &format!("/snapshots/{id}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(policy.contains("script-src 'sha256-"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = response.text().await.unwrap();
    assert!(html.contains("<html"), "{}", &html[..200]);
    assert!(html.contains("prod-eu"));

    // The fleet view has the cluster with its latest figures.
    let (status, fleet) = portal.get_json(&uploader, "/api/v1/clusters").await;
    assert_eq!(status, StatusCode::OK);
    let clusters = fleet["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{fleet}");
    assert_eq!(clusters[0]["cluster"], "prod-eu");
    assert_eq!(clusters[0]["last_status"], "done");
    assert_eq!(clusters[0]["latest"]["id"], id.as_str());
    assert_eq!(clusters[0]["latest"]["score"], summary["score"]);
    assert_eq!(clusters[0]["history"].as_array().unwrap().len(), 1);

    // The archive comes back as it was sent.
    let response = portal
        .get(Some(&uploader), &format!("/api/v1/snapshots/{id}/archive"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.contains("meshcheck-prod-eu-"), "{disposition}");
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());

    // Uploads and downloads are audited, with the token's id and never the token.
    let log = stores.with_store(|store| store.audit_log(100).unwrap());
    let actions: Vec<&str> = log.iter().map(|entry| entry.action.as_str()).collect();
    for action in ["upload", "download", "token-use"] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    assert!(log.iter().all(|entry| {
        entry.token_id.as_deref() == Some(token_id(&uploader).as_str())
            && !entry.outcome.contains(&uploader)
    }));
    portal.stop().await;
}

async fn the_same_archive_twice_is_one_snapshot_per_tenant(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let team_a = stores.token("team-a", Role::Uploader);
    let team_b = stores.token("team-b", Role::Uploader);
    let portal = Portal::start(&stores).await;
    let bytes = archive("bookinfo", None, T0);

    let (status, first) = portal.upload(&team_a, bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["cluster"], "manifests");
    let (status, again) = portal.upload(&team_a, bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["report_url"], first["report_url"]);
    let (status, other_tenant) = portal.upload(&team_b, bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{other_tenant}");
    assert_ne!(other_tenant["id"], first["id"]);
    assert_eq!(portal.snapshot_rows(), 2);
    // Files are kept for the two accepted uploads only.
    let ids: std::collections::HashSet<String> = [&first, &other_tenant]
        .iter()
        .map(|created| created["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(portal.blob_ids().await, ids);
    portal.stop().await;
}

async fn another_tenants_snapshot_is_indistinguishable_from_an_unknown_one(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let owner = stores.token("team-a", Role::Admin);
    let intruder = stores.token("team-b", Role::Admin);
    let portal = Portal::start(&stores).await;
    let (_, created) = portal
        .upload(&owner, archive("bookinfo-broken", Some("prod"), T0))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    portal.wait_analyzed(&owner, &id).await;

    let (status, listed) = portal.get_json(&intruder, "/api/v1/snapshots").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["snapshots"], serde_json::json!([]));
    let (_, listed) = portal
        .get_json(&intruder, "/api/v1/snapshots?cluster=prod")
        .await;
    assert_eq!(listed["snapshots"], serde_json::json!([]));
    let (_, fleet) = portal.get_json(&intruder, "/api/v1/clusters").await;
    assert_eq!(fleet["clusters"], serde_json::json!([]));

    let unknown = "0123456789abcdef0123456789abcdef";
    for target in [id.as_str(), unknown, "../../etc/passwd", "not-an-id"] {
        for path in [
            format!("/api/v1/snapshots/{target}"),
            format!("/api/v1/snapshots/{target}/findings"),
            format!("/api/v1/snapshots/{target}/archive"),
            format!("/snapshots/{target}"),
        ] {
            let response = portal.get(Some(&intruder), &path).await;
            let status = response.status();
            let body = response.text().await.unwrap();
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
            if !target.contains('/') {
                assert_eq!(body, r#"{"error":"no such snapshot"}"#, "{path}");
            }
        }
        if !target.contains('/') {
            let status = portal
                .delete(&intruder, &format!("/api/v1/snapshots/{target}"))
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "delete {target}");
        }
    }
    // The owner still has everything.
    let (status, snapshot) = portal
        .get_json(&owner, &format!("/api/v1/snapshots/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snapshot["status"], "done");
    portal.stop().await;
}

async fn missing_wrong_and_revoked_tokens_are_401(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let good = stores.token("team-a", Role::Admin);
    let revoked = stores.token("team-a", Role::Admin);
    let portal = Portal::start(&stores).await;

    let (status, _) = portal.get_json(&good, "/api/v1/snapshots").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = portal.get_json(&revoked, "/api/v1/snapshots").await;
    assert_eq!(status, StatusCode::OK, "works until revoked");
    let revoked_id = token_id(&revoked);
    assert!(stores.with_store(move |store| store.revoke_token(&revoked_id, 2).unwrap()));

    // Same id, another secret: a forged token.
    let forged = format!("mck_{}_{}", token_id(&good), "ab".repeat(32));
    let response = portal.get(None, "/api/v1/snapshots").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    for presented in [revoked.as_str(), forged.as_str(), "mck_nonsense", ""] {
        let (status, body) = portal.get_json(presented, "/api/v1/snapshots").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{presented}: {body}");
        assert!(body["error"].is_string());
        let (status, _) = portal
            .upload(presented, archive("bookinfo", None, T0))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{presented}");
    }
    let response = portal
        .client
        .get(format!("{}/api/v1/snapshots", portal.url))
        .basic_auth("user", Some(&good))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "basic auth is not bearer"
    );
    assert_eq!(portal.snapshot_rows(), 0);

    let log = stores.with_store(|store| store.audit_log(100).unwrap());
    let denied: Vec<(&str, &str)> = log
        .iter()
        .filter(|entry| entry.action == "token-denied")
        .map(|entry| (entry.token_id.as_deref().unwrap(), entry.outcome.as_str()))
        .collect();
    assert!(
        denied.contains(&(token_id(&revoked).as_str(), "revoked")),
        "{denied:?}"
    );
    assert!(
        denied.contains(&(token_id(&good).as_str(), "wrong secret")),
        "{denied:?}"
    );
    portal.stop().await;
}

async fn roles_limit_uploads_downloads_and_deletions(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let viewer = stores.token("team-a", Role::Viewer);
    let uploader = stores.token("team-a", Role::Uploader);
    let admin = stores.token("team-a", Role::Admin);
    let portal = Portal::start(&stores).await;

    let (status, body) = portal.upload(&viewer, archive("bookinfo", None, T0)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("uploader"),
        "{body}"
    );
    assert_eq!(portal.snapshot_rows(), 0);

    let (_, created) = portal
        .upload(&uploader, archive("bookinfo", None, T0))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    portal.wait_analyzed(&viewer, &id).await;
    let (status, _) = portal
        .get_json(&viewer, &format!("/api/v1/snapshots/{id}/findings"))
        .await;
    assert_eq!(status, StatusCode::OK, "viewers read findings");
    let archive_path = format!("/api/v1/snapshots/{id}/archive");
    assert_eq!(
        portal.get(Some(&viewer), &archive_path).await.status(),
        StatusCode::FORBIDDEN
    );
    let snapshot_path = format!("/api/v1/snapshots/{id}");
    assert_eq!(
        portal.delete(&uploader, &snapshot_path).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        portal.delete(&admin, &snapshot_path).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        portal.get(Some(&admin), &snapshot_path).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(portal.snapshot_rows(), 0);
    assert!(portal.blob_ids().await.is_empty());
    let log = stores.with_store(|store| store.audit_log(100).unwrap());
    assert!(
        log.iter()
            .any(|entry| entry.action == "delete"
                && entry.snapshot_id.as_deref() == Some(id.as_str()))
    );
    portal.stop().await;
}

async fn snapshots_are_listed_newest_first_in_pages_and_by_cluster(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let mut config = stores.config();
    // Listing does not need analyses.
    config.workers = 0;
    let portal = Portal::start_with(&stores, config).await;
    let mut expected = Vec::new();
    for index in 0..5 {
        let cluster = if index % 2 == 0 { "even" } else { "odd" };
        let (status, created) = portal
            .upload(
                &uploader,
                archive("bookinfo", Some(cluster), T0 + index * 3600),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        expected.push(created["id"].as_str().unwrap().to_owned());
    }
    expected.reverse();

    let mut seen = Vec::new();
    let mut path = "/api/v1/snapshots?limit=2".to_owned();
    loop {
        let (status, page) = portal.get_json(&uploader, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let snapshots = page["snapshots"].as_array().unwrap();
        assert!(snapshots.len() <= 2);
        seen.extend(
            snapshots
                .iter()
                .map(|snapshot| snapshot["id"].as_str().unwrap().to_owned()),
        );
        match &page["next_cursor"] {
            Value::String(cursor) => path = format!("/api/v1/snapshots?limit=2&cursor={cursor}"),
            _ => break,
        }
    }
    assert_eq!(seen, expected);

    let (_, odd) = portal
        .get_json(&uploader, "/api/v1/snapshots?cluster=odd")
        .await;
    let odd: Vec<&str> = odd["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|snapshot| snapshot["id"].as_str().unwrap())
        .collect();
    assert_eq!(odd, [expected[1].as_str(), expected[3].as_str()]);

    for bad in ["limit=0", "limit=100000", "cursor=garbage"] {
        let (status, body) = portal
            .get_json(&uploader, &format!("/api/v1/snapshots?{bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // Pending snapshots have no findings yet.
    let (status, body) = portal
        .get_json(
            &uploader,
            &format!("/api/v1/snapshots/{}/findings", expected[0]),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("pending"),
        "{body}"
    );
    portal.stop().await;
}

async fn drift_between_two_snapshots_of_a_cluster(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let other_tenant = stores.token("team-b", Role::Uploader);
    let portal = Portal::start(&stores).await;
    let mut ids = Vec::new();
    for (example, cluster, time) in [
        ("bookinfo", "prod", T0),
        ("bookinfo-broken", "prod", T0 + 3600),
        ("bookinfo-broken", "staging", T0),
    ] {
        let (status, created) = portal
            .upload(&uploader, archive(example, Some(cluster), time))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        portal.wait_analyzed(&uploader, &id).await;
        ids.push(id);
    }
    let (clean, broken, staging) = (&ids[0], &ids[1], &ids[2]);

    // The earlier snapshot is the baseline whichever way round the ids are given.
    for path in [
        format!("/api/v1/snapshots/{clean}/diff/{broken}"),
        format!("/api/v1/snapshots/{broken}/diff/{clean}"),
    ] {
        let (status, drift) = portal.get_json(&uploader, &path).await;
        assert_eq!(status, StatusCode::OK, "{drift}");
        assert_eq!(drift["old"]["collected_at"], "2026-11-18T11:06:40Z");
        assert_eq!(drift["new"]["collected_at"], "2026-11-18T12:06:40Z");
        let introduced = drift["summary"]["introduced"].as_u64().unwrap();
        assert!(introduced > 0, "{drift}");
        assert_eq!(
            drift["introduced"].as_array().unwrap().len() as u64,
            introduced
        );
        assert!(drift["score_change"].as_i64().unwrap() < 0, "{drift}");
        assert!(!drift["objects"].as_array().unwrap().is_empty(), "{drift}");
    }
    let (status, same) = portal
        .get_json(
            &uploader,
            &format!("/api/v1/snapshots/{broken}/diff/{broken}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["summary"]["introduced"], 0);
    assert_eq!(same["summary"]["objects_changed"], 0);

    let across = format!("/api/v1/snapshots/{broken}/diff/{staging}");
    let (status, body) = portal.get_json(&uploader, &across).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("any_cluster"),
        "{body}"
    );
    let (status, _) = portal
        .get_json(&uploader, &format!("{across}?any_cluster=true"))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = portal
        .get_json(
            &other_tenant,
            &format!("/api/v1/snapshots/{clean}/diff/{broken}"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    portal.stop().await;
}

async fn an_archive_that_cannot_be_analyzed_fails_with_its_reason(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let uploader = stores.token("team-a", Role::Uploader);
    let portal = Portal::start(&stores).await;
    // A well-formed archive (it passes verification) whose proxy stats are not Envoy's.
    let bytes = archive_with("bookinfo", Some("prod"), T0, |writer| {
        writer.add_proxy_stats("reviews.shop", "hello world\n".to_owned());
    });
    let (status, created) = portal.upload(&uploader, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let snapshot = portal.wait_analyzed(&uploader, id).await;
    assert_eq!(snapshot["status"], "failed", "{snapshot}");
    let error = snapshot["error"].as_str().unwrap();
    assert!(error.contains("proxy-stats/reviews.shop"), "{error}");
    assert_eq!(error.lines().count(), 1);
    assert!(snapshot["summary"].is_null());
    for path in [
        format!("/api/v1/snapshots/{id}/findings"),
        format!("/snapshots/{id}"),
    ] {
        let (status, body) = portal.get_json(&uploader, &path).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("analysis failed"),
            "{body}"
        );
    }
    let metrics = portal.get(None, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("meshcheck_analyses_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
    portal.stop().await;
}

on_each_backend!(
    an_archive_that_cannot_be_analyzed_fails_with_its_reason,
    upload_is_analyzed_and_its_reports_are_served,
    the_same_archive_twice_is_one_snapshot_per_tenant,
    another_tenants_snapshot_is_indistinguishable_from_an_unknown_one,
    missing_wrong_and_revoked_tokens_are_401,
    roles_limit_uploads_downloads_and_deletions,
    snapshots_are_listed_newest_first_in_pages_and_by_cluster,
    drift_between_two_snapshots_of_a_cluster,
);
