//! Splitting a stream into documents and parsing each one on its own, so that one broken document
//! costs only itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::Value;
use rayon::prelude::*;

use crate::fields::{FieldLine, FieldLines};
use crate::object::{LoadIssue, Object, Severity, SourceRef};
use crate::yaml::Walked;

/// Why a document could not be parsed: the message and, when known, the line and column
/// (1-based, relative to the document's text).
pub type ParseError = (String, Option<(u32, u32)>);

/// One document of a stream: its text and the 1-based line its text starts on.
struct RawDocument<'a> {
    text: &'a str,
    first_line: u32,
}

/// Splits a YAML stream on `---` / `...` markers at column 0. A marker inside a block scalar is
/// indented, so column 0 is a safe boundary for Kubernetes manifests.
fn split_documents(text: &str) -> Vec<RawDocument<'_>> {
    let mut documents = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut offset = 0usize;
    for (line_number, line) in (1u32..).zip(text.split_inclusive('\n')) {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let is_marker = trimmed == "---"
            || trimmed.starts_with("--- ")
            || trimmed.starts_with("---\t")
            || trimmed == "...";
        if is_marker {
            documents.push(RawDocument {
                text: &text[start..offset],
                first_line: start_line,
            });
            // `--- {json}` or `--- key: v` keeps content on the marker line.
            let rest = trimmed.strip_prefix("---").unwrap_or("");
            if !rest.trim().is_empty() && trimmed != "..." {
                start = offset + 3;
                start_line = line_number;
            } else {
                start = offset + line.len();
                start_line = line_number + 1;
            }
        }
        offset += line.len();
    }
    documents.push(RawDocument {
        text: &text[start..],
        first_line: start_line,
    });
    documents
}

/// The texts of a stream's documents, for tests that compare parsers document by document.
#[cfg(test)]
pub(crate) fn split_for_tests(text: &str) -> Vec<&str> {
    split_documents(text)
        .into_iter()
        .filter(|document| first_content_line(document.text).is_some())
        .map(|document| document.text)
        .collect()
}

/// The 0-based line (within `text`) of the first line that holds content, or `None` when the
/// document is blank or only comments.
fn first_content_line(text: &str) -> Option<(u32, &str)> {
    text.lines().enumerate().find_map(|(index, line)| {
        let trimmed = line.trim_start();
        (!trimmed.is_empty() && !trimmed.starts_with('#') && !trimmed.starts_with('%'))
            .then_some((index as u32, trimmed))
    })
}

/// Parses one JSON document.
pub fn parse_json_document(text: &str) -> Result<Value, ParseError> {
    serde_json::from_str(text).map_err(|error| {
        let message = error.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(head, _)| head)
            .to_owned();
        (message, Some((error.line() as u32, error.column() as u32)))
    })
}

/// Parses one YAML document the way Kubernetes reads it (YAML 1.1 scalars: `0644` is octal,
/// `yes`/`on` are booleans).
pub fn parse_yaml_document(text: &str) -> Result<Value, ParseError> {
    parse_yaml_with_fields(text, 1).map(|(value, _)| value)
}

/// [`parse_yaml_document`], also returning the line of each field (`first_line` is the file line
/// the text starts on).
fn parse_yaml_with_fields(
    text: &str,
    first_line: u32,
) -> Result<(Value, Vec<FieldLine>), ParseError> {
    match crate::yaml::walk(text, first_line) {
        Ok(Walked {
            value: Some(value),
            fields,
        }) => Ok((value, fields)),
        // Outside the fast path's subset: serde-saphyr builds the value (or names the error).
        Ok(Walked {
            value: None,
            fields,
        }) => reference_yaml_document(text).map(|value| (value, fields)),
        Err(()) => reference_yaml_document(text).map(|value| (value, Vec::new())),
    }
}

/// Parses one YAML document with serde-saphyr, the reference the fast path is held to.
pub(crate) fn reference_yaml_document(text: &str) -> Result<Value, ParseError> {
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    // Comments are never read; capturing them costs parse time.
    options.emit_comments = false;
    serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|error| {
        let position = error
            .location()
            .filter(|location| location.line() > 0)
            .map(|location| (location.line() as u32, location.column() as u32));
        let message = error.without_snippet().to_string();
        let message = message.lines().next().unwrap_or("invalid YAML").to_owned();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(head, _)| head)
            .to_owned();
        (message, position)
    })
}

