//! Helpers for RequestAuthentication `jwtRules`.

use meshcheck_input::Value;
use meshcheck_model::{Resource, items};

/// Each JWT rule of a RequestAuthentication with its index.
pub(crate) fn jwt_rules(policy: &Resource) -> impl Iterator<Item = (usize, &Value)> {
    items(policy.spec().get("jwtRules")).enumerate()
}
