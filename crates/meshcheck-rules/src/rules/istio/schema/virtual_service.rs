use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use meshcheck_model::hosts::hosts_intersect;
use meshcheck_model::{Kind, Mesh, Resource, items, str_field, strings};
use serde_json::{Map, Value};

use crate::{Sink, declare_rule};

declare_rule! {
    /// ## What it does
    /// Runs the checks Istio's validation applies to a VirtualService beyond its schema: rules
    /// that can never be reached (a rule without matches before others, every match of a rule
    /// already taken by an earlier rule), individual matches that duplicate or are covered by an
    /// earlier URI-prefix match, and clear structural errors (no routes at all, a mesh VirtualService
    /// for host `*`, duplicate hosts, route entries without destination, conflicting actions, JWT
    /// claim routing without a gateway).
    ///
    /// ## Why is this bad?
    /// Envoy evaluates routes in order and takes the first match: a shadowed rule or match is dead
    /// configuration that hides the author's intent, and usually means traffic goes somewhere else
    /// than expected. The structural errors make Istio reject or ignore the resource.
    ///
    /// ## How to fix
    /// Order rules from most to least specific, put the catch-all rule (no `match`) last, remove
    /// duplicated matches, and fix the errors reported.
    ///
    /// ## Example
    /// ```yaml
    /// http:
    /// - match:
    ///   - uri: {prefix: /api}
    ///   route: [{destination: {host: api}}]
    /// - match:
    ///   - uri: {prefix: /api/v2}     # never reached: /api already takes it
    ///   route: [{destination: {host: api-v2}}]
    /// ```
    /// Use instead: put the `/api/v2` rule first.
    pub static VIRTUAL_SERVICE_VALIDATION = {
        code: "MC026",
        name: "virtual-service-validation",
        category: ApplicationPolicy,
        severity: Warning,
        summary: "VirtualService rules must be reachable and their matches effective",
        istio_analyzer: Some("schema.ValidationAnalyzer.VirtualService"),
        istio_codes: &["IST0106", "IST0130", "IST0131"],
        inputs: &[Kind::VirtualService],
        docs_url: "https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute",
        remediation: "Order rules from most to least specific, keep the rule without match last, and remove duplicate matches.",
        check: check,
    }
}

const MESH_GATEWAY: &str = "mesh";
const CLAIM_PREFIX: &str = "@request.auth.claims";

fn check(mesh: &Mesh, sink: &mut Sink) {
    for vs in mesh.of_kind(Kind::VirtualService) {
        let mut report = Report { sink, vs };
        validate_structure(&mut report);
        unreachable_rules(&mut report, "http");
        unreachable_rules(&mut report, "tcp");
        unreachable_rules(&mut report, "tls");
        overlapping_prefixes(&mut report);
    }
}

/// Reports for one VirtualService.
struct Report<'s, 'm> {
    sink: &'s mut Sink,
    vs: &'m Resource,
}

impl Report<'_, '_> {
    fn error(&mut self, path: &[&str], text: String) {
        self.sink.istio(
            "IST0106",
            self.vs,
            path,
            format!("Schema validation error: {text}."),
        );
    }

    fn unused(&mut self, section: &str, rule: usize, rule_name: &str, reason: &str) {
        let rule_text = rule.to_string();
        self.sink.istio(
            "IST0130",
            self.vs,
            &["spec", section, &rule_text],
            format!("VirtualService {section} rule {rule_name} is never used ({reason})."),
        );
    }

    fn ineffective(
        &mut self,
        section: &str,
        at: (usize, usize),
        rule_name: &str,
        matched: &str,
        other: &str,
    ) {
        let (rule, index) = (at.0.to_string(), at.1.to_string());
        self.sink.istio(
            "IST0131",
            self.vs,
            &["spec", section, &rule, "match", &index],
            format!(
                "VirtualService {section} rule {rule_name} match {matched} is never used (duplicate of a match in rule {other})."
            ),
        );
    }

