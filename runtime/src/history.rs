//! The history table: one row per revision, read as text and written with
//! literal SQL so that the write can travel in the same round trip as the
//! revision's own statements.

use crate::conn::{Conn, is_missing_table};
use crate::url::Backend;
use crate::{Error, Result};

/// The state of a revision in the history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum State {
    /// Applied and committed.
    Applied,
    /// Started outside a transaction and not finished: the run died.
    Started,
    /// Failed outside a transaction: the schema may be half-changed.
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Started => "started",
            State::Failed => "failed",
        }
    }
}

/// One row of the history table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppliedRevision {
    /// The revision id.
    pub id: String,
    /// Application order: higher was applied later.
    pub seq: i64,
    /// The parent ids at the time it was applied.
    pub parents: Vec<String>,
    /// The checksum of the code that ran.
    pub checksum: String,
    /// Applied, or a failed state that blocks further runs.
    pub state: State,
    /// When it started, RFC 3339 UTC.
    pub applied_at: String,
    /// How long its statements took, in milliseconds, not counting the
    /// commit (measured by the server on PostgreSQL).
    pub duration_ms: i64,
    /// `user@host` of the process that applied it.
    pub applied_by: String,
    /// Whether it was marked `#[destructive(reviewed)]`.
    pub destructive: bool,
    /// The review reason, if one was given.
    pub review_reason: Option<String>,
    /// The error of a failed run.
    pub error: Option<String>,
}

/// A validated, quoted history table name.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// As the user wrote it, for messages.
    pub name: String,
}

const COLUMNS: &str = "id, seq, parents, checksum, state, applied_at, duration_ms, applied_by, destructive, review_reason, error";

impl Table {
    /// Accepts `name` or `schema.name` made of letters, digits and `_`.
    pub(crate) fn new(name: &str) -> Result<Table> {
        let valid_part = |part: &str| {
            !part.is_empty()
                && part.len() <= 63
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() > 2 || !parts.iter().all(|part| valid_part(part)) {
            return Err(Error::InvalidTableName(name.to_owned()));
        }
        Ok(Table {
            name: name.to_owned(),
        })
    }

    /// The quoted name for `backend`.
    pub(crate) fn quoted(&self, backend: Backend) -> String {
        let quote = if backend == Backend::MySql { '`' } else { '"' };
        self.name
            .split('.')
            .map(|part| format!("{quote}{part}{quote}"))
            .collect::<Vec<_>>()
            .join(".")
    }

    pub(crate) fn create_sql(&self, backend: Backend) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\
             id VARCHAR(255) NOT NULL PRIMARY KEY, \
             seq BIGINT NOT NULL, \
             parents TEXT NOT NULL, \
             checksum VARCHAR(64) NOT NULL, \
             state VARCHAR(16) NOT NULL, \
             applied_at VARCHAR(40) NOT NULL, \
             duration_ms BIGINT NOT NULL, \
             applied_by VARCHAR(255) NOT NULL, \
             destructive SMALLINT NOT NULL, \
             review_reason TEXT, \
             error TEXT)",
            self.quoted(backend)
        )
    }

    pub(crate) fn select_sql(&self, backend: Backend) -> String {
        format!(
            "SELECT {COLUMNS} FROM {} ORDER BY seq",
            self.quoted(backend)
        )
    }

    /// The applied state of the history as one string, `id:checksum:state`
    /// joined by `,` in byte order of id, or None on MySQL (where
    /// `GROUP_CONCAT` truncates at 1 KiB by default). Reading one value is
    /// much cheaper than decoding every row, which is all a start-up with
    /// nothing pending needs. A missing table reads as None too.
    pub(crate) async fn summary(&self, conn: &mut Conn) -> Result<Option<String>> {
        let table = self.quoted(conn.backend());
        let sql = match conn.backend() {
            Backend::Postgres => format!(
                "SELECT string_agg(id || ':' || checksum || ':' || state, ',' ORDER BY id COLLATE \"C\") FROM {table}"
            ),
            Backend::Sqlite => format!(
                "SELECT group_concat(id || ':' || checksum || ':' || state, ',' ORDER BY id) FROM {table}"
            ),
            Backend::MySql => return Ok(None),
        };
        match conn.fetch_text(&sql).await {
            Ok(rows) => Ok(rows
                .into_iter()
                .next()
                .and_then(|row| row.into_iter().next())
                .flatten()),
            Err(error) if is_missing_table(&error) => Ok(None),
            Err(source) => Err(Error::Database {
                action: format!("reading history table `{}`", self.name),
                source,
            }),
        }
    }

    /// Reads the history; a missing table reads as empty (nothing is created).
    pub(crate) async fn read(&self, conn: &mut Conn) -> Result<Vec<AppliedRevision>> {
        let sql = self.select_sql(conn.backend());
        match conn.fetch_text(&sql).await {
            Ok(rows) => rows
                .into_iter()
                .map(|row| parse_row(&self.name, row))
                .collect(),
            Err(error) if is_missing_table(&error) => Ok(Vec::new()),
            Err(source) => Err(Error::Database {
                action: format!("reading history table `{}`", self.name),
                source,
            }),
        }
    }

    /// Creates the table if needed and reads it: one round trip on
    /// PostgreSQL and SQLite, two on MySQL (which runs one statement per
    /// query unless the connection asked for more).
    pub(crate) async fn create_and_read(&self, conn: &mut Conn) -> Result<Vec<AppliedRevision>> {
        let backend = conn.backend();
        let create = self.create_sql(backend);
        let creating = |source| Error::Database {
            action: format!("creating history table `{}`", self.name),
            source,
        };
        if backend == Backend::MySql {
            conn.execute_batch(&create)
                .await
                .map_err(|e| creating(e.source))?;
            return self.read(conn).await;
        }
        let rows = conn
            .fetch_text(&format!("{create};\n{}", self.select_sql(backend)))
            .await
            .map_err(creating)?;
        rows.into_iter()
            .map(|row| parse_row(&self.name, row))
            .collect()
    }

    /// The row of a revision, as an INSERT.
    pub(crate) fn insert_sql(&self, backend: Backend, row: &NewRow<'_>) -> String {
        let duration = match row.duration_ms {
            Some(ms) => ms.to_string(),
            // Measured by the server, so that a pipelined revision still
            // records how long its statements took.
            None => match backend {
                Backend::Postgres => {
                    "CAST(EXTRACT(EPOCH FROM (clock_timestamp() - now())) * 1000 AS BIGINT)"
                        .to_owned()
                }
                // SQLite's 'now' is the time of the statement being run, and
                // the revision started at `applied_at`.
                Backend::Sqlite => format!(
                    "CAST((julianday('now') - julianday({})) * 86400000 AS INTEGER)",
                    literal(backend, &row.applied_at)
                ),
                Backend::MySql => "0".to_owned(),
            },
        };
        format!(
            "INSERT INTO {} ({COLUMNS}) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, NULL)",
            self.quoted(backend),
            literal(backend, row.id),
            row.seq,
            literal(backend, &row.parents.join(",")),
            literal(backend, row.checksum),
            literal(backend, row.state.as_str()),
            literal(backend, &row.applied_at),
            duration,
            literal(backend, row.applied_by),
            i32::from(row.destructive),
            row.review_reason
                .map_or_else(|| "NULL".to_owned(), |r| literal(backend, r)),
        )
    }

    /// Marks a started revision as applied.
    pub(crate) fn finish_sql(&self, backend: Backend, id: &str, duration_ms: i64) -> String {
        format!(
            "UPDATE {} SET state = 'applied', duration_ms = {duration_ms}, error = NULL WHERE id = {}",
            self.quoted(backend),
            literal(backend, id)
        )
    }

    /// Marks a started revision as failed, keeping the error for `status`.
    pub(crate) fn fail_sql(&self, backend: Backend, id: &str, error: &str) -> String {
        let error: String = error.chars().take(2000).collect();
        format!(
            "UPDATE {} SET state = 'failed', error = {} WHERE id = {}",
            self.quoted(backend),
            literal(backend, &error),
            literal(backend, id)
        )
    }

    /// Removes a revision's row (it was reverted, or resolved as rolled back).
    pub(crate) fn delete_sql(&self, backend: Backend, id: &str) -> String {
        format!(
            "DELETE FROM {} WHERE id = {}",
            self.quoted(backend),
            literal(backend, id)
        )
    }
}

