//! Findings: what a rule reports, and the sink it reports into.

use serde::Serialize;

use meshcheck_model::{Kind, Mesh, Resource};

use crate::istio_messages;
use crate::rule::{Category, RuleMeta, Severity};

/// The object a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    /// Absent when the input object has none (never invented).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ResourceRef {
    pub fn of(resource: &Resource) -> ResourceRef {
        ResourceRef {
            api_version: resource.object().api_version.clone(),
            kind: resource.object().kind.clone(),
            namespace: resource.object().namespace.clone(),
            name: resource.object().name.clone(),
        }
    }

    /// `name.namespace` or `name`, as istioctl prints resources.
    pub fn display_name(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{}.{}", self.name, namespace),
            None => self.name.clone(),
        }
    }
}

/// Where in the input a finding points.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourceLocation {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// In a pre-apply check (`analyze CHANGES --against SNAPSHOT`): whether the change set brings
/// the finding or the snapshot already had it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    New,
    Existing,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::New => "new",
            FindingStatus::Existing => "existing",
        }
    }
}

/// One problem found.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub istio_code: Option<&'static str>,
    /// The Istio analyzer the rule mirrors (scoring aid for Istio's conformance suite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub istio_analyzer: Option<&'static str>,
    pub rule: &'static str,
    pub severity: Severity,
    pub category: Category,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceRef>,
    pub message: String,
    pub remediation: String,
    pub docs_url: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
    /// Set on every finding of a pre-apply check, on none otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<FindingStatus>,
    /// Annotations of the resource that may suppress this finding (kept out of the output).
    #[serde(skip)]
    pub suppressions: Option<String>,
    /// The namespace the resource lives in for analysis (`default` for a namespaced object that
    /// names none), used by `--namespace`; `None` for cluster-scoped and detached findings.
    #[serde(skip)]
    pub scope_namespace: Option<String>,
    /// What the finding concludes from the absence of; see [`Finding::from_absence`].
    #[serde(skip)]
    pub absence: Option<Absence>,
}

/// Objects whose absence a finding concludes from: none of `kinds` in `namespaces` (anywhere in
/// the input when `namespaces` is empty) matched what the finding looked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Absence {
    pub kinds: &'static [Kind],
    pub namespaces: Vec<String>,
}

impl Absence {
    /// What the engine appends to a finding it lowers because the input holds none of the kinds
    /// there.
    pub fn note(&self) -> String {
        if self.kinds == [Kind::Pod] && self.namespaces.is_empty() {
            return " (the input holds no Pods, so this was not checked against running workloads)"
                .to_owned();
        }
        let mut names: Vec<&str> = self.kinds.iter().map(|kind| kind.name()).collect();
        // An Istio Gateway and a Gateway API Gateway share the name.
        names.dedup();
        let kinds = match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => "object".to_owned(),
        };
        let place = match self.namespaces.as_slice() {
            [] => String::new(),
            [namespace] => format!(" in namespace {namespace}"),
            namespaces => format!(" in namespaces {}", namespaces.join(" or ")),
        };
        format!(
            " (the input holds no {kinds}{place}, so this is not confirmed: it may be defined outside the files analyzed)"
        )
    }
}

/// Collects a rule's findings; it knows the rule, so reports need only say what is specific.
pub struct Sink {
    pub(crate) meta: &'static RuleMeta,
    pub(crate) findings: Vec<Finding>,
}

