//! SQLite: transactional DDL begun with `BEGIN IMMEDIATE`, statements queued
//! so a revision is one hand-off to the driver's worker thread, and an OS
//! lock on a file beside the database to serialise runs.

use super::engine::{Engine, LockMethod, RebuildSql};
use crate::revision::Timeouts;
use sea_query::{QueryBuilder, SqliteQueryBuilder};
use std::time::Duration;

/// SQLite's facts and SQL text.
#[derive(Debug)]
pub(super) struct Sqlite;

#[cfg(feature = "sqlite")]
pub(super) async fn connect(
    url: &str,
    busy: std::time::Duration,
) -> Result<sqlx::sqlite::SqliteConnection, sqlx::Error> {
    use sqlx::Connection;
    use std::str::FromStr;
    if let Some(reason) = unusable(url) {
        return Err(sqlx::Error::Configuration(reason.into()));
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
        // Another program holding the file busy is waited for as long as
        // another runner's lock would be (--lock-timeout), then reported as
        // a busy database, not as an unexplained failure after a fixed wait.
        .busy_timeout(busy);
    sqlx::sqlite::SqliteConnection::connect_with(&options).await
}

/// Why `url` cannot be opened as it is written, before sqlx is asked: a URL
/// with no path (which SQLite would take as a throwaway temporary
/// database, so a run would "succeed" and leave nothing), or a file that
/// does not exist without `mode=rwc` (sqlx opens read-write and does not
/// create it). The reason says exactly what to write instead.
fn unusable(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Some(
            "it names no file; write sqlite://PATH?mode=rwc (e.g. sqlite://app.db?mode=rwc), or sqlite::memory: for a database that lasts one run"
                .to_owned(),
        );
    }
    let file = std::path::Path::new(path);
    let in_memory = path.starts_with(":memory:") || query.contains("memory");
    let dir_exists = file
        .parent()
        .is_none_or(|dir| dir.as_os_str().is_empty() || dir.is_dir());
    if in_memory || query.contains("mode=") || file.exists() || !dir_exists {
        return None;
    }
    let separator = if query.is_empty() { '?' } else { '&' };
    Some(format!(
        "the SQLite file `{path}` does not exist and the URL does not ask to create it; add `mode=rwc`: {url}{separator}mode=rwc"
    ))
}

impl Engine for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn dialect(&self) -> cofferdam_lint::Dialect {
        cofferdam_lint::Dialect::Sqlite
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    fn pipelined(&self) -> bool {
        true
    }

