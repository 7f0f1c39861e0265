//! Inputs: turns manifests (YAML, JSON, multi-document streams, `kind: List`) into [`Object`]s that
//! remember the file and line they came from.
//!
//! Loading never stops at the first bad document: each problem becomes a [`LoadIssue`] naming
//! file:line:column and the remaining documents still load.

mod documents;
#[cfg(test)]
mod equivalence_tests;
mod fields;
mod files;
mod object;
mod scalar;
mod value;
mod yaml;

pub use documents::{
    ParseError, parse_documents, parse_files, parse_json_document, parse_yaml_document,
};
pub use fields::FieldLines;
pub use files::{InputError, LoadOutcome, collect_files, load_paths, load_reader};
pub use object::{LoadIssue, Object, ObjectKey, Severity, SourceRef};
pub use value::{Key, Map, Number, Value, ValueIndex};
