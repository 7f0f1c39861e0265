//! The `--deleted FILE` list of a pre-apply check: the objects a change removes from the
//! snapshot. One object per line:
//!
//! ```text
//! # comments and blank lines are ignored
//! DestinationRule shop/reviews        # Kind namespace/name
//! VirtualService ratings              # no namespace: `default` (as kubectl applies it)
//! Namespace legacy                    # a cluster-scoped kind: its name only
//! Gateway.gateway.networking.k8s.io shop/edge   # Kind.group when two groups share a kind name
//! ```
//!
//! Kinds compare without regard to case; an unqualified kind matches it in any group.

use std::sync::Arc;

use meshcheck_input::Object;
use meshcheck_model::Kind;

/// One object to remove from the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub kind: String,
    pub group: Option<String>,
    /// `None`: `default` for a namespaced kind, none for a cluster-scoped one.
    pub namespace: Option<String>,
    pub name: String,
    /// Where it was asked for (the list's line, or the annotated change document).
    pub file: Arc<str>,
    pub line: u32,
}

/// The namespace an object lives in for matching: its own, `default` for a namespaced object
/// that names none (as the model reads it), `""` for a cluster-scoped kind.
pub(crate) fn home_namespace<'a>(group: &str, kind: &str, namespace: Option<&'a str>) -> &'a str {
    if Kind::from_group_kind(group, kind).is_namespaced() {
        namespace.unwrap_or("default")
    } else {
        ""
    }
}

impl Deletion {
    /// The deletion a change document asks for with `meshcheck.io/delete: "true"`.
    pub(crate) fn of(object: &Object) -> Deletion {
        let (file, line) = match &object.source {
            Some(source) => (source.file.clone(), source.line),
            None => (Arc::from("<change set>"), 0),
        };
        let namespace = home_namespace(object.group(), &object.kind, object.namespace.as_deref());
        Deletion {
            kind: object.kind.clone(),
            group: Some(object.group().to_owned()),
            namespace: (!namespace.is_empty()).then(|| namespace.to_owned()),
            name: object.name.clone(),
            file,
            line,
        }
    }

    /// Whether `object` is the one this deletion names.
    pub(crate) fn matches(&self, object: &Object) -> bool {
        if !self.kind.eq_ignore_ascii_case(&object.kind) || self.name != object.name {
            return false;
        }
        if self
            .group
            .as_deref()
            .is_some_and(|group| group != object.group())
        {
            return false;
        }
        let home = home_namespace(object.group(), &object.kind, object.namespace.as_deref());
        match &self.namespace {
            Some(namespace) => namespace == home,
            None => home.is_empty() || home == "default",
        }
    }

    /// `Kind namespace/name` as the list spells it.
    pub fn describe(&self) -> String {
        let kind = match &self.group {
            Some(group) if !group.is_empty() => format!("{}.{group}", self.kind),
            _ => self.kind.clone(),
        };
        match &self.namespace {
            Some(namespace) => format!("{kind} {namespace}/{}", self.name),
            None => format!("{kind} {}", self.name),
        }
    }
}

/// One line of the list: `None` for a blank or comment line, the reason for a malformed one.
fn parse_line(text: &str, file: &Arc<str>, line: u32) -> Result<Option<Deletion>, String> {
    let text = text.split('#').next().unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(None);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let [kind, object] = words.as_slice() else {
        return Err(format!(
            "expected `Kind namespace/name` (or `Kind name`), found `{text}`"
        ));
    };
    let (kind, group) = match kind.split_once('.') {
        Some((kind, group)) => (kind, Some(group.to_owned())),
        None => (*kind, None),
    };
    if !kind.starts_with(|c: char| c.is_ascii_alphabetic())
        || !kind.chars().all(|c| c.is_ascii_alphanumeric())
        || group.as_deref().is_some_and(str::is_empty)
    {
        return Err(format!("`{kind}` is not a kind (such as VirtualService)"));
    }
    let (namespace, name) = match object.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, *object),
    };
    if name.is_empty() || name.contains('/') || namespace.is_some_and(str::is_empty) {
        return Err(format!("`{object}` is not `namespace/name` or `name`"));
    }
    Ok(Some(Deletion {
        kind: kind.to_owned(),
        group,
        namespace: namespace.map(str::to_owned),
        name: name.to_owned(),
        file: file.clone(),
        line,
    }))
}

