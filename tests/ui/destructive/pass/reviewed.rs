use cofferdam::prelude::*;

#[migration]
async fn create(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE articles (id INTEGER, body TEXT)").await
}

#[migration(after = create)]
#[destructive(reviewed, reason = "body moved to article_bodies; backup taken")]
async fn drop_body(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::alter().table("articles").drop_column("body")).await
}

// The attribute may also come first.
#[destructive(reviewed)]
#[migration(after = drop_body)]
async fn drop_articles(m: &mut Migration<'_>) -> Result<()> {
    m.execute("DROP TABLE articles").await
}

// SQL the compiler cannot see may be acknowledged: the runtime guard checks it.
#[migration(after = drop_articles)]
#[destructive(reviewed, reason = "tenant tables listed in the ticket")]
async fn drop_tenants(m: &mut Migration<'_>) -> Result<()> {
    for tenant in ["a", "b"] {
        let sql = tenant_sql(tenant);
        m.execute(&sql).await?;
    }
    Ok(())
}

fn tenant_sql(tenant: &str) -> String {
    ["DROP TABLE data_", tenant].concat()
}

fn main() {
    let revisions = cofferdam::Migrator::new(env!("CARGO_CRATE_NAME")).revisions().unwrap();
    let drop_body = revisions.iter().find(|r| r.id == "drop_body").unwrap();
    let review = drop_body.review.unwrap();
    assert_eq!(review.reason, Some("body moved to article_bodies; backup taken"));
    assert_eq!(review.operations, ["DROP COLUMN articles.body"]);
}
