//! Decoding `objects/` members into input objects. The writer puts one compact item per line
//! (a JSON string cannot hold a raw newline), so items are split on newlines and parsed in
//! parallel, and each item's line is known without scanning. Members in any other layout are
//! parsed as one document.

use std::sync::Arc;

use meshcheck_input::Value;
use meshcheck_input::{LoadIssue, Object, Severity, SourceRef};
use rayon::prelude::*;

/// The first line of every `List` member the writer produces.
pub(crate) const LIST_HEADER: &[u8] = br#"{"apiVersion":"v1","kind":"List","items":["#;

/// One item to decode: still text (line layout) or already parsed (whole-document fallback).
enum Pending<'a> {
    Text(&'a [u8]),
    Parsed(Value),
}

struct Item<'a> {
    file: Arc<str>,
    line: u32,
    pending: Pending<'a>,
}

/// Decodes the given `(member path, bytes)` pairs, keeping member and item order.
pub(crate) fn load_objects<'a>(
    members: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> (Vec<Object>, Vec<LoadIssue>) {
    let mut items = Vec::new();
    let mut issues = Vec::new();
    for (path, data) in members {
        let file: Arc<str> = Arc::from(path);
        match item_lines(data) {
            Some(lines) => items.extend(lines.into_iter().enumerate().map(|(index, text)| Item {
                file: file.clone(),
                line: index as u32 + 2,
                pending: Pending::Text(text),
            })),
            None => match parse_whole(data) {
                Ok(values) => {
                    items.extend(values.into_iter().enumerate().map(|(index, value)| Item {
                        file: file.clone(),
                        line: index as u32 + 2,
                        pending: Pending::Parsed(value),
                    }))
                }
                Err((message, line)) => issues.push(LoadIssue {
                    severity: Severity::Error,
                    file,
                    line: Some(line),
                    column: None,
                    message,
                }),
            },
        }
    }
    let decoded: Vec<Result<Object, LoadIssue>> = items.into_par_iter().map(decode).collect();
    let mut objects = Vec::with_capacity(decoded.len());
    for result in decoded {
        match result {
            Ok(object) => objects.push(object),
            Err(issue) => issues.push(issue),
        }
    }
    (objects, issues)
}

fn decode(item: Item<'_>) -> Result<Object, LoadIssue> {
    let issue = |severity, message| LoadIssue {
        severity,
        file: item.file.clone(),
        line: Some(item.line),
        column: None,
        message,
    };
    let value = match item.pending {
        Pending::Parsed(value) => value,
        Pending::Text(text) => serde_json::from_slice(text)
            .map_err(|error| issue(Severity::Error, format!("invalid JSON: {error}")))?,
    };
    let source = SourceRef::new(item.file.clone(), item.line);
    Object::from_value(value, Some(source))
        .map_err(|message| issue(Severity::Warning, format!("skipped: {message}")))
}

/// The item lines of a member in the writer's layout, or `None` for any other layout.
fn item_lines(data: &[u8]) -> Option<Vec<&[u8]>> {
    let text = data.strip_suffix(b"\n")?;
    let mut lines = text.split(|byte| *byte == b'\n');
    if lines.next()? != LIST_HEADER {
        return None;
    }
    let mut items: Vec<&[u8]> = lines.collect();
    if items.pop()? != b"]}" {
        return None;
    }
    let last = items.len().checked_sub(1);
    for (index, line) in items.iter_mut().enumerate() {
        if Some(index) != last {
            *line = line.strip_suffix(b",")?;
        }
    }
    Some(items)
}

/// The items of a `List` document in any layout; an error names the line.
fn parse_whole(data: &[u8]) -> Result<Vec<Value>, (String, u32)> {
    let list: Value = serde_json::from_slice(data)
        .map_err(|error| (format!("invalid JSON: {error}"), error.line() as u32))?;
    let items = match list {
        Value::Object(mut map) => map.remove("items"),
        _ => None,
    };
    match items {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(("not a List document (no items)".to_owned(), 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(data: &str) -> (Vec<Object>, Vec<LoadIssue>) {
        load_objects(std::iter::once((
            "objects/core/v1/Service.json",
            data.as_bytes(),
        )))
    }

    const SERVICE: &str = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}}"#;

    #[test]
    fn line_layout_gives_each_item_its_line() {
        let text = format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n{SERVICE},\n{SERVICE}\n]}}\n"
        );
        assert!(item_lines(text.as_bytes()).is_some());
        let (objects, issues) = load(&text);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1].source.as_ref().unwrap().line, 3);
    }

    #[test]
    fn empty_lists_hold_nothing() {
        let (objects, issues) = load("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n]}\n");
        assert!(objects.is_empty() && issues.is_empty());
    }

    #[test]
    fn other_layouts_are_parsed_whole() {
        let text = format!(
            "{{\n  \"apiVersion\": \"v1\", \"kind\": \"List\",\n  \"items\": [{SERVICE}]\n}}"
        );
        assert!(item_lines(text.as_bytes()).is_none());
        let (objects, issues) = load(&text);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(objects[0].name, "a");
    }

    #[test]
    fn a_broken_item_costs_only_itself() {
        let text = format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n{{\"broken\",\n{SERVICE}\n]}}\n"
        );
        let (objects, issues) = load(&text);
        assert_eq!(objects.len(), 1);
        assert_eq!(issues.len(), 1);
        assert!(
            issues[0]
                .to_string()
                .starts_with("objects/core/v1/Service.json:2: invalid JSON"),
            "{}",
            issues[0]
        );
    }

    #[test]
    fn garbage_names_the_member() {
        let (objects, issues) = load("not json");
        assert!(objects.is_empty());
        assert!(
            issues[0]
                .to_string()
                .starts_with("objects/core/v1/Service.json:1: invalid JSON"),
            "{}",
            issues[0]
        );
    }
}
