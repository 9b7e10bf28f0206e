//! Replaceable objects (views and triggers, and functions on PostgreSQL), in the spirit
//! of alembic-utils: a revision replaces the definition, and its `down`
//! restores the one it replaced, which the runtime kept.
//!
//! The previous definition (as the catalog gives it back, or "none" when
//! the object did not exist) is kept in `<history table>_objects`, keyed by
//! revision, kind and name. The `CREATE OR REPLACE` goes through the
//! runtime guard, which does not count it as destructive; dropping a view
//! is (it drops schema), except in a `down` step.

use crate::backend::{Backend, Statement};
use crate::migration::Migration;
use crate::{BoxFuture, Error, Result};
use sea_query::{ColumnDef, Expr, ExprTrait, Index, Query, TableName};

/// What kind of object is replaced.
#[derive(Debug, Clone, Copy)]
enum Kind {
    View,
    Function,
    Trigger,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::View => "view",
            Kind::Function => "function",
            Kind::Trigger => "trigger",
        }
    }
}

impl Migration<'_> {
    /// Creates view `name` as `select`, or replaces its definition, keeping
    /// the previous one for [`Migration::restore_view`] in the revision's
    /// `down`. Replacing a view is not destructive for the guard.
    pub fn create_or_replace_view<'a>(
        &'a mut self,
        name: &'a str,
        select: &'a str,
    ) -> BoxFuture<'a> {
        Box::pin(async move {
            let engine = self.session.engine;
            let previous = engine.view_definition_sql(name);
            self.keep(Kind::View, name, &previous).await?;
            let (prepare, create) = engine.replace_view_sql(name, select);
            if let Some(prepare) = prepare {
                self.session.queue_internal(prepare);
            }
            self.execute(&create).await
        })
    }

    /// Puts back the definition of view `name` that this revision's
    /// [`Migration::create_or_replace_view`] replaced, or drops the view if
    /// there was none. For the revision's `down`.
    pub fn restore_view<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a> {
        Box::pin(async move {
            let engine = self.session.engine;
            let restore = match self.kept(Kind::View, name).await? {
                Some(definition) => engine.restore_view_sql(name, &definition),
                None => vec![format!("DROP VIEW IF EXISTS {}", engine.quote(name))],
            };
            self.restore(Kind::View, name, restore).await
        })
    }

    /// Creates or replaces a PostgreSQL function with `definition` (a
    /// whole `CREATE OR REPLACE FUNCTION ...`); `signature` names it with
    /// its argument types (`slugify(text)`). The previous definition is
    /// kept for [`Migration::restore_function`].
    pub fn create_or_replace_function<'a>(
        &'a mut self,
        signature: &'a str,
        definition: &'a str,
    ) -> BoxFuture<'a> {
        Box::pin(async move {
            let Some(previous) = self.session.engine.function_definition_sql(signature) else {
                return Err(self.no_functions());
            };
            self.keep(Kind::Function, signature, &previous).await?;
            self.execute(definition).await
        })
    }

    /// Puts back the function `signature` this revision replaced, or drops
    /// it if there was none. For the revision's `down`.
    pub fn restore_function<'a>(&'a mut self, signature: &'a str) -> BoxFuture<'a> {
        Box::pin(async move {
            if self
                .session
                .engine
                .function_definition_sql(signature)
                .is_none()
            {
                return Err(self.no_functions());
            }
            let restore = match self.kept(Kind::Function, signature).await? {
                Some(definition) => vec![definition],
                None => vec![format!("DROP FUNCTION IF EXISTS {signature}")],
            };
            self.restore(Kind::Function, signature, restore).await
        })
    }

    /// Creates trigger `name` on `table` with `definition` (a whole
    /// `CREATE TRIGGER ...` in the engine's syntax), replacing the trigger
    /// of that name if there is one; the previous definition is kept for
    /// [`Migration::restore_trigger`]. Every engine.
    pub fn create_or_replace_trigger<'a>(
        &'a mut self,
        table: &'a str,
        name: &'a str,
        definition: &'a str,
    ) -> BoxFuture<'a> {
        Box::pin(async move {
            let engine = self.session.engine;
            let key = format!("{table}.{name}");
            self.keep(
                Kind::Trigger,
                &key,
                &engine.trigger_definition_sql(table, name),
            )
            .await?;
            // Not judged, and spared by the drop backstop: replacing a trigger
            // drops the old one by necessity.
            if let Some(allow) = engine.allow_drop_trigger(table, name) {
                self.session.queue_internal(allow);
            }
            self.session
                .queue_internal(engine.drop_trigger_sql(table, name));
            // A trigger's body is the engine's own dialect, which the
            // classifier may not parse; what it can parse is still judged.
            let statements = self.check(definition, true).await?;
            self.session.send(definition.to_owned(), statements).await
        })
    }

    /// Puts back trigger `name` on `table` as this revision found it, or
    /// drops it if there was none. For the revision's `down`.
    pub fn restore_trigger<'a>(&'a mut self, table: &'a str, name: &'a str) -> BoxFuture<'a> {
        Box::pin(async move {
            let engine = self.session.engine;
            let key = format!("{table}.{name}");
            let mut restore = vec![engine.drop_trigger_sql(table, name)];
            if let Some(definition) = self.kept(Kind::Trigger, &key).await? {
                restore.push(definition);
            }
            self.restore(Kind::Trigger, &key, restore).await
        })
    }

    fn no_functions(&self) -> Error {
        Error::Unrenderable {
            revision: self.revision.id.to_owned(),
            backend: self.session.backend,
            message: "replaceable functions are PostgreSQL's; use `m.backend()` to write this engine's own".to_owned(),
        }
    }

    /// Reads the current definition with `query` and keeps it.
    async fn keep(&mut self, kind: Kind, name: &str, query: &str) -> Result<()> {
        let table = self.objects();
        let backend = self.session.backend;
        let revision = self.revision.id;
        let conn = self.session.live_conn().await?;
        let failed = |source| Error::Database {
            action: format!("keeping the definition of {} `{name}`", kind.as_str()),
            source,
        };
        let definition = conn
            .fetch_text(query)
            .await
            .map_err(failed)?
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten());
        // One at a time: MySQL takes one statement per query. Never split
        // on text: the definition kept may itself hold `;` and newlines.
        let statements = [
            table.create(backend),
            table.forget(backend, revision, kind, name),
            table.insert(backend, revision, kind, name, definition.as_deref()),
        ];
        for statement in &statements {
            conn.execute_batch(statement)
                .await
                .map_err(|e| failed(e.source))?;
        }
        Ok(())
    }

    /// The definition kept for `name` (None: it did not exist).
    async fn kept(&mut self, kind: Kind, name: &str) -> Result<Option<String>> {
        let table = self.objects();
        let backend = self.session.backend;
        let revision = self.revision.id;
        let conn = self.session.live_conn().await?;
        let rows = conn
            .fetch_text(&table.select(backend, revision, kind, name))
            .await
            .map_err(|source| Error::Database {
                action: format!("reading the kept definition of {} `{name}`", kind.as_str()),
                source,
            })?;
        match rows.into_iter().next() {
            Some(row) => Ok(row.into_iter().next().flatten()),
            None => Err(Error::Rebuild {
                revision: revision.to_owned(),
                table: name.to_owned(),
                reason: format!(
                    "no definition of {} `{name}` was kept by this revision's create_or_replace_{}; restore it by hand",
                    kind.as_str(),
                    kind.as_str()
                ),
            }),
        }
    }

    async fn restore(&mut self, kind: Kind, name: &str, statements: Vec<String>) -> Result<()> {
        let forget = self
            .objects()
            .forget(self.session.backend, self.revision.id, kind, name);
        for statement in statements {
            self.execute(&statement).await?;
        }
        self.session.queue_internal(forget);
        self.session.flush().await
    }

    fn objects(&self) -> Objects {
        Objects {
            name: format!("{}_objects", self.session.backfill_state.history()),
        }
    }
}