/// The values of a history row about to be written.
#[derive(Debug)]
pub(crate) struct NewRow<'a> {
    pub id: &'a str,
    pub seq: i64,
    pub parents: &'a [&'a str],
    pub checksum: &'a str,
    pub state: State,
    pub applied_at: String,
    /// None: let the server measure it (PostgreSQL, inside the transaction).
    pub duration_ms: Option<i64>,
    pub applied_by: &'a str,
    pub destructive: bool,
    pub review_reason: Option<&'a str>,
}

/// A SQL string literal. MySQL also treats backslashes as escapes.
pub(crate) fn literal(backend: Backend, value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' if backend == Backend::MySql => out.push_str("\\\\"),
            '\0' => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn parse_row(table: &str, row: Vec<Option<String>>) -> Result<AppliedRevision> {
    let bad = || {
        Error::Custom(format!(
            "history table `{table}` has an unexpected row shape; was it created by another tool?"
        ))
    };
    let mut cells = row.into_iter();
    let mut next = || cells.next().ok_or_else(bad);
    let id = next()?.ok_or_else(bad)?;
    let seq = next()?.and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let parents = next()?.unwrap_or_default();
    let checksum = next()?.unwrap_or_default();
    let state = match next()?.as_deref() {
        Some("applied") => State::Applied,
        Some("started") => State::Started,
        _ => State::Failed,
    };
    let applied_at = next()?.unwrap_or_default();
    let duration_ms = next()?.and_then(|s| s.parse().ok()).unwrap_or(0);
    let applied_by = next()?.unwrap_or_default();
    let destructive = next()?.is_some_and(|s| s != "0");
    let review_reason = next()?;
    let error = next()?;
    Ok(AppliedRevision {
        id,
        seq,
        parents: parents
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        checksum,
        state,
        applied_at,
        duration_ms,
        applied_by,
        destructive,
        review_reason,
        error,
    })
}

/// `user@host` of this process, for the `applied_by` column.
pub(crate) fn current_operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{host}")
}

/// The current time as RFC 3339 UTC with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_validated() {
        assert!(Table::new("cofferdam_history").is_ok());
        assert!(Table::new("app.history").is_ok());
        assert!(Table::new("x; DROP TABLE y").is_err());
        assert!(Table::new("").is_err());
        assert_eq!(Table::new("a.b").unwrap().quoted(Backend::MySql), "`a`.`b`");
    }

    #[test]
    fn literals_escape_quotes_and_mysql_backslashes() {
        assert_eq!(literal(Backend::Postgres, r"it's \ok"), r"'it''s \ok'");
        assert_eq!(literal(Backend::MySql, r"it's \ok"), r"'it''s \\ok'");
    }

    #[test]
    fn time_is_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 24, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
    }
}