/// Parses every document of a file's text into objects, flattening `kind: List`.
pub fn parse_documents(file: &Arc<str>, text: &str) -> (Vec<Object>, Vec<LoadIssue>) {
    let mut objects = Vec::new();
    let mut issues = Vec::new();
    for document in split_documents(text) {
        parse_document(file, &document, &mut objects, &mut issues);
    }
    (objects, issues)
}

/// Parses the documents of many files on all cores, grouped by the kind each declares, and
/// returns the objects and issues in file and document order.
///
/// Why grouped: a parsed object is thousands of small allocations, placed in the order they
/// are made. Rules walk the objects of one kind after another, so objects of one kind parsed one
/// after another share cache lines and pages; parsed in file order they would be interleaved with
/// every other kind. On a 55k-object mesh this cut the rules' time by about a third.
pub fn parse_files(files: &[(Arc<str>, &str)]) -> (Vec<Object>, Vec<LoadIssue>) {
    // Each file's documents, and their indexes within the file grouped by the kind they declare
    // (grouped while the file's text is in this core's cache).
    type Split<'t> = (Vec<RawDocument<'t>>, BTreeMap<&'t str, Vec<usize>>);
    let split: Vec<Split<'_>> = files
        .par_iter()
        .map(|(_, text)| {
            let documents = split_documents(text);
            let mut by_kind: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (index, document) in documents.iter().enumerate() {
                by_kind
                    .entry(kind_hint(document.text))
                    .or_default()
                    .push(index);
            }
            (documents, by_kind)
        })
        .collect();
    // Every document in file order, with its file; and their positions in parse order: by kind,
    // and in file order within a kind.
    let mut documents: Vec<(usize, RawDocument<'_>)> = Vec::new();
    let mut by_kind: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (file, (file_documents, file_kinds)) in split.into_iter().enumerate() {
        let first = documents.len();
        documents.extend(file_documents.into_iter().map(|document| (file, document)));
        for (kind, indexes) in file_kinds {
            by_kind
                .entry(kind)
                .or_default()
                .extend(indexes.into_iter().map(|index| first + index));
        }
    }
    let parse_order: Vec<usize> = by_kind.into_values().flatten().collect();
    let parsed: Vec<(Vec<Object>, Vec<LoadIssue>)> = parse_order
        .par_iter()
        .map(|&position| {
            let (file, document) = &documents[position];
            let mut objects = Vec::new();
            let mut issues = Vec::new();
            parse_document(&files[*file].0, document, &mut objects, &mut issues);
            (objects, issues)
        })
        .collect();
    // Back to file order.
    let mut in_file_order: Vec<(Vec<Object>, Vec<LoadIssue>)> =
        std::iter::repeat_with(Default::default)
            .take(documents.len())
            .collect();
    for (position, result) in parse_order.into_iter().zip(parsed) {
        in_file_order[position] = result;
    }
    let mut objects =
        Vec::with_capacity(in_file_order.iter().map(|(objects, _)| objects.len()).sum());
    let mut issues = Vec::new();
    for (document_objects, document_issues) in in_file_order {
        objects.extend(document_objects);
        issues.extend(document_issues);
    }
    (objects, issues)
}

/// The kind a document declares, found by scanning its text: for JSON the value of the first
/// `"kind"` key, for YAML that of a `kind:` line at column 0. Only the memory layout depends on
/// it (see [`parse_files`]), so a wrong guess costs speed, never correctness.
fn kind_hint(text: &str) -> &str {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return text
            .lines()
            .find_map(|line| {
                let value = line.strip_prefix("kind:")?.trim();
                Some(value.trim_matches(|c| c == '"' || c == '\''))
            })
            .unwrap_or("");
    }
    let mut rest = trimmed;
    // Each `"` in turn (a `char` search is a fast byte scan); `kind` is near the start of JSON.
    while let Some(quote) = rest.find('"') {
        rest = &rest[quote + 1..];
        if let Some(after_key) = rest.strip_prefix("kind\"") {
            let value = after_key
                .trim_start()
                .strip_prefix(':')
                .map(str::trim_start);
            if let Some(value) = value.and_then(|value| value.strip_prefix('"')) {
                return value.find('"').map_or("", |end| &value[..end]);
            }
        }
    }
    ""
}

