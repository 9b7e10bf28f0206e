//! [`TestDatabase`]: a database of its own for one test, dropped with the
//! handle.

use super::snapshot::Snapshot;
use super::{server_and_source, skip, template, unique_name};
use crate::backend::{Backend, Conn, Statement};
use crate::{DEFAULT_HISTORY_TABLE, Migrator, redact};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// How long connecting, creating or dropping a test database may take: long
/// enough for a loaded CI machine, short enough to say what hangs.
const SERVER_TIMEOUT: Duration = Duration::from_secs(30);

/// A database of its own for one test: an empty one ([`TestDatabase::new`])
/// or one migrated to head or to a revision ([`TestDatabase::migrated`]).
///
/// Dropping the handle drops the database (`DROP DATABASE`, or the SQLite
/// file and its directory), also when the test panicked. The readers
/// ([`query`](TestDatabase::query), [`execute`](TestDatabase::execute),
/// [`exec`](TestDatabase::exec)) open a connection per call and panic on an
/// error with the SQL in the message: they are for tests. For the
/// application's own code, [`pool`](TestDatabase::pool) hands out an sqlx
/// pool.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    name: String,
    home: Home,
}

/// Where a test database lives, to remove it.
#[derive(Debug)]
enum Home {
    /// A SQLite file in this temporary directory.
    Directory(PathBuf),
    /// A database on the server at this URL.
    Server(String),
}

impl TestDatabase {
    /// A fresh, empty database on `backend`, or None when the engine is not
    /// available here (the server is unreachable, or cofferdam's feature for
    /// the engine is off): the test should then return. In CI (`CI` set)
    /// an unavailable engine panics instead.
    pub async fn new(backend: Backend) -> Option<TestDatabase> {
        if !backend.is_enabled() {
            skip(
                backend,
                &format!("the `{backend}` feature of cofferdam is off"),
            );
            return None;
        }
        let name = unique_name();
        let Some(create) = backend.engine().create_database(&name) else {
            let dir = std::env::temp_dir().join("cofferdam-tests").join(&name);
            std::fs::create_dir_all(&dir).expect("create a temporary directory");
            let path = dir.join("test.db");
            return Some(TestDatabase {
                url: format!("sqlite://{}?mode=rwc", path.display()),
                backend,
                name: path.display().to_string(),
                home: Home::Directory(dir),
            });
        };
        let (server, source) = server_and_source(backend);
        match on_server(&server, &create).await {
            Ok(()) => Some(TestDatabase::on(backend, server, name)),
            Err(error) => {
                unreachable_server(backend, &server, &source, &error);
                None
            }
        }
    }

    /// A fresh database on `backend` migrated to the head of `migrator`'s
    /// set (destructive revisions included), or None as for [`new`](TestDatabase::new).
    /// On PostgreSQL it is cloned from a template migrated once (see the
    /// module docs). Panics when a migration fails.
    pub async fn migrated(backend: Backend, migrator: &Migrator) -> Option<TestDatabase> {
        let head = migrator
            .graph()
            .and_then(|graph| graph.head())
            .unwrap_or_else(|error| panic!("{}", crate::report(&error)));
        TestDatabase::migrated_to(backend, migrator, head).await
    }

    /// Like [`migrated`](TestDatabase::migrated), up to `target` and its
    /// ancestors only.
    pub async fn migrated_to(
        backend: Backend,
        migrator: &Migrator,
        target: &str,
    ) -> Option<TestDatabase> {
        let migrator = migrator.clone().allow_destructive(true);
        if let Some(sql) = backend.engine().template()
            && backend.is_enabled()
        {
            let (server, source) = server_and_source(backend);
            return match template::clone(sql, &server, &migrator, target).await {
                Ok(name) => Some(TestDatabase::on(backend, server, name)),
                Err(template::Failure::Migration(error)) => {
                    panic!(
                        "migrating the template to `{target}` failed: {}",
                        crate::report(&error)
                    )
                }
                Err(template::Failure::Server(error)) => {
                    unreachable_server(backend, &server, &source, &error);
                    None
                }
            };
        }
        let db = TestDatabase::new(backend).await?;
        if let Err(error) = migrator.up_to(&db.url, target).await {
            panic!(
                "migrating the test database to `{target}` failed: {}",
                crate::report(&error)
            );
        }
        Some(db)
    }

    fn on(backend: Backend, server: String, name: String) -> TestDatabase {
        TestDatabase {
            url: database_url(&server, &name),
            backend,
            name,
            home: Home::Server(server),
        }
    }

