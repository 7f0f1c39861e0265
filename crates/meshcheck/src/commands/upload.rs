//! `meshcheck upload ARCHIVE --server URL`: sends a snapshot archive to a meshcheck portal and
//! prints the report URL. Also used by `meshcheck collect --upload`.
//!
//! The portal answers `201` (new snapshot) or `200` (the same archive was uploaded before) with
//! `{"id", "cluster", "collected_at", "report_url", "status"}`, and errors as `{"error": "..."}`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{StatusCode, Url, header};
use serde::Deserialize;

use meshcheck_collect::error_chain;

use crate::cli::{TokenArgs, UploadArgs};

/// Time to establish the connection (TLS included).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time for the whole upload: the portal's own limit for uploads is 10 minutes.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Longest server message quoted in an error (a proxy's HTML error page is not worth more).
const MESSAGE_CHARS: usize = 300;

/// Where and as whom to upload.
#[derive(Debug, Clone)]
pub struct Portal {
    pub server: String,
    pub token: String,
    pub cluster: Option<String>,
}

/// What the portal says about an accepted upload.
#[derive(Debug, Clone, Deserialize)]
pub struct Uploaded {
    pub id: String,
    pub cluster: String,
    #[serde(default)]
    pub collected_at: Option<String>,
    pub report_url: String,
    #[serde(default)]
    pub status: Option<String>,
    /// `false` when the portal already had this archive (200 instead of 201).
    #[serde(skip)]
    pub created: bool,
}

/// The token from `--token-file`, else `--token` / `MESHCHECK_TOKEN`.
pub fn resolve_token(args: &TokenArgs) -> anyhow::Result<String> {
    let token = match (&args.token_file, &args.token) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the token file", path.display()))?
            .trim()
            .to_owned(),
        (None, Some(token)) => token.trim().to_owned(),
        (None, None) => {
            bail!("no upload token: give --token-file FILE, --token TOKEN or set MESHCHECK_TOKEN")
        }
    };
    if token.is_empty() {
        match &args.token_file {
            Some(path) => bail!("{}: the token file is empty", path.display()),
            None => bail!("the upload token is empty"),
        }
    }
    // A header value cannot hold control characters; say so instead of failing obscurely.
    if token.chars().any(|c| c.is_control() || c == ' ') {
        bail!("the upload token contains spaces or control characters");
    }
    Ok(token)
}

/// `<server>/api/v1/snapshots[?cluster=NAME]`, keeping a path prefix the portal may live under.
fn endpoint(server: &str, cluster: Option<&str>) -> anyhow::Result<Url> {
    let mut base = Url::parse(server).with_context(|| format!("--server {server}: not a URL"))?;
    if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
        bail!("--server {server}: not an http:// or https:// URL");
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.set_query(None);
    base.set_fragment(None);
    let mut url = base
        .join("api/v1/snapshots")
        .with_context(|| format!("--server {server}: not a URL"))?;
    if let Some(cluster) = cluster {
        url.query_pairs_mut().append_pair("cluster", cluster);
    }
    Ok(url)
}

/// The server's `{"error": "..."}` message, or the start of whatever else it sent, on one line.
fn server_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    let text = match serde_json::from_str::<ErrorBody>(body) {
        Ok(parsed) => parsed.error,
        Err(_) => body.to_owned(),
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > MESSAGE_CHARS {
        let cut: String = line.chars().take(MESSAGE_CHARS).collect();
        format!("{cut}…")
    } else {
        line
    }
}

/// One line naming the failure the way a user can act on it.
fn failure(status: StatusCode, archive: &Path, url: &Url, body: &str) -> String {
    let message = server_message(body);
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    };
    let code = status.as_u16();
    match status {
        StatusCode::UNAUTHORIZED => format!("{url}: the server rejected the token{said}"),
        StatusCode::FORBIDDEN => format!("{url}: the token may not upload (HTTP {code}){said}"),
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "{}: the archive is larger than the server accepts{said}",
            archive.display()
        ),
        StatusCode::BAD_REQUEST => format!(
            "{}: the server refused the archive (HTTP {code}){said}",
            archive.display()
        ),
        StatusCode::TOO_MANY_REQUESTS => {
            format!("{url}: too many requests for this token, try again later (HTTP {code}){said}")
        }
        _ => format!("{url}: HTTP {code}{said}"),
    }
}