/// Parses one document into `objects` (several for a `kind: List`), or records why it could not.
fn parse_document(
    file: &Arc<str>,
    document: &RawDocument<'_>,
    objects: &mut Vec<Object>,
    issues: &mut Vec<LoadIssue>,
) {
    let Some((content_offset, first)) = first_content_line(document.text) else {
        return;
    };
    let json = (first.starts_with('{') || first.starts_with('['))
        .then(|| parse_json_document(document.text).ok())
        .flatten();
    // JSON is YAML 1.2; flow documents that are not JSON go to the YAML parser.
    let parsed = match json {
        Some(value) => Ok((value, Vec::new())),
        None => parse_yaml_with_fields(document.text, document.first_line),
    };
    let (value, fields) = match parsed {
        Ok(parsed) => parsed,
        Err((message, position)) => {
            issues.push(LoadIssue {
                severity: Severity::Error,
                file: file.clone(),
                line: Some(
                    position.map_or(document.first_line + content_offset, |(line, _)| {
                        document.first_line + line - 1
                    }),
                ),
                column: position.map(|(_, column)| column),
                message: format!("invalid document: {message}"),
            });
            return;
        }
    };
    if value.is_null() {
        return;
    }
    let source = SourceRef {
        file: file.clone(),
        line: document.first_line,
        fields: (!fields.is_empty()).then(|| FieldLines::new(fields)),
    };
    push_objects(value, source, objects, issues);
}

