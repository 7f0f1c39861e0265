//! [`diff`]: what changed between two digests of the same cluster.

use std::collections::{BTreeMap, HashMap};

use meshcheck_rules::Severity;
use serde::{Deserialize, Serialize};

use crate::digest::{DigestFinding, ObjectHashes, ResourceKey, SnapshotDigest};

/// One side of the comparison, as the heading of a drift report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSide {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<String>,
    pub score: u8,
    pub grade: String,
    pub findings: usize,
    pub objects: usize,
}

impl SnapshotSide {
    fn of(digest: &SnapshotDigest) -> SnapshotSide {
        SnapshotSide {
            cluster: digest.cluster.clone(),
            collected_at: digest.collected_at.clone(),
            score: digest.score,
            grade: digest.grade.clone(),
            findings: digest.findings.len(),
            objects: digest.object_count(),
        }
    }
}

/// A platform component whose version(s) changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionChange {
    /// `Kubernetes`, `Istio control plane` or `Istio proxies`.
    pub component: String,
    /// Versions before and after (several when revisions or proxies of several versions run).
    pub old: Vec<String>,
    pub new: Vec<String>,
}

/// Objects of one kind that were added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindDrift {
    pub kind: String,
    /// The API group (`""` for the core group).
    pub group: String,
    /// `namespace/name` (or `name`) of each object, sorted.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl KindDrift {
    /// `Deployment.apps`, `Service` (kubectl's way of naming a kind with its group).
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

/// Counts over a drift, for headings, fleet views and exit codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftSummary {
    pub introduced: usize,
    pub resolved: usize,
    /// Introduced findings per severity (`critical`, `error`, `warning`, `info`).
    pub introduced_by_severity: BTreeMap<Severity, usize>,
    pub objects_added: usize,
    pub objects_removed: usize,
    pub objects_changed: usize,
}

/// What changed from one snapshot to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub old: SnapshotSide,
    pub new: SnapshotSide,
    /// New overall score minus old.
    pub score_change: i16,
    pub summary: DriftSummary,
    pub versions: Vec<VersionChange>,
    /// Findings of the new snapshot that the old one did not have, worst first.
    pub introduced: Vec<DigestFinding>,
    /// Findings of the old snapshot that are gone, worst first.
    pub resolved: Vec<DigestFinding>,
    /// Kinds with added, removed or changed objects, by kind name.
    pub objects: Vec<KindDrift>,
}

impl Drift {
    /// Introduced findings at or above `severity`.
    pub fn introduced_at_or_above(&self, severity: Severity) -> usize {
        self.introduced
            .iter()
            .filter(|finding| finding.severity >= severity)
            .count()
    }

    /// Nothing changed that a drift report shows.
    pub fn is_empty(&self) -> bool {
        self.score_change == 0
            && self.versions.is_empty()
            && self.introduced.is_empty()
            && self.resolved.is_empty()
            && self.objects.is_empty()
    }
}

/// Findings of `from` that `minus` does not have, counting repeats: when the old snapshot had one
/// finding and the new one has the same finding twice, one of them is new.
fn finding_difference(from: &[DigestFinding], minus: &[DigestFinding]) -> Vec<DigestFinding> {
    let mut remaining: HashMap<(&str, Option<&ResourceKey>, &str), usize> = HashMap::new();
    for finding in minus {
        *remaining.entry(finding.identity()).or_default() += 1;
    }
    let mut difference: Vec<DigestFinding> = from
        .iter()
        .filter(|finding| match remaining.get_mut(&finding.identity()) {
            Some(count) if *count > 0 => {
                *count -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect();
    difference.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| a.message.cmp(&b.message))
    });
    difference
}

/// Objects by `(group, kind)`: the served version is not part of an object's identity, so an
/// object read at `v1beta1` before and `v1` after is the same object.
fn by_group_kind(objects: &ObjectHashes) -> BTreeMap<(String, String), BTreeMap<&str, &str>> {
    let mut grouped: BTreeMap<(String, String), BTreeMap<&str, &str>> = BTreeMap::new();
    for (api_version_kind, names) in objects {
        let (api_version, kind) = api_version_kind
            .rsplit_once('/')
            .unwrap_or(("", api_version_kind.as_str()));
        let group = api_version
            .rsplit_once('/')
            .map(|(group, _)| group)
            .unwrap_or("");
        let entry = grouped
            .entry((kind.to_owned(), group.to_owned()))
            .or_default();
        for (name, hash) in names {
            entry.insert(name, hash);
        }
    }
    grouped
}

