/// Squash of 4 revisions: create table articles; create table authors.
#[migration(set = "squash_deleted", replaces = ["create_articles", "create_authors", "add_slug", "link_authors"], down = undo_squash_blog)]
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
