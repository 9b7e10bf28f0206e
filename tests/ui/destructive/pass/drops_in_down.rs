use cofferdam::prelude::*;

#[migration(down = drop_articles)]
async fn create_articles(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE articles (id INTEGER)").await
}

// A reverse step: its drops are expected and not gated.
async fn drop_articles(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::drop().table("articles")).await?;
    m.execute("DROP INDEX IF EXISTS articles_id").await
}

fn main() {}
