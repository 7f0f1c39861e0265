//! meshcheck's rules. Each rule lives in its own file under `rules/<family>/`, declares its
//! metadata with [`declare_rule!`] (its doc comment is what `meshcheck explain` prints) and is
//! listed once in [`registry`].

mod context;
pub mod engine;
pub mod facts;
pub mod finding;
pub mod istio_messages;
pub mod registry;
mod rule;
pub mod rules;

pub use context::{Context, ReferenceData};
pub use engine::{RunOptions, Suppression, run, run_timed};
pub use facts::prepare;
pub use finding::{Absence, Finding, ResourceRef, Sink, SourceLocation};
pub use rule::{Category, Rule, RuleMeta, Severity};

#[cfg(test)]
pub(crate) mod testing;
