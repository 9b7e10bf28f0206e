use cofferdam::prelude::*;

#[migration]
async fn cleanup(m: &mut Migration<'_>) -> Result<()> {
    m.execute("DROP TABLE articles").await?;
    m.execute("DELETE FROM sessions").await?;
    let sql = "ALTER TABLE users DROP COLUMN email";
    m.execute(sql).await?;
    m.execute(concat!("TRUNCATE ", "audit_log")).await
}

fn main() {}
