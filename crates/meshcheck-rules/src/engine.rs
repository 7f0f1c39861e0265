//! Running rules over a mesh: in parallel, then suppression, namespace focus and a stable order.

use globset::{Glob, GlobMatcher};
use meshcheck_model::Mesh;
use rayon::prelude::*;

use crate::context::{Context, ReferenceData};
use crate::facts::coverage::absence_is_evidence;
use crate::finding::{Finding, Sink};
use crate::rule::{Rule, Severity};

/// A `--suppress "CODE=Kind name.namespace"` entry (istioctl's syntax; `*` globs allowed).
#[derive(Debug, Clone)]
pub struct Suppression {
    code: String,
    resource: GlobMatcher,
}

/// Why a `--suppress` value could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    #[error("--suppress {0:?}: expected CODE=Kind name.namespace (e.g. IST0102=Namespace frod)")]
    Syntax(String),
    #[error("--suppress {0:?}: invalid pattern: {1}")]
    Pattern(String, String),
}

impl Suppression {
    pub fn parse(text: &str) -> Result<Suppression, SuppressionError> {
        let (code, resource) = text
            .split_once('=')
            .ok_or_else(|| SuppressionError::Syntax(text.to_owned()))?;
        let code = code.trim();
        let resource = resource.trim();
        if code.is_empty() || resource.is_empty() || !resource.contains(' ') {
            return Err(SuppressionError::Syntax(text.to_owned()));
        }
        let glob = Glob::new(resource)
            .map_err(|error| SuppressionError::Pattern(text.to_owned(), error.to_string()))?;
        Ok(Suppression {
            code: code.to_owned(),
            resource: glob.compile_matcher(),
        })
    }

    fn matches(&self, finding: &Finding) -> bool {
        let code_matches = self.code == "*"
            || self.code.eq_ignore_ascii_case(finding.code)
            || finding
                .istio_code
                .is_some_and(|code| self.code.eq_ignore_ascii_case(code));
        code_matches
            && finding.resource.as_ref().is_some_and(|resource| {
                self.resource
                    .is_match(format!("{} {}", resource.kind, resource.display_name()))
            })
    }
}

/// What to run and what to keep.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// Keep only findings on resources in these namespaces (empty: all).
    pub namespaces: Vec<String>,
    pub suppressions: Vec<Suppression>,
    /// Advisories and the release table the version rules compare against.
    pub reference: ReferenceData,
}

/// Whether the `galley.istio.io/analyze-suppress` annotation of the finding's resource silences it
/// (a comma-separated list of codes, or `*`).
fn suppressed_by_annotation(finding: &Finding) -> bool {
    let Some(list) = &finding.suppressions else {
        return false;
    };
    list.split(',').map(str::trim).any(|code| {
        code == "*"
            || code.eq_ignore_ascii_case(finding.code)
            || finding
                .istio_code
                .is_some_and(|istio| code.eq_ignore_ascii_case(istio))
    })
}

/// Runs every rule (in parallel) and returns the kept findings, sorted by severity (worst first),
/// then code, resource and message.
pub fn run(mesh: &Mesh, rules: &[&'static Rule], options: &RunOptions) -> Vec<Finding> {
    run_timed(mesh, rules, options).0
}

/// [`run`], also returning how long each rule took (in rule order).
pub fn run_timed(
    mesh: &Mesh,
    rules: &[&'static Rule],
    options: &RunOptions,
) -> (Vec<Finding>, Vec<(&'static str, std::time::Duration)>) {
    if rules.len() > 1 {
        crate::facts::prepare(mesh);
    }
    let context = Context::new(mesh, &options.reference);
    let results: Vec<(Vec<Finding>, (&'static str, std::time::Duration))> = schedule(rules)
        .par_iter()
        // One rule per task: rules differ in cost by 100×, halves of the list would not balance.
        .with_max_len(1)
        .map(|rule| {
            let started = std::time::Instant::now();
            let mut sink = Sink::new(&rule.meta);
            (rule.check)(&context, &mut sink);
            (sink.into_findings(), (rule.meta.code, started.elapsed()))
        })
        .collect();
    let mut timings = Vec::with_capacity(results.len());
    let mut findings = Vec::new();
    for (rule_findings, timing) in results {
        findings.extend(rule_findings);
        timings.push(timing);
    }
    let findings = finish(mesh, findings, options);
    (findings, timings)
}

/// The order rules start in. Rules read mostly the objects of their first input kind; with two
/// cores, rayon runs the first half of the list on one and the second half on the other, so the
/// list is sorted by that kind and dealt out alternately to both halves: the cores then walk
/// the same objects at about the same time and share the cache instead of evicting each
/// other's data.
fn schedule(rules: &[&'static Rule]) -> Vec<&'static Rule> {
    let mut by_kind = rules.to_vec();
    by_kind.sort_by_key(|rule| rule.meta.inputs.first().copied());
    let (first, second): (Vec<_>, Vec<_>) = by_kind
        .iter()
        .enumerate()
        .partition(|(position, _)| position % 2 == 0);
    first
        .into_iter()
        .chain(second)
        .map(|(_, rule)| *rule)
        .collect()
}

fn finish(mesh: &Mesh, mut findings: Vec<Finding>, options: &RunOptions) -> Vec<Finding> {
    // A conclusion drawn from absence stands only where the input could have shown the object.
    for finding in &mut findings {
        let Some(absence) = &finding.absence else {
            continue;
        };
        if !absence_is_evidence(mesh, absence) {
            let note = absence.note();
            finding.severity = Severity::Info;
            // The note belongs inside the sentence: "… exists (the input holds no …)."
            let sentence = finding.message.ends_with('.');
            if sentence {
                finding.message.pop();
            }
            finding.message.push_str(&note);
            if sentence {
                finding.message.push('.');
            }
        }
    }
    findings.retain(|finding| {
        !suppressed_by_annotation(finding)
            && !options
                .suppressions
                .iter()
                .any(|rule| rule.matches(finding))
            && (options.namespaces.is_empty()
                || finding.scope_namespace.as_deref().is_some_and(|namespace| {
                    options.namespaces.iter().any(|wanted| wanted == namespace)
                }))
    });
    findings.par_sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(b.code))
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| a.istio_code.cmp(&b.istio_code))
            .then_with(|| a.message.cmp(&b.message))
    });
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppression_syntax() {
        assert!(Suppression::parse("IST0102=Namespace frod").is_ok());
        assert!(Suppression::parse("IST0107=Pod *.baz").is_ok());
        let error = Suppression::parse("IST0102").unwrap_err().to_string();
        assert!(error.contains("CODE=Kind name.namespace"), "{error}");
    }
}
