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
    // Built whole and written once: `meshcheck explain X | head` closes the pipe early, which
    // must end the output quietly rather than panic as `println!` does.
    let mut text = String::new();
    for rule in rules {
        let meta = &rule.meta;
        text.push_str(&format!(
            "{} {} ({}, {})\n{}\n\n",
            meta.code,
            meta.name,
            meta.category.title(),
            meta.severity,
            meta.summary
        ));
        if let Some(analyzer) = meta.istio_analyzer {
            text.push_str(&format!(
                "Mirrors Istio's {analyzer} ({}).\n\n",
                meta.istio_codes.join(", ")
            ));
        }
        text.push_str(meta.explanation.trim_end());
        text.push_str(&format!(
            "\n\nReads: {}\nDocs: {}\n\n",
            meta.inputs
                .iter()
                .map(|kind| kind.name())
                .collect::<Vec<_>>()
                .join(", "),
            meta.docs_url
        ));
    }
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(ExitCode::SUCCESS)
}
