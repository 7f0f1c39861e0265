//! A pre-apply check's input: a change set laid over a snapshot (an object with the same kind,
//! namespace and name replaces the snapshot's, new objects are added, deleted ones removed),
//! and the comparison that marks each finding `new` or `existing`.

use std::collections::{HashMap, HashSet};

use meshcheck_input::{LoadIssue, Object, Severity as IssueSeverity, Value};
use meshcheck_rules::Finding;
use meshcheck_rules::finding::FindingStatus;

use crate::LoadedInput;
use crate::deletions::{Deletion, home_namespace};

/// The annotation that makes a change document a deletion of the object it names.
pub const DELETE_ANNOTATION: &str = "meshcheck.io/delete";

/// An object's identity for the overlay: group, kind, home namespace, name (the version does not
/// matter: `v1beta1` and `v1` of a kind are one object, as the model sees them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ObjectId<'a> {
    group: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

impl<'a> ObjectId<'a> {
    fn of(object: &'a Object) -> ObjectId<'a> {
        ObjectId {
            group: object.group(),
            kind: &object.kind,
            namespace: home_namespace(object.group(), &object.kind, object.namespace.as_deref()),
            name: &object.name,
        }
    }
}

fn marked_for_deletion(object: &Object) -> bool {
    object
        .value
        .pointer(&format!(
            "/metadata/annotations/{}",
            DELETE_ANNOTATION.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// The snapshot with the change set applied.
#[derive(Debug)]
pub struct Overlaid {
    pub input: LoadedInput,
    pub added: usize,
    pub replaced: usize,
    pub deleted: usize,
}

/// Lays `changes` over `snapshot`. Deletions that name no snapshot object become warnings (the
/// change may be deleting something already gone); an object both changed and deleted is an
/// error, since which one is meant cannot be told.
pub fn apply(
    snapshot: LoadedInput,
    changes: LoadedInput,
    mut deletions: Vec<Deletion>,
) -> anyhow::Result<Overlaid> {
    let (marked, changed): (Vec<Object>, Vec<Object>) =
        changes.objects.into_iter().partition(marked_for_deletion);
    deletions.extend(marked.iter().map(Deletion::of));

    let changed_ids: HashSet<ObjectId> = changed.iter().map(ObjectId::of).collect();
    if let Some((deletion, object)) = deletions.iter().find_map(|deletion| {
        changed
            .iter()
            .find(|object| deletion.matches(object))
            .map(|object| (deletion, object))
    }) {
        let at = object
            .source
            .as_ref()
            .map(|source| format!(" (changed at {}:{})", source.file, source.line))
            .unwrap_or_default();
        anyhow::bail!(
            "{}:{}: {} is both deleted and changed{at}",
            deletion.file,
            deletion.line,
            deletion.describe()
        );
    }

    // Deletions by (kind, name), so that a snapshot object is checked against few of them.
    let mut by_name: HashMap<(String, &str), Vec<usize>> = HashMap::new();
    for (index, deletion) in deletions.iter().enumerate() {
        by_name
            .entry((deletion.kind.to_ascii_lowercase(), deletion.name.as_str()))
            .or_default()
            .push(index);
    }
    let mut used = vec![false; deletions.len()];
    let mut replaced_ids: HashSet<ObjectId> = HashSet::new();
    let (mut replaced, mut deleted) = (0, 0);
    // Decided over borrowed objects first, so that identities can borrow from both sides.
    let keep: Vec<bool> = snapshot
        .objects
        .iter()
        .map(|object| {
            let id = ObjectId::of(object);
            if changed_ids.contains(&id) {
                replaced_ids.insert(id);
                replaced += 1;
                return false;
            }
            let candidates = if by_name.is_empty() {
                None
            } else {
                by_name.get(&(object.kind.to_ascii_lowercase(), object.name.as_str()))
            };
            let deleting = candidates.and_then(|candidates| {
                candidates
                    .iter()
                    .copied()
                    .find(|index| deletions[*index].matches(object))
            });
            if let Some(index) = deleting {
                used[index] = true;
                deleted += 1;
                return false;
            }
            true
        })
        .collect();
    let added = changed
        .iter()
        .filter(|object| !replaced_ids.contains(&ObjectId::of(object)))
        .count();
    drop(replaced_ids);
    drop(changed_ids);
    let mut kept = Vec::with_capacity(keep.len() + changed.len());
    kept.extend(
        snapshot
            .objects
            .into_iter()
            .zip(keep)
            .filter_map(|(object, keep)| keep.then_some(object)),
    );

    let mut issues = snapshot.issues;
    issues.extend(changes.issues);
    for (deletion, used) in deletions.iter().zip(used) {
        if !used {
            issues.push(LoadIssue {
                severity: IssueSeverity::Warning,
                file: deletion.file.clone(),
                line: (deletion.line > 0).then_some(deletion.line),
                column: None,
                message: format!(
                    "{} is not in the snapshot: nothing to delete",
                    deletion.describe()
                ),
            });
        }
    }
    kept.extend(changed);
    Ok(Overlaid {
        input: LoadedInput {
            kind: snapshot.kind,
            objects: kept,
            issues,
            files: changes.files,
            cluster: snapshot.cluster,
            proxy_stats: snapshot.proxy_stats,
            first_file: changes.first_file.or(snapshot.first_file),
        },
        added,
        replaced,
        deleted,
    })
}

/// What makes two findings the same: rule, resource (by its home namespace, so that a change
/// file that leaves the namespace out matches the snapshot's `default`) and message.
fn identity(finding: &Finding) -> (&str, Option<(&str, &str, &str)>, &str) {
    let resource = finding.resource.as_ref().map(|resource| {
        let namespace = finding
            .scope_namespace
            .as_deref()
            .or(resource.namespace.as_deref())
            .unwrap_or_default();
        (resource.kind.as_str(), namespace, resource.name.as_str())
    });
    (finding.code, resource, &finding.message)
}

/// Marks each finding `existing` when the snapshot alone had it, else `new`.
pub fn mark(findings: &mut [Finding], snapshot: &[Finding]) {
    let before: HashSet<_> = snapshot.iter().map(identity).collect();
    for finding in findings.iter_mut() {
        let status = if before.contains(&identity(finding)) {
            FindingStatus::Existing
        } else {
            FindingStatus::New
        };
        finding.status = Some(status);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshcheck_input::{SourceRef, json};
    use meshcheck_model::ClusterInfo;

    use super::*;
    use crate::InputKind;
    use crate::deletions::parse_deletions;

    fn object(kind: &str, namespace: Option<&str>, name: &str, file: &str) -> Object {
        let api_version = match kind {
            "Service" | "Namespace" => "v1",
            _ => "networking.istio.io/v1",
        };
        let mut metadata = json!({"name": name});
        if let Some(namespace) = namespace {
            metadata["namespace"] = json!(namespace);
        }
        Object::from_value(
            json!({"apiVersion": api_version, "kind": kind, "metadata": metadata}),
            Some(SourceRef::new(Arc::from(file), 1)),
        )
        .unwrap()
    }

    fn input(objects: Vec<Object>) -> LoadedInput {
        LoadedInput {
            kind: InputKind::Archive,
            objects,
            issues: Vec::new(),
            files: 1,
            cluster: ClusterInfo::default(),
            proxy_stats: Vec::new(),
            first_file: None,
        }
    }

    fn names(overlaid: &Overlaid) -> Vec<String> {
        overlaid
            .input
            .objects
            .iter()
            .map(|object| {
                let file = &object.source.as_ref().unwrap().file;
                format!("{} {} {file}", object.kind, object.name)
            })
            .collect()
    }

    fn snapshot() -> LoadedInput {
        input(vec![
            object("Service", Some("default"), "reviews", "snap"),
            object("DestinationRule", Some("default"), "reviews", "snap"),
            object("VirtualService", Some("default"), "reviews", "snap"),
            object("Namespace", None, "legacy", "snap"),
        ])
    }

    #[test]
    fn same_object_replaces_new_ones_are_added() {
        let changes = input(vec![
            // No namespace: `default`, so it replaces the snapshot's.
            object("VirtualService", None, "reviews", "change.yaml"),
            object("VirtualService", None, "ratings", "change.yaml"),
            // Same name, another namespace: a new object.
            object("DestinationRule", Some("shop"), "reviews", "change.yaml"),
        ]);
        let overlaid = apply(snapshot(), changes, Vec::new()).unwrap();
        assert_eq!(
            (overlaid.added, overlaid.replaced, overlaid.deleted),
            (2, 1, 0)
        );
        assert_eq!(
            names(&overlaid),
            [
                "Service reviews snap",
                "DestinationRule reviews snap",
                "Namespace legacy snap",
                "VirtualService reviews change.yaml",
                "VirtualService ratings change.yaml",
                "DestinationRule reviews change.yaml",
            ]
        );
        assert!(overlaid.input.issues.is_empty());
        assert_eq!(overlaid.input.kind, InputKind::Archive);
    }

    #[test]
    fn listed_and_annotated_deletions_remove_and_unknown_ones_warn() {
        let mut marked = object("DestinationRule", None, "reviews", "change.yaml");
        marked.value["metadata"]["annotations"] = json!({"meshcheck.io/delete": "true"});
        let deletions = parse_deletions(
            "deleted.txt",
            "Namespace legacy\nVirtualService shop/gone\n",
        )
        .unwrap();
        let overlaid = apply(snapshot(), input(vec![marked]), deletions).unwrap();
        assert_eq!(
            (overlaid.added, overlaid.replaced, overlaid.deleted),
            (0, 0, 2)
        );
        assert_eq!(
            names(&overlaid),
            ["Service reviews snap", "VirtualService reviews snap"]
        );
        let warnings: Vec<String> = overlaid
            .input
            .issues
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            warnings,
            ["deleted.txt:2: VirtualService shop/gone is not in the snapshot: nothing to delete"]
        );
    }

    #[test]
    fn an_object_both_deleted_and_changed_is_refused() {
        let deletions = parse_deletions("deleted.txt", "VirtualService reviews\n").unwrap();
        let changes = input(vec![object("VirtualService", None, "reviews", "vs.yaml")]);
        let error = apply(snapshot(), changes, deletions)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "deleted.txt:1: VirtualService reviews is both deleted and changed (changed at vs.yaml:1)"
        );
    }

    fn finding(code: &'static str, namespace: Option<&str>, message: &str) -> Finding {
        let mut sink = meshcheck_rules::Sink::new(&meshcheck_rules::registry::all()[0].meta);
        let resource =
            meshcheck_model::Resource::new(object("VirtualService", namespace, "reviews", "f"));
        let mut finding = sink.report(&resource, &[], message).clone();
        finding.code = code;
        finding
    }

    #[test]
    fn findings_are_new_unless_the_snapshot_had_the_same_one() {
        let before = vec![
            finding("MC001", Some("default"), "routes to subset v9"),
            finding("MC002", Some("default"), "no port name"),
        ];
        let mut after = vec![
            // Same rule, resource (namespace left out: `default`) and message.
            finding("MC001", None, "routes to subset v9"),
            finding("MC001", None, "routes to subset v8"),
            finding("MC002", Some("shop"), "no port name"),
        ];
        mark(&mut after, &before);
        let statuses: Vec<_> = after.iter().map(|finding| finding.status).collect();
        assert_eq!(
            statuses,
            [
                Some(FindingStatus::Existing),
                Some(FindingStatus::New),
                Some(FindingStatus::New)
            ]
        );
    }
}