fn push_objects(
    value: Value,
    source: SourceRef,
    objects: &mut Vec<Object>,
    issues: &mut Vec<LoadIssue>,
) {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind == "List" || kind.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array);
    if is_list {
        let Value::Object(mut map) = value else {
            return;
        };
        let Some(Value::Array(items)) = map.remove("items") else {
            return;
        };
        for (index, item) in items.into_iter().enumerate() {
            let index_text = index.to_string();
            let path = ["items", index_text.as_str()];
            // Each item points at its own line and keeps the lines of its own fields.
            let item_source = SourceRef {
                file: source.file.clone(),
                line: source.line_of(&path).unwrap_or(source.line),
                fields: source
                    .fields
                    .as_ref()
                    .and_then(|fields| fields.subtree(&path)),
            };
            push_objects(item, item_source, objects, issues);
        }
        return;
    }
    let line = source.line;
    let file = source.file.clone();
    match Object::from_value(value, Some(source)) {
        Ok(object) => objects.push(object),
        Err(message) => issues.push(LoadIssue {
            severity: Severity::Warning,
            file,
            line: Some(line),
            column: None,
            message: format!("skipped: {message}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<Object>, Vec<LoadIssue>) {
        parse_documents(&Arc::from("test.yaml"), text)
    }

    #[test]
    fn splits_documents_and_keeps_lines() {
        let (objects, issues) = parse(
            "# comment\napiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\n---\n\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n",
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].source.as_ref().unwrap().line, 1);
        assert_eq!(objects[0].namespace.as_deref(), Some("x"));
        assert_eq!(objects[1].source.as_ref().unwrap().line, 8);
        assert_eq!(objects[1].namespace, None);
    }

    #[test]
    fn broken_document_names_its_line_and_the_rest_loads() {
        let (objects, issues) = parse(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: [name: b\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: c}\n",
        );
        assert_eq!(objects.len(), 2);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].severity, Severity::Error);
        let line = issues[0].line.unwrap();
        assert!((7..=8).contains(&line), "line {line}");
        assert!(issues[0].to_string().starts_with("test.yaml:"));
    }

    #[test]
    fn reads_yaml_1_1_scalars_like_kubernetes() {
        let (objects, _) =
            parse("apiVersion: v1\nkind: X\nmetadata: {name: a}\nmode: 0644\nflag: yes\n");
        assert_eq!(objects[0].value["mode"], 420);
        assert_eq!(objects[0].value["flag"], true);
    }

    #[test]
    fn json_documents_and_lists_are_flattened() {
        let (objects, issues) = parse(
            r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}},{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}]}"#,
        );
        assert!(issues.is_empty());
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1].kind, "Pod");
    }

    #[test]
    fn fields_point_at_their_own_line() {
        let (objects, issues) = parse(
            "---\n# leading comment\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts:\n  - reviews\n  http:\n  - match:\n    - uri:\n        prefix: /a\n    route:\n    - destination:\n        host: reviews\n        subset: v1\n  - route:\n    - destination: {host: ratings,\n        subset: v2}\n",
        );
        assert!(issues.is_empty(), "{issues:?}");
        let vs = &objects[0];
        assert_eq!(vs.line_of(&[]), Some(2));
        assert_eq!(vs.line_of(&["metadata", "name"]), Some(6));
        assert_eq!(vs.line_of(&["spec", "hosts", "0"]), Some(9));
        let subset = ["spec", "http", "0", "route", "0", "destination", "subset"];
        assert_eq!(vs.line_of(&subset), Some(17));
        let flow = ["spec", "http", "1", "route", "0", "destination", "subset"];
        assert_eq!(vs.line_of(&flow), Some(20));
        // Missing fields fall back to the deepest prefix that exists, then to the document.
        assert_eq!(vs.line_of(&["spec", "tcp", "0"]), Some(7));
        assert_eq!(vs.line_of(&["status"]), Some(2));
    }

    #[test]
    fn list_items_keep_their_own_lines() {
        let (objects, issues) = parse(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: b\n  spec:\n    ports: []\n",
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].line_of(&[]), Some(4));
        assert_eq!(objects[0].line_of(&["metadata", "name"]), Some(7));
        assert_eq!(objects[1].line_of(&["spec", "ports"]), Some(13));
        assert_eq!(objects[1].line_of(&["spec", "selector"]), Some(12));
    }

    #[test]
    fn non_kubernetes_documents_are_skipped_with_a_warning() {
        let (objects, issues) = parse("foo: bar\n");
        assert!(objects.is_empty());
        assert_eq!(issues[0].severity, Severity::Warning);
        assert!(issues[0].message.contains("no apiVersion/kind"));
    }

    #[test]
    fn kind_hint_reads_json_and_yaml_without_parsing() {
        assert_eq!(
            kind_hint(r#"{"apiVersion":"v1","kind" : "Pod","metadata":{}}"#),
            "Pod"
        );
        // A value that reads `kind` is not the key.
        assert_eq!(kind_hint(r#"{"x":"kind","kind":"Service"}"#), "Service");
        assert_eq!(
            kind_hint("# c\napiVersion: v1\nmetadata:\n  kind: nested\nkind: 'Gateway'\n"),
            "Gateway"
        );
        // A quoted `"kind"` inside a YAML document is not its kind.
        assert_eq!(
            kind_hint("metadata:\n  annotations: {a: '{\"kind\":\"Pod\"}'}\nkind: Service\n"),
            "Service"
        );
        assert_eq!(kind_hint("foo: bar\n"), "");
    }

    #[test]
    fn files_parsed_by_kind_come_back_in_file_order() {
        let first: Arc<str> = Arc::from("a.yaml");
        let second: Arc<str> = Arc::from("b.yaml");
        let (objects, issues) = parse_files(&[
            (
                first,
                "kind: Service\napiVersion: v1\nmetadata: {name: s1}\n---\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\"}}\n---\nkind: Pod\nmetadata: [broken\n",
            ),
            (
                second,
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p2}\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: s2}}\n- {apiVersion: v1, kind: Pod, metadata: {name: p3}}\n",
            ),
        ]);
        let names: Vec<&str> = objects.iter().map(|object| object.name.as_str()).collect();
        assert_eq!(names, ["s1", "p1", "p2", "s2", "p3"]);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(&*issues[0].file, "a.yaml");
        assert_eq!(issues[0].line, Some(8));
    }
}
