//! The meshcheck binary as the integration tests run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root, where `examples/` lives.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs meshcheck in the workspace root without colours, and without the portal settings
/// (`MESHCHECK_DATA_DIR`, `MESHCHECK_DATABASE`) of the environment running the tests.
pub fn meshcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshcheck"))
        .args(args)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .env_remove("MESHCHECK_DATA_DIR")
        .env_remove("MESHCHECK_DATABASE")
        .output()
        .expect("meshcheck runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
