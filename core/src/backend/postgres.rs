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

    /// sqlx shows only the message, followed by the line of the server's C
    /// source that raised it ("at line 3655"), which means nothing to an
    /// operator; DETAIL (which key was duplicated), HINT and the
    /// constraint are what they need, so those are kept instead.
    #[cfg(feature = "postgres")]
    fn describe(&self, error: &dyn sqlx::error::DatabaseError) -> Option<String> {
        let error = error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
        let mut text = format!("{} (SQLSTATE {})", error.message(), error.code());
        let object = match (error.table(), error.constraint(), error.column()) {
            (Some(table), Some(constraint), _) => {
                Some(format!("constraint `{constraint}` on table `{table}`"))
            }
            (None, Some(constraint), _) => Some(format!("constraint `{constraint}`")),
            (Some(table), None, Some(column)) => {
                Some(format!("column `{column}` of table `{table}`"))
            }
            _ => None,
        };
        if let Some(object) = object {
            text.push_str(&format!("; {object}"));
        }
        if let Some(detail) = error.detail() {
            text.push_str(&format!("; DETAIL: {detail}"));
        }
        if let Some(hint) = error.hint() {
            text.push_str(&format!("; HINT: {hint}"));
        }
        Some(text)
    }

    fn measured_duration(&self, _applied_at: &str) -> Option<String> {
        // now() is the transaction's start, which is the revision's start.
        Some("CAST(EXTRACT(EPOCH FROM (clock_timestamp() - now())) * 1000 AS BIGINT)".to_owned())
    }

    fn summary_expr(&self) -> Option<&'static str> {
        Some(r#"string_agg(id || ':' || checksum || ':' || state, ',' ORDER BY id COLLATE "C")"#)
    }

    fn lock(&self, table: &str) -> LockMethod {
        let key = format!(
            "hashtext('cofferdam:' || current_schema() || '.' || {})",
            self.literal(table)
        );
        // Session-level and polled: never the transaction-scoped kind, never
        // a blocking wait, so it is safe beside CREATE INDEX CONCURRENTLY.
        LockMethod::Session {
            acquire: format!("SELECT pg_try_advisory_lock({key})"),
            release: format!("SELECT pg_advisory_unlock({key})"),
        }
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
