//! A bounded load test of `meshcheck serve` on loopback: 200 uploads from 20 concurrent clients
//! over 5 clusters while 50 clients read reports. Every accepted upload must end with a
//! finished report, none lost or duplicated. Prints uploads/s, latencies and the server's peak
//! RSS (`cargo test --release -p meshcheck --test portal_load -- --nocapture` for the figures in
//! docs/performance.md).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use meshcheck_archive::{SnapshotInfo, SnapshotWriter, Source, Timestamp};
use serde_json::Value;
use tokio::sync::Mutex;

mod support {
    pub mod command;
    pub mod portal;
}
use support::command::workspace;
use support::portal::{Serve, create_token, upload};

const UPLOADS: usize = 200;
const UPLOADERS: usize = 20;
const READERS: usize = 50;
const CLUSTERS: usize = 5;

/// `count` distinct snapshots of bookinfo-broken, spread over the clusters.
fn archives(count: usize) -> Vec<Vec<u8>> {
    let loaded =
        meshcheck_input::load_paths(&[workspace().join("examples/bookinfo-broken")]).unwrap();
    (0..count)
        .map(|index| {
            let mut writer = SnapshotWriter::new(SnapshotInfo {
                source: Source::Cluster,
                context: Some(format!("cluster-{}", index % CLUSTERS)),
                kubernetes_version: Some("v1.30.4".to_owned()),
                version_json: None,
                collected_at: Timestamp::from_second(1_795_000_000 + index as i64 * 60).unwrap(),
            });
            writer.add_manifest_objects(loaded.objects.iter().cloned());
            writer.to_bytes().unwrap().1
        })
        .collect()
}

/// Peak resident set of a process, in MiB (Linux).
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[test]
fn two_hundred_uploads_while_fifty_clients_read() {
    let dir = tempfile::tempdir().unwrap();
    let uploader = create_token(dir.path(), "fleet", "uploader");
    let viewer = create_token(dir.path(), "fleet", "viewer");
    let server = Serve::start(dir.path(), &["--rate-limit", "0"]);
    let archives = archives(UPLOADS);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(READERS + UPLOADERS)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    runtime.block_on(async {
        let url = server.url.clone();
        let queue = Arc::new(Mutex::new(archives));
        let uploads_done = Arc::new(AtomicBool::new(false));
        let started = Instant::now();

        let mut readers = tokio::task::JoinSet::new();
        for reader in 0..READERS {
            let (client, url, viewer, done) = (
                client.clone(),
                url.clone(),
                viewer.clone(),
                uploads_done.clone(),
            );
            readers.spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                while !done.load(Ordering::Relaxed) {
                    let begin = Instant::now();
                    let list = client
                        .get(format!("{url}/api/v1/snapshots?limit=20"))
                        .bearer_auth(&viewer)
                        .send()
                        .await;
                    let Ok(list) = list.and_then(|list| list.error_for_status()) else {
                        errors += 1;
                        continue;
                    };
                    let page: Value = list.json().await.unwrap_or_default();
                    latencies.push(begin.elapsed());
                    let done_ids: Vec<String> = page["snapshots"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|snapshot| snapshot["status"] == "done")
                        .filter_map(|snapshot| snapshot["id"].as_str().map(str::to_owned))
                        .collect();
                    let Some(id) = done_ids.get(reader % done_ids.len().max(1)) else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    let begin = Instant::now();
                    match client
                        .get(format!("{url}/snapshots/{id}"))
                        .bearer_auth(&viewer)
                        .send()
                        .await
                    {
                        Ok(response) if response.status().is_success() => {
                            let _ = response.bytes().await;
                            latencies.push(begin.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            });
        }

        let mut uploaders = tokio::task::JoinSet::new();
        for _ in 0..UPLOADERS {
            let (client, url, uploader, queue) =
                (client.clone(), url.clone(), uploader.clone(), queue.clone());
            uploaders.spawn(async move {
                let mut results = Vec::new();
                loop {
                    let Some(body) = queue.lock().await.pop() else {
                        return results;
                    };
                    let begin = Instant::now();
                    let (status, created) = upload(&client, &url, &uploader, body).await;
                    results.push((
                        status,
                        created["id"].as_str().unwrap().to_owned(),
                        begin.elapsed(),
                    ));
                }
            });
        }
        let mut upload_latencies = Vec::new();
        let mut accepted = Vec::new();
        while let Some(results) = uploaders.join_next().await {
            for (status, id, latency) in results.unwrap() {
                assert_eq!(status, 201, "every archive is new");
                accepted.push(id);
                upload_latencies.push(latency);
            }
        }
        let upload_phase = started.elapsed();

        // Every accepted upload finishes; readers keep reading meanwhile.
        let deadline = Instant::now() + Duration::from_secs(600);
        let listed = loop {
            let page: Value = client
                .get(format!("{url}/api/v1/snapshots?limit=500"))
                .bearer_auth(&viewer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let snapshots = page["snapshots"].as_array().unwrap().clone();
            if snapshots
                .iter()
                .all(|snapshot| snapshot["status"] == "done")
            {
                break snapshots;
            }
            assert!(Instant::now() < deadline, "analyses did not finish");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let all_analysed = started.elapsed();
        uploads_done.store(true, Ordering::Relaxed);
        let mut read_latencies = Vec::new();
        let mut read_errors = 0;
        while let Some(result) = readers.join_next().await {
            let (latencies, errors) = result.unwrap();
            read_latencies.extend(latencies);
            read_errors += errors;
        }

        let accepted_set: HashSet<&String> = accepted.iter().collect();
        let listed_ids: HashSet<String> = listed
            .iter()
            .map(|snapshot| snapshot["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(accepted.len(), UPLOADS);
        assert_eq!(accepted_set.len(), UPLOADS, "no duplicate ids");
        assert_eq!(listed.len(), UPLOADS, "nothing lost, nothing extra");
        assert!(accepted.iter().all(|id| listed_ids.contains(id)));
        let clusters: HashSet<&str> = listed
            .iter()
            .map(|snapshot| snapshot["cluster"].as_str().unwrap())
            .collect();
        assert_eq!(clusters.len(), CLUSTERS);
        assert_eq!(read_errors, 0, "reads never failed");

        upload_latencies.sort();
        read_latencies.sort();
        println!(
            "portal load: {UPLOADS} uploads from {UPLOADERS} clients in {:.2} s ({:.1} uploads/s), \
             upload p50 {} p99 {}; all analysed after {:.2} s; {} reads by {READERS} clients, \
             read p50 {} p99 {}; server peak RSS {}",
            upload_phase.as_secs_f64(),
            UPLOADS as f64 / upload_phase.as_secs_f64(),
            millis(percentile(&upload_latencies, 0.5)),
            millis(percentile(&upload_latencies, 0.99)),
            all_analysed.as_secs_f64(),
            read_latencies.len(),
            millis(percentile(&read_latencies, 0.5)),
            millis(percentile(&read_latencies, 0.99)),
            peak_rss_mib(server.child.id())
                .map(|mib| format!("{mib:.0} MiB"))
                .unwrap_or_else(|| "unknown".to_owned()),
        );
    });
    server.kill();
}
