//! What the runtime reads from the catalog: the columns of a table about
//! to be rebuilt (for the guard), and the INVALID indexes a failed
//! non-transactional revision left behind (for the operator).

use super::Conn;

impl Conn {
    /// The column names of `table` (`schema.table` allowed), in catalog
    /// order; empty when the table does not exist.
    pub(crate) async fn columns(&mut self, table: &str) -> Result<Vec<String>, sqlx::Error> {
        let sql = self.engine().columns_sql(table);
        let rows = self.fetch_text(&sql).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect())
    }

    /// The INVALID indexes a failed non-transactional build left in the
    /// current schema, each with the statement that drops it; empty where
    /// the engine leaves none, or when the catalog cannot be read (the
    /// connection may be what failed).
    pub(crate) async fn invalid_indexes(&mut self) -> Vec<crate::error::InvalidIndex> {
        let engine = self.engine();
        let Some(sql) = engine.invalid_indexes_sql() else {
            return Vec::new();
        };
        match self.fetch_text(sql).await {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|row| row.into_iter().next().flatten())
                .map(|name| crate::error::InvalidIndex {
                    drop: engine.drop_index_sql(&name),
                    name,
                })
                .collect(),
            Err(error) => {
                tracing::debug!(%error, "could not look for INVALID indexes");
                Vec::new()
            }
        }
    }
}