    /// The URL to give the migrator or the application.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database name (`cfdm_...`), or the SQLite file's path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An sqlx pool on the database, for the code under test:
    /// `db.pool::<sqlx::Postgres>().await`. Close it or drop it before the
    /// test ends; the database is dropped regardless (PostgreSQL ends
    /// leftover sessions, MySQL waits for them up to 20 s).
    pub async fn pool<DB: sqlx::Database>(&self) -> sqlx::Pool<DB> {
        sqlx::pool::PoolOptions::<DB>::new()
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("connect to {}: {error}", redact(&self.url)))
    }

    /// Runs `sql` and returns every column of every row as text (NULL as
    /// None). Panics on an error, naming the SQL.
    pub async fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let mut conn = self.connect().await;
        let rows = conn.fetch_text(sql).await;
        conn.close().await;
        rows.unwrap_or_else(|error| {
            panic!(
                "{sql}: {}",
                crate::backend::describe(&error).unwrap_or_else(|| error.to_string())
            )
        })
    }

    /// Runs one or more statements. Panics on an error, naming the SQL.
    pub async fn execute(&self, sql: &str) {
        let mut conn = self.connect().await;
        let result = conn.execute_batch(sql).await;
        conn.close().await;
        if let Err(error) = result {
            let source = error.source;
            panic!(
                "{sql}: {}",
                crate::backend::describe(&source).unwrap_or_else(|| source.to_string())
            );
        }
    }

    /// Runs a statement built with sea-query (`Query::insert()...`),
    /// rendered for this engine.
    pub async fn exec(&self, statement: impl Statement) {
        self.execute(&statement.to_sql(self.backend)).await;
    }

    /// The catalog, without the default history table (see [`Snapshot`]).
    pub async fn snapshot(&self) -> Snapshot {
        self.snapshot_without(DEFAULT_HISTORY_TABLE).await
    }

    /// The catalog, without `history_table`.
    pub async fn snapshot_without(&self, history_table: &str) -> Snapshot {
        let mut conn = self.connect().await;
        let snapshot = Snapshot::read(&mut conn, history_table).await;
        conn.close().await;
        snapshot.unwrap_or_else(|error| panic!("reading the catalog of {}: {error}", self.name))
    }

    async fn connect(&self) -> Conn {
        Conn::connect(&self.url, SERVER_TIMEOUT, Duration::from_secs(5))
            .await
            .unwrap_or_else(|error| panic!("{}", crate::report(&error)))
    }

    fn remove(&self) -> Result<(), String> {
        let server = match &self.home {
            Home::Directory(dir) => return std::fs::remove_dir_all(dir).map_err(|e| e.to_string()),
            Home::Server(server) => server.clone(),
        };
        let Some(sql) = self.backend.engine().drop_database(&self.name) else {
            return Ok(());
        };
        // `drop` cannot await, and usually runs on a worker of the test's
        // runtime, where blocking on another runtime panics: a thread of its
        // own with a small runtime does the work.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(on_server(&server, &sql))
        })
        .join()
        .map_err(|_| "the thread dropping it panicked".to_owned())?
    }
}

impl Drop for TestDatabase {
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

/// The URL of database `name` on `server`: the server's with its path replaced.
pub(super) fn database_url(server: &str, name: &str) -> String {
    match url::Url::parse(server) {
        Ok(mut url) => {
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        Err(_) => panic!("the test server URL {} is not a URL", redact(server)),
    }
}

/// Connects to `server`, runs `sql`, disconnects; the error as text.
pub(super) async fn on_server(server: &str, sql: &str) -> Result<(), String> {
    let work = async {
        let mut conn = Conn::connect(server, SERVER_TIMEOUT, Duration::from_secs(5))
            .await
            .map_err(|error| error.to_string())?;
        let result = conn.execute_batch(sql).await;
        conn.close().await;
        result.map_err(|error| error.source.to_string())
    };
    tokio::time::timeout(SERVER_TIMEOUT, work)
        .await
        .map_err(|_| format!("timed out after {} s", SERVER_TIMEOUT.as_secs()))?
}

/// Skips (or, in CI, fails) a test whose server cannot be used.
fn unreachable_server(backend: Backend, server: &str, source: &str, error: &str) {
    skip(
        backend,
        &format!(
            "cannot create a database on {} ({source}): {error}; start the server or point the variable at one",
            redact(server)
        ),
    );
}
