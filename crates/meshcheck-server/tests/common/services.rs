//! PostgreSQL and an S3-compatible store (moto) on loopback, started once per test binary and
//! stopped by a watchdog when the test process ends. Each test gets its own database and bucket.
//!
//! Needs Debian's `postgresql` package and `moto[server]` (`.ci/run` installs both; set
//! `MESHCHECK_TEST_MOTO` to the `moto_server` program when it is not on PATH).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `cleanup` (a shell command) once this test process has exited.
fn after_exit(cleanup: &str) {
    let script = format!(
        "while kill -0 {} 2>/dev/null; do sleep 1; done; {cleanup}",
        std::process::id()
    );
    let watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh runs");
    reap(watchdog);
}

/// Waits for a process that outlives the tests on a thread of its own, so it never lingers
/// as a zombie should it end first.
fn reap(mut child: std::process::Child) {
    std::thread::spawn(move || {
        let _ = child.wait();
    });
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The newest installed PostgreSQL's programs (Debian keeps them out of PATH).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)")
}

pub struct Postgres {
    port: u16,
}

/// A PostgreSQL server for this test process.
pub fn postgres() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(|| {
        let bin = postgres_bin();
        let dir = tempfile::Builder::new()
            .prefix("meshcheck-pg-")
            .tempdir()
            .unwrap()
            .keep();
        // initdb refuses to run as root: run the server as the package's postgres user.
        let as_user: Vec<String> = if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success());
            vec!["runuser".into(), "-u".into(), "postgres".into(), "--".into()]
        } else {
            Vec::new()
        };
        let run = |program: &Path, args: &[String]| {
            let mut command = match as_user.split_first() {
                Some((first, rest)) => {
                    let mut command = Command::new(first);
                    command.args(rest).arg(program);
                    command
                }
                None => Command::new(program),
            };
            let output = command
                .args(args)
                .stdin(Stdio::null())
                .stderr(Stdio::piped())
                .stdout(Stdio::null())
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{} failed: {}",
                program.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let data = dir.join("data");
        let data_arg = data.display().to_string();
        run(
            &bin.join("initdb"),
            &[
                "-D".into(),
                data_arg.clone(),
                "-U".into(),
                "postgres".into(),
                "--auth=trust".into(),
                "-E".into(),
                "UTF8".into(),
                "--no-sync".into(),
            ],
        );
        let port = free_port();
        run(
            &bin.join("pg_ctl"),
            &[
                "-D".into(),
                data_arg.clone(),
                "-l".into(),
                dir.join("log").display().to_string(),
                "-o".into(),
                format!(
                    "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
                    dir.display()
                ),
                "-w".into(),
                "start".into(),
            ],
        );
        after_exit(&format!(
            "{} {} -D {data_arg} -m immediate stop; rm -rf {}",
            as_user.join(" "),
            bin.join("pg_ctl").display(),
            dir.display()
        ));
        wait_for_port(port, "PostgreSQL");
        Postgres { port }
    })
}

impl Postgres {
    /// A new, empty database; returns its URL.
    pub fn database(&self) -> String {
        let name = format!("test_{}", meshcheck_server::tokens::random_hex(6).unwrap());
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        // The synchronous client runs its own runtime: keep it off the test's.
        let statement = format!("CREATE DATABASE {name}");
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
            client.batch_execute(&statement).unwrap();
        })
        .join()
        .unwrap();
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

pub struct Moto {
    port: u16,
}

/// An S3-compatible server (moto) for this test process.
pub fn moto() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(|| {
        let port = free_port();
        let port_arg = port.to_string();
        let mut command = match std::env::var_os("MESHCHECK_TEST_MOTO") {
            Some(program) => Command::new(program),
            None => Command::new("moto_server"),
        };
        command
            .args(["-H", "127.0.0.1", "-p", &port_arg])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().unwrap_or_else(|error| {
            panic!(
                "cannot start moto_server ({error}): pip install 'moto[server]' or set MESHCHECK_TEST_MOTO"
            )
        });
        after_exit(&format!("kill {}", child.id()));
        reap(child);
        wait_for_port(port, "moto_server");
        Moto { port }
    })
}

impl Moto {
    /// A new, empty bucket; returns the `--blob-store` URL of a prefix in it.
    pub fn bucket(&self) -> String {
        let bucket = format!("mc-{}", meshcheck_server::tokens::random_hex(6).unwrap());
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "create bucket: {answer}"
        );
        format!(
            "s3://{bucket}/portal?endpoint=http://127.0.0.1:{}&aws_allow_http=true&region=us-east-1\
             &access_key_id=meshcheck-test&secret_access_key=meshcheck-test",
            self.port
        )
    }
}
