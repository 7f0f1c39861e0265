//! `meshcheck upload` against the real portal (`meshcheck-server` on a loopback port): accepted,
//! duplicate, and every refusal the portal can answer, as the user sees them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use meshcheck_server::{Config, Role, RunningServer};
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn meshcheck(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_meshcheck"));
    command
        .args(args)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1795000000")
        .env_remove("MESHCHECK_TOKEN");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("meshcheck runs")
}

/// A portal on a loopback port with its own data directory, served by a runtime that lives as
/// long as the test.
struct Portal {
    runtime: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    url: String,
    dir: tempfile::TempDir,
}

impl Portal {
    fn start(max_upload_bytes: u64) -> Portal {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path().join("data"), "127.0.0.1:0".parse().unwrap());
        config.workers = 1;
        config.rate_limit = None;
        config.max_upload_bytes = max_upload_bytes;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(meshcheck_server::start(config)).unwrap();
        Portal {
            url: server.url(),
            server: Some(server),
            runtime,
            dir,
        }
    }

    /// A token made the way `meshcheck admin create-token` makes one.
    fn token(&self, tenant: &str, role: Role) -> String {
        let store = meshcheck_server::store::open(&self.dir.path().join("data"), None).unwrap();
        meshcheck_server::tokens::create(store.as_ref(), tenant, role, 1)
            .unwrap()
            .token
    }

    fn get_json(&self, token: &str, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        self.runtime.block_on(async {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let response = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        })
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.shutdown());
        }
    }
}

fn pack(dir: &Path, example: &str) -> String {
    let dest = dir.join(format!("{example}.tar.zst"));
    let output = meshcheck(
        &[
            "pack",
            &format!("examples/{example}"),
            "-o",
            dest.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    dest.to_str().unwrap().to_owned()
}

fn last_line(output: &Output) -> String {
    text(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// One line on stderr, exit 1.
fn assert_refused(output: &Output, expected: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
}

#[test]
fn upload_prints_the_report_url_and_a_second_upload_finds_the_same_snapshot() {
    let portal = Portal::start(256 << 20);
    let token = portal.token("team-a", Role::Uploader);
    let archive = pack(portal.dir.path(), "bookinfo-broken");

    let first = meshcheck(
        &[
            "upload",
            &archive,
            "--server",
            &portal.url,
            "--cluster",
            "prod-eu",
        ],
        &[("MESHCHECK_TOKEN", &token)],
    );
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let report_url = last_line(&first);
    assert!(
        report_url.starts_with(&format!("{}/snapshots/", portal.url)),
        "{report_url}"
    );
    assert!(
        text(&first.stderr).contains("uploaded"),
        "{}",
        text(&first.stderr)
    );
    assert!(text(&first.stderr).contains("cluster prod-eu"));

    // The token from a file, as the in-cluster CronJob passes it; the portal knows the archive.
    let token_file = portal.dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let second = meshcheck(
        &[
            "upload",
            &archive,
            "--server",
            &format!("{}/", portal.url),
            "--token-file",
            token_file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert_eq!(last_line(&second), report_url);
    assert!(text(&second.stderr).contains("already on the portal"));

    // The portal analyses it: the snapshot is there, under the cluster name given.
    let id = report_url.rsplit('/').next().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let snapshot = loop {
        let (status, snapshot) = portal.get_json(&token, &format!("/api/v1/snapshots/{id}"));
        assert_eq!(status, 200, "{snapshot}");
        if snapshot["status"] != "pending" || Instant::now() > deadline {
            break snapshot;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(snapshot["status"], "done", "{snapshot}");
    assert_eq!(snapshot["cluster"], "prod-eu", "{snapshot}");
}

#[test]
fn refusals_are_one_line_and_exit_1() {
    let archives = tempfile::tempdir().unwrap();
    let small = pack(archives.path(), "bookinfo");
    let large = pack(archives.path(), "bookinfo-broken");
    // The portal accepts the smaller archive and not one byte more.
    let limit = std::fs::metadata(&small).unwrap().len();
    assert!(std::fs::metadata(&large).unwrap().len() > limit);
    let portal = Portal::start(limit);
    let uploader = portal.token("team-a", Role::Uploader);
    let viewer = portal.token("team-a", Role::Viewer);

    let wrong = meshcheck(
        &[
            "upload",
            &small,
            "--server",
            &portal.url,
            "--token",
            "mc_0000_1111",
        ],
        &[],
    );
    assert_refused(&wrong, "the server rejected the token");

    let not_allowed = meshcheck(
        &[
            "upload",
            &small,
            "--server",
            &portal.url,
            "--token",
            &viewer,
        ],
        &[],
    );
    assert_refused(&not_allowed, "HTTP 403");

    let too_large = meshcheck(
        &[
            "upload",
            &large,
            "--server",
            &portal.url,
            "--token",
            &uploader,
        ],
        &[],
    );
    assert_refused(&too_large, "the archive is larger than the server accepts");

    let corrupt = portal.dir.path().join("corrupt.tar.zst");
    std::fs::write(&corrupt, b"\x28\xb5\x2f\xfd not an archive at all").unwrap();
    let refused = meshcheck(
        &[
            "upload",
            corrupt.to_str().unwrap(),
            "--server",
            &portal.url,
            "--token",
            &uploader,
        ],
        &[],
    );
    assert_refused(&refused, "the server refused the archive (HTTP 400)");

    // At the limit it is accepted.
    let accepted = meshcheck(
        &[
            "upload",
            &small,
            "--server",
            &portal.url,
            "--token",
            &uploader,
        ],
        &[],
    );
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{}",
        text(&accepted.stderr)
    );

    let no_token = meshcheck(&["upload", &small, "--server", &portal.url], &[]);
    assert_refused(&no_token, "no upload token");

    let missing = meshcheck(
        &[
            "upload",
            "no-such.tar.zst",
            "--server",
            &portal.url,
            "--token",
            &uploader,
        ],
        &[],
    );
    assert_refused(&missing, "no-such.tar.zst: cannot open");
}

#[test]
fn an_unreachable_portal_is_one_line_and_exit_1() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let archive = pack(dir.path(), "bookinfo");
    let output = meshcheck(
        &[
            "upload",
            &archive,
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--token",
            "mc_0000_1111",
        ],
        &[],
    );
    assert_refused(&output, "upload failed");
}
