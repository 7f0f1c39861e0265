//! The web UI in a real browser: headless Chromium signs in through the login form (typing the
//! token, clicking the button), lands on the fleet page, opens a report and a drift page, and
//! logs out. The DOM is checked at each step, the console must stay free of errors and of
//! Content-Security-Policy refusals, and screenshots are kept in
//! `target/portal-browser/{login,fleet,report,drift}.png` (worth a look after a UI change).
//!
//! Chromium is required, not optional: `.ci/run` installs it. Set `MESHCHECK_CHROMIUM` to use
//! another binary.

#[path = "common/cdp.rs"]
mod cdp;
mod common;

use std::path::PathBuf;

use cdp::Chromium;
use common::{Portal, Stores, T0, archive, workspace};
use meshcheck_server::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn screenshots() -> PathBuf {
    let dir = workspace().join("target/portal-browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn upload(portal: &Portal, token: &str, example: &str, cluster: &str, time: i64) -> String {
    let (status, created) = portal
        .upload(token, archive(example, Some(cluster), time))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(portal.wait_analyzed(token, &id).await["status"], "done");
    id
}

fn strings(value: Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_and_reads_the_fleet_a_report_and_a_drift() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(dir.path());
    let token = stores.token("platform", Role::Uploader);
    let portal = Portal::start(&stores).await;
    let base = portal.url.clone();
    upload(&portal, &token, "bookinfo-broken", "prod-eu", T0).await;
    let newest = upload(&portal, &token, "bookinfo", "prod-eu", T0 + 86_400).await;
    upload(&portal, &token, "bookinfo-broken", "staging", T0 + 3600).await;
    let shots = screenshots();

    let browser = Chromium::start();
    let mut page = browser.page().await;

    // Unsigned, the fleet sends the browser to the login form.
    page.navigate(&format!("{base}/")).await;
    page.wait_for_page("login redirect", |path| path == "/login")
        .await;
    assert_eq!(
        page.eval("document.querySelectorAll('form[action=\"/login\"] input[name=csrf]').length")
            .await,
        1
    );
    page.eval("document.getElementById('token').focus()").await;
    page.call("Input.insertText", json!({ "text": token }))
        .await;
    page.screenshot(&shots.join("login.png")).await;
    page.eval("document.querySelector('.login button[type=submit]').click()")
        .await;

    // Signed in: the fleet page.
    page.wait_for_page("fleet after login", |path| path == "/")
        .await;
    let clusters = page
        .eval("[...document.querySelectorAll('tr.cluster-row')].map(row => row.dataset.cluster)")
        .await;
    assert_eq!(strings(clusters), ["prod-eu", "staging"]);
    assert_eq!(
        page.eval("document.querySelector('.tenant strong').textContent")
            .await,
        "platform"
    );
    assert_eq!(
        page.eval("document.querySelectorAll('svg.spark polyline').length")
            .await,
        2
    );
    assert_eq!(
        page.eval("getComputedStyle(document.querySelector('.top')).display")
            .await,
        "flex",
        "the stylesheet applies"
    );
    page.screenshot(&shots.join("fleet.png")).await;

    // The script's nicety: ticking "has critical" filters at once.
    page.eval("document.querySelector('input[name=critical]').click()")
        .await;
    page.wait_for_page("critical filter", |path| path.contains("critical=1"))
        .await;
    page.eval("history.back()").await;
    page.wait_for_page("back to the fleet", |path| path == "/")
        .await;

    // The newest report of prod-eu, from its last-snapshot link.
    page.eval(
        "document.querySelector('tr[data-cluster=\"prod-eu\"] a[href^=\"/snapshots/\"]').click()",
    )
    .await;
    let path = page
        .wait_for_page("report", |path| path.starts_with("/snapshots/"))
        .await;
    assert_eq!(path, format!("/snapshots/{newest}"));
    assert!(
        page.eval("document.body.textContent.includes('prod-eu')")
            .await
            .as_bool()
            .unwrap()
    );
    page.screenshot(&shots.join("report.png")).await;

    // The cluster page, then the drift since the previous snapshot.
    page.navigate(&format!("{base}/clusters/prod-eu")).await;
    page.wait_for_page("cluster page", |path| path == "/clusters/prod-eu")
        .await;
    assert_eq!(
        page.eval("document.querySelectorAll('tr.snapshot-row').length")
            .await,
        2
    );
    page.eval(
        "[...document.querySelectorAll('a')].find(a => a.textContent === 'since previous').click()",
    )
    .await;
    page.wait_for_page("drift page", |path| path.contains("/diff/"))
        .await;
    assert_eq!(
        page.eval("document.querySelector('section.drift h2').textContent")
            .await,
        "Drift of cluster prod-eu"
    );
    let resolved = page
        .eval("[...document.querySelectorAll('section.drift h3')].map(h => h.textContent).find(t => t.startsWith('Resolved'))")
        .await;
    assert!(
        resolved
            .as_str()
            .is_some_and(|text| text != "Resolved findings (0)"),
        "fixing the broken example resolves findings: {resolved}"
    );
    page.screenshot(&shots.join("drift.png")).await;

    // Log out with the header's button: back to the login form, and the fleet is closed.
    page.eval("document.querySelector('form.logout button').click()")
        .await;
    page.wait_for_page("logout", |path| path == "/login").await;
    page.navigate(&format!("{base}/")).await;
    page.wait_for_page("after logout", |path| path == "/login")
        .await;

    let problems = page.problems();
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    drop(browser);
    portal.stop().await;
}
