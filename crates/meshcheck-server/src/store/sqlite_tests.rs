use super::*;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("meshcheck.db")).unwrap();
    (dir, store)
}

fn new_snapshot(tenant_id: i64, id: &str, cluster: &str, collected_at: Micros) -> NewSnapshot {
    NewSnapshot {
        id: id.to_owned(),
        tenant_id,
        cluster: cluster.to_owned(),
        source: "cluster".to_owned(),
        sha256: format!("sha-{id}"),
        archive_bytes: 100,
        collected_at,
        uploaded_at: collected_at + 5,
        kubernetes_version: Some("v1.30.1".to_owned()),
    }
}

fn summary(score: i64) -> AnalysisSummary {
    AnalysisSummary {
        kubernetes_version: None,
        istio_version: Some("1.24.2".to_owned()),
        score,
        grade: "B".to_owned(),
        counts: SeverityCounts {
            critical: 1,
            error: 2,
            warning: 3,
            info: 4,
        },
        objects: 33,
        analyzed_at: 9,
    }
}

#[test]
fn migrations_run_once_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meshcheck.db");
    drop(SqliteStore::open(&path).unwrap());
    // Opening again does not re-run migration 1 (it would fail on CREATE TABLE).
    let store = SqliteStore::open(&path).unwrap();
    store
        .lock()
        .execute("INSERT INTO schema_version (version) VALUES (99)", [])
        .unwrap();
    drop(store);
    let error = SqliteStore::open(&path).err().unwrap().to_string();
    assert!(error.contains("schema version 99 is newer"), "{error}");
    assert!(error.starts_with(&path.display().to_string()), "{error}");
}

#[test]
fn the_database_is_in_wal_mode() {
    let (_dir, store) = store();
    let mode: String = store
        .lock()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn tenants_are_created_once() {
    let (_dir, store) = store();
    let a = store.ensure_tenant("a", 1).unwrap();
    assert_eq!(store.ensure_tenant("a", 2).unwrap(), a);
    assert_ne!(store.ensure_tenant("b", 3).unwrap(), a);
}

#[test]
fn tokens_are_listed_and_revoked() {
    let (_dir, store) = store();
    let tenant_id = store.ensure_tenant("team", 1).unwrap();
    let token = TokenRecord {
        id: "abc".to_owned(),
        tenant_id,
        tenant: "team".to_owned(),
        role: Role::Uploader,
        hash: "00".repeat(32),
        created_at: 10,
        last_used_at: None,
        revoked_at: None,
    };
    store.insert_token(&token).unwrap();
    assert_eq!(store.token("abc").unwrap(), Some(token.clone()));
    assert_eq!(store.token("nope").unwrap(), None);
    store.touch_token("abc", 20).unwrap();
    assert!(store.revoke_token("abc", 30).unwrap());
    assert!(store.revoke_token("abc", 40).unwrap());
    assert!(!store.revoke_token("nope", 40).unwrap());
    let listed = store.list_tokens().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(20));
    assert_eq!(listed[0].revoked_at, Some(30), "the first revocation stays");
}

#[test]
fn same_archive_is_deduplicated_per_tenant_only() {
    let (_dir, store) = store();
    let a = store.ensure_tenant("a", 1).unwrap();
    let b = store.ensure_tenant("b", 1).unwrap();
    assert!(matches!(
        store
            .insert_snapshot(&new_snapshot(a, "s1", "prod", 100))
            .unwrap(),
        Inserted::New
    ));
    let mut again = new_snapshot(a, "s2", "prod", 100);
    again.sha256 = "sha-s1".to_owned();
    match store.insert_snapshot(&again).unwrap() {
        Inserted::Duplicate(existing) => assert_eq!(existing.id, "s1"),
        Inserted::New => panic!("duplicate inserted"),
    }
    again.tenant_id = b;
    assert!(matches!(
        store.insert_snapshot(&again).unwrap(),
        Inserted::New
    ));
    assert_eq!(store.snapshot(b, "s1").unwrap(), None, "scoped by tenant");
    assert!(store.snapshot(a, "s1").unwrap().is_some());
    assert!(!store.delete_snapshot(b, "s1").unwrap());
    assert!(store.snapshot_unscoped("s1").unwrap().is_some());
}

