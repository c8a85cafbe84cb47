//! The `lifeboat` binary: parse the command line, set up logging, run.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = lifeboat::cli::Cli::parse();
    lifeboat::telemetry::init(cli.log_format);
    lifeboat::cli::run(cli).await
}