async fn send(archive: &Path, portal: &Portal) -> anyhow::Result<Uploaded> {
    let url = endpoint(&portal.server, portal.cluster.as_deref())?;
    let file = tokio::fs::File::open(archive)
        .await
        .with_context(|| format!("{}: cannot open", archive.display()))?;
    let length = file
        .metadata()
        .await
        .with_context(|| format!("{}: cannot read", archive.display()))?
        .len();
    // kube brings ring; reqwest is built without a crypto provider of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(UPLOAD_TIMEOUT)
        .user_agent(concat!("meshcheck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| {
            anyhow::anyhow!("cannot set up the HTTP client: {}", error_chain(&error))
        })?;
    let response = client
        .post(url.clone())
        .bearer_auth(&portal.token)
        .header(header::CONTENT_TYPE, "application/zstd")
        .header(header::CONTENT_LENGTH, length)
        .body(reqwest::Body::from(file))
        .send()
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "{url}: upload failed: {}",
                error_chain(&error.without_url())
            )
        })?;
    let status = response.status();
    let body = response.text().await.map_err(|error| {
        anyhow::anyhow!("{url}: reading the answer failed: {}", error_chain(&error))
    })?;
    if status != StatusCode::OK && status != StatusCode::CREATED {
        bail!("{}", failure(status, archive, &url, &body));
    }
    let mut uploaded: Uploaded = serde_json::from_str(&body).map_err(|error| {
        anyhow::anyhow!(
            "{url}: HTTP {} but not a meshcheck portal's answer ({error}): {}",
            status.as_u16(),
            server_message(&body)
        )
    })?;
    uploaded.created = status == StatusCode::CREATED;
    Ok(uploaded)
}

/// Uploads on a runtime of its own (the rest of the CLI is synchronous).
pub fn upload(archive: &Path, portal: &Portal) -> anyhow::Result<Uploaded> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(send(archive, portal))
}

/// Tells what happened on stderr and prints the report URL on stdout (its last line).
pub fn announce(archive: &Path, uploaded: &Uploaded) {
    let what = if uploaded.created {
        "uploaded"
    } else {
        "already on the portal:"
    };
    let status = uploaded
        .status
        .as_deref()
        .map(|status| format!(", analysis {status}"))
        .unwrap_or_default();
    let collected = uploaded
        .collected_at
        .as_deref()
        .map(|time| format!(" collected {time}"))
        .unwrap_or_default();
    eprintln!(
        "meshcheck: {what} {} as snapshot {} of cluster {}{collected}{status}",
        archive.display(),
        uploaded.id,
        uploaded.cluster
    );
    println!("{}", uploaded.report_url);
}

pub fn run(args: UploadArgs) -> anyhow::Result<ExitCode> {
    let outcome = resolve_token(&args.token).and_then(|token| {
        let portal = Portal {
            server: args.server.clone(),
            token,
            cluster: args.cluster.clone(),
        };
        upload(&args.archive, &portal)
    });
    match outcome {
        Ok(uploaded) => {
            announce(&args.archive, &uploaded);
            Ok(ExitCode::SUCCESS)
        }
        // Exit 1: the upload did not happen (2 is for usage errors, which clap reports).
        Err(error) => {
            eprintln!("meshcheck: error: {error:#}");
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keeps_a_path_prefix_and_adds_the_cluster() {
        assert_eq!(
            endpoint("https://portal.example.com", None)
                .unwrap()
                .as_str(),
            "https://portal.example.com/api/v1/snapshots"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:8080/meshcheck/", Some("prod eu/1"))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/meshcheck/api/v1/snapshots?cluster=prod+eu%2F1"
        );
        assert!(endpoint("ftp://x", None).is_err());
        assert!(endpoint("portal.example.com", None).is_err());
    }

    #[test]
    fn server_messages_are_one_short_line() {
        assert_eq!(
            server_message(r#"{"error": "bad\narchive"}"#),
            "bad archive"
        );
        assert_eq!(
            server_message("<html>\n<b>502</b>\n</html>"),
            "<html> <b>502</b> </html>"
        );
        let long = "x".repeat(1000);
        assert_eq!(server_message(&long).chars().count(), MESSAGE_CHARS + 1);
    }

    #[test]
    fn tokens_come_from_the_file_first_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "mc_abc_def\n").unwrap();
        let args = TokenArgs {
            token: Some("from-flag".to_owned()),
            token_file: Some(file.clone()),
        };
        assert_eq!(resolve_token(&args).unwrap(), "mc_abc_def");
        let args = TokenArgs {
            token: Some("from-flag".to_owned()),
            token_file: None,
        };
        assert_eq!(resolve_token(&args).unwrap(), "from-flag");
        std::fs::write(&file, "  \n").unwrap();
        let args = TokenArgs {
            token: None,
            token_file: Some(file),
        };
        assert!(
            resolve_token(&args)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let none = TokenArgs {
            token: None,
            token_file: None,
        };
        assert!(
            resolve_token(&none)
                .unwrap_err()
                .to_string()
                .contains("MESHCHECK_TOKEN")
        );
    }
}
