//! The statement queue behind a [`crate::Migration`]: a connection (or
//! none, when SQL is only rendered), the statements not sent yet, and the
//! log of what was sent.
//!
//! Where the engine pipelines, statements that return nothing are queued and
//! sent together with the next statement that reads, or with the revision's
//! history row and COMMIT: a schema-only revision costs one round trip (one
//! hand-off to SQLite's worker thread). An error is still reported against
//! the statement that caused it.

use crate::backend::{Backend, Conn, Engine, FromAnyRow, LeaseCheck};
use crate::backfill::StateTable;
pub(crate) use crate::retry::{Listener, Retry};
use crate::{Error, Result};
use std::time::{Duration, Instant};

/// A statement that was run (or rendered) with how long it took.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct StatementLog {
    /// The revision it belongs to.
    pub revision: String,
    /// The SQL text.
    pub sql: String,
    /// How long it took; None when it was only rendered.
    pub duration: Option<Duration>,
}

/// What the guard does with destructive statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Refuse them: the revision is not marked reviewed.
    Enforce,
    /// Let them through: reviewed, or a `down` step.
    Allow,
}

#[derive(Debug)]
struct Queued {
    sql: String,
    /// How many statements the text holds, for error attribution.
    statements: usize,
    /// Statements the runtime adds itself (BEGIN, history, COMMIT).
    internal: bool,
}

/// A connection plus the queue of statements not yet sent.
#[derive(Debug)]
pub(crate) struct Session {
    /// None when SQL is only being rendered (`migrate sql`).
    pub(crate) conn: Option<Conn>,
    pub(crate) backend: Backend,
    pub(crate) engine: &'static dyn Engine,
    queue: Vec<Queued>,
    /// Queue statements and send them together (PostgreSQL, not in dry runs).
    pub(crate) pipeline: bool,
    /// Record every statement (dry runs and `migrate sql`).
    pub(crate) log: Option<Vec<StatementLog>>,
    revision: String,
    /// Set while a lease is held: checked before anything is sent, so a
    /// run that lost its lease stops before its next statement.
    pub(crate) lease: Option<LeaseCheck>,
    /// Retries of lock timeouts statement by statement, while a revision
    /// runs outside a transaction; None otherwise.
    pub(crate) retry: Option<Retry>,
    /// Told about backfill progress.
    pub(crate) observer: Listener,
    /// Where backfills record their progress.
    pub(crate) backfill_state: StateTable,
    /// The current revision ran a backfill: its progress record goes once
    /// the revision is recorded as applied.
    pub(crate) backfilled: bool,
}

impl Session {
    pub(crate) fn new(conn: Conn) -> Session {
        let backend = conn.backend();
        let engine = backend.engine();
        Session {
            conn: Some(conn),
            backend,
            engine,
            queue: Vec::new(),
            pipeline: engine.pipelined(),
            log: None,
            revision: String::new(),
            lease: None,
            retry: None,
            observer: Listener(None),
            backfill_state: StateTable::beside(crate::DEFAULT_HISTORY_TABLE),
            backfilled: false,
        }
    }

