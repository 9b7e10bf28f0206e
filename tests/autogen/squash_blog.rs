//! Revision `squash_blog`, written by `migrate squash` from the schema the migrations of set `example_migrations` reach at `link_authors`, for sqlite.
//!
//! A fresh database runs it; one that ran the replaced revisions records it without running it. Once every database is past it, delete the replaced revisions and name them by id here (`replaces = ["..."]`).

use cofferdam::prelude::*;

/// Squash of 4 revisions: create table articles; create table authors.
#[migration(
    replaces = [crate::old::create_articles,
    crate::old::add_slug,
    crate::old::create_authors,
    crate::old::link_authors],
    down = undo_squash_blog
)]
pub async fn squash_blog(m: &mut Migration<'_>) -> Result<()> {
    // not reproduced: `add_slug` changes rows, which the squash does not copy (it creates
    // empty tables): `UPDATE articles SET slug = lower(replace(title, ' ', '-'))`
    m.exec(
        Table::create()
            .table("articles")
            .col(ColumnDef::new("id").big_integer().not_null().primary_key())
            .col(ColumnDef::new("title").string_len(200).not_null())
            .col(ColumnDef::new("body").text().not_null())
            .col(ColumnDef::new("slug").string_len(200).null())
            .col(ColumnDef::new("author_id").big_integer().null()),
    )
    .await?;
    m.exec(
        Index::create()
            .name("articles_author_id")
            .table("articles")
            .col("author_id"),
    )
    .await?;
    m.exec(
        Table::create()
            .table("authors")
            .col(ColumnDef::new("id").big_integer().not_null().primary_key())
            .col(ColumnDef::new("name").string_len(100).not_null()),
    )
    .await?;
    Ok(())
}

/// Undoes `squash_blog`: drops what it built, with the rows. Not gated like an `up`: reverting a whole schema is what reverting a squash means.
async fn undo_squash_blog(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::drop().table("authors")).await?;
    m.exec(Table::drop().table("articles")).await?;
    Ok(())
}
