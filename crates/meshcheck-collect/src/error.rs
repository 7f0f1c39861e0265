//! Errors that abort a collection. Per-kind failures are not errors: they become gaps.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CollectError {
    /// No usable kubeconfig / in-cluster configuration, or the context does not exist.
    #[error("kubeconfig: {0}")]
    Config(String),
    /// The API server cannot be reached (refused, DNS, TLS, timeouts after retries).
    #[error("cannot reach the Kubernetes API server {server} (context {context}): {reason}")]
    Unreachable {
        server: String,
        context: String,
        reason: String,
    },
    /// The credentials were rejected (401) or an auth plugin failed.
    #[error(
        "the Kubernetes API server {server} (context {context}) rejected the credentials: {reason}"
    )]
    Unauthorized {
        server: String,
        context: String,
        reason: String,
    },
    /// Something the collector cannot do without (the API group list) failed.
    #[error("{what} failed on {server}: {reason}")]
    Request {
        what: String,
        server: String,
        reason: String,
    },
}
