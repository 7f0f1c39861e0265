//! The fast YAML path is held to serde-saphyr: on generated documents (tricky scalars, quoting
//! styles, block/flow collections, anchors, aliases, comments) and on every real manifest in the
//! repository, it must build the same value (or defer to serde-saphyr), report the same errors,
//! and put every field on the line it was written on.

use std::fmt::Write;

use crate::Value;
use proptest::prelude::*;

use crate::documents::{parse_yaml_document, reference_yaml_document};
use crate::fields::FieldLines;
use crate::yaml::{Walked, walk};

/// Plain scalars whose meaning differs between YAML 1.1, YAML 1.2 and plain text.
const PLAIN: &[&str] = &[
    "0644",
    "0",
    "00",
    "09",
    "08",
    "0777",
    "-0644",
    "+0644",
    "0_644",
    "-0",
    "+0",
    "+1",
    "1_000",
    "1__0",
    "_1",
    "1_",
    "0_",
    "0x1F",
    "0X1F",
    "0x_1F",
    "0o17",
    "0O17",
    "0b101",
    "0B101",
    "0b",
    "0x",
    "-0x10",
    "1e3",
    "1E3",
    "1e+3",
    "1e-3",
    "12e",
    "e3",
    "1.",
    "+.5",
    "-.5",
    ".5",
    "3.14",
    "-3.14e-10",
    "0.0",
    "-.nan",
    "+.NaN",
    "inf",
    "nan",
    "NaN",
    "Infinity",
    "yes",
    "Yes",
    "YES",
    "yEs",
    "no",
    "NO",
    "on",
    "Off",
    "y",
    "Y",
    "n",
    "N",
    "true",
    "False",
    "TRUE",
    "tRue",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "340282366920938463463374607431768211456",
    "2001-12-14",
    "12:30",
    "1:2:3",
    "a b",
    "foo",
    "http://x:80/p",
    "v1.2",
    "a#b",
    "a-b",
    "-a",
    "x~",
    "..",
    ".",
    "-",
    "+",
    "0x7fffffffffffffff",
    "0xFFFFFFFFFFFFFFFFFF",
    "-0b1",
];

/// Plain scalars serde-saphyr rejects in an untyped value: the fast path must defer on them.
const NON_FINITE: &[&str] = &["1e999", "-1e999", ".inf", "-.inf", "+.INF", ".nan", ".NaN"];

/// Keys: ordinary ones, ones that look like numbers or booleans, and ones serde-saphyr treats
/// specially (null keys, the `<<` merge key).
const PLAIN_KEYS: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "name",
    "spec",
    "labels",
    "80",
    "true",
    "1.5",
    "yes",
    "0644",
    "x-y",
    "a.b",
    "app.kubernetes.io/name",
];
const SPECIAL_KEYS: &[&str] = &["~", "null", "<<"];

#[derive(Clone, Debug)]
enum Node {
    Plain(String),
    Single(String),
    Double(String),
    Literal(Vec<String>),
    Sequence(Vec<Node>, bool),
    /// Entries: key text, whether it is quoted, value.
    Mapping(Vec<(String, bool, Node)>, bool),
    /// `&anchor` on the node.
    Anchored(Box<Node>),
    /// `*anchor` of the latest anchor defined before it (or a plain scalar when none is).
    Alias,
}

fn free_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 :#'\"\\\\é\t-]{0,12}"
}

fn scalar() -> impl Strategy<Value = Node> {
    prop_oneof![
        8 => prop::sample::select(PLAIN).prop_map(|text| Node::Plain(text.to_owned())),
        1 => prop::sample::select(NON_FINITE).prop_map(|text| Node::Plain(text.to_owned())),
        2 => "[a-z][a-z0-9./-]{0,10}".prop_map(Node::Plain),
        1 => free_text().prop_map(Node::Single),
        1 => free_text().prop_map(Node::Double),
        1 => prop::collection::vec("[a-z]{1,6}( [a-z0-9]{1,6})?", 1..4).prop_map(Node::Literal),
        1 => Just(Node::Alias),
    ]
}

