//! meshcheck's portal (`meshcheck serve`): teams upload snapshot archives, the server analyses
//! them off the request path and keeps every report per tenant, so a fleet's history can be
//! read back.
//!
//! - [`store`]: metadata (tenants, tokens, snapshots, audit log) behind a trait; SQLite by
//!   default.
//! - [`blobs`]: archives and reports in an object store (local directory or S3).
//! - `api`: the JSON API; `web`: pages for browsers; both authenticate with [`auth`].
//! - `worker`: the bounded analysis pool; `retention`: pruning and the orphan sweep.

pub mod api;
pub mod auth;
pub mod blobs;
pub mod config;
pub mod metrics;
mod ratelimit;
mod retention;
mod security;
mod server;
pub mod state;
pub mod store;
pub mod tokens;
mod web;
mod worker;

pub use config::{Config, RateLimit};
pub use server::{RunningServer, router, start};
pub use store::Role;