#[test]
fn analysis_results_land_only_on_pending_rows() {
    let (_dir, store) = store();
    let a = store.ensure_tenant("a", 1).unwrap();
    store
        .insert_snapshot(&new_snapshot(a, "s1", "prod", 100))
        .unwrap();
    store
        .insert_snapshot(&new_snapshot(a, "s2", "prod", 200))
        .unwrap();
    assert_eq!(store.pending_ids(i64::MAX).unwrap(), ["s1", "s2"]);
    // s1 was uploaded at 105, s2 at 205.
    assert_eq!(store.pending_ids(200).unwrap(), ["s1"]);
    assert!(store.finish_analysis("s1", &summary(80)).unwrap());
    assert!(!store.finish_analysis("s1", &summary(10)).unwrap());
    assert!(!store.fail_analysis("s1", "late", 5).unwrap());
    assert!(store.fail_analysis("s2", "broken", 5).unwrap());
    assert!(store.pending_ids(i64::MAX).unwrap().is_empty());
    let done = store.snapshot(a, "s1").unwrap().unwrap();
    assert_eq!(done.status, SnapshotStatus::Done);
    assert_eq!(done.score, Some(80));
    assert_eq!(done.counts.unwrap().error, 2);
    assert_eq!(done.kubernetes_version.as_deref(), Some("v1.30.1"));
    let failed = store.snapshot(a, "s2").unwrap().unwrap();
    assert_eq!(failed.status, SnapshotStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("broken"));
    assert_eq!(failed.counts, None);
}

#[test]
fn pages_are_newest_first_and_do_not_overlap() {
    let (_dir, store) = store();
    let a = store.ensure_tenant("a", 1).unwrap();
    let b = store.ensure_tenant("b", 1).unwrap();
    for index in 0..7 {
        let cluster = if index % 2 == 0 { "even" } else { "odd" };
        // Two snapshots per collection time: the seq breaks the tie.
        store
            .insert_snapshot(&new_snapshot(a, &format!("s{index}"), cluster, index / 2))
            .unwrap();
    }
    store
        .insert_snapshot(&new_snapshot(b, "other", "even", 50))
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_snapshots(&ListQuery {
                tenant_id: a,
                cluster: None,
                limit: 3,
                after,
            })
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(super::super::Cursor::of);
        seen.extend(page.into_iter().map(|snapshot| snapshot.id));
    }
    assert_eq!(seen, ["s6", "s5", "s4", "s3", "s2", "s1", "s0"]);
    let odd = store
        .list_snapshots(&ListQuery {
            tenant_id: a,
            cluster: Some("odd".to_owned()),
            limit: 10,
            after: None,
        })
        .unwrap();
    let odd: Vec<_> = odd.iter().map(|snapshot| snapshot.id.as_str()).collect();
    assert_eq!(odd, ["s5", "s3", "s1"]);
}

#[test]
fn clusters_show_the_latest_analysis_and_a_bounded_history() {
    let (_dir, store) = store();
    let a = store.ensure_tenant("a", 1).unwrap();
    for (index, score) in [70, 75, 80, 85].into_iter().enumerate() {
        let id = format!("p{index}");
        store
            .insert_snapshot(&new_snapshot(a, &id, "prod", index as i64 * 10))
            .unwrap();
        store.finish_analysis(&id, &summary(score)).unwrap();
    }
    // A newer snapshot still pending: it is the last, the figures come from p3.
    store
        .insert_snapshot(&new_snapshot(a, "p4", "prod", 100))
        .unwrap();
    store
        .insert_snapshot(&new_snapshot(a, "d0", "dev", 5))
        .unwrap();
    let clusters = store.clusters(a, 3).unwrap();
    assert_eq!(clusters.len(), 2);
    let dev = &clusters[0];
    assert_eq!(dev.cluster, "dev");
    assert!(dev.latest_done.is_none() && dev.history.is_empty());
    let prod = &clusters[1];
    assert_eq!(prod.snapshots, 5);
    assert_eq!(prod.last.id, "p4");
    assert_eq!(prod.latest_done.as_ref().unwrap().id, "p3");
    let scores: Vec<i64> = prod.history.iter().map(|point| point.score).collect();
    assert_eq!(scores, [75, 80, 85], "the newest three, oldest first");
    assert!(
        store
            .clusters(store.ensure_tenant("b", 1).unwrap(), 3)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn audit_rows_read_back_newest_first() {
    let (_dir, store) = store();
    for (time, action) in [(1, "upload"), (2, "download")] {
        store
            .audit(&AuditEntry {
                time,
                tenant_id: Some(1),
                token_id: Some("t".to_owned()),
                action: action.to_owned(),
                snapshot_id: None,
                outcome: "ok".to_owned(),
            })
            .unwrap();
    }
    let log = store.audit_log(10).unwrap();
    assert_eq!(log[0].action, "download");
    assert_eq!(log[1].action, "upload");
}
