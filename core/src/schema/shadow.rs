//! The shadow database: a scratch database where the migrations are
//! applied to learn the schema they reach (what Prisma and Atlas call it).
//!
//! - SQLite: a named in-memory database (`mode=memory`, shared cache), kept
//!   alive by one open connection while it is used, gone when it closes.
//! - PostgreSQL, MySQL: `cfdm_shadow_<pid>_<n>` created on the same server
//!   with `CREATE DATABASE`, dropped by [`ShadowDatabase::close`], or by
//!   `Drop` (a thread of its own) when a caller returned early or panicked.
//! - `--shadow-url URL`: a database the user gives; it must be empty, and
//!   it is left as the migrations made it.

use crate::backend::{Backend, Conn};
use crate::url::redact;
use crate::{Error, Result};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Where the shadow database lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShadowKind {
    /// An in-memory SQLite database.
    SqliteMemory,
    /// A temporary database on the target's server, dropped afterwards.
    Temporary,
    /// A database the caller named (`--shadow-url`), left in place.
    Given,
}

/// A scratch database for autogenerate; see the module docs.
#[derive(Debug)]
pub struct ShadowDatabase {
    url: String,
    kind: ShadowKind,
    /// The server URL and database name to drop, for [`ShadowKind::Temporary`].
    temporary: Option<(String, String)>,
    /// Keeps an in-memory SQLite database alive.
    keep_alive: Option<Conn>,
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl ShadowDatabase {
    /// A shadow for a database like `target`: `given` when it is Some,
    /// else a fresh one on the same engine (see the module docs).
    pub async fn create(target: &str, given: Option<&str>) -> Result<ShadowDatabase> {
        if let Some(url) = given {
            return Ok(ShadowDatabase {
                url: url.to_owned(),
                kind: ShadowKind::Given,
                temporary: None,
                keep_alive: None,
            });
        }
        let name = format!(
            "cfdm_shadow_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let backend = Backend::from_url(target)?;
        if backend == Backend::Sqlite {
            // The `file:` form is what makes SQLite share one in-memory database
            // by name between connections (sqlx names its own `:memory:` so).
            let url = format!("sqlite:file:{name}?mode=memory&cache=shared");
            let conn = Conn::connect(&url, TIMEOUT, TIMEOUT).await?;
            return Ok(ShadowDatabase {
                url,
                kind: ShadowKind::SqliteMemory,
                temporary: None,
                keep_alive: Some(conn),
            });
        }
        let url = with_database(target, &name)?;
        let mut conn = Conn::connect(target, TIMEOUT, TIMEOUT).await?;
        let created = conn
            .execute_batch(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| Error::Shadow {
                url: redact(&url),
                reason: crate::error::report(&e.source),
            });
        conn.close().await;
        created?;
        Ok(ShadowDatabase {
            url,
            kind: ShadowKind::Temporary,
            temporary: Some((target.to_owned(), name)),
            keep_alive: None,
        })
    }

    /// The shadow's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where it lives.
    pub fn kind(&self) -> ShadowKind {
        self.kind
    }

    /// Drops a temporary database and closes an in-memory one.
    pub async fn close(mut self) -> Result<()> {
        if let Some(conn) = self.keep_alive.take() {
            conn.close().await;
        }
        if let Some((server, name)) = self.temporary.take() {
            drop_database(&server, &name).await?;
        }
        Ok(())
    }
}

impl Drop for ShadowDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.temporary.take() else {
            return;
        };
        // Maybe inside a runtime that must not block: a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(drop_database(&server, &name)).ok()
        })
        .join();
    }
}

async fn drop_database(server: &str, name: &str) -> Result<()> {
    let mut conn = Conn::connect(server, TIMEOUT, TIMEOUT).await?;
    let sql = conn.engine().drop_database(name).unwrap_or_default();
    let dropped = conn.execute_batch(&sql).await;
    conn.close().await;
    dropped.map_err(|e| Error::Shadow {
        url: redact(server),
        reason: format!("dropping `{name}`: {}", crate::error::report(&e.source)),
    })
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> Result<String> {
    let mut parsed = url::Url::parse(url).map_err(|e| Error::InvalidUrl {
        url: redact(url),
        reason: e.to_string(),
    })?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}
