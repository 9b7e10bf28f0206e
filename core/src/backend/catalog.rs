//! What the runtime guard reads from the catalog: the columns of a table
//! about to be rebuilt, which only the database knows.

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
}
