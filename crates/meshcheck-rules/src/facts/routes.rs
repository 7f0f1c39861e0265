//! HTTP routes of VirtualServices, as the resilience and fault rules read them.

use std::ops::Deref;

use meshcheck_input::Value;
use meshcheck_model::Resource;
use meshcheck_model::virtual_service::HttpRoute as RouteView;

use super::duration;

/// One `spec.http[i]` entry, as the model read it (its fields are reachable through `Deref`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpRoute<'a>(&'a RouteView<'a>);

impl<'a> Deref for HttpRoute<'a> {
    type Target = RouteView<'a>;

    fn deref(&self) -> &RouteView<'a> {
        self.0
    }
}

impl<'a> HttpRoute<'a> {
    /// `http[0]`, or `http[0] (name)` when the route is named.
    pub fn label(&self) -> String {
        match self.0.name {
            "" => format!("http[{}]", self.index),
            name => format!("http[{}] ({name})", self.index),
        }
    }

    /// Path of a field of this route, e.g. `path(&["retries"])`.
    pub fn path(&self, below: &[&str]) -> Vec<String> {
        ["spec".to_owned(), "http".to_owned(), self.index.to_string()]
            .into_iter()
            .chain(below.iter().map(|part| (*part).to_owned()))
            .collect()
    }

    /// Whether the route forwards to destinations (not a redirect or a direct response).
    pub fn forwards(&self) -> bool {
        self.0.forwards
    }

    /// The destination hosts of the route, in order.
    pub fn hosts(&self) -> &'a [&'a str] {
        &self.0.hosts
    }

    /// `timeout` in seconds (`Some(0.0)` when explicitly disabled).
    pub fn timeout(&self) -> Option<f64> {
        self.0.timeout.and_then(duration::seconds)
    }

    /// The `retries` block, when present.
    pub fn retries(&self) -> Option<&'a Value> {
        self.0.retries
    }
}

/// The HTTP routes of a VirtualService.
pub(crate) fn http_routes(vs: &Resource) -> impl Iterator<Item = HttpRoute<'_>> {
    vs.routes()
        .into_iter()
        .flat_map(|routes| &routes.http)
        .map(HttpRoute)
}

/// Borrows an owned path as the `&[&str]` the sink wants.
pub(crate) fn as_path(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

/// `retries.attempts` (absent: Istio's default of 2 applies only without a `retries` block).
pub(crate) fn attempts(retries: &Value) -> Option<i64> {
    retries.get("attempts").and_then(|attempts| match attempts {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    })
}
