//! SARIF 2.1.0 (code scanning): every rule in `tool.driver.rules`, one result per finding with the
//! file and line it came from and the Kubernetes resource as a logical location.

use std::collections::BTreeMap;
use std::fmt::Write;

use meshcheck_rules::{Category, Finding, RuleMeta, Severity, SourceLocation};
use serde_json::json;
use serde_sarif::sarif;
use sha2::{Digest, Sha256};

use crate::Report;

/// The schema URI written into the log (the OASIS errata 01 schema).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(severity: Severity) -> sarif::ResultLevel {
    match severity {
        Severity::Critical | Severity::Error => sarif::ResultLevel::Error,
        Severity::Warning => sarif::ResultLevel::Warning,
        Severity::Info => sarif::ResultLevel::Note,
    }
}

/// GitHub code scanning ranks security results by this CVSS-like number.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::Error => "7.5",
        Severity::Warning => "5.0",
        Severity::Info => "2.0",
    }
}

/// A relative reference or `file://` URI for a path (RFC 3986: unreserved and sub-delimiters
/// kept, everything else percent-encoded; `:` too, so a relative path never reads as a scheme).
pub fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@' => encoded.push(byte as char),
            _ => {
                let _ = write!(encoded, "%{byte:02X}");
            }
        }
    }
    if encoded.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

fn rule_descriptor(rule: &RuleMeta) -> sarif::ReportingDescriptor {
    let mut properties = BTreeMap::new();
    properties.insert("category".to_owned(), json!(rule.category.as_str()));
    if rule.category == Category::Security {
        properties.insert(
            "security-severity".to_owned(),
            json!(security_severity(rule.severity)),
        );
    }
    let mut tags = vec![rule.category.as_str().to_owned()];
    tags.extend(rule.istio_codes.iter().map(|code| (*code).to_owned()));
    let help_text = format!("{}\n\n{}", rule.remediation, rule.explanation.trim());
    sarif::ReportingDescriptor::builder()
        .id(rule.code)
        .name(rule.name)
        .short_description(
            sarif::MultiformatMessageString::builder()
                .text(rule.summary)
                .build(),
        )
        .full_description(
            sarif::MultiformatMessageString::builder()
                .text(rule.explanation.trim())
                .markdown(rule.explanation.trim())
                .build(),
        )
        .help(
            sarif::MultiformatMessageString::builder()
                .text(help_text.clone())
                .markdown(help_text)
                .build(),
        )
        .help_uri(rule.docs_url)
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(json!(level(rule.severity).to_string()))
                .build(),
        )
        .properties(
            sarif::PropertyBag::builder()
                .tags(tags)
                .additional_properties(properties)
                .build(),
        )
        .build()
}