/// Reads a `--deleted` list; `file` names it in errors (`file:line: why`).
pub fn parse_deletions(file: &str, text: &str) -> anyhow::Result<Vec<Deletion>> {
    let shared: Arc<str> = Arc::from(file);
    let mut deletions = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index as u32 + 1;
        let parsed = parse_line(line, &shared, number)
            .map_err(|why| anyhow::anyhow!("{file}:{number}: {why}"))?;
        deletions.extend(parsed);
    }
    Ok(deletions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcheck_input::json;

    fn object(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Object {
        let mut metadata = json!({"name": name});
        if let Some(namespace) = namespace {
            metadata["namespace"] = json!(namespace);
        }
        Object::from_value(
            json!({"apiVersion": api_version, "kind": kind, "metadata": metadata}),
            None,
        )
        .unwrap()
    }

    #[test]
    fn reads_every_form_and_skips_comments() {
        let text = "# removed by this change\n\nDestinationRule shop/reviews\n  VirtualService ratings   # default namespace\nNamespace legacy\nGateway.gateway.networking.k8s.io shop/edge\n";
        let deletions = parse_deletions("deleted.txt", text).unwrap();
        let described: Vec<String> = deletions.iter().map(Deletion::describe).collect();
        assert_eq!(
            described,
            [
                "DestinationRule shop/reviews",
                "VirtualService ratings",
                "Namespace legacy",
                "Gateway.gateway.networking.k8s.io shop/edge"
            ]
        );
        assert_eq!(deletions[0].line, 3);
        assert_eq!(&*deletions[1].file, "deleted.txt");
    }

    #[test]
    fn a_bad_line_is_named_by_file_and_line() {
        for (text, why) in [
            ("DestinationRule\n", "expected `Kind namespace/name`"),
            (
                "ok ns/a\nDestinationRule shop/reviews extra\n",
                "found `DestinationRule shop/reviews extra`",
            ),
            ("v1/Service shop/a\n", "is not a kind"),
            ("Service shop/\n", "is not `namespace/name`"),
            ("Service /a\n", "is not `namespace/name`"),
            ("Service a/b/c\n", "is not `namespace/name`"),
            ("Gateway. a\n", "is not a kind"),
        ] {
            let error = parse_deletions("gone.txt", text).unwrap_err().to_string();
            let line = text.lines().count();
            assert!(error.starts_with(&format!("gone.txt:{line}: ")), "{error}");
            assert!(error.contains(why), "{error}");
        }
    }

    #[test]
    fn matching_follows_the_models_namespaces_and_groups() {
        let deletions = parse_deletions(
            "d",
            "destinationrule reviews\nNamespace legacy\nGateway.gateway.networking.k8s.io shop/edge\n",
        )
        .unwrap();
        let rule = object("networking.istio.io/v1", "DestinationRule", None, "reviews");
        let rule_in_default = object(
            "networking.istio.io/v1",
            "DestinationRule",
            Some("default"),
            "reviews",
        );
        let rule_elsewhere = object(
            "networking.istio.io/v1",
            "DestinationRule",
            Some("shop"),
            "reviews",
        );
        assert!(deletions[0].matches(&rule));
        assert!(deletions[0].matches(&rule_in_default));
        assert!(!deletions[0].matches(&rule_elsewhere));
        assert!(deletions[1].matches(&object("v1", "Namespace", None, "legacy")));
        let istio_gateway = object("networking.istio.io/v1", "Gateway", Some("shop"), "edge");
        let kubernetes_gateway = object(
            "gateway.networking.k8s.io/v1",
            "Gateway",
            Some("shop"),
            "edge",
        );
        assert!(!deletions[2].matches(&istio_gateway));
        assert!(deletions[2].matches(&kubernetes_gateway));
    }

    #[test]
    fn an_annotated_document_deletes_exactly_itself() {
        let document = object(
            "networking.istio.io/v1beta1",
            "DestinationRule",
            None,
            "reviews",
        );
        let deletion = Deletion::of(&document);
        assert_eq!(
            deletion.describe(),
            "DestinationRule.networking.istio.io default/reviews"
        );
        assert!(deletion.matches(&object(
            "networking.istio.io/v1",
            "DestinationRule",
            Some("default"),
            "reviews"
        )));
    }
}
