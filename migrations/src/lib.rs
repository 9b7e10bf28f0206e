//! The example application's migrations: a small blog schema that grows over
//! a few revisions, with a data migration, a reversible step and a reviewed
//! destructive one.
//!
//! `migrator()` is what the application calls; calling it also makes sure
//! this crate is linked, so its revisions are collected.

use cofferdam::prelude::*;

cofferdam::migration_set!(pub fn migrator);

/// Articles, the first table.
#[migration(down = drop_articles)]
pub async fn create_articles(m: &mut Migration<'_>) -> Result<()> {
    m.exec(
        Table::create()
            .table("articles")
            .col(ColumnDef::new("id").big_integer().not_null().primary_key())
            .col(ColumnDef::new("title").string_len(200).not_null())
            .col(ColumnDef::new("body").text().not_null()),
    )
    .await
}

async fn drop_articles(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::drop().table("articles")).await
}

/// Authors, in a branch of their own.
#[migration(down = drop_authors)]
pub async fn create_authors(m: &mut Migration<'_>) -> Result<()> {
    m.exec(
        Table::create()
            .table("authors")
            .col(ColumnDef::new("id").big_integer().not_null().primary_key())
            .col(ColumnDef::new("name").string_len(100).not_null()),
    )
    .await
}

async fn drop_authors(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::drop().table("authors")).await
}

/// A URL slug, filled from the title: a schema change and a data migration.
#[migration(after = create_articles, down = remove_slug)]
pub async fn add_slug(m: &mut Migration<'_>) -> Result<()> {
    m.exec(
        Table::alter()
            .table("articles")
            .add_column(ColumnDef::new("slug").string_len(200).null()),
    )
    .await?;
    m.execute("UPDATE articles SET slug = lower(replace(title, ' ', '-'))")
        .await
}

async fn remove_slug(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::alter().table("articles").drop_column("slug"))
        .await
}

/// Joins the two branches: articles get an author.
#[migration(after = [add_slug, create_authors], down = remove_author_id)]
pub async fn link_authors(m: &mut Migration<'_>) -> Result<()> {
    m.exec(
        Table::alter()
            .table("articles")
            .add_column(ColumnDef::new("author_id").big_integer().null()),
    )
    .await?;
    m.exec(
        Index::create()
            .name("articles_author_id")
            .table("articles")
            .col("author_id"),
    )
    .await
}

async fn remove_author_id(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Index::drop().name("articles_author_id").table("articles"))
        .await?;
    m.exec(Table::alter().table("articles").drop_column("author_id"))
        .await
}

#[cfg(test)]
mod tests {
    /// The check every migrations crate should have in its own test suite.
    #[test]
    fn migration_graph_is_sound() {
        super::migrator()
            .check_graph()
            .expect("the revision graph is sound");
    }
}
