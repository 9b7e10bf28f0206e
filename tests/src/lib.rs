//! Shared helpers for the integration tests: a fresh database per test on
//! each backend, and readers for what a user would look at (the tables in
//! the catalog, the rows of the history table).
//!
//! Server URLs come from `COFFERDAM_TEST_POSTGRES` and `COFFERDAM_TEST_MYSQL`
//! (defaults: the local servers of the CI machine). When a server cannot be
//! reached, its tests are skipped with a message that says how to enable
//! them, unless `CI` is set: in CI every backend is mandatory and an
//! unreachable server fails the test.

pub mod cli_sets;
pub mod galera;
pub mod lone_mariadb;
pub mod pgbouncer;
pub mod replica;
mod run;
pub mod standby;

use cofferdam::testing::TestDatabase;
pub use run::Run;

/// The backends the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a fresh temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server.
    Postgres,
    /// A fresh database on the MariaDB/MySQL server.
    MySql,
}

impl Backend {
    /// The engine in cofferdam's terms.
    pub fn engine(self) -> cofferdam::Backend {
        match self {
            Backend::Sqlite => cofferdam::Backend::Sqlite,
            Backend::Postgres => cofferdam::Backend::Postgres,
            Backend::MySql => cofferdam::Backend::MySql,
        }
    }

    /// The server URL used to create test databases.
    pub fn server_url(self) -> Option<String> {
        cofferdam::testing::server_url(self.engine())
    }
}

/// A database of its own for one test: a thin layer over
/// [`cofferdam::testing::TestDatabase`] (which drops it with the handle,
/// after a panic too) that keeps the readers these tests share.
#[derive(Debug)]
pub struct TestDb {
    /// The URL to give the migrator.
    pub url: String,
    /// Which backend it is on.
    pub backend: Backend,
    /// The database name (PostgreSQL, MySQL) or file path (SQLite).
    pub name: String,
    inner: TestDatabase,
}

/// Whether every backend must be reachable (in CI).
pub fn all_backends_required() -> bool {
    cofferdam::testing::engines_required()
}

/// A fresh, empty database on `backend`, or None when the backend is not
/// available on this machine (never in CI: there it panics).
pub async fn fresh_database(backend: Backend) -> Option<TestDb> {
    let inner = TestDatabase::new(backend.engine()).await?;
    Some(TestDb {
        url: inner.url().to_owned(),
        backend,
        name: inner.name().to_owned(),
        inner,
    })
}

impl TestDb {
    /// Runs `sql` and returns every column of every row as text.
    pub async fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.inner.query(sql).await
    }

    /// Runs a statement.
    pub async fn execute(&self, sql: &str) {
        self.inner.execute(sql).await;
    }

    /// The catalog without the history table, for comparing schemas.
    pub async fn snapshot(&self) -> cofferdam::testing::Snapshot {
        self.inner.snapshot().await
    }

    /// The user tables in the catalog, sorted.
    pub async fn tables(&self) -> Vec<String> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
            }
            Backend::MySql => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name"
            }
        };
        let mut tables: Vec<String> = self
            .query(sql)
            .await
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect();
        tables.sort();
        tables
    }

    /// The columns of `table`, sorted.
    pub async fn columns(&self, table: &str) -> Vec<String> {
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
            Backend::Postgres => format!(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
            Backend::MySql => format!(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
        };
        let mut columns: Vec<String> = self
            .query(&sql)
            .await
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect();
        columns.sort();
        columns
    }

    /// `(id, state)` of each history row, in application order; empty if the table does not exist.
    pub async fn history(&self, table: &str) -> Vec<(String, String)> {
        if !self.tables().await.iter().any(|t| t == table) {
            return Vec::new();
        }
        self.query(&format!("SELECT id, state FROM {table} ORDER BY seq"))
            .await
            .into_iter()
            .map(|row| {
                (
                    row[0].clone().unwrap_or_default(),
                    row[1].clone().unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// Generates one `#[tokio::test]` per backend for each scenario function
/// `async fn scenario(db: TestDb)`. Unavailable backends are skipped (not in CI).
#[macro_export]
macro_rules! backend_tests {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    if let Some(db) = $crate::fresh_database($crate::Backend::Sqlite).await { super::$scenario(db).await }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::fresh_database($crate::Backend::Postgres).await { super::$scenario(db).await }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    if let Some(db) = $crate::fresh_database($crate::Backend::MySql).await { super::$scenario(db).await }
                }
            }
        )*
    };
}

/// Prepares a child process the way the CLI tests run one: `DATABASE_URL`
/// set, no inherited logging or colour settings, a scratch working directory
/// (nothing lands in the source tree), piped output, killed when dropped.
pub fn isolate<'c>(
    command: &'c mut tokio::process::Command,
    url: &str,
) -> &'c mut tokio::process::Command {
    command
        .env("DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
}

/// Reads `lines` until one satisfies `wanted` and returns it. Panics, showing
/// every line read, when the stream ends or 60 s pass first.
pub async fn wait_for_line<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut tokio::io::Lines<R>,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let mut seen = String::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read a line of output") {
            if wanted(&line) {
                return Some(line);
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        None
    })
    .await;
    match found {
        Ok(Some(line)) => line,
        Ok(None) => panic!("the output ended before {what}; it was:\n{seen}"),
        Err(_) => panic!("no {what} within 60 s; the output was:\n{seen}"),
    }
}

/// A scratch crate source directory (an empty `lib.rs`) for `migrate new
/// --dir` and `migrate squash --dir`, under the temp dir; removed when
/// dropped, after a panic too.
#[derive(Debug)]
pub struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    /// Creates `cofferdam-tests/<name>_<pid>` afresh.
    pub fn new(name: &str) -> ScratchDir {
        let dir = std::env::temp_dir()
            .join("cofferdam-tests")
            .join(format!("{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the scratch dir");
        std::fs::write(dir.join("lib.rs"), "").expect("write lib.rs");
        ScratchDir(dir)
    }
}

impl std::ops::Deref for ScratchDir {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
