use cofferdam::prelude::*;

#[migration]
async fn not_destructive(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE stats (id INTEGER, drop_count INTEGER, truncate_log TEXT)").await?;
    m.execute("INSERT INTO stats (id, truncate_log) VALUES (1, 'please DROP TABLE x')").await?;
    m.execute("-- DROP TABLE stats\nUPDATE stats SET drop_count = 0").await?;
    m.execute("/* TRUNCATE stats */ DELETE FROM stats WHERE id = 1").await?;
    m.exec(Query::delete().from_table("stats").and_where(Expr::col("id").eq(2))).await?;
    m.exec(Table::alter().table("stats").add_column(ColumnDef::new("dropped_at").text().null())).await
}

fn main() {}
