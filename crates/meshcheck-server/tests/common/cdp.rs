//! A small Chrome DevTools Protocol client for the browser test: starts Debian's headless
//! Chromium (or `MESHCHECK_CHROMIUM`) with a debugging port, attaches to one page over a
//! WebSocket, and sends commands one at a time, keeping the events that arrive in between
//! (console messages, exceptions, log entries such as Content-Security-Policy refusals).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

pub fn chromium_path() -> PathBuf {
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

/// A running headless Chromium; killed when dropped.
pub struct Chromium {
    child: Child,
    websocket_url: String,
    _profile: tempfile::TempDir,
}

impl Chromium {
    pub fn start() -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium_path())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        // Chromium announces its endpoint on stderr; keep draining it afterwards so it never
        // blocks on a full pipe.
        let stderr = child.stderr.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sender = Some(sender);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ")
                    && let Some(sender) = sender.take()
                {
                    let _ = sender.send(url.trim().to_owned());
                }
            }
        });
        let websocket_url = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("chromium did not open its DevTools endpoint within 60 s")
            });
        Chromium {
            child,
            websocket_url,
            _profile: profile,
        }
    }

    /// A new page (tab), attached.
    pub async fn page(&self) -> Page {
        let (socket, _) = tokio_tungstenite::connect_async(self.websocket_url.as_str())
            .await
            .expect("DevTools WebSocket");
        let mut page = Page {
            socket,
            next_id: 0,
            session: None,
            events: Vec::new(),
        };
        let target = page
            .call("Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let attached = page
            .call(
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        page.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            page.call(domain, json!({})).await;
        }
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        page
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Page {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: Option<String>,
    /// Every event received so far, in order.
    pub events: Vec<Value>,
}

impl Page {
    /// Sends a command and waits for its answer; a protocol error fails the test.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("DevTools WebSocket send");
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let received = tokio::time::timeout(left, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer within {COMMAND_TIMEOUT:?}"))
                .expect("DevTools WebSocket closed")
                .expect("DevTools WebSocket read");
            let Message::Text(text) = received else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["id"] == id {
                assert!(value["error"].is_null(), "{method}: {}", value["error"]);
                return value["result"].clone();
            }
            if value.get("method").is_some() {
                self.events.push(value);
            }
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Waits until the loaded page's path (and query) satisfies `wanted`; returns it.
    pub async fn wait_for_page(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let state = self
                .eval("document.readyState + ' ' + location.pathname + location.search")
                .await;
            let state = state.as_str().unwrap_or_default().to_owned();
            if let Some(path) = state.strip_prefix("complete ")
                && wanted(path)
            {
                return path.to_owned();
            }
            assert!(Instant::now() < deadline, "{what}: still at {state}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
    }

    pub async fn screenshot(&mut self, path: &Path) {
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Console errors, uncaught exceptions and error log entries (Chromium logs a refused
    /// Content-Security-Policy there) seen so far, one line each.
    pub fn problems(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| {
                let params = &event["params"];
                match event["method"].as_str()? {
                    "Runtime.consoleAPICalled" if params["type"] == "error" => {
                        Some(format!("console.error: {}", params["args"]))
                    }
                    "Runtime.exceptionThrown" => {
                        Some(format!("exception: {}", params["exceptionDetails"]))
                    }
                    "Log.entryAdded"
                        if params["entry"]["level"] == "error"
                            || params["entry"]["text"]
                                .as_str()
                                .is_some_and(|text| text.contains("Content Security Policy")) =>
                    {
                        Some(format!(
                            "log: {} ({})",
                            params["entry"]["text"], params["entry"]["url"]
                        ))
                    }
                    _ => None,
                }
            })
            .collect()
    }
}
