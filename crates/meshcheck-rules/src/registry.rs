//! The one table of rules.

use std::sync::LazyLock;

use crate::Rule;
use crate::rules;

static ALL: LazyLock<Vec<&'static Rule>> = LazyLock::new(|| {
    let mut all: Vec<&'static Rule> = rules::FAMILIES
        .iter()
        .flat_map(|group| group.iter())
        .flat_map(|family| family.iter().copied())
        .collect();
    all.sort_by_key(|rule| rule.meta.code);
    all
});

/// Every rule, ordered by code.
pub fn all() -> &'static [&'static Rule] {
    &ALL
}

/// Looks a rule up by code (`MC012`, case-insensitive) or name.
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    all().iter().copied().find(|rule| {
        rule.meta.code.eq_ignore_ascii_case(code_or_name) || rule.meta.name == code_or_name
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for rule in super::all() {
            let meta = &rule.meta;
            assert!(codes.insert(meta.code), "duplicate code {}", meta.code);
            assert!(names.insert(meta.name), "duplicate name {}", meta.name);
            assert!(
                meta.code.starts_with("MC") && meta.code.len() == 5,
                "{}",
                meta.code
            );
            assert!(
                meta.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{} is not kebab-case",
                meta.name
            );
            assert!(
                meta.explanation.contains("## What it does"),
                "{} lacks docs",
                meta.code
            );
            assert!(
                meta.explanation.contains("## Why"),
                "{} lacks 'Why'",
                meta.code
            );
            assert!(meta.docs_url.starts_with("https://"), "{}", meta.code);
            assert!(!meta.inputs.is_empty(), "{} declares no inputs", meta.code);
            for code in meta.istio_codes {
                assert!(
                    crate::istio_messages::message(code).is_some(),
                    "{} unknown {code}",
                    meta.code
                );
            }
        }
    }
}
