//! Duplicate and overlapping route matches (IST0130, IST0131): a match that an earlier one
//! already catches can never be reached.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt::Write as _;

use meshcheck_input::{Map, Value};
use meshcheck_model::{items, str_field};

use super::virtual_service::Report;

/// How Istio names a rule in messages: its quoted name (HTTP only) or `#index`.
fn rule_name(section: &str, route: &Value, index: usize) -> String {
    match str_field(route, "name").filter(|name| section == "http" && !name.is_empty()) {
        Some(name) => format!("{name:?}"),
        None => format!("#{index}"),
    }
}

/// How Istio names a match: its quoted name (HTTP only) or `#index`.
fn match_name(section: &str, matched: &Value, index: usize) -> String {
    match str_field(matched, "name").filter(|name| section == "http" && !name.is_empty()) {
        Some(name) => format!("{name:?}"),
        None => format!("#{index}"),
    }
}

/// Fields of match objects that are maps (their entries are kept even when empty).
const MAP_FIELDS: [&str; 4] = ["headers", "queryParams", "withoutHeaders", "sourceLabels"];
/// The `StringMatch` alternatives: set even to `""`, they still select a kind of match.
const ONEOF_FIELDS: [&str; 3] = ["exact", "prefix", "regex"];

/// A canonical text for a match, equal for matches Istio considers identical: the routing
/// content only (the HTTP match `name` is ignored), unset and default scalar fields dropped, keys
/// sorted.
pub(super) fn canonical_match(section: &str, matched: &Value) -> String {
    let mut out = String::new();
    match matched {
        Value::Object(fields) => {
            let skip = (section == "http").then_some("name");
            write_message(&mut out, fields, skip);
        }
        other => write_scalar(&mut out, other),
    }
    out
}

fn is_default_scalar(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty(),
        Value::Array(list) => list.is_empty(),
        Value::Object(_) => false,
    }
}

/// Writes a match object's canonical text, leaving out the field `skip` (the HTTP match name).
fn write_message(out: &mut String, fields: &Map, skip: Option<&str>) {
    let sorted: BTreeMap<&str, &Value> = fields
        .iter()
        .map(|(key, value)| (key.as_str(), value))
        .filter(|(key, _)| Some(*key) != skip)
        .collect();
    out.push('{');
    for (key, value) in sorted {
        let keep_empty = ONEOF_FIELDS.contains(&key) && !value.is_null();
        if !keep_empty && is_default_scalar(value) {
            continue;
        }
        if MAP_FIELDS.contains(&key)
            && let Value::Object(entries) = value
        {
            if entries.is_empty() {
                continue;
            }
            let _ = write!(out, "{key:?}:{{");
            let entries: BTreeMap<&str, &Value> = entries
                .iter()
                .map(|(key, value)| (key.as_str(), value))
                .collect();
            for (entry, entry_value) in entries {
                let _ = write!(out, "{entry:?}:");
                match entry_value {
                    Value::Object(inner) => write_message(out, inner, None),
                    other => write_scalar(out, other),
                }
                out.push(',');
            }
            out.push_str("},");
            continue;
        }
        let _ = write!(out, "{key:?}:");
        match value {
            Value::Object(inner) => write_message(out, inner, None),
            Value::Array(list) => {
                out.push('[');
                for item in list {
                    match item {
                        Value::Object(inner) => write_message(out, inner, None),
                        other => write_scalar(out, other),
                    }
                    out.push(',');
                }
                out.push(']');
            }
            other => write_scalar(out, other),
        }
        out.push(',');
    }
    out.push('}');
}

fn write_scalar(out: &mut String, value: &Value) {
    out.push_str(&value.to_string());
}

/// Istio's unreachable-rule analysis for one section (`http`, `tcp` or `tls`).
pub(super) fn unreachable_rules(report: &mut Report<'_, '_>, section: &str) {
    let routes: Vec<&Value> = items(report.vs.spec().get(section)).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut catch_all: Option<usize> = None;
    for (index, route) in routes.iter().enumerate() {
        if route.is_null() {
            continue;
        }
        let name = rule_name(section, route, index);
        let matches: Vec<&Value> = items(route.get("match")).collect();
        if matches.is_empty() {
            if catch_all.is_some() {
                report.unused(
                    section,
                    index,
                    &name,
                    "only the last rule can have no matches",
                );
            }
            catch_all = Some(index);
            continue;
        }
        let mut duplicates = 0;
        for (match_index, matched) in matches.iter().enumerate() {
            if catch_all.is_some() {
                report.unused(
                    section,
                    index,
                    &name,
                    "a rule without matches comes before it",
                );
                continue;
            }
            let key = canonical_match(section, matched);
            if let Some(&earlier) = seen.get(&key) {
                let other = rule_name(section, routes[earlier], earlier);
                report.ineffective(
                    section,
                    (index, match_index),
                    &name,
                    &match_name(section, matched, match_index),
                    &other,
                );
                duplicates += 1;
            } else {
                seen.insert(key, index);
            }
        }
        if duplicates == matches.len() {
            report.unused(
                section,
                index,
                &name,
                "all its matches are used by earlier rules",
            );
        }
    }
}

