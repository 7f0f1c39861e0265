//! What a rule is: metadata (code, name, category, severity, inputs, docs) and a check function.

use std::fmt;

use meshcheck_model::Kind;
use serde::{Deserialize, Serialize};

use crate::finding::Sink;

/// How bad a finding is, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// Title case, for text output (`Error`).
    pub fn title(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Warning => "Warning",
            Severity::Error => "Error",
            Severity::Critical => "Critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The report section a rule belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Platform,
    Security,
    IngressEgress,
    ApplicationPolicy,
    Performance,
    Readiness,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Platform,
        Category::Security,
        Category::IngressEgress,
        Category::ApplicationPolicy,
        Category::Performance,
        Category::Readiness,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Platform => "platform",
            Category::Security => "security",
            Category::IngressEgress => "ingress-egress",
            Category::ApplicationPolicy => "application-policy",
            Category::Performance => "performance",
            Category::Readiness => "readiness",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Category::Platform => "Platform",
            Category::Security => "Security",
            Category::IngressEgress => "Ingress/Egress",
            Category::ApplicationPolicy => "Application policy",
            Category::Performance => "Performance",
            Category::Readiness => "Go-live readiness",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule's description, shared by the engine, `meshcheck rules`, `explain` and the docs.
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    /// Stable code, e.g. `MC012`.
    pub code: &'static str,
    /// kebab-case name, e.g. `virtual-service-destination-host`.
    pub name: &'static str,
    pub category: Category,
    /// Severity of findings that do not map to an Istio message (those take the message's level).
    pub severity: Severity,
    /// One line: what the rule checks.
    pub summary: &'static str,
    /// The Istio analyzer this rule mirrors, as Istio names it (`gateway.SecretAnalyzer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub istio_analyzer: Option<&'static str>,
    /// The Istio message codes the rule can emit.
    pub istio_codes: &'static [&'static str],
    /// The kinds the rule reads.
    #[serde(serialize_with = "serialize_kinds")]
    pub inputs: &'static [Kind],
    /// The Istio documentation page that explains the topic.
    pub docs_url: &'static str,
    /// What to do about a finding (generic; findings may be more specific).
    pub remediation: &'static str,
    /// The rule's doc comment (Markdown: what it does, why it matters, how to fix).
    #[serde(skip)]
    pub explanation: &'static str,
}

fn serialize_kinds<S: serde::Serializer>(
    kinds: &&[Kind],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(kinds.iter().map(|kind| kind.name()))
}

/// A rule: its metadata and the function that inspects the mesh.
pub struct Rule {
    pub meta: RuleMeta,
    pub check: fn(&crate::Context, &mut Sink),
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("code", &self.meta.code)
            .finish()
    }
}

/// Declares a rule as a `pub static`, capturing its doc comment as the explanation that
/// `meshcheck explain` prints and the docs generator writes.
///
/// ```ignore
/// declare_rule! {
///     /// ## What it does
///     /// ...
///     pub static MY_RULE = {
///         code: "MC042", name: "my-rule", category: Security, severity: Warning,
///         summary: "...", istio_analyzer: None, istio_codes: &[], inputs: &[Kind::Pod],
///         docs_url: "https://istio.io/...", remediation: "...", check: check,
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub static $static_name:ident = {
            code: $code:literal,
            name: $name:literal,
            category: $category:ident,
            severity: $severity:ident,
            summary: $summary:literal,
            istio_analyzer: $istio_analyzer:expr,
            istio_codes: $istio_codes:expr,
            inputs: $inputs:expr,
            docs_url: $docs_url:literal,
            remediation: $remediation:literal,
            check: $check:expr $(,)?
        }
    ) => {
        pub static $static_name: $crate::Rule = $crate::Rule {
            meta: $crate::RuleMeta {
                code: $code,
                name: $name,
                category: $crate::Category::$category,
                severity: $crate::Severity::$severity,
                summary: $summary,
                istio_analyzer: $istio_analyzer,
                istio_codes: $istio_codes,
                inputs: $inputs,
                docs_url: $docs_url,
                remediation: $remediation,
                explanation: concat!($($doc, "\n",)*),
            },
            check: $check,
        };
    };
}
