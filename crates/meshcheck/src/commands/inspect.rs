//! `meshcheck inspect`: verifies an archive (checksums, limits, layout) and summarizes it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use meshcheck_archive::{Archive, Limits};

use crate::cli::{InspectArgs, InspectFormat};

/// Bytes as a short human size (`1.2 MiB`).
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

fn render_text(archive: &Archive, compressed_bytes: u64) -> String {
    let manifest = archive.manifest();
    let mut out = String::new();
    let _ = writeln!(out, "archive:       {} (verified)", archive.name());
    let _ = writeln!(
        out,
        "format:        version {}, written by meshcheck {}",
        manifest.format_version, manifest.meshcheck_version
    );
    let source = match &manifest.context {
        Some(context) => format!("{} (context {context})", manifest.source.as_str()),
        None => manifest.source.as_str().to_owned(),
    };
    let _ = writeln!(out, "source:        {source}");
    let _ = writeln!(out, "collected at:  {}", manifest.collected_at);
    if let Some(version) = &manifest.kubernetes_version {
        let _ = writeln!(out, "kubernetes:    {version}");
    }
    if manifest.anonymized {
        let _ = writeln!(out, "anonymized:    yes");
    }
    let _ = writeln!(
        out,
        "members:       {}, {} uncompressed, {} compressed",
        archive.member_count(),
        human_size(archive.decompressed_bytes()),
        human_size(compressed_bytes)
    );
    let events = archive.events().len();
    let proxy_stats = archive.proxy_stats().len();
    if events > 0 || proxy_stats > 0 {
        let _ = writeln!(
            out,
            "extras:        {events} events, {proxy_stats} proxy stats dumps"
        );
    }
    let _ = writeln!(out, "\nobjects: {}", manifest.object_count());
    let width = manifest.counts.keys().map(String::len).max().unwrap_or(0);
    for (kind, count) in &manifest.counts {
        let _ = writeln!(out, "  {kind:<width$}  {count:>6}");
    }
    if !manifest.collection_errors.is_empty() {
        let _ = writeln!(
            out,
            "\ncollection errors: {} (rules using these kinds are partly blind)",
            manifest.collection_errors.len()
        );
        for gap in &manifest.collection_errors {
            let scope = gap
                .namespace
                .as_deref()
                .map(|namespace| format!(" in namespace {namespace}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}/{}{scope}: {}",
                gap.api_version, gap.kind, gap.reason
            );
        }
    }
    if manifest.redaction.is_empty() {
        let _ = writeln!(out, "\nredaction: nothing to redact");
    } else {
        let _ = writeln!(out, "\nredaction (values removed):");
        let width = manifest
            .redaction
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(0);
        for (kind, count) in &manifest.redaction {
            let _ = writeln!(out, "  {kind:<width$}  {count:>6}");
        }
    }
    out
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let archive = Archive::open(&args.archive, &Limits::default())?;
    let rendered = match args.output {
        InspectFormat::Json => {
            let mut text = serde_json::to_string_pretty(archive.manifest())?;
            text.push('\n');
            text
        }
        InspectFormat::Text => {
            let compressed = std::fs::metadata(&args.archive)
                .map(|metadata| metadata.len())
                .unwrap_or(0);
            render_text(&archive, compressed)
        }
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = stdout.write_all(rendered.as_bytes());
    let _ = stdout.flush();
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(12), "12 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 20), "3.0 MiB");
    }
}