/// `<history table>_objects`.
struct Objects {
    name: String,
}

impl Objects {
    fn sea(&self) -> TableName {
        match self.name.split_once('.') {
            Some((schema, table)) => (schema.to_owned(), table.to_owned()).into(),
            None => self.name.clone().into(),
        }
    }

    fn create(&self, backend: Backend) -> String {
        sea_query::Table::create()
            .table(self.sea())
            .if_not_exists()
            .col(ColumnDef::new("revision").string_len(255).not_null())
            .col(ColumnDef::new("kind").string_len(16).not_null())
            .col(ColumnDef::new("name").string_len(255).not_null())
            .col(ColumnDef::new("definition").text().null())
            .primary_key(Index::create().col("revision").col("kind").col("name"))
            .to_sql(backend)
    }

    fn insert(
        &self,
        backend: Backend,
        revision: &str,
        kind: Kind,
        name: &str,
        definition: Option<&str>,
    ) -> String {
        Query::insert()
            .into_table(self.sea())
            .columns(["revision", "kind", "name", "definition"])
            .values_panic([
                revision.into(),
                kind.as_str().into(),
                name.into(),
                definition.into(),
            ])
            .to_sql(backend)
    }

    fn select(&self, backend: Backend, revision: &str, kind: Kind, name: &str) -> String {
        Query::select()
            .column("definition")
            .from(self.sea())
            .and_where(Expr::col("revision").eq(revision))
            .and_where(Expr::col("kind").eq(kind.as_str()))
            .and_where(Expr::col("name").eq(name))
            .to_sql(backend)
    }

    fn forget(&self, backend: Backend, revision: &str, kind: Kind, name: &str) -> String {
        Query::delete()
            .from_table(self.sea())
            .and_where(Expr::col("revision").eq(revision))
            .and_where(Expr::col("kind").eq(kind.as_str()))
            .and_where(Expr::col("name").eq(name))
            .to_sql(backend)
    }
}
