//! `meshcheck serve`: the portal.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use meshcheck_server::{Config, RateLimit};

use crate::cli::ServeArgs;

/// Logs go to stderr; `RUST_LOG` adjusts what is kept (default: info).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
}

fn config(args: ServeArgs) -> anyhow::Result<Config> {
    let mut config = Config::new(args.data_dir, args.listen);
    config.database = args.database;
    config.blob_store = args.blob_store;
    config.max_upload_bytes = args.max_upload_bytes;
    if let Some(workers) = args.workers {
        config.workers = workers;
    }
    config.retain_days = args.retain_days;
    config.tls_cert = args.tls_cert;
    config.tls_key = args.tls_key;
    if !args.rate_limit.is_finite() || args.rate_limit < 0.0 {
        anyhow::bail!(
            "--rate-limit {}: expected 0 or more requests per second",
            args.rate_limit
        );
    }
    config.rate_limit = (args.rate_limit > 0.0).then(|| RateLimit {
        per_second: args.rate_limit,
        burst: (args.rate_limit * 2.0).max(1.0),
    });
    if let Some(url) = &args.public_url {
        let parsed = url::Url::parse(url).with_context(|| format!("--public-url {url}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            anyhow::bail!("--public-url {url}: expected http(s)://host[:port][/path]");
        }
    }
    config.public_url = args.public_url;
    Ok(config)
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    let config = config(args)?;
    // Metadata queries, verifications and analyses run on blocking threads. Tokio allows 512;
    // with the binary's allocator (mimalloc keeps memory per thread) a burst of 70 clients then
    // took the server to 1.3-1.7 GiB resident instead of under 200 MiB, and was slower.
    let blocking_threads = (config.workers * 2 + 8).max(16);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(blocking_threads)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = meshcheck_server::start(config).await?;
        eprintln!("meshcheck: portal listening on {}", server.url());
        server.run_until_signal().await
    })?;
    Ok(ExitCode::SUCCESS)
}
