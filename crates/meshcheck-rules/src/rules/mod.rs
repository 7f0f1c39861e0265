//! Rule families. Add a family here and its rules join the registry.

use crate::Rule;

pub mod istio;

/// Every family's rule list.
pub(crate) static FAMILIES: &[&[&[&Rule]]] = &[istio::FAMILIES];
