//! `meshcheck pack`: plain manifests → a snapshot archive, redacted like a collected one.

use std::process::ExitCode;

use anyhow::{Context, bail};
use meshcheck_archive::{SnapshotInfo, SnapshotWriter, Source, Timestamp};
use meshcheck_input::Severity;

use crate::cli::PackArgs;

/// `SOURCE_DATE_EPOCH` (reproducible builds convention) pins the archive's time, and with it the
/// archive's bytes.
fn collected_at() -> anyhow::Result<Timestamp> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => {
            let seconds: i64 = text
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={text}: not a number of seconds"))?;
            Timestamp::from_second(seconds)
                .with_context(|| format!("SOURCE_DATE_EPOCH={text}: out of range"))
        }
        Err(_) => Ok(Timestamp::now()),
    }
}

pub fn run(args: PackArgs) -> anyhow::Result<ExitCode> {
    let loaded = meshcheck_input::load_paths(&args.paths)?;
    let mut errors = loaded
        .issues
        .iter()
        .filter(|issue| issue.severity == Severity::Error);
    if let Some(first) = errors.next() {
        let more = errors.count();
        let more = match more {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        bail!("{first}{more}; nothing was packed");
    }
    for issue in &loaded.issues {
        eprintln!("meshcheck: warning: {issue}");
    }
    if loaded.objects.is_empty() {
        bail!("no Kubernetes objects found in the given paths; nothing was packed");
    }

    let mut writer = SnapshotWriter::new(SnapshotInfo {
        source: Source::Manifests,
        context: None,
        kubernetes_version: None,
        version_json: None,
        collected_at: collected_at()?,
    });
    writer.add_manifest_objects(loaded.objects);
    if let Some(key) = &args.anonymize_key {
        writer.anonymize_with_key(key);
    } else if args.anonymize {
        writer.anonymize(true);
    }
    let manifest = writer.write_atomic(&args.output)?;

    let redacted: Vec<String> = manifest
        .redaction
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect();
    eprintln!(
        "meshcheck: packed {} objects ({} kinds) from {} file{} into {}{}{}",
        manifest.object_count(),
        manifest.counts.len(),
        loaded.files,
        if loaded.files == 1 { "" } else { "s" },
        args.output.display(),
        if manifest.anonymized {
            ", anonymized"
        } else {
            ""
        },
        if redacted.is_empty() {
            String::new()
        } else {
            format!("; redacted: {}", redacted.join(", "))
        }
    );
    Ok(ExitCode::SUCCESS)
}
