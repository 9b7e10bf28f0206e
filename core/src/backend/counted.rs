//! What the backfill helper needs beyond [`Conn`]'s basics: how many rows
//! each statement of a batch changed, and one named column of a status
//! row (a replica's delay).

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
use super::absurd;
use super::{BatchError, Conn};
use futures::TryStreamExt;
use sqlx::{AssertSqlSafe, Column, Row};

impl Conn {
    /// Sends `sql` (one or more statements) in one round trip and returns
    /// the rows each statement changed; on failure says how many
    /// statements completed first.
    pub(crate) async fn execute_counted(&mut self, sql: &str) -> Result<Vec<u64>, BatchError> {
        let mut counts = Vec::new();
        let result: Result<(), sqlx::Error> = with_conn!(self, c => {
            let mut results = sqlx::raw_sql(AssertSqlSafe(sql)).execute_many(&mut *c);
            loop {
                match results.try_next().await {
                    Ok(Some(done)) => counts.push(done.rows_affected()),
                    Ok(None) => break Ok(()),
                    Err(error) => break Err(error),
                }
            }
        });
        result
            .map(|()| counts.clone())
            .map_err(|source| BatchError {
                completed: counts.len(),
                source,
            })
    }

    /// Runs `sql` and returns, from its first row, the first of `columns`
    /// the row has, as text (None: NULL, or none of the columns). None: no
    /// row.
    pub(crate) async fn fetch_named(
        &mut self,
        sql: &str,
        columns: &[&str],
    ) -> Result<Option<Option<String>>, sqlx::Error> {
        with_conn!(self, c => {
            let rows = sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(&mut *c).await?;
            let Some(row) = rows.first() else {
                return Ok(None);
            };
            let index = columns.iter().find_map(|wanted| {
                row.columns()
                    .iter()
                    .position(|column| column.name().eq_ignore_ascii_case(wanted))
            });
            match index {
                // A plain-text query answers text on every backend.
                Some(index) => row.try_get_unchecked::<Option<String>, _>(index).map(Some),
                None => Ok(Some(None)),
            }
        })
    }
}
