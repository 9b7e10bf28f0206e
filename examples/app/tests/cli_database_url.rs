//! Where `migrate` finds its database, run through the real binary in a
//! scratch working directory: `--database-url`, then `DATABASE_URL`, then
//! `DATABASE_URL` in `./.env`, then a SQLite file named after the binary.
//! An empty or blank value, or a SQLite URL with no path, is refused and
//! creates nothing; the test looks at the files left in the directory.
//! `serve` resolves its URL the same way.

mod cli_support;

use cli_support::{Run, finish};
use std::path::{Path, PathBuf};
use tokio::process::Command;

/// A scratch working directory, removed on drop.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(name: &str) -> WorkDir {
        let dir = std::env::temp_dir()
            .join("cofferdam-tests")
            .join(format!("url_{}_{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        WorkDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// The files in the directory, sorted, except `.env`.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("list the scratch directory")
            .map(|entry| entry.expect("a directory entry").file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .filter(|name| name != ".env")
            .collect();
        names.sort();
        names
    }

    fn dot_env(&self, text: &str) {
        std::fs::write(self.0.join(".env"), text).expect("write .env");
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `example-app migrate <args>` in `dir`, with `DATABASE_URL` set to `env`
/// or absent.
async fn migrate_in(dir: &WorkDir, env: Option<&str>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_example-app"));
    cofferdam_tests::isolate(command.arg("migrate").args(args), "");
    command.current_dir(dir.path());
    match env {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    finish(command.spawn().expect("start example-app")).await
}

#[tokio::test]
async fn empty_and_blank_urls_are_usage_errors_and_create_nothing() {
    let dir = WorkDir::new("empty");
    for value in ["", "   "] {
        for verb in ["up", "status"] {
            migrate_in(&dir, Some(value), &[verb])
                .await
                .expect(2)
                .stderr_has("error: DATABASE_URL is set but empty; set it to a URL")
                .stderr_has("nothing was changed");
            migrate_in(&dir, None, &[verb, "--database-url", value])
                .await
                .expect(2)
                .stderr_has("error: --database-url is empty");
        }
        // The flag wins over the variable, so an empty flag is refused even
        // with a good DATABASE_URL.
        migrate_in(
            &dir,
            Some("sqlite://env.db?mode=rwc"),
            &["up", "--database-url", value],
        )
        .await
        .expect(2);
        dir.dot_env(&format!("DATABASE_URL={value}\n"));
        migrate_in(&dir, None, &["up"])
            .await
            .expect(2)
            .stderr_has("error: DATABASE_URL in ./.env is empty");
    }
    assert_eq!(dir.files(), Vec::<String>::new());
}

#[tokio::test]
async fn sqlite_urls_without_a_path_are_refused() {
    let dir = WorkDir::new("nopath");
    for url in ["sqlite://", "sqlite:", "sqlite://?mode=rwc"] {
        migrate_in(&dir, Some(url), &["up"])
            .await
            .expect(1)
            .stderr_has("it names no file; write sqlite://PATH?mode=rwc");
    }
    assert_eq!(dir.files(), Vec::<String>::new());
}

#[tokio::test]
async fn a_sqlite_file_without_mode_rwc_says_what_to_add() {
    let dir = WorkDir::new("nomode");
    // Reading creates nothing: the missing file reads as an empty database.
    migrate_in(&dir, Some("sqlite://app.db"), &["status"])
        .await
        .expect(3);
    migrate_in(&dir, Some("sqlite://app.db"), &["up"])
        .await
        .expect(1)
        .stderr_has("the SQLite file `app.db` does not exist")
        .stderr_has("add `mode=rwc`: sqlite://app.db?mode=rwc");
    assert_eq!(dir.files(), Vec::<String>::new());
    // What the message says to write works.
    migrate_in(&dir, Some("sqlite://app.db?mode=rwc"), &["up"])
        .await
        .expect(0);
    assert!(dir.files().contains(&"app.db".to_owned()));
    // Once the file exists, the URL without `mode` opens it.
    migrate_in(&dir, Some("sqlite://app.db"), &["status"])
        .await
        .expect(0);
}

#[tokio::test]
async fn flag_then_environment_then_dot_env_then_the_default() {
    let dir = WorkDir::new("precedence");
    // RUST_LOG in .env would turn on the debug logs if the file were
    // loaded into the environment: only DATABASE_URL is read from it.
    dir.dot_env("# a comment\nRUST_LOG=debug\nDATABASE_URL=sqlite://dotenv.db?mode=rwc\n");
    let env = Some("sqlite://env.db?mode=rwc");

    migrate_in(
        &dir,
        env,
        &["up", "--database-url", "sqlite://flag.db?mode=rwc"],
    )
    .await
    .expect(0);
    assert!(dir.files().contains(&"flag.db".to_owned()));
    assert!(!dir.files().contains(&"env.db".to_owned()));

    migrate_in(&dir, env, &["up"]).await.expect(0);
    assert!(dir.files().contains(&"env.db".to_owned()));
    assert!(!dir.files().contains(&"dotenv.db".to_owned()));

    let run = migrate_in(&dir, None, &["up"])
        .await
        .expect(0)
        .stderr_has("note: using DATABASE_URL from the .env file in the working directory");
    assert!(dir.files().contains(&"dotenv.db".to_owned()));
    assert!(
        !run.stderr.contains("INFO") && !run.stderr.contains("DEBUG"),
        "RUST_LOG from .env reached the environment: {}",
        run.stderr
    );

    // A .env without DATABASE_URL falls through to the default, which is
    // named on stderr; a read creates nothing, `up` creates the file.
    dir.dot_env("OTHER=1\n");
    migrate_in(&dir, None, &["status"])
        .await
        .expect(3)
        .stderr_has("note: no database URL given (--database-url, DATABASE_URL or a .env file); using the default `sqlite://example-app.db?mode=rwc`");
    assert!(!dir.files().contains(&"example-app.db".to_owned()));
    migrate_in(&dir, None, &["up"])
        .await
        .expect(0)
        .stderr_has("using the default `sqlite://example-app.db?mode=rwc`");
    assert!(dir.files().contains(&"example-app.db".to_owned()));
}

#[tokio::test]
async fn an_invalid_history_table_is_a_usage_error_before_connecting() {
    let dir = WorkDir::new("history");
    for name in ["x; DROP TABLE y", "a.b.c", ""] {
        // An unreachable server: exit 2 rather than 9 shows nothing tried
        // to connect.
        migrate_in(
            &dir,
            Some("postgres://app@127.0.0.1:1/app"),
            &["status", "--connect-timeout", "5", "--history-table", name],
        )
        .await
        .expect(2)
        .stderr_has("invalid history table name");
        migrate_in(
            &dir,
            Some("sqlite://app.db?mode=rwc"),
            &["up", "--history-table", name],
        )
        .await
        .expect(2);
    }
    assert_eq!(dir.files(), Vec::<String>::new());
}

/// `example-app serve <args>` in `dir`, with `DATABASE_URL` set to `env`
/// or absent.
async fn serve_in(dir: &WorkDir, env: Option<&str>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_example-app"));
    cofferdam_tests::isolate(command.arg("serve").args(args), "");
    command.current_dir(dir.path());
    match env {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    finish(command.spawn().expect("start example-app")).await
}

/// `serve` finds its database exactly as `migrate` does: an empty flag or
/// variable is a usage error that creates nothing, and `./.env` is read.
#[tokio::test]
async fn serve_finds_its_database_as_migrate_does() {
    let dir = WorkDir::new("serve");
    serve_in(&dir, None, &["--database-url", ""])
        .await
        .expect(2)
        .stderr_has("error: --database-url is empty");
    serve_in(&dir, Some("  "), &[])
        .await
        .expect(2)
        .stderr_has("error: DATABASE_URL is set but empty");
    assert_eq!(dir.files(), Vec::<String>::new());

    // Migrations run before the server listens; a port the test holds
    // makes `serve` stop right after them, so it needs no signal.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let listen = taken.local_addr().expect("its address").to_string();
    dir.dot_env("DATABASE_URL=sqlite://dotenv.db?mode=rwc\n");
    serve_in(&dir, None, &["--migrate", "--listen", &listen])
        .await
        .expect(1)
        .stderr_has("note: using DATABASE_URL from the .env file in the working directory")
        .stdout_has("migrations: applied 4 revision(s)")
        .stderr_has("cannot listen on");
    assert!(
        dir.files().contains(&"dotenv.db".to_owned()),
        "{:?}",
        dir.files()
    );
}
