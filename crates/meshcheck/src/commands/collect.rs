//! `meshcheck collect`: snapshot a live cluster into a redacted, verifiable archive.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use meshcheck_archive::{Manifest, SnapshotInfo, SnapshotWriter, Source};
use meshcheck_collect::{ClusterTarget, CollectOptions, Collection, Progress};

use crate::cli::CollectArgs;
use crate::commands::upload::{self, Portal, resolve_token};

/// Progress bars on stderr: a spinner for the phase, a bar over the kinds being listed.
struct Bars {
    _multi: MultiProgress,
    phase: ProgressBar,
    kinds: ProgressBar,
}

impl Bars {
    fn new(quiet: bool) -> Bars {
        let multi = MultiProgress::new();
        if quiet {
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
        let phase = multi.add(ProgressBar::new_spinner());
        phase.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        phase.enable_steady_tick(Duration::from_millis(120));
        let kinds = multi.add(ProgressBar::new(0));
        kinds.set_style(
            ProgressStyle::with_template("  kinds {bar:30} {pos}/{len}  {msg}")
                .expect("valid template"),
        );
        Bars {
            _multi: multi,
            phase,
            kinds,
        }
    }

    fn finish(&self) {
        self.phase.finish_and_clear();
        self.kinds.finish_and_clear();
    }
}

impl Progress for Bars {
    fn phase(&self, name: &str) {
        self.phase.set_message(match name {
            "version" => "asking the API server for its version".to_owned(),
            "discovery" => "discovering API groups and kinds".to_owned(),
            other => format!("listing {other}"),
        });
    }

    fn planned(&self, kinds: usize) {
        self.kinds.set_length(kinds as u64);
    }

    fn kind_done(&self, _api_version: &str, kind: &str, objects: usize) {
        self.kinds.inc(1);
        self.kinds.set_message(format!("{kind}: {objects}"));
    }
}

/// `meshcheck-<context>-<UTC time>.tar.zst`, with the context made safe for a file name.
fn default_output(context: &str, collected_at: jiff::Timestamp) -> PathBuf {
    let context: String = context
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let time = collected_at.strftime("%Y%m%dT%H%M%SZ");
    PathBuf::from(format!("meshcheck-{context}-{time}.tar.zst"))
}

/// Runs a collection on a fresh runtime (the rest of meshcheck is synchronous).
pub fn collect_cluster(
    target: &ClusterTarget,
    options: &CollectOptions,
    progress: &dyn Progress,
) -> anyhow::Result<(Collection, jiff::Timestamp)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let connection = target.connect().await?;
        let collected_at = jiff::Timestamp::now();
        let collection = meshcheck_collect::collect(&connection, options, progress).await?;
        Ok((collection, collected_at))
    })
}

/// Writes a collection as an archive (redaction and optional anonymization happen here).
pub fn write_archive(
    collection: Collection,
    collected_at: jiff::Timestamp,
    anonymize: bool,
    dest: &Path,
) -> anyhow::Result<Manifest> {
    let mut writer = SnapshotWriter::new(SnapshotInfo {
        source: Source::Cluster,
        context: Some(collection.context.clone()),
        kubernetes_version: collection.kubernetes_version.clone(),
        version_json: Some(collection.version),
        collected_at,
    });
    writer.anonymize(anonymize);
    for list in collection.lists {
        writer.add_objects(&list.api_version, &list.kind, list.items);
    }
    writer.add_events(collection.events);
    for gap in collection.gaps {
        writer.add_collection_error(gap);
    }
    Ok(writer.write_atomic(dest)?)
}

pub fn run(args: CollectArgs) -> anyhow::Result<ExitCode> {
    // A missing token is found before the cluster is read, not after.
    let portal = match &args.upload {
        Some(server) => Some(Portal {
            server: server.clone(),
            token: resolve_token(&args.token)?,
            cluster: args.cluster.clone(),
        }),
        None => None,
    };
    let target = ClusterTarget {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    };
    let options = CollectOptions {
        namespaces: args.namespaces.clone(),
        max_events: args.max_events,
        ..CollectOptions::default()
    };
    let bars = Bars::new(args.quiet);
    let outcome = collect_cluster(&target, &options, &bars);
    bars.finish();
    let (collection, collected_at) = outcome?;

    let dest = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&collection.context, collected_at));
    let objects = collection.object_count();
    let kinds = collection.lists.len();
    let (elapsed, requests) = (collection.elapsed, collection.requests);
    let manifest = write_archive(collection, collected_at, args.anonymize, &dest)?;

    if !args.quiet {
        for gap in &manifest.collection_errors {
            let scope = gap
                .namespace
                .as_deref()
                .map(|namespace| format!(" in namespace {namespace}"))
                .unwrap_or_default();
            eprintln!(
                "meshcheck: warning: could not list {} {}{scope}: {}",
                gap.api_version, gap.kind, gap.reason
            );
        }
        let redacted: u64 = manifest.redaction.values().sum();
        eprintln!(
            "collected {objects} objects of {kinds} kinds from context {} in {:.1}s ({requests} requests); {} kinds not collected; {redacted} values redacted",
            manifest.context.as_deref().unwrap_or("?"),
            elapsed.as_secs_f64(),
            manifest.collection_errors.len(),
        );
        eprintln!(
            "review it with `meshcheck inspect {}` before sharing it",
            dest.display()
        );
    }
    println!("{}", dest.display());

    if let Some(portal) = portal {
        match upload::upload(&dest, &portal) {
            Ok(uploaded) => upload::announce(&dest, &uploaded),
            // The archive is kept: it can be uploaded later with `meshcheck upload`.
            Err(error) => {
                eprintln!(
                    "meshcheck: error: {error:#} (the archive is kept: {})",
                    dest.display()
                );
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
