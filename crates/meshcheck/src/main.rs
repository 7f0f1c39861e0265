//! The `meshcheck` command line.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// An analysis builds and frees millions of small JSON nodes; mimalloc does that markedly faster
/// than the system allocator (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes: 0 clean (or below `--fail-on`), 1 findings at or above `--fail-on`, 2 usage or
/// input errors.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => commands::analyze::run(args),
        Command::Collect(args) => commands::collect::run(args),
        Command::Pack(args) => commands::pack::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::Diff(args) => commands::diff::run(args),
        Command::Upload(args) => commands::upload::run(args),
        Command::Rules(args) => commands::rules::list(args),
        Command::Explain(args) => commands::rules::explain(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Admin(command) => commands::admin::run(command),
        Command::Completions(args) => commands::completions(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("meshcheck: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
