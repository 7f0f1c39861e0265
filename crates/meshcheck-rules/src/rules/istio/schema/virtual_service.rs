use crate::Context;
use meshcheck_model::{Kind, Resource};

use super::vs_matches::{PrefixMatch, overlapping_prefixes, unreachable_rules};
use super::vs_structure::validate_structure;
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

pub(super) const MESH_GATEWAY: &str = "mesh";

fn check(cx: &Context, sink: &mut Sink) {
    let mesh = cx.mesh;
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
pub(super) struct Report<'s, 'm> {
    pub(super) sink: &'s mut Sink,
    pub(super) vs: &'m Resource,
}

impl Report<'_, '_> {
    pub(super) fn error(&mut self, path: &[&str], text: String) {
        self.sink.istio(
            "IST0106",
            self.vs,
            path,
            format!("Schema validation error: {text}."),
        );
    }

    pub(super) fn unused(&mut self, section: &str, rule: usize, rule_name: &str, reason: &str) {
        let rule_text = rule.to_string();
        self.sink.istio(
            "IST0130",
            self.vs,
            &["spec", section, &rule_text],
            format!("VirtualService {section} rule {rule_name} is never used ({reason})."),
        );
    }

    pub(super) fn ineffective(
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

    pub(super) fn overlapped(&mut self, later: &PrefixMatch, earlier: &PrefixMatch) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::istio::schema::vs_matches::canonical_match;
    use meshcheck_input::json;

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
