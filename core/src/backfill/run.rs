//! The batch loop of [`Backfill::run`].

use super::lag::Replicas;
use super::spec::Spec;
use super::state::{self, Progress};
use super::{BackfillProgress, BackfillReport, Batch, Work};
use crate::backend::Conn;
use crate::report::Event;
use crate::session::{Session, shorten};
use crate::{Backfill, BoxFuture, Error, Result};
use std::time::{Duration, Instant};

/// How often the lag is read again while waiting for replicas.
const LAG_POLL: Duration = Duration::from_millis(500);
/// How often a wait for replicas is announced again.
const LAG_NOTICE: Duration = Duration::from_secs(10);

impl<'m> Backfill<'m, '_> {
    /// Runs the backfill to the end (or to [`Backfill::max_time`]).
    pub fn run(self) -> BoxFuture<'m, BackfillReport> {
        Box::pin(async move {
            let Backfill {
                migration,
                spec,
                replicas,
            } = self;
            let revision = migration.revision;
            if revision.transaction {
                return Err(Error::BackfillInTransaction {
                    revision: revision.id.to_owned(),
                    table: spec.table,
                });
            }
            if matches!(spec.work, Work::Unset) {
                return Err(Error::BackfillIncomplete {
                    revision: revision.id.to_owned(),
                    table: spec.table,
                    rows: 0,
                    reason: "it says nothing to do; give it `.set(...)` or `.each_batch(...)`"
                        .to_owned(),
                });
            }
            let engine = migration.session.engine;
            let first = Batch {
                condition: spec.condition(engine, None, "0"),
                after: None,
                up_to: "0".to_owned(),
            };
            // The runtime guard judges the batch statement once, as it judges
            // any statement of the revision.
            migration
                .check(&spec.statement(engine, &first), false)
                .await?;
            migration.session.flush().await?;
            let mut job = Job::start(&mut *migration.session, revision.id, &spec.table).await?;
            let mut replicas = Replicas::connect(&replicas).await?;
            let outcome = job.run(&spec, &mut replicas).await;
            replicas.close().await;
            outcome
        })
    }
}

/// A backfill under way on one session.
struct Job<'s> {
    session: &'s mut Session,
    revision: &'static str,
    target: String,
    progress: Progress,
    estimate: Option<u64>,
    report: BackfillReport,
}

