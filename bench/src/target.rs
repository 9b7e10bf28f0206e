//! Fresh, empty databases: one per variant and round, dropped afterwards.
//!
//! PostgreSQL: `CREATE DATABASE bench_<variant>_<pid>_<round>` on the server
//! of `--pg-url`. SQLite: a file in its own folder under the temp directory
//! (cofferdam puts its lock file beside the database).

use crate::BoxError;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::path::PathBuf;

/// The database engine a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// PostgreSQL, at `--pg-url`.
    Postgres,
    /// SQLite files in the temp directory.
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// One fresh database.
#[derive(Debug, Clone)]
pub struct Database {
    /// PostgreSQL database name, or the SQLite folder's name.
    pub name: String,
    /// What cofferdam and sqlx connect to.
    pub url: String,
    /// The SQLite file (refinery opens it with rusqlite).
    pub path: Option<PathBuf>,
}

/// Creates and drops the databases of one run.
#[derive(Debug)]
pub struct Databases {
    backend: Backend,
    admin_url: url::Url,
    dir: PathBuf,
    /// PostgreSQL: `synchronous_commit = off` in the new databases.
    relaxed: bool,
    live: Vec<Database>,
}

impl Databases {
    pub fn new(backend: Backend, pg_url: &str, relaxed: bool) -> Result<Databases, BoxError> {
        Ok(Databases {
            backend,
            relaxed,
            admin_url: url::Url::parse(pg_url)?,
            dir: std::env::temp_dir().join(format!("cofferdam-bench-{}", std::process::id())),
            live: Vec::new(),
        })
    }

    /// A new empty database named after `label`.
    pub async fn create(&mut self, label: &str) -> Result<Database, BoxError> {
        let name = format!("bench_{label}_{}", std::process::id());
        let database = match self.backend {
            Backend::Postgres => {
                let mut admin = PgConnection::connect(self.admin_url.as_str()).await?;
                admin
                    .execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .await?;
                if self.relaxed {
                    // Per database, so the server's other users are not affected.
                    admin
                        .execute(AssertSqlSafe(format!(
                            "ALTER DATABASE \"{name}\" SET synchronous_commit = off"
                        )))
                        .await?;
                }
                admin.close().await?;
                let mut url = self.admin_url.clone();
                url.set_path(&name);
                Database {
                    name,
                    url: url.to_string(),
                    path: None,
                }
            }
            Backend::Sqlite => {
                let folder = self.dir.join(&name);
                std::fs::create_dir_all(&folder)?;
                let path = folder.join("bench.db");
                Database {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    name,
                    path: Some(path),
                }
            }
        };
        self.live.push(database.clone());
        Ok(database)
    }

    /// Brings the machine to the same state before each timed apply: dirty
    /// pages written out (`sync`) and, on PostgreSQL, a `CHECKPOINT`, which
    /// also restarts the checkpoint timer, so that no checkpoint falls inside
    /// one variant's run and not another's.
    pub async fn settle(&self) -> Result<(), BoxError> {
        if self.backend == Backend::Postgres {
            let mut admin = PgConnection::connect(self.admin_url.as_str()).await?;
            admin.execute("CHECKPOINT").await?;
            admin.close().await?;
        }
        // Best effort: a machine without `sync` only loses the evening out.
        let _ = std::process::Command::new("sync").status();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        Ok(())
    }

    /// Drops every database created so far.
    pub async fn drop_all(&mut self) -> Result<(), BoxError> {
        for database in std::mem::take(&mut self.live) {
            match self.backend {
                Backend::Postgres => {
                    let mut admin = PgConnection::connect(self.admin_url.as_str()).await?;
                    admin
                        .execute(AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                            database.name
                        )))
                        .await?;
                    admin.close().await?;
                }
                Backend::Sqlite => std::fs::remove_dir_all(self.dir.join(&database.name))?,
            }
        }
        if self.backend == Backend::Sqlite && self.dir.exists() {
            std::fs::remove_dir(&self.dir)?;
        }
        Ok(())
    }

    /// The admin URL (the `postgres` database), for reading server statistics.
    pub fn admin_url(&self) -> &str {
        self.admin_url.as_str()
    }
}
