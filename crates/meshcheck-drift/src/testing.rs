//! A drift with something in every section, for renderer tests.
use meshcheck_rules::{Category, Severity};

use crate::diff::{Drift, diff};
use crate::digest::{DIGEST_FORMAT, DigestFinding, ObjectHashes, ResourceKey, SnapshotDigest};

fn finding(code: &str, severity: Severity, name: &str, message: &str) -> DigestFinding {
    DigestFinding {
        code: code.to_owned(),
        severity,
        category: Category::IngressEgress,
        resource: Some(ResourceKey {
            kind: "VirtualService".to_owned(),
            namespace: Some("shop".to_owned()),
            name: name.to_owned(),
        }),
        message: message.to_owned(),
    }
}

/// Object hashes from `(kind, namespace/name, hash)` triples.
pub(crate) fn object_hashes(objects: &[(&str, &str, &str)]) -> ObjectHashes {
    let mut hashes = ObjectHashes::new();
    for (kind, name, hash) in objects {
        hashes
            .entry((*kind).to_owned())
            .or_default()
            .insert((*name).to_owned(), (*hash).to_owned());
    }
    hashes
}

fn digest(
    collected_at: &str,
    score: u8,
    grade: &str,
    kubernetes: &str,
    istio: &str,
    findings: Vec<DigestFinding>,
    objects: &[(&str, &str, &str)],
) -> SnapshotDigest {
    let hashes = object_hashes(objects);
    SnapshotDigest {
        format: DIGEST_FORMAT,
        cluster: Some("prod-eu".to_owned()),
        collected_at: Some(collected_at.to_owned()),
        kubernetes_version: Some(kubernetes.to_owned()),
        istio_versions: vec![istio.to_owned()],
        proxy_versions: vec![istio.to_owned()],
        score,
        grade: grade.to_owned(),
        findings,
        objects: hashes,
    }
}

pub(crate) fn sample_drift() -> Drift {
    let old = digest(
        "2026-01-01T06:00:00Z",
        92,
        "A",
        "v1.29.4",
        "1.22.1",
        vec![finding(
            "MC028",
            Severity::Warning,
            "reviews",
            "port 9080 of Service reviews has no protocol",
        )],
        &[
            ("apps/v1/Deployment", "shop/reviews-v1", "aaaa"),
            ("apps/v1/Deployment", "shop/ratings-v1", "bbbb"),
            (
                "networking.istio.io/v1/VirtualService",
                "shop/reviews",
                "cccc",
            ),
        ],
    );
    let new = digest(
        "2026-01-08T06:00:00Z",
        71,
        "C",
        "v1.30.1",
        "1.23.0",
        vec![
            finding(
                "MC012",
                Severity::Error,
                "reviews",
                "destination host reviews-v3 <not found>",
            ),
            finding(
                "MC040",
                Severity::Critical,
                "ratings",
                "mTLS disabled for ratings",
            ),
        ],
        &[
            ("apps/v1/Deployment", "shop/reviews-v1", "aaaa"),
            ("apps/v1/Deployment", "shop/reviews-v3", "dddd"),
            (
                "networking.istio.io/v1/VirtualService",
                "shop/reviews",
                "eeee",
            ),
        ],
    );
    diff(&old, &new)
}
