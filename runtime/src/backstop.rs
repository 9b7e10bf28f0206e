//! PostgreSQL's backstop behind the runtime guard: an `sql_drop` event
//! trigger that fails any drop made inside an unreviewed revision, including
//! drops the guard cannot see (raw connections, `DO` blocks, functions,
//! CASCADE side effects).
//!
//! The trigger acts only in transactions where the runner has set
//! `cofferdam.guard = 'enforce'` (`SET LOCAL`), so other sessions and other
//! tools are never affected. Creating an event trigger needs a superuser; when
//! the role lacks the privilege the backstop is skipped and `status` says so.

use crate::conn::Conn;
use crate::history::literal;
use crate::url::Backend;

const INSTALL: &str = r#"
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

const CHECK: &str = "SELECT count(*) FROM pg_event_trigger WHERE evtname = 'cofferdam_guard_drop' AND evtenabled <> 'D'";

/// Installs the trigger if the role may; returns whether it is in place.
/// Failures only cost the backstop, never the run.
pub(crate) async fn install(conn: &mut Conn) -> bool {
    if conn.backend() != Backend::Postgres {
        return false;
    }
    match conn.fetch_text(INSTALL).await {
        Ok(rows) => present(&rows),
        Err(error) => {
            tracing::warn!(%error, "could not install the PostgreSQL drop backstop; the runtime guard still applies");
            false
        }
    }
}

/// What `status` should tell the operator about the backstop, if anything:
/// nothing when it is in place or the next `up` will install it.
pub(crate) async fn note(conn: &mut Conn) -> Option<String> {
    if conn.backend() != Backend::Postgres
        || conn
            .fetch_text(CHECK)
            .await
            .is_ok_and(|rows| present(&rows))
    {
        return None;
    }
    let superuser = conn
        .fetch_text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        .await
        .is_ok_and(|rows| {
            rows.first()
                .and_then(|row| row.first())
                .and_then(|v| v.as_deref())
                == Some("t")
        });
    (!superuser).then(|| {
        "the PostgreSQL drop backstop (an sql_drop event trigger) cannot be installed: it needs a superuser; \
         the runtime guard still checks every statement sent through Migration"
            .to_owned()
    })
}

fn present(rows: &[Vec<Option<String>>]) -> bool {
    rows.last()
        .and_then(|row| row.first())
        .and_then(|v| v.as_deref())
        .is_some_and(|count| count != "0")
}

/// Statements that arm the trigger for one revision (`local`: for the
/// current transaction only; otherwise for the session until [`disarm`]).
pub(crate) fn arm(revision: &str, local: bool) -> String {
    let scope = if local { "SET LOCAL" } else { "SET" };
    format!(
        "{scope} cofferdam.guard = 'enforce';\n{scope} cofferdam.revision = {}",
        literal(Backend::Postgres, revision)
    )
}

/// Undoes a session-level [`arm`].
pub(crate) const DISARM: &str = "RESET cofferdam.guard;\nRESET cofferdam.revision";