/// A stable identity for a finding across runs (rule, resource, message), for de-duplication.
fn fingerprint(finding: &Finding) -> String {
    let mut hasher = Sha256::new();
    hasher.update(finding.code.as_bytes());
    if let Some(resource) = &finding.resource {
        for part in [
            resource.kind.as_str(),
            resource.namespace.as_deref().unwrap_or_default(),
            resource.name.as_str(),
        ] {
            hasher.update([0]);
            hasher.update(part.as_bytes());
        }
    }
    hasher.update([0]);
    hasher.update(finding.message.as_bytes());
    let digest = hasher.finalize();
    digest[..16].iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// A file a result can point at (`<stdin>` is none).
fn in_a_file(source: &SourceLocation) -> bool {
    !source.file.starts_with('<')
}

/// `anchor` places a finding that names no file (a mesh-wide one, or a resource read from
/// stdin): GitHub code scanning rejects results without a physical location.
fn result(
    finding: &Finding,
    rule_index: Option<usize>,
    anchor: Option<&SourceLocation>,
) -> sarif::Result {
    let mut location = sarif::Location::builder().build();
    if let Some(source) = finding
        .source
        .as_ref()
        .filter(|source| in_a_file(source))
        .or(anchor)
    {
        let mut physical = sarif::PhysicalLocation::builder()
            .artifact_location(
                sarif::ArtifactLocation::builder()
                    .uri(file_uri(&source.file))
                    .build(),
            )
            .build();
        if let Some(line) = source.line.filter(|line| *line >= 1) {
            physical.region = Some(sarif::Region::builder().start_line(i64::from(line)).build());
        }
        location.physical_location = Some(physical);
    }
    if let Some(resource) = &finding.resource {
        let qualified = match &resource.namespace {
            Some(namespace) => format!("{}/{namespace}/{}", resource.kind, resource.name),
            None => format!("{}/{}", resource.kind, resource.name),
        };
        location.logical_locations = Some(vec![
            sarif::LogicalLocation::builder()
                .name(resource.name.clone())
                .fully_qualified_name(qualified)
                .kind("resource")
                .build(),
        ]);
    }
    let mut properties = BTreeMap::new();
    properties.insert("severity".to_owned(), json!(finding.severity.as_str()));
    properties.insert("category".to_owned(), json!(finding.category.as_str()));
    properties.insert("remediation".to_owned(), json!(finding.remediation));
    if let Some(istio_code) = finding.istio_code {
        properties.insert("istioCode".to_owned(), json!(istio_code));
    }
    if let Some(status) = finding.status {
        properties.insert("status".to_owned(), json!(status.as_str()));
    }
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert("meshcheckFinding/v1".to_owned(), fingerprint(finding));
    let mut result = sarif::Result::builder()
        .rule_id(finding.code)
        .level(level(finding.severity))
        .message(
            sarif::Message::builder()
                .text(format!(
                    "{}\n\nFix: {}",
                    finding.message, finding.remediation
                ))
                .build(),
        )
        .partial_fingerprints(fingerprints)
        .properties(
            sarif::PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        )
        .build();
    if location.physical_location.is_some() || location.logical_locations.is_some() {
        result.locations = Some(vec![location]);
    }
    result.rule_index = rule_index.map(|index| index as i64);
    result
}

/// The SARIF log as pretty JSON.
pub fn render_sarif(report: &Report) -> String {
    let index: BTreeMap<&str, usize> = report
        .rules
        .iter()
        .enumerate()
        .map(|(position, rule)| (rule.code, position))
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("meshcheck")
        .version(report.summary.meshcheck_version)
        .semantic_version(report.summary.meshcheck_version)
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(
            report
                .rules
                .iter()
                .map(|rule| rule_descriptor(rule))
                .collect::<Vec<_>>(),
        )
        .build();
    let anchor = report
        .input
        .anchor
        .as_ref()
        .filter(|anchor| in_a_file(anchor));
    let results: Vec<sarif::Result> = report
        .findings
        .iter()
        .map(|finding| result(finding, index.get(finding.code).copied(), anchor))
        .collect();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let log = sarif::Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut text = serde_json::to_string_pretty(&log).expect("a SARIF log always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::testing::{finding, finding_on, rule};
    use crate::{InputSummary, Report};

    const SCHEMA: &str = include_str!("../tests/data/sarif-schema-2.1.0.json");

    pub(crate) fn validate(log: &Value) {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(log)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    fn sample() -> Report {
        let rules = vec![
            rule("MC201", Category::Security, Severity::Critical),
            rule("MC301", Category::IngressEgress, Severity::Warning),
            rule("MC501", Category::Performance, Severity::Info),
        ];
        let findings = vec![
            finding_on(
                "MC201",
                Category::Security,
                Severity::Critical,
                ("PeerAuthentication", Some("istio-system"), "default"),
                Some(("mesh dir/peer auth.yaml", 7)),
            ),
            finding_on(
                "MC301",
                Category::IngressEgress,
                Severity::Warning,
                ("Gateway", None, "edge"),
                None,
            ),
            finding("MC501", Category::Performance, Severity::Info),
            finding_on(
                "MC999",
                Category::Platform,
                Severity::Error,
                ("Service", Some("a"), "b"),
                Some(("<stdin>", 3)),
            ),
        ];
        Report::with_rules(findings, rules, InputSummary::default())
    }

    #[test]
    fn validates_against_the_official_schema() {
        let log: Value = serde_json::from_str(&render_sarif(&sample())).unwrap();
        validate(&log);
        let empty: Value = serde_json::from_str(&render_sarif(&Report::with_rules(
            Vec::new(),
            Vec::new(),
            InputSummary::default(),
        )))
        .unwrap();
        validate(&empty);
    }

    #[test]
    fn the_validator_rejects_a_broken_log() {
        // The schema test must be able to fail: a result without a message is invalid.
        let mut log: Value = serde_json::from_str(&render_sarif(&sample())).unwrap();
        log["runs"][0]["results"][0]
            .as_object_mut()
            .unwrap()
            .remove("message");
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        assert!(!jsonschema::is_valid(&schema, &log));
    }

    #[test]
    fn results_carry_rule_level_and_locations() {
        let log: Value = serde_json::from_str(&render_sarif(&sample())).unwrap();
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 3);
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "MC201");
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
            "9.5"
        );
        let first = &run["results"][0];
        assert_eq!(first["ruleId"], "MC201");
        assert_eq!(first["ruleIndex"], 0);
        assert_eq!(first["level"], "error");
        let physical = &first["locations"][0]["physicalLocation"];
        assert_eq!(
            physical["artifactLocation"]["uri"],
            "mesh%20dir/peer%20auth.yaml"
        );
        assert_eq!(physical["region"]["startLine"], 7);
        assert_eq!(
            first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "PeerAuthentication/istio-system/default"
        );
        // No file: only the logical location; no resource either: no location at all.
        assert!(run["results"][1]["locations"][0]["physicalLocation"].is_null());
        assert!(run["results"][2]["locations"].is_null());
        assert_eq!(run["results"][2]["level"], "note");
        // stdin is not an artifact; an unknown rule has no index.
        assert!(run["results"][3]["locations"][0]["physicalLocation"].is_null());
        assert!(run["results"][3]["ruleIndex"].is_null());
    }

    #[test]
    fn findings_without_a_file_point_at_the_anchor() {
        let mut report = sample();
        report.input.anchor = Some(SourceLocation {
            file: "mesh/istio-config.yaml".to_owned(),
            line: Some(4),
        });
        let log: Value = serde_json::from_str(&render_sarif(&report)).unwrap();
        validate(&log);
        let results = log["runs"][0]["results"].as_array().unwrap();
        for result in results {
            assert!(
                result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string(),
                "{result}"
            );
        }
        // A finding with its own file keeps it; the others take the anchor.
        let uri = |index: usize| &results[index]["locations"][0]["physicalLocation"];
        assert_eq!(
            uri(0)["artifactLocation"]["uri"],
            "mesh%20dir/peer%20auth.yaml"
        );
        assert_eq!(uri(2)["artifactLocation"]["uri"], "mesh/istio-config.yaml");
        assert_eq!(uri(2)["region"]["startLine"], 4);
        // The resource stays as the logical location.
        assert_eq!(
            results[3]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "Service/a/b"
        );
        assert_eq!(uri(3)["artifactLocation"]["uri"], "mesh/istio-config.yaml");
    }

    #[test]
    fn uris() {
        assert_eq!(file_uri("k8s/app.yaml"), "k8s/app.yaml");
        assert_eq!(file_uri("/abs/a b.yaml"), "file:///abs/a%20b.yaml");
        assert_eq!(file_uri("c:\\x\\y.yaml"), "c%3A/x/y.yaml");
    }
}