/// One HTTP match on a URI prefix, as Istio compares them for overlaps.
pub(super) struct PrefixMatch {
    pub(super) rule: usize,
    pub(super) match_index: usize,
    pub(super) rule_name: String,
    pub(super) match_name: String,
    pub(super) prefix: String,
    pub(super) port: u64,
    pub(super) method: String,
    pub(super) authority: String,
    pub(super) headers: HashMap<String, String>,
    pub(super) query_params: HashMap<String, String>,
    pub(super) without_headers: HashMap<String, String>,
}

/// `exact:<v>` or `prefix:<v>` of a StringMatch (`""` for regex or unset).
fn exact_or_prefix(matcher: Option<&Value>) -> String {
    let Some(matcher) = matcher else {
        return String::new();
    };
    if let Some(exact) = str_field(matcher, "exact").filter(|text| !text.is_empty()) {
        return format!("exact:{exact}");
    }
    if let Some(prefix) = str_field(matcher, "prefix").filter(|text| !text.is_empty()) {
        return format!("prefix:{prefix}");
    }
    String::new()
}

fn matcher_map(matched: &Value, field: &str) -> HashMap<String, String> {
    matched
        .get(field)
        .and_then(Value::as_object)
        .map(|entries| {
            entries
                .iter()
                .map(|(key, value)| (key.to_string(), exact_or_prefix(Some(value))))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether every value of `earlier` is matched by `later` (same keys; equal, or the earlier
/// value extends the later one), the way Istio compares header-like maps.
fn maps_covered(earlier: &HashMap<String, String>, later: &HashMap<String, String>) -> bool {
    earlier.len() == later.len()
        && earlier.iter().all(|(key, value)| {
            later
                .get(key)
                .is_some_and(|other| value == other || value.starts_with(other.as_str()))
        })
}

/// Istio's check that an earlier prefix match `a` takes all the traffic of a later one `b`.
fn covers(a: &PrefixMatch, b: &PrefixMatch) -> bool {
    b.prefix.starts_with(&a.prefix)
        && a.port == b.port
        && (a.method == b.method || a.method.starts_with(&b.method))
        && (a.authority == b.authority || a.authority.starts_with(&b.authority))
        && maps_covered(&a.headers, &b.headers)
        && maps_covered(&a.query_params, &b.query_params)
        && maps_covered(&a.without_headers, &b.without_headers)
}

/// Istio's overlapping-prefix analysis of HTTP matches (matches left after duplicates, before
/// any catch-all rule).
pub(super) fn overlapping_prefixes(report: &mut Report<'_, '_>) {
    let routes: Vec<&Value> = items(report.vs.spec().get("http")).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut catch_all = false;
    let mut prefixes: Vec<PrefixMatch> = Vec::new();
    for (index, route) in routes.iter().enumerate() {
        if route.is_null() {
            continue;
        }
        let matches: Vec<&Value> = items(route.get("match")).collect();
        if matches.is_empty() {
            catch_all = true;
            continue;
        }
        for (match_index, matched) in matches.iter().enumerate() {
            if catch_all {
                continue;
            }
            let key = canonical_match("http", matched);
            if seen.contains_key(&key) {
                continue;
            }
            seen.insert(key, index);
            let Some(prefix) = matched
                .get("uri")
                .and_then(|uri| str_field(uri, "prefix"))
                .filter(|prefix| !prefix.is_empty())
            else {
                continue;
            };
            let method = match exact_or_prefix(matched.get("method")) {
                method if method.is_empty() => "exact:GET".to_owned(),
                method => method,
            };
            prefixes.push(PrefixMatch {
                rule: index,
                match_index,
                rule_name: rule_name("http", route, index),
                match_name: match_name("http", matched, match_index),
                prefix: prefix.to_owned(),
                port: matched.get("port").and_then(Value::as_u64).unwrap_or(0),
                method,
                authority: exact_or_prefix(matched.get("authority")),
                headers: matcher_map(matched, "headers"),
                query_params: matcher_map(matched, "queryParams"),
                without_headers: matcher_map(matched, "withoutHeaders"),
            });
        }
    }
    for (position, earlier) in prefixes.iter().enumerate() {
        for later in &prefixes[position + 1..] {
            if later.prefix == earlier.prefix || !covers(earlier, later) {
                continue;
            }
            report.overlapped(later, earlier);
        }
    }
}