impl Sink {
    pub fn new(meta: &'static RuleMeta) -> Sink {
        Sink {
            meta,
            findings: Vec::new(),
        }
    }

    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }

    /// Reports a finding on a resource at the line of `path` (or of the document).
    pub fn report(
        &mut self,
        resource: &Resource,
        path: &[&str],
        message: impl Into<String>,
    ) -> &mut Finding {
        let finding = self.base(Some(resource), path, message.into());
        self.findings.push(finding);
        self.findings.last_mut().expect("just pushed")
    }

    /// [`Sink::report`] with a path built for this finding only (owned elements).
    pub fn report_at(
        &mut self,
        resource: &Resource,
        path: &[String],
        message: impl Into<String>,
    ) -> &mut Finding {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        self.report(resource, &path, message)
    }

    /// Reports an Istio message (`IST0101`): its level becomes the severity.
    pub fn istio(
        &mut self,
        code: &'static str,
        resource: &Resource,
        path: &[&str],
        message: impl Into<String>,
    ) -> &mut Finding {
        let mut finding = self.base(Some(resource), path, message.into());
        finding.istio_code = Some(code);
        if let Some(level) = istio_messages::level(code) {
            finding.severity = level;
        }
        self.findings.push(finding);
        self.findings.last_mut().expect("just pushed")
    }

    /// Reports a finding about something that is not an input object (mesh networks, the
    /// platform as a whole).
    pub fn report_detached(
        &mut self,
        resource: Option<ResourceRef>,
        source: Option<SourceLocation>,
        message: impl Into<String>,
    ) -> &mut Finding {
        let mut finding = self.base(None, &[], message.into());
        finding.resource = resource;
        finding.source = source;
        self.findings.push(finding);
        self.findings.last_mut().expect("just pushed")
    }

    /// Reports a finding about a namespace: on its Namespace object when the input has one (with
    /// its file and line), else on a detached reference to it.
    pub fn report_namespace(
        &mut self,
        mesh: &Mesh,
        namespace: &str,
        message: impl Into<String>,
    ) -> &mut Finding {
        match mesh.namespace(namespace) {
            Some(resource) => self.report(resource, &["metadata", "name"], message),
            None => self.report_detached(
                Some(ResourceRef {
                    api_version: "v1".to_owned(),
                    kind: "Namespace".to_owned(),
                    namespace: None,
                    name: namespace.to_owned(),
                }),
                None,
                message,
            ),
        }
    }

    fn base(&self, resource: Option<&Resource>, path: &[&str], message: String) -> Finding {
        let source = resource.and_then(|resource| {
            let object_source = resource.object().source.as_ref()?;
            Some(SourceLocation {
                file: object_source.file.to_string(),
                line: resource.line_of(path),
            })
        });
        Finding {
            code: self.meta.code,
            istio_code: None,
            istio_analyzer: self.meta.istio_analyzer,
            rule: self.meta.name,
            severity: self.meta.severity,
            category: self.meta.category,
            resource: resource.map(ResourceRef::of),
            message,
            remediation: self.meta.remediation.to_owned(),
            docs_url: self.meta.docs_url,
            source,
            status: None,
            suppressions: resource
                .and_then(|resource| resource.annotation("galley.istio.io/analyze-suppress"))
                .map(str::to_owned),
            absence: None,
            scope_namespace: resource
                .map(|resource| resource.namespace.clone())
                .filter(|namespace| !namespace.is_empty()),
        }
    }
}

impl Finding {
    /// Overrides the severity.
    pub fn severity(&mut self, severity: Severity) -> &mut Finding {
        self.severity = severity;
        self
    }

    /// Gives a remediation specific to this finding.
    pub fn remediation(&mut self, text: impl Into<String>) -> &mut Finding {
        self.remediation = text.into();
        self
    }

    /// Marks a finding that concludes from *no Pod matching* something: see
    /// [`Finding::from_absence`], with Pods anywhere in the input.
    pub fn about_workloads(&mut self) -> &mut Finding {
        self.from_absence(&[Kind::Pod], &[])
    }

    /// Marks a finding that concludes from *no object* of `kinds` in `namespaces` (anywhere when
    /// empty) matching what it looked for: a route's host, a subset, a gateway, a Secret. When
    /// the input holds none of those kinds there (a GitOps folder with the Istio config but not
    /// the apps), that is absence of evidence, not evidence of absence: the engine then lowers
    /// the finding to info and says why (see [`crate::facts::coverage::absence_is_evidence`]).
    pub fn from_absence(&mut self, kinds: &'static [Kind], namespaces: &[&str]) -> &mut Finding {
        let mut namespaces: Vec<String> = namespaces.iter().map(|&name| name.to_owned()).collect();
        namespaces.dedup();
        self.absence = Some(Absence { kinds, namespaces });
        self
    }

    /// Marks the finding as an Istio message without changing its severity.
    pub fn istio_code(&mut self, code: &'static str) -> &mut Finding {
        self.istio_code = Some(code);
        self
    }
}
