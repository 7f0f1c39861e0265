//! `meshcheck serve` as a process on loopback, and the tokens to talk to it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::command::{meshcheck, stderr, stdout};

/// `admin create-token`; the token is the last line.
pub fn create_token(data_dir: &Path, tenant: &str, role: &str) -> String {
    let output = meshcheck(&[
        "admin",
        "create-token",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--tenant",
        tenant,
        "--role",
        role,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let token = stdout(&output).lines().last().unwrap().to_owned();
    assert!(token.starts_with("mck_"), "{token}");
    token
}

/// Uploads an archive; the HTTP status and the JSON answer.
pub async fn upload(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let response = client
        .post(format!("{url}/api/v1/snapshots"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A running `meshcheck serve`, killed when dropped.
pub struct Serve {
    pub child: Child,
    pub url: String,
}

impl Serve {
    /// Starts the portal on a free loopback port with `extra` arguments and waits until it
    /// says where it listens.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_meshcheck"))
            .args(["serve", "--data-dir", data_dir.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("meshcheck serve runs");
        let (sender, receiver) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("meshcheck: portal listening on ") {
                    let _ = sender.send(url.to_owned());
                }
            }
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the portal says where it listens");
        Serve { child, url }
    }

    /// Kills the portal (SIGKILL: nothing is flushed or finished on the way out).
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