    /// Closes the connection, if any; the session renders offline afterwards.
    pub(crate) async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.close().await;
        }
    }

    /// A session that renders SQL without a database.
    pub(crate) fn offline(backend: Backend) -> Session {
        Session {
            conn: None,
            backend,
            engine: backend.engine(),
            queue: Vec::new(),
            pipeline: false,
            log: Some(Vec::new()),
            revision: String::new(),
            lease: None,
            retry: None,
            observer: Listener(None),
            backfill_state: StateTable::beside(crate::DEFAULT_HISTORY_TABLE),
            backfilled: false,
        }
    }

    pub(crate) fn set_revision(&mut self, id: &str) {
        self.revision = id.to_owned();
    }

    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("an online session has a connection")
    }

    /// Queues an internal statement (never classified).
    pub(crate) fn queue_internal(&mut self, sql: String) {
        self.queue_internal_many(sql, 1);
    }

    /// Queues internal text holding `statements` statements.
    pub(crate) fn queue_internal_many(&mut self, sql: String, statements: usize) {
        self.queue.push(Queued {
            sql,
            statements,
            internal: true,
        });
    }

    /// Queues the statement that opens a transaction on this engine.
    pub(crate) fn begin(&mut self) {
        self.queue_internal(self.engine.begin().to_owned());
    }

    /// Opens the transaction a dry run rolls back, and records every
    /// statement from now on, each sent on its own so it is timed.
    pub(crate) async fn rehearse(&mut self) -> Result<()> {
        self.pipeline = false;
        self.log = Some(Vec::new());
        self.begin();
        self.flush().await
    }

    /// Queues a statement and sends it at once unless pipelining.
    pub(crate) async fn send(&mut self, sql: String, statements: Option<usize>) -> Result<()> {
        let alone = statements.is_none();
        if alone {
            // Text the classifier could not split cannot share a round trip:
            // its errors could not be attributed.
            self.flush().await?;
        }
        self.queue.push(Queued {
            sql,
            statements: statements.unwrap_or(1),
            internal: false,
        });
        if !self.pipeline || alone {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends everything queued, in one round trip. Outside a transaction,
    /// with [`Session::retry`] set, a statement that gave up waiting for a
    /// lock is sent again (with what followed it) after a pause.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        if self.queue.is_empty() {
            return Ok(());
        }
        let mut queue = std::mem::take(&mut self.queue);
        let Some(conn) = self.conn.as_mut() else {
            if let Some(log) = self.log.as_mut() {
                let revision = self.revision.clone();
                log.extend(
                    queue
                        .into_iter()
                        .filter(|q| !q.internal)
                        .map(|q| StatementLog {
                            revision: revision.clone(),
                            sql: q.sql,
                            duration: None,
                        }),
                );
            }
            return Ok(());
        };
        let mut attempt = 0u32;
        loop {
            if let Some(lease) = &self.lease {
                lease.ensure(conn).await?;
            }
            let text = if queue.len() == 1 {
                queue[0].sql.clone()
            } else {
                // A newline before each `;` ends any trailing `--` comment.
                queue
                    .iter()
                    .map(|q| q.sql.trim_end().trim_end_matches(';'))
                    .collect::<Vec<_>>()
                    .join("\n;\n")
            };
            let started = Instant::now();
            let result = conn.execute_batch(&text).await;
            if let Some(log) = self.log.as_mut() {
                let duration = started.elapsed();
                for q in queue.iter().filter(|q| !q.internal) {
                    log.push(StatementLog {
                        revision: self.revision.clone(),
                        sql: q.sql.clone(),
                        duration: Some(duration),
                    });
                }
            }
            let Err(error) = result else { return Ok(()) };
            // The entry holding the failing statement, and whether the
            // failure was its first statement (so nothing of it was done).
            let mut seen = 0;
            let mut culprit = queue.len() - 1;
            let mut at_start = false;
            for (index, q) in queue.iter().enumerate() {
                if seen + q.statements > error.completed {
                    culprit = index;
                    at_start = seen == error.completed;
                    break;
                }
                seen += q.statements;
            }
            let retry = match &mut self.retry {
                Some(retry)
                    if at_start
                        && !queue[culprit].internal
                        && attempt < retry.timeouts.retries.unwrap_or(0)
                        && conn.is_lock_timeout(&error.source) =>
                {
                    attempt += 1;
                    Some(retry.note(&self.revision, attempt, &error.source))
                }
                _ => None,
            };
            if let Some(pause) = retry {
                tokio::time::sleep(pause).await;
                queue.drain(..culprit);
                continue;
            }
            let culprit = &queue[culprit];
            return Err(if culprit.internal {
                Error::Database {
                    action: format!("`{}`", shorten(&culprit.sql)),
                    source: error.source,
                }
            } else {
                Error::Statement {
                    statement: shorten(&culprit.sql),
                    source: error.source,
                }
            });
        }
    }

    /// Sends what is queued and hands out the connection, for a read that
    /// must see those statements' effects (or for raw access):
    /// [`Error::Offline`] when statements are only being rendered. A lost
    /// lease stops the run here, as it does before a send.
    pub(crate) async fn live_conn(&mut self) -> Result<&mut Conn> {
        self.flush().await?;
        let revision = &self.revision;
        let conn = self.conn.as_mut().ok_or_else(|| Error::Offline {
            revision: revision.clone(),
        })?;
        if let Some(lease) = &self.lease {
            lease.ensure(conn).await?;
        }
        Ok(conn)
    }

    /// Sends what is queued, then runs a query and decodes every row as `T`.
    pub(crate) async fn fetch_as<T: FromAnyRow>(&mut self, sql: &str) -> Result<Vec<T>> {
        let revision = self.revision.clone();
        let conn = self.live_conn().await?;
        let started = Instant::now();
        let rows = conn.fetch_as::<T>(sql.to_owned()).await;
        if let Some(log) = self.log.as_mut() {
            log.push(StatementLog {
                revision,
                sql: sql.to_owned(),
                duration: Some(started.elapsed()),
            });
        }
        rows.map_err(|source| Error::Statement {
            statement: shorten(sql),
            source,
        })
    }

    /// Sends what is queued, then answers whether the catalog query `sql`
    /// returns a row (the `has_*` helpers of [`crate::Migration`]).
    pub(crate) async fn exists(&mut self, sql: &str) -> Result<bool> {
        let revision = self.revision.clone();
        let rows = self.live_conn().await?.fetch_text(sql).await;
        rows.map(|rows| !rows.is_empty())
            .map_err(|source| Error::Database {
                action: format!("reading the catalog for revision `{revision}`"),
                source,
            })
    }

    /// Drops whatever is queued and rolls back the open transaction, if any.
    pub(crate) async fn rollback(&mut self) {
        self.queue.clear();
        if let Some(conn) = self.conn.as_mut()
            && let Err(error) = conn.execute_batch("ROLLBACK").await
        {
            tracing::debug!(error = %error.source, "rollback after a failed revision");
        }
    }
}

/// A statement cut to a length that fits in one error line.
pub(crate) fn shorten(sql: &str) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 200 {
        flat
    } else {
        format!("{}...", flat.chars().take(200).collect::<String>())
    }
}
