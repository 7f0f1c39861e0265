//! Health scores: 0–100 per category and overall, with a letter grade. The formula is documented
//! in `docs/scoring.md`; the constants below are the ones it names.

use std::collections::BTreeMap;

use meshcheck_rules::{Category, Finding, RuleMeta, Severity};
use serde::Serialize;

/// Penalty points of a rule's worst finding, by severity.
pub fn severity_weight(severity: Severity) -> f64 {
    match severity {
        Severity::Info => 1.0,
        Severity::Warning => 5.0,
        Severity::Error => 15.0,
        Severity::Critical => 40.0,
    }
}

/// Each further finding of the same rule counts this fraction of the one before it, so one rule can
/// cost at most twice its worst finding's weight however many resources it hits.
pub const REPEAT_DECAY: f64 = 0.5;

/// Penalty points that bring a category's score down to 100/e (≈ 37).
pub const PENALTY_SCALE: f64 = 100.0;

/// The highest score a category (or the mesh) can have while an error finding remains (grade B).
pub const ERROR_CAP: u8 = 89;

/// The highest score while a critical finding remains (grade F).
pub const CRITICAL_CAP: u8 = 59;

/// How much a category's penalty counts in the overall score.
pub fn category_weight(category: Category) -> f64 {
    match category {
        Category::Security => 1.5,
        Category::Platform | Category::IngressEgress | Category::ApplicationPolicy => 1.0,
        // Readiness items mostly restate findings of the other categories.
        Category::Performance | Category::Readiness => 0.5,
    }
}

/// Weighted penalty points that bring the overall score down to 100/e (≈ 37): twice a
/// category's scale, since the overall score sums every category's penalty.
pub const OVERALL_PENALTY_SCALE: f64 = 200.0;

/// A letter grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Grade {
    A,
    B,
    C,
    D,
    F,
}

impl Grade {
    /// A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, F below.
    pub fn of(score: u8) -> Grade {
        match score {
            90.. => Grade::A,
            80..=89 => Grade::B,
            70..=79 => Grade::C,
            60..=69 => Grade::D,
            _ => Grade::F,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
            Grade::F => "F",
        }
    }
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One category's score. `score` and `grade` are absent when no rule of the category ran (nothing
/// was assessed, so nothing can be claimed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryScore {
    pub score: Option<u8>,
    pub grade: Option<Grade>,
    /// Penalty points before the mapping to 0–100 (rounded to one decimal).
    pub penalty: f64,
    pub findings: usize,
    pub rules: usize,
}

/// The scores of a report (`summary.score` in JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub overall: u8,
    pub grade: Grade,
    pub categories: BTreeMap<Category, CategoryScore>,
}

impl Score {
    pub fn category(&self, category: Category) -> &CategoryScore {
        &self.categories[&category]
    }

    /// Marks a category as not assessed (its rules ran but the input could not answer them). It
    /// has no findings then, so the overall score is unchanged.
    pub fn not_assessed(&mut self, category: Category) {
        if let Some(entry) = self.categories.get_mut(&category)
            && entry.findings == 0
        {
            entry.score = None;
            entry.grade = None;
        }
    }
}

/// The penalty of one rule's findings: worst first, each further one decayed by [`REPEAT_DECAY`].
fn rule_penalty(severities: &mut [Severity]) -> f64 {
    severities.sort_unstable_by(|a, b| b.cmp(a));
    let mut factor = 1.0;
    let mut penalty = 0.0;
    for severity in severities.iter() {
        penalty += severity_weight(*severity) * factor;
        factor *= REPEAT_DECAY;
    }
    penalty
}

/// Maps penalty points to 0–100 and applies the caps of the worst severity present.
fn capped_score(raw: f64, worst: Option<Severity>) -> u8 {
    let score = raw.round().clamp(0.0, 100.0) as u8;
    match worst {
        Some(Severity::Critical) => score.min(CRITICAL_CAP),
        Some(Severity::Error) => score.min(ERROR_CAP),
        _ => score,
    }
}

