//! What a namespace is for, as its name and labels tell.

use meshcheck_model::Mesh;

const TEST_WORDS: [&str; 11] = [
    "test", "testing", "qa", "dev", "staging", "stage", "chaos", "sandbox", "perf", "load", "e2e",
];

/// Whether a namespace is meant for testing, by name or by an environment label.
pub(crate) fn is_test_namespace(mesh: &Mesh, namespace: &str) -> bool {
    let by_name = namespace
        .split(['-', '.', '_'])
        .any(|word| TEST_WORDS.contains(&word));
    let by_label = mesh.namespace(namespace).is_some_and(|resource| {
        ["environment", "env"].iter().any(|key| {
            resource
                .label(key)
                .is_some_and(|value| TEST_WORDS.contains(&value.to_ascii_lowercase().as_str()))
        })
    });
    by_name || by_label
}
