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
mod run;
pub mod standby;

pub use run::Run;
use sqlx::{AssertSqlSafe, Connection, Row};
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

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

const POSTGRES_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MYSQL_DEFAULT: &str = "mysql://root@127.0.0.1:3306/test";

impl Backend {
    /// The server URL used to create test databases.
    pub fn server_url(self) -> Option<String> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                std::env::var("COFFERDAM_TEST_POSTGRES")
                    .unwrap_or_else(|_| POSTGRES_DEFAULT.into()),
            ),
            Backend::MySql => {
                Some(std::env::var("COFFERDAM_TEST_MYSQL").unwrap_or_else(|_| MYSQL_DEFAULT.into()))
            }
        }
    }

    fn env_var(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => "COFFERDAM_TEST_POSTGRES",
            Backend::MySql => "COFFERDAM_TEST_MYSQL",
        }
    }
}

/// A database of its own for one test, dropped with this handle (after a
/// panic too): the server database with `DROP DATABASE`, the SQLite file with
/// its temporary directory.
#[derive(Debug)]
pub struct TestDb {
    /// The URL to give the migrator.
    pub url: String,
    /// Which backend it is on.
    pub backend: Backend,
    /// The database name (PostgreSQL, MySQL) or file path (SQLite).
    pub name: String,
    /// Where it was created: the server URL, or the SQLite directory.
    home: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "cfdm_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// Whether every backend must be reachable (in CI).
pub fn all_backends_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// Says, past the test harness's output capture, that a backend was skipped.
fn announce_skip(backend: Backend, url: &str, error: &str) {
    let message = format!(
        "note: skipped a {backend:?} test: cannot reach {} ({error}); start the server or set {} to enable these tests\n",
        cofferdam::redact(url),
        backend.env_var()
    );
    // Written to the real stderr so it shows even when the test passes.
    let _ = std::io::stderr().write_all(message.as_bytes());
}

/// A fresh, empty database on `backend`, or None when the backend is not
/// available on this machine (never in CI: there it panics).
pub async fn fresh_database(backend: Backend) -> Option<TestDb> {
    let name = unique_name();
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("cofferdam-tests").join(&name);
            std::fs::create_dir_all(&dir).expect("create a temporary directory");
            let path = dir.join("test.db");
            let url = format!("sqlite://{}?mode=rwc", path.display());
            Some(TestDb {
                url,
                backend,
                name: path.display().to_string(),
                home: dir.display().to_string(),
            })
        }
        Backend::Postgres | Backend::MySql => {
            let server = backend.server_url().expect("server backends have a URL");
            let created = create_database(backend, &server, &name).await;
            match created {
                Ok(url) => Some(TestDb {
                    url,
                    backend,
                    name,
                    home: server,
                }),
                Err(error) if !all_backends_required() => {
                    announce_skip(backend, &server, &error);
                    None
                }
                Err(error) => panic!(
                    "{backend:?} is required in CI but {} is unreachable: {error}",
                    cofferdam::redact(&server)
                ),
            }
        }
    }
}

async fn drop_database(backend: Backend, server: &str, name: &str) -> Result<(), String> {
    let drop = async {
        match backend {
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(server).await?;
                // FORCE ends the sessions a test left open (PostgreSQL 13+).
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            }
            Backend::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(server).await?;
                // An open transaction in the database would make the drop
                // wait for its metadata lock; not for long.
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "SET SESSION lock_wait_timeout = 20; DROP DATABASE IF EXISTS {name}"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            }
            Backend::Sqlite => unreachable!(),
        }
    };
    tokio::time::timeout(DROP_TIMEOUT, drop)
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())
}

async fn create_database(backend: Backend, server: &str, name: &str) -> Result<String, String> {
    let mut url = url::Url::parse(server).map_err(|e| e.to_string())?;
    let connect = async {
        match backend {
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(server).await?;
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            }
            Backend::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(server).await?;
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            }
            Backend::Sqlite => unreachable!(),
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), connect)
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// How long dropping a test database may take before it is reported as
/// left behind.
const DROP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Err(error) = self.remove() {
            // Panicking here would abort a test that is already unwinding;
            // say it instead (CI counts the databases left after the run).
            let _ = writeln!(
                std::io::stderr(),
                "warning: test database {} was not dropped: {error}",
                self.name
            );
        }
    }
}

impl TestDb {
    fn remove(&self) -> Result<(), String> {
        if self.backend == Backend::Sqlite {
            return std::fs::remove_dir_all(&self.home).map_err(|e| e.to_string());
        }
        let (backend, server, name) = (self.backend, self.home.clone(), self.name.clone());
        // `drop` cannot await, and it usually runs on a worker of the test's
        // runtime, where blocking on another runtime panics: a thread of its
        // own with a small runtime does the work.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(drop_database(backend, &server, &name))
        })
        .join()
        .map_err(|_| "the thread dropping it panicked".to_owned())?
    }
    /// Runs `sql` and returns every column of every row as text.
    pub async fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        macro_rules! rows {
            ($conn:ty) => {{
                let mut conn = <$conn>::connect(&self.url)
                    .await
                    .expect("connect to the test database");
                let rows = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let out = rows
                    .iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| row.try_get_unchecked::<Option<String>, _>(i).expect("text"))
                            .collect()
                    })
                    .collect();
                let _ = conn.close().await;
                out
            }};
        }
        match self.backend {
            Backend::Sqlite => rows!(sqlx::SqliteConnection),
            Backend::Postgres => rows!(sqlx::PgConnection),
            Backend::MySql => rows!(sqlx::MySqlConnection),
        }
    }

    /// Runs a statement.
    pub async fn execute(&self, sql: &str) {
        self.query(sql).await;
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