    fn begin(&self) -> &'static str {
        // Take the write lock at once, so that a revision never fails half
        // way on a busy database.
        "BEGIN IMMEDIATE"
    }

    fn literal(&self, value: &str) -> String {
        SqliteQueryBuilder.value_to_string(&value.into())
    }

    fn is_missing_table(&self, _code: Option<&str>, message: &str) -> bool {
        message.contains("no such table")
    }

    fn is_busy(&self, code: Option<&str>, message: &str) -> bool {
        // SQLITE_BUSY (5) and its extended codes (261, 517, 773 = 5 + n * 256).
        let busy_code = code
            .and_then(|code| code.parse::<i64>().ok())
            .is_some_and(|code| code & 0xff == 5);
        busy_code || message.contains("database is locked")
    }

    /// SQLite waits for a lock only to begin writing (`BEGIN IMMEDIATE`),
    /// so the lock timeout is the busy timeout, set before the transaction.
    /// It has no statement timeout.
    fn set_timeouts(&self, timeouts: &Timeouts, local: bool) -> Option<(String, usize)> {
        let wait = timeouts.lock_timeout.filter(|_| !local)?;
        Some((format!("PRAGMA busy_timeout = {}", wait.as_millis()), 1))
    }

    fn reset_timeouts(&self, timeouts: &Timeouts, busy: Duration) -> Option<(String, usize)> {
        timeouts
            .lock_timeout
            .map(|_| (format!("PRAGMA busy_timeout = {}", busy.as_millis()), 1))
    }

    fn is_lock_timeout(&self, error: &dyn sqlx::error::DatabaseError) -> bool {
        self.is_busy(error.code().as_deref(), error.message())
    }

    fn measured_duration(&self, applied_at: &str) -> Option<String> {
        // 'now' is the time of the statement being run; the revision
        // started at `applied_at`.
        Some(format!(
            "CAST((julianday('now') - julianday({})) * 86400000 AS INTEGER)",
            self.literal(applied_at)
        ))
    }

    fn digest_triggers_sql(&self, history: &str, digest: &str) -> Vec<String> {
        // A trigger lives in its table's schema, and its body may not
        // qualify names: the digest table is found in that same schema.
        let (schema, table) = match history.split_once('.') {
            Some((schema, table)) => (format!("\"{schema}\"."), table),
            None => (String::new(), history),
        };
        let digest = digest.rsplit('.').next().unwrap_or(digest);
        // An insert changes the digest row only while it holds a digest:
        // the first revision of a run clears it, the others leave its page
        // alone (one page write less per revision, about 5% of an apply;
        // BENCHMARKS.md). A refill then also checks the row count, which
        // such an insert changes (see `Table::refill_digest`). Updates and
        // deletes always bump the counter.
        ["insert", "update", "delete"]
            .into_iter()
            .map(|event| {
                let when = if event == "insert" {
                    format!(" WHEN (SELECT digest FROM \"{digest}\" WHERE id = 1) IS NOT NULL")
                } else {
                    String::new()
                };
                format!(
                    "CREATE TRIGGER IF NOT EXISTS {schema}\"{table}_digest_{event}\" AFTER {} ON \"{table}\"{when} \
                     BEGIN UPDATE \"{digest}\" SET gen = gen + 1, digest = NULL WHERE id = 1; END",
                    event.to_uppercase()
                )
            })
            .collect()
    }

    fn read_only_url(&self, url: &str) -> Option<(String, String)> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or_default();
        let path = rest.split('?').next().unwrap_or_default();
        let file = std::path::Path::new(path);
        // A directory that does not exist is a wrong path, not an empty
        // database: let the connection fail and say so.
        let dir_exists = file
            .parent()
            .is_none_or(|dir| dir.as_os_str().is_empty() || dir.is_dir());
        if path.is_empty() || path.starts_with(":memory:") || file.exists() || !dir_exists {
            return None;
        }
        Some(("sqlite::memory:".to_owned(), path.to_owned()))
    }

    fn lock(&self, _table: &str) -> LockMethod {
        LockMethod::File
    }

    fn columns_sql(&self, table: &str) -> String {
        match table.split_once('.') {
            Some((schema, table)) => format!(
                "SELECT name FROM pragma_table_info({}, {})",
                self.literal(table),
                self.literal(schema)
            ),
            None => format!(
                "SELECT name FROM pragma_table_info({})",
                self.literal(table)
            ),
        }
    }

    fn stored_type(&self, ty: &crate::schema::Type) -> crate::schema::Type {
        use crate::schema::Type;
        match ty {
            // One INTEGER storage class; sea-schema reads every integer as bigint.
            Type::SmallInt | Type::Int | Type::BigInt => Type::BigInt,
            other => other.clone(),
        }
    }

    fn alters_columns(&self) -> bool {
        false
    }

    fn alters_foreign_keys(&self) -> bool {
        false
    }

    fn has_table_sql(&self, table: &str) -> String {
        let (schema, table) = table.split_once('.').unwrap_or(("main", table));
        format!(
            "SELECT 1 FROM pragma_table_list WHERE lower(schema) = lower({}) \
             AND lower(name) = lower({}) AND type IN ('table', 'view')",
            self.literal(schema),
            self.literal(table)
        )
    }

    fn has_index_sql(&self, table: &str, index: &str) -> String {
        let (schema, table) = table.split_once('.').unwrap_or(("main", table));
        format!(
            "SELECT 1 FROM pragma_index_list({}, {}) WHERE lower(name) = lower({})",
            self.literal(table),
            self.literal(schema),
            self.literal(index)
        )
    }

    /// SQLite's documented twelve-step procedure needs these; see
    /// `core/src/rebuild.rs` for the steps.
    fn rebuild_sql(&self, table: &str) -> Option<RebuildSql> {
        let name = self.literal(table);
        Some(RebuildSql {
            definition: format!(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND lower(name) = lower({name})"
            ),
            dependents: format!(
                "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') \
                 AND lower(tbl_name) = lower({name}) AND sql IS NOT NULL ORDER BY type, name"
            ),
            acting_children: format!(
                "SELECT DISTINCT m.name FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
                 WHERE m.type = 'table' AND lower(f.\"table\") = lower({name}) \
                 AND upper(f.on_delete) IN ('CASCADE', 'SET NULL', 'SET DEFAULT')"
            ),
            foreign_key_check: format!("SELECT * FROM pragma_foreign_key_check({name})"),
            defer_foreign_keys: "PRAGMA defer_foreign_keys = ON",
            foreign_keys_off: "PRAGMA foreign_keys = OFF",
            foreign_keys_on: "PRAGMA foreign_keys = ON",
            hold: |hold, table| format!("CREATE TEMP TABLE {hold} AS SELECT * FROM {table}"),
        })
    }

    fn rows_changed_expr(&self) -> Option<&'static str> {
        Some("changes()")
    }

    fn trigger_definition_sql(&self, table: &str, name: &str) -> String {
        format!(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND lower(tbl_name) = lower({}) AND lower(name) = lower({})",
            self.literal(table),
            self.literal(name)
        )
    }

    fn view_definition_sql(&self, name: &str) -> String {
        format!(
            "SELECT sql FROM sqlite_master WHERE type = 'view' AND lower(name) = lower({})",
            self.literal(name)
        )
    }

    /// SQLite has no `CREATE OR REPLACE VIEW`: the old view is dropped first.
    fn replace_view_sql(&self, name: &str, select: &str) -> (Option<String>, String) {
        let quoted = self.quote(name);
        (
            Some(format!("DROP VIEW IF EXISTS {quoted}")),
            format!("CREATE VIEW {quoted} AS {select}"),
        )
    }

    fn restore_view_sql(&self, name: &str, definition: &str) -> Vec<String> {
        vec![
            format!("DROP VIEW IF EXISTS {}", self.quote(name)),
            definition.to_owned(),
        ]
    }

    fn lock_name(&self, table: &str) -> String {
        // `main.t` and `t` are one table; SQLite folds case in names.
        let lower = table.to_ascii_lowercase();
        lower.strip_prefix("main.").unwrap_or(&lower).to_owned()
    }

    #[cfg(feature = "sqlite")]
    fn lock_file(&self, url: &str, table: &str) -> crate::Result<Option<std::path::PathBuf>> {
        use std::str::FromStr;
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|source| {
            crate::Error::InvalidUrl {
                url: crate::redact(url),
                reason: crate::url::scrub(&source.to_string(), url),
            }
        })?;
        let path = options.get_filename();
        let in_memory =
            url.contains(":memory:") || url.contains("mode=memory") || path.as_os_str().is_empty();
        if in_memory {
            return Ok(None);
        }
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(format!(".{}.cofferdam-lock", self.lock_name(table)));
        Ok(Some(lock_path.into()))
    }

    #[cfg(feature = "testing")]
    fn snapshot_sql(&self) -> super::engine::SnapshotSql {
        super::engine::SnapshotSql {
            columns: SNAPSHOT_COLUMNS,
            indexes: SNAPSHOT_INDEXES,
            constraints: SNAPSHOT_CONSTRAINTS,
        }
    }
}
/// The user tables of the main database; pragma functions after it in a
/// FROM list may name its columns.
#[cfg(feature = "testing")]
macro_rules! from_user_tables {
    ($pragma:literal) => {
        concat!(
            " FROM sqlite_master m, ",
            $pragma,
            " WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    };
}

#[cfg(feature = "testing")]
const SNAPSHOT_COLUMNS: &str = concat!(
    "SELECT m.name, p.name, p.type, CAST(p.\"notnull\" AS TEXT), p.dflt_value",
    from_user_tables!("pragma_table_info(m.name) p"),
    " ORDER BY m.name, p.cid"
);

#[cfg(feature = "testing")]
const SNAPSHOT_INDEXES: &str = concat!(
    "SELECT m.name, l.name, CAST(l.\"unique\" AS TEXT), \
     (SELECT group_concat(name, ',') FROM \
       (SELECT i.name FROM pragma_index_info(l.name) i ORDER BY i.seqno))",
    from_user_tables!("pragma_index_list(m.name) l"),
    " ORDER BY 1, 2"
);

/// SQLite keeps CHECK constraints only in the table's SQL text, which a
/// rebuild rewrites; the snapshot leaves them out (see the testing docs).
#[cfg(feature = "testing")]
const SNAPSHOT_CONSTRAINTS: &str = concat!(
    "SELECT m.name, 'primary key', 'PRIMARY KEY', \
     (SELECT group_concat(name, ',') FROM \
       (SELECT p.name FROM pragma_table_info(m.name) p WHERE p.pk > 0 ORDER BY p.pk))",
    from_user_tables!("pragma_table_info(m.name) k"),
    " AND k.pk = 1 UNION ALL \
     SELECT m.name, 'foreign key (' || group_concat(f.\"from\", ',') || ')', 'FOREIGN KEY', \
     group_concat(f.\"from\", ',') || ' REFERENCES ' || f.\"table\" || '(' \
       || group_concat(coalesce(f.\"to\", ''), ',') || ') ON UPDATE ' || f.on_update \
       || ' ON DELETE ' || f.on_delete",
    from_user_tables!("pragma_foreign_key_list(m.name) f"),
    " GROUP BY m.name, f.id ORDER BY 1, 2"
);

#[cfg(test)]
mod tests {
    use super::unusable;

    #[test]
    fn a_url_without_a_path_is_refused() {
        for url in ["sqlite://", "sqlite:", "sqlite://?mode=rwc"] {
            assert!(unusable(url).unwrap().contains("names no file"), "{url}");
        }
    }

    #[test]
    fn a_missing_file_without_mode_says_what_to_add() {
        let reason = unusable("sqlite://no-such-cofferdam-file.db").unwrap();
        assert!(
            reason.ends_with("sqlite://no-such-cofferdam-file.db?mode=rwc"),
            "{reason}"
        );
        assert_eq!(
            unusable("sqlite://no-such-cofferdam-file.db?mode=rwc"),
            None
        );
        assert_eq!(unusable("sqlite::memory:"), None);
    }
}
