//! The test cluster helpers, for tests and benches that `mod support;`. The command and portal
//! helpers are declared by the tests that use them (`mod support { pub mod command; }`), so
//! that each test compiles only the helpers it calls.
pub mod cluster;
