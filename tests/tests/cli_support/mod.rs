//! Running `MigrateCommand` on a migration set defined in a test file, in a
//! child process, so that its exit code, stdout and stderr are the real ones.
//!
//! The child is the test binary itself, started with a filter that selects
//! only its `cli_child` test and with the set and arguments in the
//! environment. Each test file that uses this module declares:
//!
//! ```rust,ignore
//! #[test]
//! fn cli_child() {
//!     cli_support::child_entry();
//! }
//! ```
//!
//! `cli_child` returns at once when the environment does not ask for a run,
//! so in a normal `cargo test` it is an empty test.

#![allow(dead_code)] // Each test binary uses part of it.

use std::time::Duration;

const SET: &str = "COFFERDAM_CLI_CHILD_SET";
const ARGS: &str = "COFFERDAM_CLI_CHILD_ARGS";
/// Printed by the child before the command runs, so that the test harness's
/// own header can be cut off.
const MARKER: &str = "--- cofferdam cli child ---";

/// When started by [`migrate`], runs the command and exits with its code.
pub fn child_entry() {
    let Ok(set) = std::env::var(SET) else {
        return;
    };
    let args: Vec<String> =
        serde_json::from_str(&std::env::var(ARGS).expect("arguments")).expect("a JSON array");
    println!("{MARKER}");
    eprintln!("{MARKER}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let code = runtime.block_on(async {
        match cofferdam::cli::MigrateCommand::try_parse_from(&args) {
            Ok(command) => command.exit_code(cofferdam::Migrator::new(&set)).await,
            Err(error) => {
                let _ = error.print();
                2
            }
        }
    });
    std::process::exit(i32::from(code));
}

pub use cofferdam_tests::Run;

/// Runs `migrate <args>` for migration set `set` against `url`.
pub async fn migrate(set: &str, url: &str, args: &[&str]) -> Run {
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = tokio::process::Command::new(exe);
    command
        .args(["cli_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(SET, set)
        .env(ARGS, serde_json::to_string(args).unwrap());
    let child = cofferdam_tests::isolate(&mut command, url)
        .spawn()
        .expect("start the test binary");
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the child finished in time")
        .expect("the child ran");
    let after_marker = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        match text.split_once(&format!("{MARKER}\n")) {
            Some((_, rest)) => rest.to_owned(),
            None => text,
        }
    };
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: after_marker(&output.stdout),
        stderr: after_marker(&output.stderr),
    }
}