impl<'s> Job<'s> {
    /// Reads (or creates) the progress record.
    async fn start(
        session: &'s mut Session,
        revision: &'static str,
        table: &str,
    ) -> Result<Job<'s>> {
        let backend = session.backend;
        let engine = session.engine;
        let state = session.backfill_state.clone();
        let Some(conn) = session.conn.as_mut() else {
            return Err(Error::Offline {
                revision: revision.to_owned(),
            });
        };
        let progress_error = |source| Error::Database {
            action: format!(
                "reading the backfill progress of `{table}` in `{}`",
                state.name()
            ),
            source,
        };
        conn.execute_batch(&state.create_sql(backend))
            .await
            .map_err(|e| progress_error(e.source))?;
        let rows = conn
            .fetch_text(&state.select_sql(backend, revision, table))
            .await
            .map_err(progress_error)?;
        let progress = match rows.into_iter().next() {
            Some(row) => state::parse(row),
            None => {
                conn.execute_batch(&state.insert_sql(backend, revision, table))
                    .await
                    .map_err(|e| progress_error(e.source))?;
                Progress::default()
            }
        };
        let estimate = conn
            .fetch_text(&engine.estimated_rows_sql(table))
            .await
            .ok()
            .and_then(|rows| rows.into_iter().next()?.into_iter().next()?)
            .and_then(|text| text.parse().ok());
        session.backfilled = true;
        let report = BackfillReport {
            table: table.to_owned(),
            total_rows: progress.rows,
            resumed: progress.last_key.is_some() || progress.finished,
            ..BackfillReport::default()
        };
        Ok(Job {
            session,
            revision,
            target: table.to_owned(),
            progress,
            estimate,
            report,
        })
    }

    async fn run(&mut self, spec: &Spec, replicas: &mut Replicas) -> Result<BackfillReport> {
        if self.progress.finished {
            return Ok(self.report.clone());
        }
        let started = Instant::now();
        let engine = self.session.engine;
        loop {
            if let Some(limit) = spec.max_time
                && started.elapsed() >= limit
            {
                return Err(self.incomplete(format!("it reached its time limit ({limit:?})")));
            }
            if let Some(max) = spec.max_lag {
                self.wait_for_replicas(spec, max, replicas, started).await?;
            }
            let bound = spec.bound_sql(engine, self.progress.last_key.as_deref());
            let up_to = self
                .conn()?
                .fetch_text(&bound)
                .await
                .map_err(|source| Error::Statement {
                    statement: shorten(&bound),
                    source,
                })?
                .into_iter()
                .next()
                .and_then(|row| row.into_iter().next().flatten());
            let Some(up_to) = up_to else {
                let backend = self.session.backend;
                let finish =
                    self.session
                        .backfill_state
                        .finish_sql(backend, self.revision, &self.target);
                self.conn()?
                    .execute_batch(&finish)
                    .await
                    .map_err(|e| Error::Database {
                        action: "recording the end of the backfill".to_owned(),
                        source: e.source,
                    })?;
                self.notify(started, true);
                return Ok(self.report.clone());
            };
            let after = self.progress.last_key.clone();
            let batch = Batch {
                condition: spec.condition(engine, after.as_deref(), &up_to),
                after,
                up_to,
            };
            let rows = self
                .batch(
                    &spec.statement(engine, &batch),
                    &batch.up_to,
                    matches!(spec.work, Work::Set(_)),
                )
                .await?;
            self.progress.last_key = Some(batch.up_to);
            self.progress.rows += rows;
            self.report.rows += rows;
            self.report.total_rows = self.progress.rows;
            self.report.batches += 1;
            self.notify(started, false);
            if !spec.pause.is_zero() {
                tokio::time::sleep(spec.pause).await;
            }
        }
    }

    /// Commits one batch with its progress record; retries it after a lock
    /// timeout when the revision allows retries.
    async fn batch(&mut self, statement: &str, up_to: &str, single: bool) -> Result<u64> {
        let mut attempt = 0;
        loop {
            let error = match self.send_batch(statement, up_to, single).await {
                Ok(rows) => return Ok(rows),
                Err(error) => error,
            };
            let conn = self.conn()?;
            if let Err(rollback) = conn.execute_batch("ROLLBACK").await {
                tracing::debug!(error = %rollback.source, "rollback after a failed batch");
            }
            let retryable = conn.is_lock_timeout(&error);
            let pause = match &mut self.session.retry {
                Some(retry) if retryable && attempt < retry.timeouts.retries.unwrap_or(0) => {
                    attempt += 1;
                    retry.note(self.revision, attempt, &error)
                }
                _ => {
                    return Err(Error::Statement {
                        statement: shorten(statement),
                        source: error,
                    });
                }
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// BEGIN and the batch, then its progress record (with the rows the
    /// batch changed, known only now) and COMMIT: two round trips where the
    /// engine pipelines, four elsewhere.
    async fn send_batch(
        &mut self,
        statement: &str,
        up_to: &str,
        single: bool,
    ) -> std::result::Result<u64, sqlx::Error> {
        let backend = self.session.backend;
        let engine = self.session.engine;
        let Some(conn) = self.session.conn.as_mut() else {
            unreachable!("a job starts only on a connected session");
        };
        // Where the server can count what the batch's (one) statement
        // changed, the whole batch is one round trip.
        if engine.pipelined()
            && single
            && let Some(changed) = engine.rows_changed_expr()
        {
            let advance = self.session.backfill_state.advance_by_sql(
                backend,
                self.revision,
                &self.target,
                up_to,
                changed,
            );
            let text = format!("{};\n{statement};\n{advance};\nCOMMIT", engine.begin());
            let counts = conn.execute_counted(&text).await.map_err(|e| e.source)?;
            return Ok(counts.get(1).copied().unwrap_or(0));
        }
        let rows: u64 = if engine.pipelined() {
            let text = format!("{};\n{statement}", engine.begin());
            let counts = conn.execute_counted(&text).await.map_err(|e| e.source)?;
            counts.iter().skip(1).sum()
        } else {
            conn.execute_counted(engine.begin())
                .await
                .map_err(|e| e.source)?;
            let counts = conn
                .execute_counted(statement)
                .await
                .map_err(|e| e.source)?;
            counts.iter().sum()
        };
        let advance = self.session.backfill_state.advance_sql(
            backend,
            self.revision,
            &self.target,
            up_to,
            rows,
        );
        if engine.pipelined() {
            conn.execute_counted(&format!("{advance};\nCOMMIT"))
                .await
                .map_err(|e| e.source)?;
        } else {
            conn.execute_counted(&advance).await.map_err(|e| e.source)?;
            conn.execute_counted("COMMIT").await.map_err(|e| e.source)?;
        }
        Ok(rows)
    }

    fn conn(&mut self) -> Result<&mut Conn> {
        let revision = self.revision;
        self.session.conn.as_mut().ok_or_else(|| Error::Offline {
            revision: revision.to_owned(),
        })
    }

    fn incomplete(&self, reason: String) -> Error {
        Error::BackfillIncomplete {
            revision: self.revision.to_owned(),
            table: self.target.clone(),
            rows: self.progress.rows,
            reason,
        }
    }

    fn notify(&self, started: Instant, finished: bool) {
        let working = started.elapsed().saturating_sub(self.report.waited);
        let rate = if working.is_zero() {
            0.0
        } else {
            self.report.rows as f64 / working.as_secs_f64()
        };
        let estimated_left = self
            .estimate
            .filter(|_| rate > 0.0 && !finished)
            .map(|estimate| {
                Duration::from_secs_f64(estimate.saturating_sub(self.progress.rows) as f64 / rate)
            });
        let progress = BackfillProgress {
            revision: self.revision.to_owned(),
            table: self.target.clone(),
            rows: self.progress.rows,
            batches: self.report.batches,
            rows_per_second: rate,
            estimated_left,
            finished,
        };
        tracing::debug!(revision = self.revision, table = %self.target, rows = progress.rows, "backfill batch");
        self.session.observer.tell(Event::Backfill(progress));
    }

    /// Waits while a replica is more than `max` behind.
    async fn wait_for_replicas(
        &mut self,
        spec: &Spec,
        max: Duration,
        replicas: &mut Replicas,
        started: Instant,
    ) -> Result<()> {
        let mut announced: Option<Instant> = None;
        let waiting_since = Instant::now();
        loop {
            let lag = replicas.lag(self.conn()?).await?;
            if lag.is_some_and(|lag| lag <= max) {
                self.report.waited += waiting_since.elapsed();
                return Ok(());
            }
            if announced.is_none_or(|at| at.elapsed() >= LAG_NOTICE) {
                announced = Some(Instant::now());
                tracing::info!(revision = self.revision, table = %self.target, ?lag, ?max, "waiting for replicas to catch up");
                self.session.observer.tell(Event::ReplicaLag {
                    revision: self.revision.to_owned(),
                    table: self.target.clone(),
                    lag,
                    max,
                });
            }
            if let Some(limit) = spec.max_time
                && started.elapsed() >= limit
            {
                self.report.waited += waiting_since.elapsed();
                return Err(self.incomplete(format!(
                    "it reached its time limit ({limit:?}) waiting for replicas to catch up"
                )));
            }
            tokio::time::sleep(LAG_POLL).await;
        }
    }
}
