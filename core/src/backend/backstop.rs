//! Installing and reporting an engine's drop backstop (PostgreSQL's event
//! trigger, see `postgres.rs`): a safety net behind the runtime guard whose
//! absence costs the net, never the run.

use super::Conn;

impl Conn {
    /// Installs the backstop if the engine has one and the role may;
    /// returns whether it is in place.
    pub(crate) async fn install_backstop(&mut self) -> bool {
        let Some(sql) = self.engine().install_backstop() else {
            return false;
        };
        match self.fetch_text(sql).await {
            Ok(rows) => first_cell(rows.last()).is_some_and(|count| count != "0"),
            Err(error) => {
                tracing::warn!(%error, "could not install the drop backstop; the runtime guard still applies");
                false
            }
        }
    }

    /// What `status` should tell the operator about the backstop, if
    /// anything: nothing when it is in place, when the next `up` will
    /// install it, or when the engine has none.
    pub(crate) async fn backstop_note(&mut self) -> Option<String> {
        let (sql, note) = self.engine().check_backstop()?;
        let row = self
            .fetch_text(sql)
            .await
            .ok()
            .and_then(|rows| rows.into_iter().next());
        let cell = |i: usize| {
            row.as_ref()
                .and_then(|row| row.get(i))
                .and_then(|v| v.as_deref())
        };
        let present = cell(0) == Some("t");
        let superuser = cell(1) == Some("t");
        (!present && !superuser).then(|| note.to_owned())
    }
}

fn first_cell(row: Option<&Vec<Option<String>>>) -> Option<&str> {
    row.and_then(|row| row.first()).and_then(|v| v.as_deref())
}
