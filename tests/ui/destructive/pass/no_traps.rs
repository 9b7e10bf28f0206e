use cofferdam::prelude::*;

// Breaking, not destructive: builds with or without a marker.
#[migration]
async fn relax_bio(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::alter().table("users").modify_column(ColumnDef::new("bio").text().null())).await
}

#[migration(after = relax_bio)]
#[destructive(reviewed, reason = "the running release tolerates NULL bios")]
async fn relax_email(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::alter().table("users").modify_column(ColumnDef::new("email").text().null())).await
}

// Destroys nothing: a new column backfilled, a scratch table, a DELETE whose WHERE comes later,
// a faithful SQLite rebuild.
#[migration(after = relax_email)]
async fn reshape(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::alter().table("items").add_column(ColumnDef::new("price").decimal_len(10, 2))).await?;
    m.execute("UPDATE items SET price = 0").await?;
    m.execute("CREATE TABLE scratch (id INT); DROP TABLE scratch").await?;
    let mut expired = Query::delete();
    expired.from_table("sessions");
    expired.and_where(Expr::col("expired").eq(true));
    m.exec(&expired).await?;
    m.execute("CREATE TABLE items_new (id INTEGER, price REAL)").await?;
    m.execute("INSERT INTO items_new (id, price) SELECT id, price FROM items").await?;
    m.execute("DROP TABLE items").await?;
    m.execute("ALTER TABLE items_new RENAME TO items").await
}

fn main() {}
