pub mod admin;
pub mod analyze;
pub mod collect;
pub mod diff;
pub mod inspect;
pub mod pack;
pub mod rules;
pub mod serve;
pub mod upload;

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "meshcheck",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}
