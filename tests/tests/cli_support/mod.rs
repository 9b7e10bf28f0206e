//! Running the `migrate` command on a migration set of
//! `cofferdam_tests::cli_sets` in a child process (the `cli_child` helper
//! binary), so that its exit code, stdout and stderr are the real ones.

use std::time::Duration;

pub use cofferdam_tests::Run;

/// Runs `migrate <args>` for migration set `set` against `url`.
pub async fn migrate(set: &str, url: &str, args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_cli_child"));
    command.arg(set).args(args);
    let child = cofferdam_tests::isolate(&mut command, url)
        .spawn()
        .expect("start the cli_child helper");
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the child finished in time")
        .expect("the child ran");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
