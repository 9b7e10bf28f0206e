//! The test helper behind the CLI tests: `cli_child SET ARGS...` runs
//! `migrate ARGS...` on migration set `SET` (one of [`cofferdam_tests::cli_sets`])
//! and exits with its code, so that the tests see the real exit code, stdout
//! and stderr of the command. Tests start it through `CARGO_BIN_EXE_cli_child`.

use std::process::ExitCode;

fn main() -> ExitCode {
    cofferdam_tests::cli_sets::link();
    let mut args = std::env::args().skip(1);
    let Some(set) = args.next() else {
        eprintln!("usage: cli_child SET [MIGRATE ARGS...]");
        return ExitCode::from(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        match cofferdam::cli::MigrateCommand::try_parse_from(args) {
            Ok(command) => command.run(cofferdam::Migrator::new(&set)).await,
            Err(error) => {
                let _ = error.print();
                ExitCode::from(2)
            }
        }
    })
}
