use std::fmt;
use std::sync::Arc;

use crate::Value;

use crate::fields::FieldLines;

/// Where an object (or a problem) was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRef {
    /// The file as given on the command line (or `<stdin>`, or an archive member).
    pub file: Arc<str>,
    /// 1-based line of the document (or of its `kind: List` item).
    pub line: u32,
    /// The line of each field, recorded while parsing YAML, so that a rule can point at the
    /// line of a field (see [`Object::line_of`]). `None` for JSON and objects not read from text.
    pub fields: Option<FieldLines>,
}

impl SourceRef {
    /// A source known only by file and line (JSON, archive members).
    pub fn new(file: Arc<str>, line: u32) -> SourceRef {
        SourceRef {
            file,
            line,
            fields: None,
        }
    }

    /// The line of the field at `path`, or of the deepest prefix of it that exists; `None`
    /// when no field of the path is known.
    pub fn line_of(&self, path: &[&str]) -> Option<u32> {
        self.fields.as_ref().and_then(|fields| fields.line_of(path))
    }
}

/// Identity of an object: group, kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

/// One Kubernetes object as read from the input, kept as JSON so that nothing the API server (or a
/// newer CRD version) added is lost; typed views are built in the model.
#[derive(Clone, Debug)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    /// `None` when the manifest has no `metadata.namespace` (the model decides what that means).
    pub namespace: Option<String>,
    pub name: String,
    pub value: Value,
    pub source: Option<SourceRef>,
}

impl Object {
    /// Builds an object from a JSON value, or says why the value is not a Kubernetes object.
    pub fn from_value(value: Value, source: Option<SourceRef>) -> Result<Object, String> {
        let Some(map) = value.as_object() else {
            return Err("not a Kubernetes object: the document is not a mapping".into());
        };
        let api_version = map
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
        if api_version.is_empty() || kind.is_empty() {
            return Err("not a Kubernetes object: no apiVersion/kind".into());
        }
        let meta = map.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .or_else(|| {
                meta.and_then(|m| m.get("generateName"))
                    .and_then(Value::as_str)
            })
            .unwrap_or_default();
        if name.is_empty() {
            return Err(format!("{kind} has no metadata.name"));
        }
        let namespace = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty())
            .map(str::to_owned);
        Ok(Object {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace,
            name: name.to_owned(),
            source,
            value,
        })
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        match self.api_version.rsplit_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    /// The API version without the group (`v1`, `v1beta1`).
    pub fn version(&self) -> &str {
        match self.api_version.rsplit_once('/') {
            Some((_, version)) => version,
            None => &self.api_version,
        }
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            group: self.group().to_owned(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    /// The line of a field given as a path of keys and list indexes (`["spec", "http", "0"]`),
    /// falling back to the document's first line.
    pub fn line_of(&self, path: &[&str]) -> Option<u32> {
        let source = self.source.as_ref()?;
        Some(source.line_of(path).unwrap_or(source.line))
    }
}

/// How bad a loading problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The document could not be read; what it held is missing from the analysis.
    Error,
    /// The document was skipped on purpose (not a Kubernetes object).
    Warning,
}

/// A problem found while loading input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadIssue {
    pub severity: Severity,
    pub file: Arc<str>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl fmt::Display for LoadIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}
