//! The history table: one row per revision, read as text and written with
//! sea-query statements rendered with inlined values, so that the write can
//! travel in the same round trip as the revision's own statements.

use crate::backend::{Backend, Conn, Statement};
use crate::{Error, Result};
use sea_query::{ColumnDef, Expr, ExprTrait, Order, Query, TableName};

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
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Started => "started",
            State::Failed => "failed",
        }
    }
}

/// One row of the history table.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
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
    /// The error of a failed run; for an applied one, what the run
    /// survived, e.g. `applied after 2 lock-timeout retries; the last: ...`.
    pub error: Option<String>,
    /// Recorded by `stamp` (as applied without running), not applied by a
    /// run. Stored as a `duration_ms` of -1, which no run records: tables
    /// written by earlier versions need no new column, and earlier versions
    /// read such a row as applied.
    pub stamped: bool,
    /// A squash recorded as applied without running, because the
    /// revisions it replaces ran one by one (their rows are the history of
    /// what ran). Stored as a `duration_ms` of -2, for the same reasons as
    /// [`stamped`](AppliedRevision::stamped).
    pub squashed: bool,
}

/// The `duration_ms` that marks a row written by `stamp`; see
/// [`AppliedRevision::stamped`].
pub(crate) const STAMPED_DURATION_MS: i64 = -1;

/// The `duration_ms` that marks a squash recorded over the revisions it
/// replaces; see [`AppliedRevision::squashed`].
pub(crate) const SQUASHED_DURATION_MS: i64 = -2;

/// The tables cofferdam keeps in the user's database for the history table
/// `history` (unqualified): itself and those beside it (the start-up
/// digest, the lease lock, backfill progress, replaced objects). Catalog
/// readers (test snapshots, autogenerate) leave them out of the user's
/// schema.
pub(crate) fn own_tables(history: &str) -> Vec<String> {
    ["", "_digest", "_lock", "_backfill", "_objects"]
        .iter()
        .map(|suffix| format!("{history}{suffix}"))
        .collect()
}

/// A validated history table name.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// As the user wrote it, for messages.
    pub name: String,
}

const COLUMNS: [&str; 11] = [
    "id",
    "seq",
    "parents",
    "checksum",
    "state",
    "applied_at",
    "duration_ms",
    "applied_by",
    "destructive",
    "review_reason",
    "error",
];