fn object_drift(old: &ObjectHashes, new: &ObjectHashes) -> Vec<KindDrift> {
    let old = by_group_kind(old);
    let new = by_group_kind(new);
    let empty = BTreeMap::new();
    let mut kinds: Vec<&(String, String)> = old.keys().chain(new.keys()).collect();
    kinds.sort();
    kinds.dedup();
    let mut drift = Vec::new();
    for key in kinds {
        let before = old.get(key).unwrap_or(&empty);
        let after = new.get(key).unwrap_or(&empty);
        let mut kind = KindDrift {
            kind: key.0.clone(),
            group: key.1.clone(),
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
        };
        for (name, hash) in after {
            match before.get(name) {
                None => kind.added.push((*name).to_owned()),
                Some(old_hash) if old_hash != hash => kind.changed.push((*name).to_owned()),
                Some(_) => {}
            }
        }
        kind.removed = before
            .keys()
            .filter(|name| !after.contains_key(*name))
            .map(|name| (*name).to_owned())
            .collect();
        if !(kind.added.is_empty() && kind.removed.is_empty() && kind.changed.is_empty()) {
            drift.push(kind);
        }
    }
    drift
}

fn version_changes(old: &SnapshotDigest, new: &SnapshotDigest) -> Vec<VersionChange> {
    let mut changes = Vec::new();
    let kubernetes = |digest: &SnapshotDigest| -> Vec<String> {
        digest.kubernetes_version.iter().cloned().collect()
    };
    for (component, before, after) in [
        ("Kubernetes", kubernetes(old), kubernetes(new)),
        (
            "Istio control plane",
            old.istio_versions.clone(),
            new.istio_versions.clone(),
        ),
        (
            "Istio proxies",
            old.proxy_versions.clone(),
            new.proxy_versions.clone(),
        ),
    ] {
        if before != after {
            changes.push(VersionChange {
                component: component.to_owned(),
                old: before,
                new: after,
            });
        }
    }
    changes
}

/// What changed from `old` to `new`: findings introduced and resolved (matched by code, resource
/// and message), objects added, removed and changed by kind, version changes and the score.
pub fn diff(old: &SnapshotDigest, new: &SnapshotDigest) -> Drift {
    let introduced = finding_difference(&new.findings, &old.findings);
    let resolved = finding_difference(&old.findings, &new.findings);
    let objects = object_drift(&old.objects, &new.objects);
    let mut introduced_by_severity: BTreeMap<Severity, usize> = BTreeMap::new();
    for finding in &introduced {
        *introduced_by_severity.entry(finding.severity).or_default() += 1;
    }
    let summary = DriftSummary {
        introduced: introduced.len(),
        resolved: resolved.len(),
        introduced_by_severity,
        objects_added: objects.iter().map(|kind| kind.added.len()).sum(),
        objects_removed: objects.iter().map(|kind| kind.removed.len()).sum(),
        objects_changed: objects.iter().map(|kind| kind.changed.len()).sum(),
    };
    Drift {
        old: SnapshotSide::of(old),
        new: SnapshotSide::of(new),
        score_change: i16::from(new.score) - i16::from(old.score),
        summary,
        versions: version_changes(old, new),
        introduced,
        resolved,
        objects,
    }
}

#[cfg(test)]
mod tests {
    use meshcheck_rules::Category;

    use super::*;
    use crate::digest::DIGEST_FORMAT;

    fn finding(code: &str, severity: Severity, name: &str, message: &str) -> DigestFinding {
        DigestFinding {
            code: code.to_owned(),
            severity,
            category: Category::Security,
            resource: Some(ResourceKey {
                kind: "VirtualService".to_owned(),
                namespace: Some("shop".to_owned()),
                name: name.to_owned(),
            }),
            message: message.to_owned(),
        }
    }

    fn digest(findings: Vec<DigestFinding>, objects: &[(&str, &str, &str)]) -> SnapshotDigest {
        let hashes = crate::testing::object_hashes(objects);
        SnapshotDigest {
            format: DIGEST_FORMAT,
            cluster: Some("prod".to_owned()),
            collected_at: None,
            kubernetes_version: Some("v1.29.4".to_owned()),
            istio_versions: vec!["1.22.1".to_owned()],
            proxy_versions: vec!["1.22.1".to_owned()],
            score: 90,
            grade: "A".to_owned(),
            findings,
            objects: hashes,
        }
    }

    #[test]
    fn identical_digests_have_no_drift() {
        let digest = digest(
            vec![finding("MC001", Severity::Error, "a", "broken")],
            &[("v1/Service", "shop/a", "1111")],
        );
        let drift = diff(&digest, &digest.clone());
        assert!(drift.is_empty(), "{drift:?}");
        assert_eq!(drift.summary, DriftSummary::default());
    }

