//! JUnit XML for test dashboards: a test suite per category, a test case per rule × resource
//! (failed when a finding at or above the threshold remains), and a passing test case for every
//! rule that ran clean.

use std::collections::BTreeMap;
use std::fmt::Write;

use meshcheck_rules::{Category, Finding, Severity};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::Report;
use crate::report::location_text;

fn subject(finding: &Finding) -> String {
    finding
        .resource
        .as_ref()
        .map(|resource| format!("{} {}", resource.kind, resource.display_name()))
        .unwrap_or_else(|| "mesh".to_owned())
}

fn finding_lines(findings: &[&Finding]) -> String {
    let mut text = String::new();
    for finding in findings {
        let _ = write!(text, "{}: {}", finding.severity, finding.message);
        if let Some(location) = location_text(finding) {
            let _ = write!(text, " ({location})");
        }
        let _ = writeln!(
            text,
            "\n  fix: {}\n  docs: {}",
            finding.remediation, finding.docs_url
        );
    }
    text
}

/// The JUnit report; findings at or above `fail_on` are failures.
pub fn render_junit(report: &Report, fail_on: Severity) -> String {
    let mut junit = quick_junit::Report::new("meshcheck");
    for category in Category::ALL {
        let rules: Vec<_> = report
            .rules
            .iter()
            .filter(|rule| rule.category == category)
            .collect();
        let mut by_rule: BTreeMap<&str, BTreeMap<String, Vec<&Finding>>> = BTreeMap::new();
        for finding in report
            .findings
            .iter()
            .filter(|finding| finding.category == category)
        {
            by_rule
                .entry(finding.code)
                .or_default()
                .entry(subject(finding))
                .or_default()
                .push(finding);
        }
        if rules.is_empty() && by_rule.is_empty() {
            continue;
        }
        let classname = format!("meshcheck.{}", category.as_str());
        let mut suite = TestSuite::new(category.title());
        for rule in rules {
            let Some(groups) = by_rule.remove(rule.code) else {
                let mut case = TestCase::new(
                    format!("{} {}", rule.code, rule.name),
                    TestCaseStatus::success(),
                );
                case.set_classname(classname.clone());
                suite.add_test_case(case);
                continue;
            };
            for (resource, findings) in groups {
                let worst = findings
                    .iter()
                    .map(|finding| finding.severity)
                    .max()
                    .unwrap_or(Severity::Info);
                let details = finding_lines(&findings);
                let status = if worst >= fail_on {
                    let first = findings
                        .iter()
                        .find(|finding| finding.severity == worst)
                        .expect("the worst severity comes from a finding");
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status
                        .set_message(first.message.clone())
                        .set_type(worst.as_str())
                        .set_description(details.clone());
                    status
                } else {
                    TestCaseStatus::success()
                };
                let mut case =
                    TestCase::new(format!("{} {}: {resource}", rule.code, rule.name), status);
                case.set_classname(classname.clone());
                if worst < fail_on {
                    case.set_system_out(details);
                }
                suite.add_test_case(case);
            }
        }
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .expect("a JUnit report of strings always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{finding_on, rule};
    use crate::{InputSummary, Report};

    #[test]
    fn suites_cases_and_failures() {
        let rules = vec![
            rule("MC201", Category::Security, Severity::Error),
            rule("MC202", Category::Security, Severity::Warning),
            rule("MC203", Category::Security, Severity::Warning),
            rule("MC501", Category::Performance, Severity::Info),
        ];
        let on = |code, severity, name| {
            finding_on(
                code,
                Category::Security,
                severity,
                ("Gateway", Some("edge"), name),
                Some(("gw.yaml", 4)),
            )
        };
        let findings = vec![
            on("MC201", Severity::Error, "a"),
            on("MC201", Severity::Warning, "a"),
            on("MC201", Severity::Error, "b"),
            on("MC202", Severity::Warning, "a"),
        ];
        let report = Report::with_rules(findings, rules, InputSummary::default());
        let xml = render_junit(&report, Severity::Error);
        assert!(
            xml.contains(
                r#"<testsuite name="Security" tests="4" skipped="0" errors="0" failures="2""#
            ),
            "{xml}"
        );
        assert!(xml.contains(
            r#"<testcase name="MC201 test-rule: Gateway a.edge" classname="meshcheck.security">"#
        ));
        assert!(xml.contains(r#"<failure message="MC201 found something" type="error">"#));
        // Below the threshold: a passing case with the finding in its output.
        assert!(xml.contains(
            r#"<testcase name="MC202 test-rule: Gateway a.edge" classname="meshcheck.security">"#
        ));
        assert!(xml.contains("<system-out>warning: MC202 found something (gw.yaml:4)"));
        // A clean rule is a passing case; a category without rules has no suite.
        assert!(
            xml.contains(r#"<testcase name="MC203 test-rule" classname="meshcheck.security"/>"#)
        );
        assert!(xml.contains(r#"<testsuite name="Performance" tests="1""#));
        assert!(!xml.contains("Platform"));
        let strict = render_junit(&report, Severity::Warning);
        assert!(strict.contains(r#"failures="3""#));
    }
}