fn key() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        12 => prop::sample::select(PLAIN_KEYS).prop_map(|key| (key.to_owned(), false)),
        4 => "[a-z0-9 .:/~-]{0,8}".prop_map(|key| (key, true)),
        1 => prop::sample::select(SPECIAL_KEYS).prop_map(|key| (key.to_owned(), false)),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    scalar().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            2 => (prop::collection::vec(inner.clone(), 0..5), any::<bool>())
                .prop_map(|(items, flow)| Node::Sequence(items, flow)),
            3 => (prop::collection::vec((key(), inner.clone()), 0..6), any::<bool>())
                .prop_map(|(entries, flow)| Node::Mapping(distinct_keys(entries), flow)),
            1 => inner.prop_map(|node| Node::Anchored(Box::new(node))),
        ]
    })
}

fn document() -> impl Strategy<Value = Node> {
    prop::collection::vec((key(), node()), 1..6)
        .prop_map(|entries| Node::Mapping(distinct_keys(entries), false))
}

/// Drops entries whose key repeats (duplicate keys are an error, tested on their own).
fn distinct_keys(entries: Vec<((String, bool), Node)>) -> Vec<(String, bool, Node)> {
    let mut seen = std::collections::HashSet::new();
    entries
        .into_iter()
        .filter(|((key, _), _)| seen.insert(key.clone()))
        .map(|((key, quoted), value)| (key, quoted, value))
        .collect()
}

/// Writes a node as YAML and notes the line (1-based) of every field whose path is unambiguous.
struct Renderer {
    out: String,
    line: u32,
    anchors: usize,
    expected: Vec<(Vec<String>, u32)>,
}

