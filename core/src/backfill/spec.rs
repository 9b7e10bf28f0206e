//! The SQL of a backfill's batches: the key range of each, the statement
//! run on it, and the query finding where the next batch ends.

use super::{Batch, Work};
use crate::backend::Engine;
use std::time::Duration;

/// What the batches do, apart from the migration running them.
pub(crate) struct Spec {
    pub(crate) table: String,
    pub(crate) key: String,
    pub(crate) work: Work,
    pub(crate) filter: Option<String>,
    pub(crate) batch_size: u64,
    pub(crate) pause: Duration,
    pub(crate) max_time: Option<Duration>,
    pub(crate) max_lag: Option<Duration>,
}

impl Spec {
    /// The condition selecting the keys after `after` up to `up_to`.
    pub(crate) fn condition(
        &self,
        engine: &dyn Engine,
        after: Option<&str>,
        up_to: &str,
    ) -> String {
        let key = format!("{}.{}", engine.quote(&self.table), engine.quote(&self.key));
        let mut parts = Vec::new();
        if let Some(after) = after {
            parts.push(format!("{key} > {}", key_literal(engine, after)));
        }
        parts.push(format!("{key} <= {}", key_literal(engine, up_to)));
        if let Some(filter) = &self.filter {
            parts.push(format!("({filter})"));
        }
        parts.join(" AND ")
    }

    /// The statement of one batch.
    pub(crate) fn statement(&self, engine: &dyn Engine, batch: &Batch) -> String {
        match &self.work {
            Work::Set(assignments) => format!(
                "UPDATE {} SET {assignments} WHERE {}",
                engine.quote(&self.table),
                batch.condition
            ),
            Work::Statement(write) => write(batch),
            Work::Unset => unreachable!("checked before the first batch"),
        }
    }

    /// The query answering the last key of the next batch (NULL: none left).
    pub(crate) fn bound_sql(&self, engine: &dyn Engine, after: Option<&str>) -> String {
        let key = engine.quote(&self.key);
        let mut conditions = Vec::new();
        if let Some(after) = after {
            conditions.push(format!("{key} > {}", key_literal(engine, after)));
        }
        if let Some(filter) = &self.filter {
            conditions.push(format!("({filter})"));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        format!(
            "SELECT MAX({key}) FROM (SELECT {key} FROM {}{filter} ORDER BY {key} LIMIT {}) cofferdam_batch",
            engine.quote(&self.table),
            self.batch_size
        )
    }
}

/// A key read as text, written back as a literal: bare when it is an
/// integer (so the comparison uses the index as a number), quoted otherwise.
fn key_literal(engine: &dyn Engine, key: &str) -> String {
    if key.parse::<i64>().is_ok() {
        key.to_owned()
    } else {
        engine.literal(key)
    }
}
