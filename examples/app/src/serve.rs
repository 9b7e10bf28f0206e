//! The `serve` command: the example HTTP API. (Owned by the drain work; stub for now.)

/// Options of `example-app serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: std::net::SocketAddr,
}

/// Runs the server until it is shut down.
pub async fn run(_args: ServeArgs) -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
