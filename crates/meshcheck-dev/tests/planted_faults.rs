//! The generated mesh's planted faults are all found, from manifests and from the same mesh as
//! a collector archive — and the two inputs give the same findings.

use std::collections::BTreeSet;

use meshcheck_archive::{Archive, Limits};
use meshcheck_dev::{Format, MeshShape, generate, write_archive, write_manifests};
use meshcheck_pipeline::{AnalyzeOptions, LoadedInput, analyze};
use meshcheck_rules::Finding;

/// (code, kind, namespace, name) of every finding, under both its codes.
fn reported(findings: &[Finding]) -> BTreeSet<(String, String, String, String)> {
    let mut keys = BTreeSet::new();
    for finding in findings {
        let Some(resource) = &finding.resource else {
            continue;
        };
        let namespace = resource.namespace.clone().unwrap_or_default();
        for code in [Some(finding.code), finding.istio_code]
            .into_iter()
            .flatten()
        {
            keys.insert((
                code.to_owned(),
                resource.kind.clone(),
                namespace.clone(),
                resource.name.clone(),
            ));
        }
    }
    keys
}

#[test]
fn every_planted_fault_is_found_in_manifests_and_in_the_archive() {
    let shape = MeshShape {
        namespaces: 4,
        ..MeshShape::default()
    };
    let mesh = generate(shape);
    let kinds_of_fault: BTreeSet<&str> = mesh.faults.iter().map(|fault| fault.what).collect();
    assert_eq!(
        kinds_of_fault.len(),
        7,
        "every kind of fault is planted: {kinds_of_fault:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    write_manifests(&mesh, &manifests, Format::Json).unwrap();
    let archive_path = dir.path().join("mesh.tar.zst");
    write_archive(&mesh, &archive_path).unwrap();

    let from_files = analyze(
        LoadedInput::from_paths(&[manifests]).unwrap(),
        AnalyzeOptions::default(),
    )
    .report;
    let archive = Archive::open(&archive_path, &Limits::default()).unwrap();
    let from_archive = analyze(
        LoadedInput::from_archive(&archive).unwrap(),
        AnalyzeOptions::default(),
    )
    .report;
    assert_eq!(from_files.input.objects, mesh.object_count());
    assert_eq!(from_archive.input.objects, mesh.object_count());

    for (input, report) in [("manifests", &from_files), ("archive", &from_archive)] {
        let found = reported(&report.findings);
        let missed: Vec<_> = mesh
            .faults
            .iter()
            .filter(|fault| {
                !found.contains(&(
                    fault.code.to_owned(),
                    fault.kind.to_owned(),
                    fault.namespace.clone(),
                    fault.name.clone(),
                ))
            })
            .collect();
        assert!(
            missed.is_empty(),
            "{input}: planted faults not found: {missed:#?}"
        );
    }

    // The archive is the same mesh: the same findings, except those about the source itself
    // (a collected cluster is judged on what was collected, files on what they show).
    let same = |report: &meshcheck_report::Report| {
        reported(&report.findings)
            .into_iter()
            .filter(|(code, ..)| code.starts_with("IST"))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(same(&from_files), same(&from_archive));
}

#[test]
fn a_mesh_without_planted_faults_has_no_finding_of_their_codes() {
    let mesh = generate(MeshShape {
        namespaces: 2,
        fault_every: 0,
        ..MeshShape::default()
    });
    assert!(mesh.faults.is_empty());
    let dir = tempfile::tempdir().unwrap();
    write_manifests(&mesh, dir.path(), Format::Yaml).unwrap();
    let report = analyze(
        LoadedInput::from_paths(&[dir.path().to_path_buf()]).unwrap(),
        AnalyzeOptions::default(),
    )
    .report;
    let planted_codes = ["IST0101", "IST0118", "IST0127", "IST0173", "MC203"];
    let unexpected: Vec<_> = reported(&report.findings)
        .into_iter()
        .filter(|(code, ..)| planted_codes.contains(&code.as_str()))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}
