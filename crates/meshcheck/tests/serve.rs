//! `meshcheck serve` and `meshcheck admin` as an operator runs them: tokens from the command
//! line, the portal as a process, and a kill -9 in the middle of uploads and analyses.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod support {
    pub mod command;
    pub mod portal;
}
use support::command::{meshcheck, stderr, stdout, workspace};
use support::portal::{Serve, create_token, upload};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `meshcheck pack` of an example, with its own collection time (different bytes).
fn packed(dir: &Path, example: &str, epoch: i64) -> Vec<u8> {
    let path = dir.join(format!("{example}-{epoch}.tar.zst"));
    let output = Command::new(env!("CARGO_BIN_EXE_meshcheck"))
        .args(["pack", &format!("examples/{example}"), "-o"])
        .arg(&path)
        .current_dir(workspace())
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    std::fs::read(path).unwrap()
}

async fn wait_done(client: &reqwest::Client, url: &str, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let snapshot: Value = client
            .get(format!("{url}/api/v1/snapshots/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if snapshot["status"] != "pending" {
            return snapshot;
        }
        assert!(Instant::now() < deadline, "{id} never finished: {snapshot}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn tokens_from_the_command_line_work_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let token = create_token(&data_dir, "team-a", "uploader");
    let id = token.split('_').nth(1).unwrap().to_owned();

    let listed = meshcheck(&[
        "admin",
        "list-tokens",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let rows: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["tenant"], "team-a");
    assert_eq!(rows[0]["role"], "uploader");
    assert!(rows[0]["revoked_at"].is_null());
    assert!(
        !stdout(&listed).contains(&token),
        "the token is never shown again"
    );

    let serve = Serve::start(&data_dir, &["--workers", "1"]);
    let rt = runtime();
    let client = client();
    let bytes = packed(dir.path(), "bookinfo-broken", 1_795_000_000);
    rt.block_on(async {
        let (status, created) = upload(&client, &serve.url, &token, bytes.clone()).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["cluster"], "manifests");
        let report_url = created["report_url"].as_str().unwrap();
        assert!(report_url.starts_with(&serve.url), "{report_url}");
        let done = wait_done(&client, &serve.url, &token, created["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "done", "{done}");
        let page = client
            .get(report_url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 200);
    });

    let revoked = meshcheck(&[
        "admin",
        "revoke-token",
        &id,
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    assert_eq!(revoked.status.code(), Some(0), "{}", stderr(&revoked));
    rt.block_on(async {
        let (status, body) = upload(&client, &serve.url, &token, bytes).await;
        assert_eq!(status, 401, "{body}");
    });
    let unknown = meshcheck(&[
        "admin",
        "revoke-token",
        "000000000000",
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(stderr(&unknown).lines().count(), 1, "{}", stderr(&unknown));
    serve.kill();
}

#[test]
fn a_killed_portal_loses_nothing_it_accepted_and_shows_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let token = create_token(&data_dir, "team-a", "uploader");
    let archives: Vec<Vec<u8>> = (0..12)
        .map(|index| packed(dir.path(), "bookinfo-broken", 1_795_000_000 + index))
        .collect();
    let rt = runtime();
    let client = client();

    // One worker: analyses queue up behind uploads, so the kill hits both.
    let serve = Serve::start(&data_dir, &["--workers", "1"]);
    let url = serve.url.clone();
    let accepted: Vec<String> = rt.block_on(async {
        let mut uploads = tokio::task::JoinSet::new();
        for body in archives.clone() {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            uploads.spawn(async move {
                let response = client
                    .post(format!("{url}/api/v1/snapshots"))
                    .bearer_auth(&token)
                    .body(body)
                    .send()
                    .await
                    .ok()?;
                (response.status().as_u16() == 201)
                    .then_some(response.json::<Value>().await.ok()?)
                    .and_then(|created| Some(created["id"].as_str()?.to_owned()))
            });
        }
        // Kill as soon as a few uploads are accepted: the rest are in flight.
        let mut accepted = Vec::new();
        while let Some(result) = uploads.join_next().await {
            if let Some(id) = result.unwrap() {
                accepted.push(id);
            }
            if accepted.len() == 4 {
                break;
            }
        }
        accepted
    });
    serve.kill();
    assert_eq!(accepted.len(), 4);

    let serve = Serve::start(&data_dir, &["--workers", "2"]);
    rt.block_on(async {
        for id in &accepted {
            let done = wait_done(&client, &serve.url, &token, id).await;
            assert_eq!(done["status"], "done", "{done}");
        }
        // Whatever else the server recorded before it died is complete too: nothing listed is
        // missing its archive or stuck.
        let page: Value = client
            .get(format!("{}/api/v1/snapshots?limit=100", serve.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let listed = page["snapshots"].as_array().unwrap();
        assert!(listed.len() >= accepted.len() && listed.len() <= archives.len());
        for snapshot in listed {
            let id = snapshot["id"].as_str().unwrap();
            let done = wait_done(&client, &serve.url, &token, id).await;
            assert_eq!(done["status"], "done", "{done}");
            let archive = client
                .get(format!("{}/api/v1/snapshots/{id}/archive", serve.url))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(archive.status().as_u16(), 200);
            let bytes = archive.bytes().await.unwrap();
            assert!(
                archives
                    .iter()
                    .any(|sent| sent.as_slice() == bytes.as_ref())
            );
        }
        // Uploading everything again: accepted ones are duplicates, the rest are new.
        for body in &archives {
            let (status, _) = upload(&client, &serve.url, &token, body.clone()).await;
            assert!(status == 200 || status == 201, "{status}");
        }
    });
    let leftovers = std::fs::read_dir(data_dir.join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "interrupted uploads are cleaned at start");
    serve.kill();
}
