//! The HTML report in a real browser: Debian's Chromium, headless, loads the generated file from
//! disk. The DOM must hold every finding after the page's script ran, a filter in the URL
//! fragment must hide what it should, the console must stay free of errors (and of
//! Content-Security-Policy refusals), and a screenshot is taken
//! (`target/report-browser/bookinfo-broken.png`).
//!
//! Chromium is required, not optional: `.ci/run` installs it. Set `MESHCHECK_CHROMIUM` to use
//! another binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("MESHCHECK_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} not found: the browser test needs Chromium (apt-get install chromium; .ci/run installs \
         it), or MESHCHECK_CHROMIUM=/path/to/chrome",
        path.display()
    );
    path
}

/// A scratch directory under `target/` (kept after the run: the screenshot is worth a look).
fn scratch() -> PathBuf {
    let dir = workspace().join("target/report-browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn meshcheck(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_meshcheck"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("meshcheck runs");
    assert!(output.status.code().is_some_and(|code| code <= 1));
    String::from_utf8(output.stdout).unwrap()
}

struct Browser {
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium on `url` with `extra` flags; fails the test after 90 s.
fn browse(url: &str, extra: &[&str], profile: &str) -> Browser {
    let profile_dir = scratch().join(format!("profile-{profile}"));
    let _ = std::fs::remove_dir_all(&profile_dir);
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read_out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let read_err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let browser = Browser {
                stdout: read_out.join().unwrap(),
                stderr: read_err.join().unwrap(),
            };
            assert!(
                status.success(),
                "chromium failed ({status}): {}",
                browser.stderr
            );
            return browser;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Console errors, uncaught exceptions and policy refusals in Chromium's log.
fn console_problems(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| {
            line.contains("Uncaught")
                || line.contains("console.error")
                || line.contains("Refused to")
                || (line.contains(":CONSOLE") && line.contains("ERROR"))
        })
        .collect()
}

/// The opening tags of the finding rows in a dumped DOM.
fn finding_rows(dom: &str) -> Vec<&str> {
    dom.match_indices("<tr class=\"finding\"")
        .map(|(start, _)| {
            let end = start + dom[start..].find('>').unwrap();
            &dom[start..=end]
        })
        .collect()
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(&tag[start..end])
}

fn is_hidden(tag: &str) -> bool {
    tag.contains(" hidden")
}

fn report_file() -> (PathBuf, Value) {
    let html = meshcheck(&["analyze", "examples/bookinfo-broken/", "-o", "html"]);
    let json: Value = serde_json::from_str(&meshcheck(&[
        "analyze",
        "examples/bookinfo-broken/",
        "-o",
        "json",
    ]))
    .unwrap();
    let path = scratch().join("bookinfo-broken.html");
    std::fs::write(&path, html).unwrap();
    (path, json)
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

#[test]
fn report_works_in_chromium() {
    let (path, json) = report_file();
    let url = file_url(&path);
    let findings = json["findings"].as_array().unwrap();
    assert!(!findings.is_empty());

    // Loaded unfiltered: every finding is a visible row, the script ran, the console is clean.
    let page = browse(&url, &["--dump-dom"], "plain");
    assert!(
        console_problems(&page.stderr).is_empty(),
        "console: {:#?}",
        console_problems(&page.stderr)
    );
    let dom = &page.stdout;
    assert!(
        dom.contains("data-filtered=\"false\""),
        "the page's script did not run"
    );
    assert!(dom.contains(&format!("{} findings listed on this page.", findings.len())));
    let rows = finding_rows(dom);
    assert_eq!(rows.len(), findings.len());
    assert!(rows.iter().all(|row| !is_hidden(row)));
    for finding in findings {
        // Text nodes as the DOM serializer writes them.
        let message = finding["message"]
            .as_str()
            .unwrap()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(dom.contains(&message), "missing in the DOM: {message}");
    }

    // A severity filter from the fragment, applied on load.
    let errors = findings
        .iter()
        .filter(|finding| finding["severity"] == "error")
        .count();
    assert!(errors > 0 && errors < findings.len());
    let filtered = browse(
        &format!("{url}#severity=error"),
        &["--dump-dom"],
        "severity",
    );
    assert!(console_problems(&filtered.stderr).is_empty());
    let rows = finding_rows(&filtered.stdout);
    for row in &rows {
        let severity = attribute(row, "data-sev").unwrap();
        assert_eq!(is_hidden(row), severity != "error", "{row}");
    }
    assert!(filtered.stdout.contains(&format!(
        "Showing {errors} of {} findings listed on this page.",
        findings.len()
    )));
    assert!(filtered.stdout.contains("data-filtered=\"true\""));

    // Namespace and text search.
    let in_legacy = browse(
        &format!("{url}#namespace=legacy"),
        &["--dump-dom"],
        "namespace",
    );
    let rows = finding_rows(&in_legacy.stdout);
    assert!(rows.iter().any(|row| !is_hidden(row)));
    for row in &rows {
        assert_eq!(
            is_hidden(row),
            attribute(row, "data-ns") != Some("legacy"),
            "{row}"
        );
    }
    let searched = browse(&format!("{url}#q=ratings-v2"), &["--dump-dom"], "search");
    let visible = finding_rows(&searched.stdout)
        .into_iter()
        .filter(|row| !is_hidden(row))
        .count();
    assert_eq!(visible, 1, "one finding names ratings-v2");
    // The category filter hides the other sections.
    let security = browse(
        &format!("{url}#category=security"),
        &["--dump-dom"],
        "category",
    );
    assert!(
        security
            .stdout
            .contains("<section class=\"category\" id=\"cat-platform\" data-cat=\"platform\" aria-labelledby=\"cat-platform-title\" hidden=\"\">")
    );

    // A screenshot, for a human to look at.
    let screenshot = scratch().join("bookinfo-broken.png");
    let _ = std::fs::remove_file(&screenshot);
    let shot = browse(
        &url,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2000",
            "--hide-scrollbars",
        ],
        "screenshot",
    );
    assert!(console_problems(&shot.stderr).is_empty());
    let png = std::fs::read(&screenshot).expect("a screenshot was written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 50_000, "suspiciously small screenshot");
}

#[test]
fn console_check_catches_script_errors() {
    // The console check must be able to fail: a page that throws is caught.
    let path = scratch().join("throws.html");
    std::fs::write(
        &path,
        "<!DOCTYPE html><html><body><p>x</p><script>null.boom();</script></body></html>",
    )
    .unwrap();
    let page = browse(&file_url(&path), &["--dump-dom"], "throws");
    assert!(
        !console_problems(&page.stderr).is_empty(),
        "an uncaught TypeError went unnoticed: {}",
        page.stderr
    );
}
