//! Progress callbacks, so the CLI can draw bars and tests can act at a given point.

/// Receives collection progress. Every method has a no-op default.
pub trait Progress: Sync {
    /// A new phase starts: `version`, `discovery`, `objects`.
    fn phase(&self, _name: &str) {}
    /// Discovery chose this many kinds to list.
    fn planned(&self, _kinds: usize) {}
    fn kind_started(&self, _api_version: &str, _kind: &str) {}
    /// A kind was listed completely (or recorded as a gap, then `objects` is 0).
    fn kind_done(&self, _api_version: &str, _kind: &str, _objects: usize) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