fn quote_single(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn quote_double(text: &str) -> String {
    let mut quoted = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\t' => quoted.push_str("\\t"),
            '\n' => quoted.push_str("\\n"),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

impl Renderer {
    fn push(&mut self, text: &str) {
        self.line += text.matches('\n').count() as u32;
        self.out.push_str(text);
    }

    /// Whether the node is written as an indented block (on the lines after its key or dash).
    fn is_block(node: &Node) -> bool {
        match node {
            Node::Sequence(items, flow) => !flow && !items.is_empty(),
            Node::Mapping(entries, flow) => !flow && !entries.is_empty(),
            Node::Anchored(inner) => Self::is_block(inner),
            _ => false,
        }
    }

    fn key_text(key: &str, quoted: bool) -> String {
        if quoted {
            quote_double(key)
        } else {
            key.to_owned()
        }
    }

    fn inline(&mut self, node: &Node, path: &mut Vec<String>, unique: bool) {
        match node {
            Node::Plain(text) => self.push(text),
            Node::Single(text) => self.push(&quote_single(text)),
            Node::Double(text) => self.push(&quote_double(text)),
            Node::Alias if self.anchors > 0 => {
                let alias = format!("*a{}", self.anchors);
                self.push(&alias);
            }
            Node::Alias => self.push("alias"),
            Node::Anchored(inner) => {
                self.anchors += 1;
                let anchor = format!("&a{} ", self.anchors);
                self.push(&anchor);
                self.inline(inner, path, unique);
            }
            Node::Literal(lines) => self.push(&quote_double(&lines.join("\n"))),
            Node::Sequence(items, _) => {
                self.push("[");
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        self.push(", ");
                    }
                    path.push(index.to_string());
                    self.note(path, unique);
                    self.inline(item, path, unique);
                    path.pop();
                }
                self.push("]");
            }
            Node::Mapping(entries, _) => {
                let unique = unique && keys_unique(entries);
                self.push("{");
                for (index, (key, quoted, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        self.push(", ");
                    }
                    path.push(key.clone());
                    self.note(path, unique);
                    self.push(&format!("{}: ", Self::key_text(key, *quoted)));
                    self.inline(value, path, unique);
                    path.pop();
                }
                self.push("}");
            }
        }
    }

    fn note(&mut self, path: &[String], unique: bool) {
        if unique {
            self.expected.push((path.to_vec(), self.line));
        }
    }

    /// Writes a value after `key: ` or `- `: inline, as a literal block, or as an indented block
    /// (a block in a list item starts on the dash's line: `- key: v`).
    fn value(
        &mut self,
        node: &Node,
        indent: usize,
        item: bool,
        path: &mut Vec<String>,
        unique: bool,
    ) {
        match node {
            Node::Literal(lines) => {
                self.push("|\n");
                for line in lines {
                    self.push(&format!("{:indent$}{line}\n", "", indent = indent + 2));
                }
            }
            Node::Anchored(inner) if Self::is_block(inner) => {
                self.anchors += 1;
                let anchor = format!("&a{}\n", self.anchors);
                self.push(&anchor);
                self.block(inner, indent + 2, false, path, unique);
            }
            node if Self::is_block(node) && item => {
                self.block(node, indent + 2, true, path, unique)
            }
            node if Self::is_block(node) => {
                self.push("\n");
                self.block(node, indent + 2, false, path, unique);
            }
            node => {
                self.inline(node, path, unique);
                self.push("\n");
            }
        }
    }

    /// Writes a block collection at `indent`; with `first_inline`, its first line continues the
    /// current one.
    fn block(
        &mut self,
        node: &Node,
        indent: usize,
        first_inline: bool,
        path: &mut Vec<String>,
        unique: bool,
    ) {
        let pad = |index: usize| {
            if first_inline && index == 0 {
                String::new()
            } else {
                " ".repeat(indent)
            }
        };
        match node {
            Node::Mapping(entries, _) => {
                let unique = unique && keys_unique(entries);
                for (index, (key, quoted, value)) in entries.iter().enumerate() {
                    if index % 3 == 2 {
                        self.push(&format!("{}# a comment: with - yaml {{ ]\n", pad(index)));
                    }
                    path.push(key.clone());
                    self.note(path, unique);
                    self.push(&format!("{}{}: ", pad(index), Self::key_text(key, *quoted)));
                    self.value(value, indent, false, path, unique);
                    path.pop();
                }
            }
            Node::Sequence(items, _) => {
                for (index, item) in items.iter().enumerate() {
                    path.push(index.to_string());
                    // Where an anchored block item starts is the parser's choice: not checked.
                    let anchored_block =
                        matches!(item, Node::Anchored(inner) if Self::is_block(inner));
                    self.note(path, unique && !anchored_block);
                    self.push(&format!("{}- ", pad(index)));
                    self.value(item, indent, true, path, unique);
                    path.pop();
                }
            }
            Node::Anchored(inner) => self.block(inner, indent, first_inline, path, unique),
            other => {
                self.push(&pad(0));
                self.inline(other, path, unique);
                self.push("\n");
            }
        }
    }
}

fn keys_unique(entries: &[(String, bool, Node)]) -> bool {
    let mut keys: Vec<&str> = entries.iter().map(|(key, ..)| key.as_str()).collect();
    keys.sort_unstable();
    keys.windows(2).all(|pair| pair[0] != pair[1])
}

fn render(document: &Node, first_line: u32) -> Renderer {
    let mut renderer = Renderer {
        out: String::new(),
        line: first_line,
        anchors: 0,
        expected: Vec::new(),
    };
    renderer.block(document, 0, false, &mut Vec::new(), true);
    renderer
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_builds_what_serde_saphyr_builds(document in document()) {
        let rendered = render(&document, 1);
        let text = &rendered.out;
        let reference = reference_yaml_document(text);
        match walk(text, 1) {
            Ok(Walked { value: Some(value), .. }) => {
                prop_assert_eq!(Ok(value), reference.clone(), "fast path differs on\n{}", text);
            }
            Ok(Walked { value: None, .. }) => {}
            Err(()) => prop_assert!(reference.is_err(), "granit rejected what serde-saphyr reads:\n{}", text),
        }
        // With its fallback, the public parser is serde-saphyr, errors included.
        prop_assert_eq!(parse_yaml_document(text), reference);
    }

    #[test]
    fn every_field_is_on_the_line_it_was_written(document in document(), first_line in 1u32..500) {
        let rendered = render(&document, first_line);
        let Ok(walked) = walk(&rendered.out, first_line) else { return Ok(()) };
        let fields = FieldLines::new(walked.fields);
        for (path, line) in &rendered.expected {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            prop_assert_eq!(fields.line_of(&path), Some(*line), "{:?} in\n{}", path, rendered.out);
        }
    }
}