/// Scores findings. `rules` are the rules that ran (a category none of them belongs to is not
/// assessed). The result does not depend on the order of either slice.
pub fn score(findings: &[Finding], rules: &[&RuleMeta]) -> Score {
    // category → rule code → severities of its findings (ordered maps: a fixed summation order).
    let mut by_category: BTreeMap<Category, BTreeMap<&str, Vec<Severity>>> = BTreeMap::new();
    for finding in findings {
        by_category
            .entry(finding.category)
            .or_default()
            .entry(finding.code)
            .or_default()
            .push(finding.severity);
    }
    let mut categories = BTreeMap::new();
    let mut weighted_penalty = 0.0;
    for category in Category::ALL {
        let rules_in_category = rules
            .iter()
            .filter(|rule| rule.category == category)
            .count();
        let mut penalty = 0.0;
        let mut count = 0;
        let mut worst = None;
        for severities in by_category.entry(category).or_default().values_mut() {
            count += severities.len();
            worst = worst.max(severities.iter().copied().max());
            penalty += rule_penalty(severities);
        }
        let assessed = rules_in_category > 0 || count > 0;
        let raw = 100.0 * (-penalty / PENALTY_SCALE).exp();
        let score = assessed.then(|| capped_score(raw, worst));
        weighted_penalty += category_weight(category) * penalty;
        categories.insert(
            category,
            CategoryScore {
                score,
                grade: score.map(Grade::of),
                penalty: (penalty * 10.0).round() / 10.0,
                findings: count,
                rules: rules_in_category,
            },
        );
    }
    let worst = findings.iter().map(|finding| finding.severity).max();
    let overall = capped_score(
        100.0 * (-weighted_penalty / OVERALL_PENALTY_SCALE).exp(),
        worst,
    );
    Score {
        overall,
        grade: Grade::of(overall),
        categories,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{finding, rule};

    fn all_rules() -> Vec<&'static RuleMeta> {
        Category::ALL
            .iter()
            .map(|category| rule("MC900", *category, Severity::Warning))
            .collect()
    }

    const CODES: [&str; 4] = ["MC901", "MC902", "MC903", "MC904"];

    /// A small deterministic generator (the test must not depend on a seed from the clock).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, below: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % below as u64) as usize
        }
        fn finding(&mut self) -> Finding {
            finding(
                CODES[self.next(CODES.len())],
                Category::ALL[self.next(Category::ALL.len())],
                Severity::ALL[self.next(Severity::ALL.len())],
            )
        }
    }

    #[test]
    fn clean_mesh_scores_100_a() {
        let score = score(&[], &all_rules());
        assert_eq!(score.overall, 100);
        assert_eq!(score.grade, Grade::A);
        for category in Category::ALL {
            assert_eq!(score.category(category).score, Some(100));
        }
    }

    #[test]
    fn category_without_rules_is_not_assessed() {
        let rules = vec![rule("MC900", Category::Security, Severity::Error)];
        let score = score(&[], &rules);
        assert_eq!(score.category(Category::Security).score, Some(100));
        assert_eq!(score.category(Category::Performance).score, None);
        assert_eq!(score.category(Category::Performance).grade, None);
        assert_eq!(score.overall, 100);
    }

    #[test]
    fn known_values() {
        let rules = all_rules();
        let one_error = score(
            &[finding("MC901", Category::Security, Severity::Error)],
            &rules,
        );
        // 100·e^(−15/100) = 86.07
        assert_eq!(one_error.category(Category::Security).score, Some(86));
        assert_eq!(one_error.category(Category::Security).grade, Some(Grade::B));
        let one_warning = score(
            &[finding("MC901", Category::Platform, Severity::Warning)],
            &rules,
        );
        assert_eq!(one_warning.category(Category::Platform).score, Some(95));
        assert_eq!(one_warning.grade, Grade::A);
    }

    #[test]
    fn repeats_of_one_rule_have_diminishing_cost() {
        let rules = all_rules();
        let many_info: Vec<Finding> = (0..500)
            .map(|_| finding("MC901", Category::Performance, Severity::Info))
            .collect();
        let score_info = score(&many_info, &rules);
        // At most 2 penalty points: 100·e^(−0.02) = 98.
        assert_eq!(score_info.category(Category::Performance).score, Some(98));
        let many_errors: Vec<Finding> = (0..5000)
            .map(|_| finding("MC901", Category::Security, Severity::Error))
            .collect();
        // At most 30 points: 100·e^(−0.3) = 74.
        assert_eq!(
            score(&many_errors, &rules)
                .category(Category::Security)
                .score,
            Some(74)
        );
    }

    #[test]
    fn critical_caps_at_f_and_error_caps_at_b() {
        let rules = all_rules();
        let critical = score(
            &[finding("MC901", Category::Security, Severity::Critical)],
            &rules,
        );
        assert_eq!(critical.category(Category::Security).score, Some(59));
        assert_eq!(critical.category(Category::Security).grade, Some(Grade::F));
        assert!(critical.overall <= CRITICAL_CAP);
        assert_eq!(critical.grade, Grade::F);
        // An error in an otherwise perfect mesh still keeps it from an A.
        let error = score(
            &[finding("MC901", Category::Performance, Severity::Error)],
            &rules,
        );
        assert_eq!(error.overall, ERROR_CAP);
        assert_eq!(error.grade, Grade::B);
    }

    #[test]
    fn bounded_deterministic_and_monotone() {
        let rules = all_rules();
        let mut generator = Lcg(7);
        for round in 0..200 {
            let size = generator.next(60);
            let mut findings: Vec<Finding> = (0..size).map(|_| generator.finding()).collect();
            let before = score(&findings, &rules);
            assert!(before.overall <= 100);
            // Deterministic: the same findings in another order score the same.
            let mut shuffled = findings.clone();
            shuffled.reverse();
            if shuffled.len() > 2 {
                let pivot = generator.next(shuffled.len());
                shuffled.rotate_left(pivot);
            }
            assert_eq!(score(&shuffled, &rules), before, "round {round}");
            // Monotone: one more finding never raises any score.
            findings.push(generator.finding());
            let after = score(&findings, &rules);
            assert!(after.overall <= before.overall, "round {round}");
            for category in Category::ALL {
                let (before, after) = (
                    before.category(category).score.unwrap(),
                    after.category(category).score.unwrap(),
                );
                assert!(after <= before, "round {round} {category}");
            }
        }
    }

    #[test]
    fn worse_severity_never_scores_better() {
        let rules = all_rules();
        let mut previous = 101;
        for severity in [
            Severity::Info,
            Severity::Warning,
            Severity::Error,
            Severity::Critical,
        ] {
            let score = score(&[finding("MC901", Category::Platform, severity)], &rules);
            assert!(score.overall < previous, "{severity}");
            previous = score.overall;
        }
    }

    #[test]
    fn grades() {
        assert_eq!(Grade::of(100), Grade::A);
        assert_eq!(Grade::of(90), Grade::A);
        assert_eq!(Grade::of(89), Grade::B);
        assert_eq!(Grade::of(70), Grade::C);
        assert_eq!(Grade::of(60), Grade::D);
        assert_eq!(Grade::of(59), Grade::F);
        assert_eq!(Grade::of(0), Grade::F);
    }
}
