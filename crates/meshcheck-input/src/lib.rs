//! Inputs: turns manifests (YAML, JSON, multi-document streams, `kind: List`) into [`Object`]s that
//! remember the file and line they came from.
//!
//! Loading never stops at the first bad document: each problem becomes a [`LoadIssue`] naming
//! file:line:column and the remaining documents still load.

mod documents;
mod files;
mod locate;
mod object;

pub use documents::{parse_documents, parse_json_document, parse_yaml_document};
pub use files::{InputError, LoadOutcome, collect_files, load_paths, load_reader};
pub use locate::line_of_path;
pub use object::{LoadIssue, Object, ObjectKey, Severity, SourceRef};
