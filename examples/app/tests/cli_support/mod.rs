//! Running `example-app migrate ...` as a child process, the way an operator
//! or a CI job runs it, and reading what it printed and how it exited.

#![allow(dead_code)] // Each test binary uses part of it.

use std::time::Duration;
use tokio::process::{Child, Command};

/// The history table the example uses.
pub const HISTORY: &str = "cofferdam_history";

/// The example's revisions, in the order `up` applies them.
pub const ALL: [&str; 4] = [
    "create_articles",
    "add_slug",
    "create_authors",
    "link_authors",
];

/// Bound on every run; reaching it is a failure, not slowness.
const PATIENCE: Duration = Duration::from_secs(60);

pub use cofferdam_tests::Run;

/// `example-app migrate <args>` with `DATABASE_URL=url`, run in a scratch
/// directory so that nothing lands in the source tree.
pub fn command(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_example-app"));
    cofferdam_tests::isolate(command.arg("migrate").args(args), url);
    command
}

/// Runs `example-app migrate <args>` against `url` to the end.
pub async fn migrate(url: &str, args: &[&str]) -> Run {
    let child = command(url, args).spawn().expect("start example-app");
    finish(child).await
}

/// Waits for a started child and collects its output.
pub async fn finish(child: Child) -> Run {
    let output = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("example-app finished in time")
        .expect("example-app ran");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The ids in `rows` (from `TestDb::history`), with their states.
pub fn ids(rows: &[(String, String)]) -> Vec<&str> {
    rows.iter().map(|(id, _)| id.as_str()).collect()
}