    #[test]
    fn findings_are_matched_by_code_resource_and_message() {
        let old = digest(
            vec![
                finding("MC001", Severity::Error, "a", "broken"),
                finding("MC002", Severity::Warning, "a", "odd"),
                finding("MC003", Severity::Info, "a", "note"),
            ],
            &[],
        );
        let mut new = digest(
            vec![
                // Same finding with another severity: not new.
                finding("MC001", Severity::Critical, "a", "broken"),
                // Same rule, other resource: new.
                finding("MC002", Severity::Warning, "b", "odd"),
                // Same rule and resource, other message: new (and the old one resolved).
                finding("MC003", Severity::Info, "a", "another note"),
                finding("MC009", Severity::Critical, "c", "worse"),
            ],
            &[],
        );
        new.score = 70;
        new.grade = "C".to_owned();
        let drift = diff(&old, &new);
        let codes = |findings: &[DigestFinding]| -> Vec<(String, String)> {
            findings
                .iter()
                .map(|f| (f.code.clone(), f.resource.as_ref().unwrap().name.clone()))
                .collect()
        };
        assert_eq!(
            codes(&drift.introduced),
            vec![
                ("MC009".to_owned(), "c".to_owned()),
                ("MC002".to_owned(), "b".to_owned()),
                ("MC003".to_owned(), "a".to_owned()),
            ]
        );
        assert_eq!(
            codes(&drift.resolved),
            vec![
                ("MC002".to_owned(), "a".to_owned()),
                ("MC003".to_owned(), "a".to_owned())
            ]
        );
        assert_eq!(drift.score_change, -20);
        assert_eq!(drift.introduced_at_or_above(Severity::Error), 1);
        assert_eq!(drift.introduced_at_or_above(Severity::Warning), 2);
        assert_eq!(
            drift.summary.introduced_by_severity,
            BTreeMap::from([
                (Severity::Info, 1),
                (Severity::Warning, 1),
                (Severity::Critical, 1)
            ])
        );
    }

    #[test]
    fn repeated_findings_count_once_each() {
        let once = digest(vec![finding("MC001", Severity::Error, "a", "x")], &[]);
        let twice = digest(
            vec![
                finding("MC001", Severity::Error, "a", "x"),
                finding("MC001", Severity::Error, "a", "x"),
            ],
            &[],
        );
        assert_eq!(diff(&once, &twice).introduced.len(), 1);
        assert_eq!(diff(&twice, &once).resolved.len(), 1);
    }

    #[test]
    fn objects_added_removed_and_changed_by_kind() {
        let old = digest(
            vec![],
            &[
                ("apps/v1/Deployment", "shop/a", "1"),
                ("apps/v1/Deployment", "shop/b", "2"),
                ("networking.istio.io/v1beta1/VirtualService", "shop/vs", "3"),
                ("v1/Namespace", "shop", "4"),
            ],
        );
        let new = digest(
            vec![],
            &[
                ("apps/v1/Deployment", "shop/a", "1"),
                ("apps/v1/Deployment", "shop/c", "5"),
                // Served at a newer version, same content: unchanged.
                ("networking.istio.io/v1/VirtualService", "shop/vs", "3"),
                ("v1/Namespace", "shop", "6"),
                ("v1/Service", "shop/s", "7"),
            ],
        );
        let drift = diff(&old, &new);
        let names = |names: &[&str]| -> Vec<String> {
            names.iter().map(|name| (*name).to_owned()).collect()
        };
        let kind = |kind: &str, group: &str, added: &[&str], removed: &[&str], changed: &[&str]| {
            KindDrift {
                kind: kind.to_owned(),
                group: group.to_owned(),
                added: names(added),
                removed: names(removed),
                changed: names(changed),
            }
        };
        assert_eq!(
            drift.objects,
            vec![
                kind("Deployment", "apps", &["shop/c"], &["shop/b"], &[]),
                kind("Namespace", "", &[], &[], &["shop"]),
                kind("Service", "", &["shop/s"], &[], &[]),
            ]
        );
        assert_eq!(drift.objects[0].qualified_kind(), "Deployment.apps");
        assert_eq!(drift.objects[1].qualified_kind(), "Namespace");
        assert_eq!(
            (
                drift.summary.objects_added,
                drift.summary.objects_removed,
                drift.summary.objects_changed
            ),
            (2, 1, 1)
        );
    }

    #[test]
    fn version_changes_name_the_component() {
        let old = digest(vec![], &[]);
        let mut new = old.clone();
        new.kubernetes_version = Some("v1.30.1".to_owned());
        new.istio_versions = vec!["1.22.1".to_owned(), "1.23.0".to_owned()];
        let drift = diff(&old, &new);
        assert_eq!(
            drift.versions,
            vec![
                VersionChange {
                    component: "Kubernetes".to_owned(),
                    old: vec!["v1.29.4".to_owned()],
                    new: vec!["v1.30.1".to_owned()],
                },
                VersionChange {
                    component: "Istio control plane".to_owned(),
                    old: vec!["1.22.1".to_owned()],
                    new: vec!["1.22.1".to_owned(), "1.23.0".to_owned()],
                },
            ]
        );
        let json = serde_json::to_string(&drift).unwrap();
        let back: Drift = serde_json::from_str(&json).unwrap();
        assert_eq!(back, drift);
    }
}