/// The fast path must handle most generated documents itself, or the property above is vacuous.
#[test]
fn fast_path_handles_most_generated_documents() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = document();
    let (mut exact, mut total) = (0, 0);
    for _ in 0..500 {
        let document = strategy.new_tree(&mut runner).unwrap().current();
        let text = render(&document, 1).out;
        total += 1;
        if matches!(walk(&text, 1), Ok(Walked { value: Some(_), .. })) {
            exact += 1;
        }
    }
    assert!(
        exact * 3 > total,
        "only {exact} of {total} documents took the fast path"
    );
}

/// Every YAML manifest in the repository: same objects, and every document on the fast path.
#[test]
fn real_manifests_load_exactly_as_serde_saphyr_reads_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let directories = [
        "examples",
        "crates/meshcheck/tests/conformance/istio/inputs",
        "crates/meshcheck-rules/tests/fixtures",
    ];
    let mut files = Vec::new();
    for directory in directories {
        let mut found = crate::collect_files(&[root.join(directory)]).unwrap();
        found.retain(|path| path.extension().is_some_and(|ext| ext != "json"));
        files.extend(found);
    }
    assert!(files.len() > 100, "only {} manifests found", files.len());
    let mut documents = 0;
    let mut report = String::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for document in crate::documents::split_for_tests(&text) {
            documents += 1;
            let reference = reference_yaml_document(document);
            match walk(document, 1) {
                Ok(Walked {
                    value: Some(value), ..
                }) if Ok(&value) == reference.as_ref() => {}
                Ok(Walked {
                    value: Some(value), ..
                }) => {
                    writeln!(
                        report,
                        "{}: differs: {value} vs {reference:?}",
                        path.display()
                    )
                    .unwrap();
                }
                // Deferring is right only where serde-saphyr has something to say.
                _ if reference.is_err() => {}
                _ => writeln!(report, "{}: not on the fast path", path.display()).unwrap(),
            }
        }
    }
    assert!(documents > 300, "only {documents} documents");
    assert!(report.is_empty(), "{report}");
}

#[test]
fn alias_bomb_is_cut_short_and_serde_saphyr_rejects_it() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..9 {
        let previous = level - 1;
        let refs = vec![format!("*a{previous}"); 10].join(", ");
        writeln!(text, "a{level}: &a{level} [{refs}]").unwrap();
    }
    let walked = walk(&text, 1).unwrap();
    assert!(walked.value.is_none(), "the bomb was expanded");
    let (message, _) = parse_yaml_document(&text).unwrap_err();
    assert!(message.contains("budget"), "{message}");
}

#[test]
fn small_aliases_are_expanded_on_the_fast_path() {
    let text = "base: &base {app: a, version: v1}\nother: *base\nlist: [&x 1, *x]\n";
    let walked = walk(text, 1).unwrap();
    let value = walked.value.expect("fast path");
    assert_eq!(value["other"], value["base"]);
    assert_eq!(value["list"], crate::json!([1, 1]));
    assert_eq!(Ok(value), reference_yaml_document(text));
}

#[test]
fn outside_the_subset_serde_saphyr_decides() {
    for text in [
        "a: !!str 1\n",
        "<<: {a: 1}\nb: 2\n",
        "a: 1\na: 2\n",
        "~: a\n",
        "a: .inf\n",
        "? [a]\n: b\n",
        "a: *nope\n",
        "a: &x [*x]\n",
        "a: [1, 2]\n---\nb: 2\n",
    ] {
        let walked = walk(text, 1);
        assert!(
            !matches!(walked, Ok(Walked { value: Some(_), .. })),
            "{text:?} took the fast path"
        );
        assert_eq!(parse_yaml_document(text), reference_yaml_document(text));
    }
    let value: Value = parse_yaml_document("<<: {a: 1}\nb: 2\n").unwrap();
    assert_eq!(value, crate::json!({"a": 1, "b": 2}));
}
