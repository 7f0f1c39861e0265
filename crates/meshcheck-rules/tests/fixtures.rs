//! Every rule has fixtures in `tests/fixtures/<CODE>/`: files named `fires*.yaml` must make the rule
//! report, files named `clean*.yaml` must not. Each fixture's findings are kept as an insta
//! snapshot, so any change of message, line or severity shows up in review.

use std::path::Path;
use std::sync::Arc;

use meshcheck_model::{Mesh, MeshInputs, ProxyStats};
use meshcheck_rules::{Sink, registry};

/// `<stem>.stats.txt` and `<stem>.<pod>.stats.txt` beside a fixture are Envoy admin stats dumps
/// (`/stats` or `/stats/prometheus`), as given with `--proxy-stats`.
fn proxy_stats_beside(fixture: &Path) -> Vec<ProxyStats> {
    let stem = fixture.file_stem().unwrap().to_string_lossy().into_owned();
    let mut paths: Vec<_> = std::fs::read_dir(fixture.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.ends_with(".stats.txt")
                && (name == format!("{stem}.stats.txt") || name.starts_with(&format!("{stem}.")))
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = format!(
                "fixtures/{}/{}",
                path.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy(),
                path.file_name().unwrap().to_string_lossy()
            );
            ProxyStats::parse(&name, &std::fs::read_to_string(path).unwrap())
                .unwrap_or_else(|error| panic!("{error}"))
        })
        .collect()
}

fn findings_for(code: &str, path: &Path) -> Vec<String> {
    let rule =
        registry::find(code).unwrap_or_else(|| panic!("no rule {code} for {}", path.display()));
    let text = std::fs::read_to_string(path).unwrap();
    let name = format!(
        "fixtures/{code}/{}",
        path.file_name().unwrap().to_string_lossy()
    );
    let (objects, issues) = meshcheck_input::parse_documents(&Arc::from(name.as_str()), &text);
    assert!(issues.is_empty(), "{}: {issues:?}", path.display());
    // `<stem>.cluster.json` beside a fixture supplies collector facts (Kubernetes version,
    // collection gaps, source: archive) for rules that read them.
    let cluster_file = path.with_extension("cluster.json");
    let cluster = if cluster_file.exists() {
        serde_json::from_str(&std::fs::read_to_string(&cluster_file).unwrap())
            .unwrap_or_else(|error| panic!("{}: {error}", cluster_file.display()))
    } else {
        Default::default()
    };
    let mesh = Mesh::build(
        objects,
        MeshInputs {
            cluster,
            proxy_stats: proxy_stats_beside(path),
            ..MeshInputs::default()
        },
    );
    let mut sink = Sink::new(&rule.meta);
    let reference = meshcheck_rules::ReferenceData::bundled();
    (rule.check)(&meshcheck_rules::Context::new(&mesh, &reference), &mut sink);
    let mut lines: Vec<String> = sink
        .into_findings()
        .iter()
        .map(|finding| {
            let resource = finding
                .resource
                .as_ref()
                .map(|resource| format!("{} {}", resource.kind, resource.display_name()))
                .unwrap_or_default();
            let line = finding
                .source
                .as_ref()
                .and_then(|source| source.line)
                .map(|line| format!(":{line}"))
                .unwrap_or_default();
            format!(
                "{} [{}{}] ({resource}){line} {}",
                finding.severity,
                finding.code,
                finding
                    .istio_code
                    .map(|code| format!("/{code}"))
                    .unwrap_or_default(),
                finding.message
            )
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn rule_fixtures() {
    insta::glob!("fixtures/*/*.yaml", |path| {
        let code = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let file = path.file_name().unwrap().to_str().unwrap();
        // MESHCHECK_FIXTURES=MC012,MC013 narrows the run while working on a few rules.
        if let Ok(only) = std::env::var("MESHCHECK_FIXTURES")
            && !only.split(',').any(|wanted| wanted.trim() == code)
        {
            return;
        }
        let findings = findings_for(code, path);
        if file.starts_with("fires") {
            assert!(
                !findings.is_empty(),
                "{code}/{file} should make {code} report"
            );
        } else if file.starts_with("clean") {
            assert!(
                findings.is_empty(),
                "{code}/{file} should be clean, got {findings:#?}"
            );
        } else {
            panic!("{code}/{file}: fixture names start with fires or clean");
        }
        insta::assert_snapshot!(findings.join("\n"));
    });
}

#[test]
fn every_rule_has_firing_and_clean_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut missing = Vec::new();
    for rule in registry::all() {
        let dir = root.join(rule.meta.code);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if !names.iter().any(|name| name.starts_with("fires"))
            || !names.iter().any(|name| name.starts_with("clean"))
        {
            missing.push(rule.meta.code);
        }
    }
    assert!(
        missing.is_empty(),
        "rules without fires*/clean* fixtures: {missing:?}"
    );
}