/// How much of a failed run's error the history keeps.
const MAX_ERROR_CHARS: usize = 2000;

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

    /// The name for sea-query, which quotes it for each engine.
    pub(crate) fn sea(&self) -> TableName {
        Table::sea_name(&self.name)
    }

    /// `name` or `schema.name` for sea-query.
    pub(crate) fn sea_name(name: &str) -> TableName {
        match name.split_once('.') {
            Some((schema, table)) => (schema.to_owned(), table.to_owned()).into(),
            None => name.to_owned().into(),
        }
    }

    pub(crate) fn create_sql(&self, backend: Backend) -> String {
        sea_query::Table::create()
            .table(self.sea())
            .if_not_exists()
            .col(
                ColumnDef::new("id")
                    .string_len(255)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new("seq").big_integer().not_null())
            .col(ColumnDef::new("parents").text().not_null())
            .col(ColumnDef::new("checksum").string_len(64).not_null())
            .col(ColumnDef::new("state").string_len(16).not_null())
            .col(ColumnDef::new("applied_at").string_len(40).not_null())
            .col(ColumnDef::new("duration_ms").big_integer().not_null())
            .col(ColumnDef::new("applied_by").string_len(255).not_null())
            .col(ColumnDef::new("destructive").small_integer().not_null())
            .col(ColumnDef::new("review_reason").text().null())
            .col(ColumnDef::new("error").text().null())
            .to_sql(backend)
    }

    pub(crate) fn select_sql(&self, backend: Backend) -> String {
        Query::select()
            .columns(COLUMNS)
            .from(self.sea())
            .order_by("seq", Order::Asc)
            .to_sql(backend)
    }

    fn reading(&self, source: sqlx::Error) -> Error {
        Error::Database {
            action: format!("reading history table `{}`", self.name),
            source,
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
            Err(error) if conn.is_missing_table(&error) => Ok(Vec::new()),
            Err(source) => Err(self.reading(source)),
        }
    }

    /// Creates the table if needed and reads it: one round trip where the
    /// engine pipelines statements, two elsewhere.
    pub(crate) async fn create_and_read(&self, conn: &mut Conn) -> Result<Vec<AppliedRevision>> {
        let backend = conn.backend();
        let create = self.create_sql(backend);
        let creating = |source| Error::Database {
            action: format!("creating history table `{}`", self.name),
            source,
        };
        if !conn.engine().pipelined() {
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
        let duration: Expr = match row.duration_ms {
            Some(ms) => ms.into(),
            None => backend
                .engine()
                .measured_duration(&row.applied_at)
                .map_or_else(|| 0i64.into(), Expr::cust),
        };
        Query::insert()
            .into_table(self.sea())
            .columns(COLUMNS)
            .values_panic([
                row.id.into(),
                row.seq.into(),
                row.parents.join(",").into(),
                row.checksum.into(),
                row.state.as_str().into(),
                row.applied_at.as_str().into(),
                duration,
                row.applied_by.into(),
                i16::from(row.destructive).into(),
                row.review_reason.into(),
                row.note.map(clip).into(),
            ])
            .to_sql(backend)
    }

    /// Sets the state of `id` (and, when given, its duration and error).
    pub(crate) fn update_sql(&self, backend: Backend, id: &str, change: Change<'_>) -> String {
        self.update(id, change).to_sql(backend)
    }

    /// Like [`Table::update_sql`], but the row only changes while it is as
    /// this run wrote it: in `state` and, when given, started at
    /// `applied_at`. A run thus never touches a row another runner wrote,
    /// e.g. never marks another runner's applied revision as failed when
    /// its own insert of that row was the statement that failed.
    pub(crate) fn update_own_sql(
        &self,
        backend: Backend,
        id: &str,
        change: Change<'_>,
        state: State,
        applied_at: Option<&str>,
    ) -> String {
        let mut update = self.update(id, change);
        update.and_where(Expr::col("state").eq(state.as_str()));
        if let Some(applied_at) = applied_at {
            update.and_where(Expr::col("applied_at").eq(applied_at));
        }
        update.to_sql(backend)
    }

    fn update(&self, id: &str, change: Change<'_>) -> sea_query::UpdateStatement {
        let mut update = Query::update();
        update.table(self.sea());
        match change {
            Change::Started => {
                update.value("state", State::Started.as_str());
            }
            Change::Finished { duration_ms, note } => {
                update
                    .value("state", State::Applied.as_str())
                    .value("duration_ms", duration_ms)
                    .value("error", note.map(clip));
            }
            Change::Failed { error } => {
                update
                    .value("state", State::Failed.as_str())
                    .value("error", clip(error));
            }
        }
        update.and_where(Expr::col("id").eq(id));
        update
    }

    /// Removes a revision's row (it was reverted, or resolved as rolled back).
    pub(crate) fn delete_sql(&self, backend: Backend, id: &str) -> String {
        Query::delete()
            .from_table(self.sea())
            .and_where(Expr::col("id").eq(id))
            .to_sql(backend)
    }
}

/// A change of state of a revision's row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    /// A revert outside a transaction is starting.
    Started,
    /// Applied after all, in `duration_ms`; `note`: what the run survived.
    Finished {
        duration_ms: i64,
        note: Option<&'a str>,
    },
    /// Failed outside a transaction, with this error.
    Failed { error: &'a str },
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
    /// None: let the server measure it (inside the transaction), where the
    /// engine can.
    pub duration_ms: Option<i64>,
    pub applied_by: &'a str,
    pub destructive: bool,
    pub review_reason: Option<&'a str>,
    /// What the run survived (retried lock timeouts), kept in `error`.
    pub note: Option<&'a str>,
}

/// `text` as the `error` column keeps it: no NUL (which a text column
/// cannot store on every engine), at most [`MAX_ERROR_CHARS`].
fn clip(text: &str) -> String {
    text.chars()
        .filter(|&c| c != '\0')
        .take(MAX_ERROR_CHARS)
        .collect()
}

fn parse_row(table: &str, row: Vec<Option<String>>) -> Result<AppliedRevision> {
    let bad = || Error::HistoryShape {
        table: table.to_owned(),
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
        stamped: duration_ms == STAMPED_DURATION_MS,
        squashed: duration_ms == SQUASHED_DURATION_MS,
    })
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
    }
}
