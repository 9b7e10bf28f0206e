//! Run with
//!
//! ```not_rust
//! cargo run -p example-app -- migrate up
//! cargo run -p example-app -- serve
//! ```
//!
//! A small service that mounts cofferdam's `migrate` subcommand beside its own
//! `serve` command, the way a production binary would.

mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The example application.
#[derive(Debug, Parser)]
#[command(name = "example-app", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(serve::ServeArgs),
    /// Manage the database schema.
    Migrate(cofferdam::cli::MigrateCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Migrate(command) => command.run(example_migrations::migrator()).await,
        }
    })
}