    fn overlapped(&mut self, later: &PrefixMatch, earlier: &PrefixMatch) {
        let (rule, index) = (later.rule.to_string(), later.match_index.to_string());
        self.sink.istio(
            "IST0131",
            self.vs,
            &["spec", "http", &rule, "match", &index],
            format!(
                "VirtualService http rule {} match {} (prefix {}) is never used: match {} (prefix {}) of rule {} comes first and takes all its requests.",
                later.rule_name,
                later.match_name,
                later.prefix,
                earlier.match_name,
                earlier.prefix,
                earlier.rule_name
            ),
        );
    }
}

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
fn canonical_match(section: &str, matched: &Value) -> String {
    let mut out = String::new();
    match matched {
        Value::Object(fields) => {
            let mut fields = fields.clone();
            if section == "http" {
                fields.remove("name");
            }
            write_message(&mut out, &fields);
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

fn write_message(out: &mut String, fields: &Map<String, Value>) {
    let sorted: BTreeMap<&String, &Value> = fields.iter().collect();
    out.push('{');
    for (key, value) in sorted {
        let keep_empty = ONEOF_FIELDS.contains(&key.as_str()) && !value.is_null();
        if !keep_empty && is_default_scalar(value) {
            continue;
        }
        if MAP_FIELDS.contains(&key.as_str())
            && let Value::Object(entries) = value
        {
            if entries.is_empty() {
                continue;
            }
            let _ = write!(out, "{key:?}:{{");
            let entries: BTreeMap<&String, &Value> = entries.iter().collect();
            for (entry, entry_value) in entries {
                let _ = write!(out, "{entry:?}:");
                match entry_value {
                    Value::Object(inner) => write_message(out, inner),
                    other => write_scalar(out, other),
                }
                out.push(',');
            }
            out.push_str("},");
            continue;
        }
        let _ = write!(out, "{key:?}:");
        match value {
            Value::Object(inner) => write_message(out, inner),
            Value::Array(list) => {
                out.push('[');
                for item in list {
                    match item {
                        Value::Object(inner) => write_message(out, inner),
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
fn unreachable_rules(report: &mut Report<'_, '_>, section: &str) {
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
struct PrefixMatch {
    rule: usize,
    match_index: usize,
    rule_name: String,
    match_name: String,
    prefix: String,
    port: u64,
    method: String,
    authority: String,
    headers: HashMap<String, String>,
    query_params: HashMap<String, String>,
    without_headers: HashMap<String, String>,
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
                .map(|(key, value)| (key.clone(), exact_or_prefix(Some(value))))
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
fn overlapping_prefixes(report: &mut Report<'_, '_>) {
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

/// Whether a header name is a JWT claim routing key.
fn is_claim_key(header: &str) -> bool {
    if header.len() < CLAIM_PREFIX.len()
        || !header.is_char_boundary(CLAIM_PREFIX.len())
        || !header[..CLAIM_PREFIX.len()].eq_ignore_ascii_case(CLAIM_PREFIX)
    {
        return false;
    }
    let rest = &header[CLAIM_PREFIX.len()..];
    (rest.starts_with('.') && rest.len() > 1)
        || (rest.starts_with('[') && rest.ends_with(']') && rest.len() > 2)
}

fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn present(value: Option<&Value>) -> bool {
    value.is_some_and(|value| !value.is_null())
}

fn non_empty_list(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty())
}

/// The structural errors of Istio's VirtualService validation that are unambiguous.
fn validate_structure(report: &mut Report<'_, '_>) {
    let spec = report.vs.spec();
    let hosts = strings(spec.get("hosts"));
    let gateways = strings(spec.get("gateways"));
    let delegate = hosts.is_empty();
    if delegate {
        for (field, what) in [
            ("gateways", "gateways specified"),
            ("tls", "tls route specified"),
            ("tcp", "tcp route specified"),
        ] {
            if non_empty_list(spec.get(field)) {
                report.error(
                    &["spec", field],
                    format!("delegate virtual service must have no {what}"),
                );
            }
        }
    }
    let applies_to_gateway = !gateways.is_empty() && !gateways.contains(&MESH_GATEWAY);
    let applies_to_mesh = !applies_to_gateway;

    if !applies_to_gateway {
        for (index, route) in items(spec.get("http")).enumerate() {
            for matched in items(route.get("match")) {
                for field in ["headers", "withoutHeaders"] {
                    let keys = matched
                        .get(field)
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten();
                    for (key, _) in keys {
                        if is_claim_key(key) {
                            let index = index.to_string();
                            report.error(
                                &["spec", "http", &index, "match"],
                                format!(
                                    "JWT claim based routing (key: {key}) is only supported for gateways, but the VirtualService is bound to the mesh"
                                ),
                            );
                        }
                    }
                }
            }
        }
    }

    let mut hosts_valid = true;
    for (index, host) in hosts.iter().enumerate() {
        if applies_to_mesh && *host == "*" {
            let index = index.to_string();
            report.error(
                &["spec", "hosts", &index],
                "wildcard host * is not allowed for virtual services bound to the mesh gateway"
                    .to_owned(),
            );
            hosts_valid = false;
        }
    }
    if hosts_valid {
        for (index, host) in hosts.iter().enumerate() {
            for other in &hosts[index + 1..] {
                if hosts_intersect(host, other) {
                    let index = index.to_string();
                    report.error(
                        &["spec", "hosts", &index],
                        format!("duplicate hosts in virtual service: {host} & {other}"),
                    );
                }
            }
        }
    }

    if !non_empty_list(spec.get("http"))
        && !non_empty_list(spec.get("tcp"))
        && !non_empty_list(spec.get("tls"))
    {
        report.error(
            &["spec"],
            "http, tcp or tls must be provided in virtual service".to_owned(),
        );
    }

    for (index, route) in items(spec.get("http")).enumerate() {
        if route.is_null() {
            continue;
        }
        let index = index.to_string();
        let path = ["spec", "http", index.as_str()];
        let mut errors: Vec<String> = Vec::new();
        let has_route = non_empty_list(route.get("route"));
        let redirect = present(route.get("redirect"));
        let direct = present(route.get("directResponse"));
        let fault = present(route.get("fault"));
        let rewrite = present(route.get("rewrite"));
        if !delegate && present(route.get("delegate")) {
            let name = str_field(route, "name").unwrap_or_default();
            if redirect {
                errors.push(format!("root HTTP route {name} must not specify redirect"));
            }
            if has_route {
                errors.push(format!("root HTTP route {name} must not specify route"));
            }
        } else {
            if delegate && present(route.get("delegate")) {
                errors.push("delegate HTTP route cannot contain delegate".to_owned());
            }
            if redirect {
                if has_route {
                    errors.push("HTTP route cannot contain both route and redirect".to_owned());
                }
                if fault {
                    errors.push("HTTP route cannot contain both fault and redirect".to_owned());
                }
                if rewrite {
                    errors.push(
                        "HTTP route rule cannot contain both rewrite and redirect".to_owned(),
                    );
                }
                if direct {
                    errors.push(
                        "HTTP route rule cannot contain both direct_response and redirect"
                            .to_owned(),
                    );
                }
            } else if direct {
                if has_route {
                    errors.push(
                        "HTTP route cannot contain both route and direct_response".to_owned(),
                    );
                }
                if fault {
                    errors.push(
                        "HTTP route cannot contain both fault and direct_response".to_owned(),
                    );
                }
                if rewrite {
                    errors.push(
                        "HTTP route rule cannot contain both rewrite and direct_response"
                            .to_owned(),
                    );
                }
            } else if !has_route {
                errors.push("HTTP route, redirect or direct_response is required".to_owned());
            }
            if present(route.get("mirror")) && non_empty_list(route.get("mirrors")) {
                errors.push("HTTP route cannot contain both mirror and mirrors".to_owned());
            }
        }
        if let Some(value) = route
            .pointer("/mirrorPercentage/value")
            .and_then(Value::as_f64)
        {
            if value > 100.0 {
                errors.push(format!(
                    "mirror_percentage must have a max value of 100 (it has {value})"
                ));
            }
            if value < 0.0 {
                errors.push(format!(
                    "mirror_percentage must have a min value of 0 (it has {value})"
                ));
            }
        }
        errors.extend(destination_errors(route.get("route")));
        for error in errors {
            report.error(&path, error);
        }
    }

    for section in ["tcp", "tls"] {
        for (index, route) in items(spec.get(section)).enumerate() {
            if route.is_null() {
                continue;
            }
            let index = index.to_string();
            let path = ["spec", section, index.as_str()];
            let mut errors: Vec<String> = Vec::new();
            if section == "tls" && !non_empty_list(route.get("match")) {
                errors.push("TLS route must have at least one match condition".to_owned());
            }
            if !non_empty_list(route.get("route")) {
                errors.push(format!("{} route is required", section.to_uppercase()));
            }
            errors.extend(destination_errors(route.get("route")));
            for error in errors {
                report.error(&path, error);
            }
        }
    }
}

/// Errors of a route's weighted destinations.
fn destination_errors(weights: Option<&Value>) -> Vec<String> {
    let mut errors = Vec::new();
    let weights: Vec<&Value> = items(weights).collect();
    let mut total = 0i64;
    for weight in &weights {
        if weight.is_null() {
            errors.push("weight may not be nil".to_owned());
            continue;
        }
        match weight
            .get("destination")
            .filter(|destination| !destination.is_null())
        {
            None => errors.push("destination is required".to_owned()),
            Some(destination) => {
                if str_field(destination, "host") == Some("*") {
                    errors.push("invalid destination host *".to_owned());
                }
                if let Some(subset) = str_field(destination, "subset")
                    && !subset.is_empty()
                    && !is_dns1123_label(subset)
                {
                    errors.push(format!("subset name is invalid: {subset}"));
                }
            }
        }
        let value = weight.get("weight").and_then(Value::as_i64).unwrap_or(0);
        if value < 0 {
            errors.push(format!("weight {value} < 0"));
        }
        total += value;
    }
    if weights.len() > 1 && total == 0 {
        errors.push("total destination weight = 0".to_owned());
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_matches_ignore_name_and_defaults() {
        let a = json!({"name": "a", "uri": {"prefix": "/x"}, "port": 0, "ignoreUriCase": false});
        let b = json!({"uri": {"prefix": "/x"}, "headers": {}});
        assert_eq!(canonical_match("http", &a), canonical_match("http", &b));
        let c = json!({"uri": {"exact": "/x"}});
        assert_ne!(canonical_match("http", &b), canonical_match("http", &c));
        let empty_exact = json!({"uri": {"exact": ""}});
        let empty_prefix = json!({"uri": {"prefix": ""}});
        assert_ne!(
            canonical_match("http", &empty_exact),
            canonical_match("http", &empty_prefix)
        );
    }

    #[test]
    fn overlapping_prefixes_need_the_same_method() {
        let findings = crate::testing::check(
            &VIRTUAL_SERVICE_VALIDATION,
            r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: shop}
spec:
  hosts: [api]
  http:
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: api}}]
  - match: [{uri: {prefix: /api/v2}, method: {exact: POST}}, {uri: {prefix: /api/v3}}]
    route: [{destination: {host: api-v2}}]
"#,
        );
        let codes: Vec<_> = findings.iter().map(|finding| finding.istio_code).collect();
        assert_eq!(codes, [Some("IST0131")]);
        assert!(
            findings[0].message.contains("/api/v3"),
            "{}",
            findings[0].message
        );
    }
}
