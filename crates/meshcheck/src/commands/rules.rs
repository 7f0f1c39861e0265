//! `meshcheck rules` and `meshcheck explain`.

use std::fmt::Write;
use std::process::ExitCode;

use anyhow::bail;
use meshcheck_rules::{Rule, registry};

use crate::cli::{ExplainArgs, RulesArgs, RulesFormat};

pub fn list(args: RulesArgs) -> anyhow::Result<ExitCode> {
    let rules = registry::all();
    match args.output {
        RulesFormat::Json => {
            let metas: Vec<_> = rules.iter().map(|rule| &rule.meta).collect();
            println!("{}", serde_json::to_string_pretty(&metas)?);
        }
        RulesFormat::Text => {
            let mut out = String::new();
            for rule in rules {
                let meta = &rule.meta;
                let istio = if meta.istio_codes.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", meta.istio_codes.join(","))
                };
                let _ = writeln!(
                    out,
                    "{:<6} {:<8} {:<19} {:<40} {}{istio}",
                    meta.code, meta.severity, meta.category, meta.name, meta.summary
                );
            }
            let _ = writeln!(
                out,
                "{} rules. `meshcheck explain CODE` tells more.",
                rules.len()
            );
            print!("{out}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn find(code: &str) -> Vec<&'static Rule> {
    if let Some(rule) = registry::find(code) {
        return vec![rule];
    }
    registry::all()
        .iter()
        .copied()
        .filter(|rule| {
            rule.meta
                .istio_codes
                .iter()
                .any(|istio| istio.eq_ignore_ascii_case(code))
        })
        .collect()
}

pub fn explain(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let rules = find(&args.code);
    if rules.is_empty() {
        bail!("no rule {:?}: `meshcheck rules` lists them", args.code);
    }
    for rule in rules {
        let meta = &rule.meta;
        println!(
            "{} {} ({}, {})",
            meta.code,
            meta.name,
            meta.category.title(),
            meta.severity
        );
        println!("{}\n", meta.summary);
        if let Some(analyzer) = meta.istio_analyzer {
            println!(
                "Mirrors Istio's {analyzer} ({}).\n",
                meta.istio_codes.join(", ")
            );
        }
        println!("{}", meta.explanation.trim_end());
        println!(
            "\nReads: {}",
            meta.inputs
                .iter()
                .map(|kind| kind.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!("Docs: {}\n", meta.docs_url);
    }
    Ok(ExitCode::SUCCESS)
}
