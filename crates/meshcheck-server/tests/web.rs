//! The web UI over real HTTP, as a browser without a script engine sees it: signing in and out
//! (cookies, CSRF), tenant isolation of the pages, and the fleet page of a thousand clusters.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::web::{browser, fleet_rows, hidden, location, page, post_login, set_cookie, signed_in};
use common::{Backend, Portal, Stores, T0, archive, token_id};
use meshcheck_server::Role;
use meshcheck_server::store::{
    AnalysisSummary, Inserted, MetadataStore, NewSnapshot, SeverityCounts,
};
use reqwest::StatusCode;

const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn signing_in_and_out_with_csrf_protection(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let stores = backend.stores(dir.path());
    let token = stores.token("team-a", Role::Viewer);
    let revoked = stores.token("team-a", Role::Viewer);
    let revoked_id = token_id(&revoked);
    assert!(stores.with_store(move |store| store.revoke_token(&revoked_id, 2).unwrap()));
    let portal = Portal::start(&stores).await;
    let base = portal.url.as_str();
    let client = browser();

    // Nothing without signing in: pages send the browser to the login form.
    let response = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response.headers()), "/login");
    let response = client
        .get(format!("{base}/clusters/prod?cursor=1.2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(response.headers()),
        "/login?next=%2Fclusters%2Fprod%3Fcursor%3D1.2"
    );

    // The form and its double-submit cookie.
    let response = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let login_cookie = set_cookie(response.headers(), "meshcheck_login").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/login"] {
        assert!(login_cookie.contains(flag), "{login_cookie}");
    }
    assert_eq!(response.headers()["content-security-policy"], PAGE_POLICY);
    let form = response.text().await.unwrap();
    assert!(
        form.contains("<form method=\"post\" action=\"/login\">"),
        "{form}"
    );
    let csrf = hidden(&form, "csrf");
    assert_eq!(csrf.len(), 64);

    // Without, or with a wrong, CSRF value: 403, whatever the token.
    for presented in ["", "0".repeat(64).as_str()] {
        let response = post_login(&client, base, &token, presented).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "csrf {presented:?}"
        );
        assert!(set_cookie(response.headers(), "meshcheck_session").is_none());
    }
    // The right value without its cookie (another browser) is refused too.
    let response = post_login(&browser(), base, &token, &csrf).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Wrong, malformed and revoked tokens: the form again, with one line saying so.
    let forged = format!("mck_{}_{}", token_id(&token), "ab".repeat(32));
    for wrong in [forged.as_str(), "nonsense", revoked.as_str()] {
        let response = post_login(&client, base, wrong, &csrf).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong}");
        assert!(set_cookie(response.headers(), "meshcheck_session").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("class=\"form-error\""), "{html}");
        assert!(!html.contains(wrong), "the token is not echoed");
    }

    // The right token: a session cookie, then the fleet page.
    let response = post_login(&client, base, &token, &csrf).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response.headers()), "/");
    let session_cookie = set_cookie(response.headers(), "meshcheck_session").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session_cookie.contains(flag), "{session_cookie}");
    }
    assert!(!session_cookie.contains("Secure"), "no TLS here");
    let session_value = session_cookie.split(';').next().unwrap().to_owned();
    let (status, fleet) = page(&client, &format!("{base}/")).await;
    assert_eq!(status, StatusCode::OK, "{fleet}");
    assert!(fleet.contains("Tenant <strong>team-a</strong>"), "{fleet}");
    assert!(fleet.contains("No snapshot yet"), "empty state: {fleet}");
    assert!(fleet.contains("meshcheck upload"), "{fleet}");
    let logout_csrf = hidden(&fleet, "csrf");

    // Logout needs the session's CSRF secret.
    for presented in ["", "0".repeat(64).as_str()] {
        let response = client
            .post(format!("{base}/logout"))
            .form(&[("csrf", presented)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{presented:?}");
    }
    assert_eq!(page(&client, &format!("{base}/")).await.0, StatusCode::OK);
    let response = client
        .post(format!("{base}/logout"))
        .form(&[("csrf", logout_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response.headers()), "/login");
    assert_eq!(
        client
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    // The old cookie, replayed: the session is gone on the server.
    let replayed = portal
        .client
        .get(format!("{base}/"))
        .header(reqwest::header::COOKIE, &session_value)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.url().path(),
        "/login",
        "followed to the login page"
    );

    // Signing in from a page's redirect returns to that page; a `next` off the site does not.
    for (next, lands) in [
        ("/clusters/prod?cursor=1.2", "/clusters/prod?cursor=1.2"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
    ] {
        let client = browser();
        let url =
            reqwest::Url::parse_with_params(&format!("{base}/login"), &[("next", next)]).unwrap();
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let form = response.text().await.unwrap();
        let csrf = hidden(&form, "csrf");
        let response = client
            .post(format!("{base}/login"))
            .form(&[
                ("token", token.as_str()),
                ("csrf", csrf.as_str()),
                ("next", hidden(&form, "next").as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(response.headers()), lands, "{next}");
    }

    // Revoking the token ends its sessions.
    let client = signed_in(base, &token).await;
    assert_eq!(page(&client, &format!("{base}/")).await.0, StatusCode::OK);
    let id = token_id(&token);
    assert!(stores.with_store(move |store| store.revoke_token(&id, 3).unwrap()));
    let response = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response.headers()), "/login");

    let log = stores.with_store(|store| store.audit_log(100).unwrap());
    let events: Vec<(&str, &str)> = log
        .iter()
        .map(|entry| (entry.action.as_str(), entry.outcome.as_str()))
        .collect();
    for expected in [("login", "ok"), ("login", "refused"), ("logout", "ok")] {
        assert!(events.contains(&expected), "{expected:?} not in {events:?}");
    }
    assert!(log.iter().all(|entry| !entry.outcome.contains("mck_")));
    portal.stop().await;
}

/// Uploads two analysed snapshots of cluster `prod` (the broken example, then the fixed one an
/// hour later); returns their ids, oldest first.
async fn two_snapshots(portal: &Portal, token: &str) -> (String, String) {
    let mut ids = Vec::new();
    for (example, time) in [("bookinfo-broken", T0), ("bookinfo", T0 + 3600)] {
        let (status, created) = portal
            .upload(token, archive(example, Some("prod"), time))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(portal.wait_analyzed(token, &id).await["status"], "done");
        ids.push(id);
    }
    (ids[0].clone(), ids[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_the_sessions_tenant_only() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let owner = stores.token("team-a", Role::Uploader);
    let intruder = stores.token("team-b", Role::Admin);
    let portal = Portal::start(&stores).await;
    let base = portal.url.as_str();
    let (old, new) = two_snapshots(&portal, &owner).await;

    let client = signed_in(base, &owner).await;
    let (status, fleet) = page(&client, &format!("{base}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fleet_rows(&fleet), ["prod"]);
    assert!(
        fleet.contains(&format!("href=\"/snapshots/{new}\"")),
        "{fleet}"
    );
    assert!(fleet.contains("<svg class=\"spark\""), "{fleet}");

    // The cluster page: newest first, reports, drift from the previous one, the compare form.
    let (status, cluster) = page(&client, &format!("{base}/clusters/prod")).await;
    assert_eq!(status, StatusCode::OK, "{cluster}");
    let newest = cluster.find(&format!("/snapshots/{new}\"")).unwrap();
    let oldest = cluster.find(&format!("/snapshots/{old}\"")).unwrap();
    assert!(newest < oldest, "newest first");
    let drift_link = format!("/snapshots/{old}/diff/{new}");
    assert!(cluster.contains(&drift_link), "{cluster}");
    assert!(cluster.contains("action=\"/compare\""));
    let response = client
        .get(format!("{base}/compare?old={old}&new={new}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response.headers()), drift_link);

    // The drift page: the drift fragment in the portal's frame.
    let response = client
        .get(format!("{base}{drift_link}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-security-policy"], PAGE_POLICY);
    let drift = response.text().await.unwrap();
    for expected in [
        "<section class=\"drift\"",
        "Drift of cluster prod",
        "Resolved findings",
        "Tenant <strong>team-a</strong>",
        "href=\"/assets/portal.css\"",
    ] {
        assert!(drift.contains(expected), "{expected}: {drift}");
    }
    assert!(
        !drift.contains("style=") && !drift.contains("<style"),
        "no inline style"
    );
    assert!(!drift.contains("<script>"), "no inline script");

    // The stored report opens with the session cookie, as with a bearer token.
    let (status, report) = page(&client, &format!("{base}/snapshots/{new}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains("prod"));
    assert!(
        report.contains("<a href=\"/\">Fleet</a>"),
        "the stored report links back to the fleet"
    );
    let response = portal.get(Some(&owner), &format!("/snapshots/{new}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = portal.get(Some(&owner), "/").await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "pages take bearer tokens"
    );

    // Another tenant's session: the same 404 as for unknown ids, and an empty fleet.
    let intruder = signed_in(base, &intruder).await;
    let (_, fleet) = page(&intruder, &format!("{base}/")).await;
    assert!(fleet_rows(&fleet).is_empty());
    assert!(fleet.contains("No snapshot yet"));
    let unknown = "0123456789abcdef0123456789abcdef";
    for path in [
        format!("/snapshots/{new}"),
        format!("/snapshots/{old}/diff/{new}"),
        format!("/snapshots/{unknown}/diff/{new}"),
        format!("/snapshots/{unknown}"),
    ] {
        let (status, body) = page(&intruder, &format!("{base}{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(body.contains("no such snapshot"), "{path}: {body}");
        assert!(!body.contains("prod"), "{path}: {body}");
    }
    for cluster in ["prod", "nowhere"] {
        let (status, body) = page(&intruder, &format!("{base}/clusters/{cluster}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{cluster}");
        assert!(body.contains("no such cluster"), "{body}");
    }
    // API clients (no Accept: text/html) keep getting JSON errors from the pages.
    let response = portal
        .get(Some(&intruder_token(&stores)), &format!("/snapshots/{new}"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"no such snapshot"}"#
    );
    portal.stop().await;
}

fn intruder_token(stores: &Stores) -> String {
    stores.token("team-b", Role::Viewer)
}

/// What the fleet seed gives cluster `index`: score, grade, critical findings.
fn seeded(index: usize) -> (i64, &'static str, i64) {
    let score = (index * 37 % 101) as i64;
    let grade = match score {
        90.. => "A",
        80..=89 => "B",
        70..=79 => "C",
        60..=69 => "D",
        _ => "F",
    };
    let critical = if index.is_multiple_of(7) {
        (index % 3 + 1) as i64
    } else {
        0
    };
    (score, grade, critical)
}

const FLEET: usize = 1000;

/// A thousand clusters, two analysed snapshots each, written straight to the store; one more
/// cluster whose only snapshot is still pending.
fn seed_fleet(store: &dyn MetadataStore) {
    let tenant_id = store.ensure_tenant("fleet", 1).unwrap();
    let mut seq = 0;
    for index in 0..=FLEET {
        let cluster = if index == FLEET {
            "zz-pending".to_owned()
        } else {
            format!("cluster-{index:04}")
        };
        let snapshots = if index == FLEET { 1 } else { 2 };
        for round in 0..snapshots {
            seq += 1;
            let id = format!("{seq:032x}");
            let inserted = store
                .insert_snapshot(&NewSnapshot {
                    id: id.clone(),
                    tenant_id,
                    cluster: cluster.clone(),
                    source: "cluster".to_owned(),
                    sha256: format!("{seq:064x}"),
                    archive_bytes: 1,
                    collected_at: (T0 + round * 86_400 + index as i64) * 1_000_000,
                    uploaded_at: 1,
                    kubernetes_version: Some(format!("v1.{}.0", 28 + index % 4)),
                })
                .unwrap();
            assert!(matches!(inserted, Inserted::New));
            if index == FLEET {
                continue;
            }
            let (score, grade, critical) = seeded(index);
            let summary = AnalysisSummary {
                kubernetes_version: None,
                istio_version: Some(format!("1.{}.2", 20 + index % 5)),
                score: if round == 0 { 50 } else { score },
                grade: grade.to_owned(),
                counts: SeverityCounts {
                    critical,
                    error: (index % 11) as i64,
                    warning: 0,
                    info: 0,
                },
                objects: 10,
                analyzed_at: 2,
            };
            assert!(store.finish_analysis(&id, &summary).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_page_sorts_filters_and_pages_a_thousand_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let token = stores.token("fleet", Role::Viewer);
    stores.with_store(seed_fleet);
    // No worker: the pending snapshot (it has no archive) stays pending.
    let mut config = stores.config();
    config.workers = 0;
    let portal = Portal::start_with(&stores, config).await;
    let base = portal.url.as_str();
    let client = signed_in(base, &token).await;
    let name = |index: usize| format!("cluster-{index:04}");

    // Everything on one page, in one request.
    let started = Instant::now();
    let (status, html) = page(&client, &format!("{base}/?per_page=1000")).await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    eprintln!(
        "fleet page of {FLEET} rows: {elapsed:?}, {} bytes",
        html.len()
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let rows = fleet_rows(&html);
    let expected: Vec<String> = (0..FLEET).map(name).collect();
    assert_eq!(
        rows, expected,
        "by name, the pending cluster on the next page"
    );
    assert!(html.contains("Clusters 1–1000 of 1001."), "count line");
    assert!(html.contains("rel=\"next\""));
    assert_eq!(html.matches("<svg class=\"spark\"").count(), FLEET);

    // The default page size, and the last page.
    let (_, html) = page(&client, &format!("{base}/")).await;
    assert_eq!(fleet_rows(&html), expected[..100]);
    let (_, html) = page(&client, &format!("{base}/?page=11")).await;
    assert_eq!(fleet_rows(&html), ["zz-pending"]);
    assert!(html.contains("status-pending"), "{html}");

    // Worst score first; never-analysed clusters last; ties by name.
    let mut by_score: Vec<usize> = (0..FLEET).collect();
    by_score.sort_by_key(|&index| (seeded(index).0, name(index)));
    let (_, html) = page(&client, &format!("{base}/?sort=score&per_page=1000&page=2")).await;
    assert_eq!(fleet_rows(&html), ["zz-pending"]);
    let (_, html) = page(&client, &format!("{base}/?sort=score&per_page=1000")).await;
    let expected: Vec<String> = by_score.iter().map(|&index| name(index)).collect();
    assert_eq!(fleet_rows(&html), expected);
    let (_, html) = page(
        &client,
        &format!("{base}/?sort=score&order=desc&per_page=20"),
    )
    .await;
    let mut best: Vec<usize> = (0..FLEET).collect();
    best.sort_by_key(|&index| (std::cmp::Reverse(seeded(index).0), name(index)));
    let expected: Vec<String> = best[..20].iter().map(|&index| name(index)).collect();
    assert_eq!(fleet_rows(&html), expected);

    // Most critical findings first (the column's default order).
    let (_, html) = page(&client, &format!("{base}/?sort=critical&per_page=5")).await;
    let mut most_critical: Vec<usize> = (0..FLEET).collect();
    most_critical.sort_by_key(|&index| (std::cmp::Reverse(seeded(index).2), name(index)));
    let expected: Vec<String> = most_critical[..5]
        .iter()
        .map(|&index| name(index))
        .collect();
    assert_eq!(fleet_rows(&html), expected);

    // Filters: a name substring; a grade with critical findings; nothing matching.
    let (_, html) = page(&client, &format!("{base}/?q=CLUSTER-09&per_page=1000")).await;
    let expected: Vec<String> = (900..1000).map(name).collect();
    assert_eq!(fleet_rows(&html), expected);
    let (_, html) = page(
        &client,
        &format!("{base}/?grade=F&critical=1&per_page=1000"),
    )
    .await;
    let expected: Vec<String> = (0..FLEET)
        .filter(|&index| seeded(index).1 == "F" && seeded(index).2 > 0)
        .map(name)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(fleet_rows(&html), expected);
    assert!(
        html.contains(&format!("of {} matching (1001 in all)", expected.len())),
        "count line"
    );
    let (_, html) = page(&client, &format!("{base}/?q=no-such-cluster")).await;
    assert!(fleet_rows(&html).is_empty());
    assert!(html.contains("No cluster matches (1001 in all)."));

    // Versions sort by number (v1.9 would come before v1.28 in text order too; 1.20 < 1.24).
    let (_, html) = page(&client, &format!("{base}/?sort=istio&per_page=1000")).await;
    let rows = fleet_rows(&html);
    let istio = |cluster: &str| cluster[8..].parse::<usize>().unwrap() % 5;
    assert!(
        rows.windows(2)
            .all(|pair| istio(&pair[0]) <= istio(&pair[1]))
    );
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_cookies_are_secure() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let token = stores.token("team-a", Role::Viewer);
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut config = stores.config();
    config.tls_cert = Some(cert);
    config.tls_key = Some(key);
    let server = meshcheck_server::start(config).await.unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap()])
        .resolve("localhost", server.local_addr())
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", server.local_addr().port());

    let response = client.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = set_cookie(response.headers(), "meshcheck_login").unwrap();
    assert!(login_cookie.ends_with("; Secure"), "{login_cookie}");
    let csrf = hidden(&response.text().await.unwrap(), "csrf");
    let response = post_login(&client, &base, &token, &csrf).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session_cookie = set_cookie(response.headers(), "meshcheck_session").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(session_cookie.contains(flag), "{session_cookie}");
    }
    assert_eq!(page(&client, &format!("{base}/")).await.0, StatusCode::OK);
    server.shutdown().await.unwrap();
}

on_each_backend!(signing_in_and_out_with_csrf_protection);
