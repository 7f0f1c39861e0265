//! Test helpers: findings and rules built by hand.

use meshcheck_model::Kind;
use meshcheck_rules::{Category, Finding, ResourceRef, RuleMeta, Severity, SourceLocation};

use crate::{InputSummary, Report};

/// A rule with the given code and category (leaked: rules are `'static`, tests are short-lived).
pub fn rule(code: &'static str, category: Category, severity: Severity) -> &'static RuleMeta {
    rule_reading(code, category, severity, &[])
}

/// [`rule`] with the kinds it reads.
pub fn rule_reading(
    code: &'static str,
    category: Category,
    severity: Severity,
    inputs: &'static [Kind],
) -> &'static RuleMeta {
    Box::leak(Box::new(RuleMeta {
        code,
        name: "test-rule",
        category,
        severity,
        summary: "A test rule",
        istio_analyzer: None,
        istio_codes: &[],
        inputs,
        docs_url: "https://istio.io/latest/docs/",
        remediation: "Fix it.",
        explanation: "## What it does\nTests.\n",
    }))
}

/// A detached finding (no resource, no file).
pub fn finding(code: &'static str, category: Category, severity: Severity) -> Finding {
    Finding {
        code,
        istio_code: None,
        istio_analyzer: None,
        rule: "test-rule",
        severity,
        category,
        resource: None,
        message: format!("{code} found something"),
        remediation: "Fix it.".to_owned(),
        docs_url: "https://istio.io/latest/docs/",
        source: None,
        status: None,
        suppressions: None,
        scope_namespace: None,
        absence: None,
    }
}

/// A finding on a resource read from `file:line`.
pub fn finding_on(
    code: &'static str,
    category: Category,
    severity: Severity,
    (kind, namespace, name): (&str, Option<&str>, &str),
    file: Option<(&str, u32)>,
) -> Finding {
    let mut finding = finding(code, category, severity);
    finding.resource = Some(ResourceRef {
        api_version: "networking.istio.io/v1".to_owned(),
        kind: kind.to_owned(),
        namespace: namespace.map(str::to_owned),
        name: name.to_owned(),
    });
    finding.scope_namespace = namespace.map(str::to_owned);
    finding.source = file.map(|(file, line)| SourceLocation {
        file: file.to_owned(),
        line: Some(line),
    });
    finding
}

/// A report of `findings` over one warning rule per category, so that every category is assessed.
pub fn report_over_every_category(findings: Vec<Finding>) -> Report {
    let rules = Category::ALL
        .iter()
        .map(|category| rule("MC900", *category, Severity::Warning))
        .collect();
    Report::with_rules(findings, rules, InputSummary::default())
}
