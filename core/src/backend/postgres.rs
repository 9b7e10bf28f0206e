//! PostgreSQL: transactional DDL, pipelined statements, a session advisory
//! lock, the server-measured duration, and the drop backstop.
//!
//! # The drop backstop
//!
//! Behind the runtime guard sits an `sql_drop` event trigger that fails any
//! drop made inside an unreviewed revision, including drops the guard cannot
//! see (raw connections, `DO` blocks, functions, CASCADE side effects). It
//! acts only in transactions where the runner has set
//! `cofferdam.guard = 'enforce'` (`SET LOCAL`), so other sessions and other
//! tools are never affected. Creating an event trigger needs a superuser;
//! when the role lacks the privilege the backstop is skipped and `status`
//! says so.

use super::engine::{Engine, LockMethod};
use sea_query::{PostgresQueryBuilder, QueryBuilder};

/// PostgreSQL's facts and SQL text.
#[derive(Debug)]
pub(super) struct Postgres;

#[cfg(feature = "postgres")]
pub(super) async fn connect(url: &str) -> Result<sqlx::postgres::PgConnection, sqlx::Error> {
    use sqlx::Connection;
    sqlx::postgres::PgConnection::connect(url).await
}

const INSTALL_BACKSTOP: &str = r#"
DO $cofferdam$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'cofferdam_guard_drop') THEN
    CREATE OR REPLACE FUNCTION cofferdam_guard_drop() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      dropped text;
    BEGIN
      IF current_setting('cofferdam.guard', true) = 'enforce' THEN
        SELECT string_agg(object_type || ' ' || object_identity, ', ') INTO dropped
          FROM pg_event_trigger_dropped_objects() WHERE original;
        IF dropped IS NOT NULL THEN
          RAISE EXCEPTION 'cofferdam: revision % dropped % but is not marked #[destructive(reviewed)]',
            current_setting('cofferdam.revision', true), dropped
            USING HINT = 'the drop was rolled back; review the migration, then mark it #[destructive(reviewed)]';
        END IF;
      END IF;
    END
    $fn$;
    CREATE EVENT TRIGGER cofferdam_guard_drop ON sql_drop EXECUTE FUNCTION cofferdam_guard_drop();
  END IF;
EXCEPTION WHEN insufficient_privilege OR duplicate_object OR unique_violation THEN
  NULL;
END
$cofferdam$;
SELECT count(*) FROM pg_event_trigger WHERE evtname = 'cofferdam_guard_drop' AND evtenabled <> 'D'"#;

const CHECK_BACKSTOP: &str = "SELECT \
     (SELECT count(*) FROM pg_event_trigger WHERE evtname = 'cofferdam_guard_drop' AND evtenabled <> 'D') > 0, \
     (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)";

impl Postgres {
    /// The advisory lock key of `table`, an int4 expression.
    ///
    /// It names the table as resolved, schema-qualified and folded to lower
    /// case as PostgreSQL folds unquoted names, so that `cofferdam_history`
    /// and `public.cofferdam_history` take one lock. An unqualified
    /// lower-case name gives the key earlier versions used, so old and new
    /// binaries still exclude each other.
    fn lock_key(&self, table: &str) -> String {
        let lower = table.to_ascii_lowercase();
        let (schema, name) = match lower.split_once('.') {
            Some((schema, name)) => (self.literal(schema), name),
            None => ("current_schema()".to_owned(), lower.as_str()),
        };
        format!(
            "hashtext('cofferdam:' || {schema} || '.' || {})",
            self.literal(name)
        )
    }
}

impl Engine for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn dialect(&self) -> cofferdam_lint::Dialect {
        cofferdam_lint::Dialect::Postgres
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    fn pipelined(&self) -> bool {
        true
    }

    fn literal(&self, value: &str) -> String {
        PostgresQueryBuilder.value_to_string(&value.into())
    }

    fn is_missing_table(&self, code: Option<&str>, _message: &str) -> bool {
        code == Some("42P01") // undefined_table
    }

    fn measured_duration(&self, _applied_at: &str) -> Option<String> {
        // now() is the transaction's start, which is the revision's start.
        Some("CAST(EXTRACT(EPOCH FROM (clock_timestamp() - now())) * 1000 AS BIGINT)".to_owned())
    }

    fn summary_expr(&self) -> Option<&'static str> {
        Some(r#"string_agg(id || ':' || checksum || ':' || state, ',' ORDER BY id COLLATE "C")"#)
    }

    fn lock(&self, table: &str) -> LockMethod {
        let key = self.lock_key(table);
        // Session-level and polled: never the transaction-scoped kind, never
        // a blocking wait, so it is safe beside CREATE INDEX CONCURRENTLY.
        LockMethod::Session {
            acquire: format!("SELECT pg_try_advisory_lock({key})"),
            release: format!("SELECT pg_advisory_unlock({key})"),
        }
    }

    fn lock_holder(&self, table: &str) -> Option<String> {
        // A bigint advisory key shows in pg_locks as its high half in
        // `classid` and its low half in `objid`, with `objsubid` 1.
        let key = format!("({})::bigint", self.lock_key(table));
        Some(format!(
            "SELECT 'pid ' || l.pid \
               || COALESCE(' (' || NULLIF(a.application_name, '') || ')', '') \
               || COALESCE(' from ' || host(a.client_addr), '') \
               || COALESCE(' as ' || a.usename, '') \
             FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND l.classid::bigint = ({key} >> 32) & 4294967295 \
               AND l.objid::bigint = {key} & 4294967295 AND l.objsubid = 1 \
             LIMIT 1"
        ))
    }

    fn arm_backstop(&self, revision: &str, local: bool) -> Option<(String, usize)> {
        let scope = if local { "SET LOCAL" } else { "SET" };
        Some((
            format!(
                "{scope} cofferdam.guard = 'enforce';\n{scope} cofferdam.revision = {}",
                self.literal(revision)
            ),
            2,
        ))
    }

    fn disarm_backstop(&self) -> Option<(&'static str, usize)> {
        Some(("RESET cofferdam.guard;\nRESET cofferdam.revision", 2))
    }

    fn install_backstop(&self) -> Option<&'static str> {
        Some(INSTALL_BACKSTOP)
    }

    fn check_backstop(&self) -> Option<(&'static str, &'static str)> {
        Some((
            CHECK_BACKSTOP,
            "the PostgreSQL drop backstop (an sql_drop event trigger) cannot be installed: it needs a superuser; \
             the runtime guard still checks every statement sent through Migration",
        ))
    }
}
