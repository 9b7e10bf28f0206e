//! What sea-query 1.0 really renders, for each backend, is understood: its drops are reported
//! with their objects, and its CREATE / ALTER ... ADD output parses as exactly one safe
//! statement (the runtime refuses what it cannot parse).

use cofferdam_lint::{Dialect, Risk, classify_sql, classify_sql_any_dialect};
use sea_query::extension::postgres::{Extension, Type};
use sea_query::{
    ColumnDef, Expr, ExprTrait, ForeignKey, ForeignKeyAction, Index, MysqlQueryBuilder,
    PostgresQueryBuilder, Query, SqliteQueryBuilder, Table,
};

/// SQL rendered by sea-query, the backend it was rendered for, and the findings expected.
#[derive(Clone)]
struct Rendered {
    sql: String,
    dialect: Dialect,
    findings: &'static [&'static str],
}

/// Renders one schema statement for each backend listed.
macro_rules! render {
    ($stmt:expr, [$($backend:ident),+], $findings:expr) => {{
        let stmt = $stmt;
        vec![$(Rendered {
            sql: stmt.to_string(builder!($backend)),
            dialect: dialect!($backend),
            findings: $findings,
        }),+]
    }};
}

macro_rules! builder {
    (Postgres) => {
        PostgresQueryBuilder
    };
    (MySql) => {
        MysqlQueryBuilder
    };
    (Sqlite) => {
        SqliteQueryBuilder
    };
}

macro_rules! dialect {
    (Postgres) => {
        Dialect::Postgres
    };
    (MySql) => {
        Dialect::MySql
    };
    (Sqlite) => {
        Dialect::Sqlite
    };
}

fn destructive() -> Vec<Rendered> {
    [
        render!(
            Table::drop().table("articles").to_owned(),
            [Postgres, MySql, Sqlite],
            &["DROP TABLE articles"]
        ),
        render!(
            Table::drop()
                .table("articles")
                .table("authors")
                .if_exists()
                .cascade()
                .to_owned(),
            [Postgres, MySql],
            &["DROP TABLE articles CASCADE", "DROP TABLE authors CASCADE"]
        ),
        render!(
            Table::drop().table(("blog", "articles")).to_owned(),
            [Postgres, MySql],
            &["DROP TABLE blog.articles"]
        ),
        render!(
            Table::truncate().table("articles").to_owned(),
            [Postgres, MySql],
            &["TRUNCATE articles"]
        ),
        render!(
            Index::drop().name("idx_title").table("articles").to_owned(),
            [Postgres, Sqlite],
            &["DROP INDEX idx_title"]
        ),
        render!(
            Index::drop().name("idx_title").table("articles").to_owned(),
            [MySql],
            &["DROP INDEX articles.idx_title"]
        ),
        render!(
            Index::drop().name("idx_title").if_exists().to_owned(),
            [Postgres, Sqlite],
            &["DROP INDEX idx_title"]
        ),
        // sqlparser 0.63 cannot parse this; the leading tokens still name it.
        render!(
            Index::drop().name("idx_title").concurrently().to_owned(),
            [Postgres],
            &["DROP INDEX idx_title"]
        ),
        render!(
            ForeignKey::drop()
                .name("fk_author")
                .table("articles")
                .to_owned(),
            [Postgres],
            &["DROP CONSTRAINT articles.fk_author"]
        ),
        render!(
            ForeignKey::drop()
                .name("fk_author")
                .table("articles")
                .to_owned(),
            [MySql],
            &["DROP FOREIGN KEY articles.fk_author"]
        ),
        render!(
            Table::alter()
                .table("articles")
                .drop_column("body")
                .to_owned(),
            [Postgres, MySql, Sqlite],
            &["DROP COLUMN articles.body"]
        ),
        render!(
            Table::alter()
                .table("articles")
                .drop_column_if_exists("body")
                .to_owned(),
            [Postgres, MySql],
            &["DROP COLUMN articles.body"]
        ),
        render!(
            Table::alter()
                .table("articles")
                .drop_column("body")
                .drop_column("title")
                .to_owned(),
            [Postgres, MySql],
            &["DROP COLUMN articles.body", "DROP COLUMN articles.title"]
        ),
        render!(
            Table::alter()
                .table("articles")
                .drop_foreign_key("fk_author")
                .to_owned(),
            [Postgres],
            &["DROP CONSTRAINT articles.fk_author"]
        ),
        render!(
            Table::alter()
                .table("articles")
                .drop_foreign_key("fk_author")
                .to_owned(),
            [MySql],
            &["DROP FOREIGN KEY articles.fk_author"]
        ),
        render!(
            Table::alter()
                .table("articles")
                .drop_constraint("uq_title")
                .to_owned(),
            [Postgres, MySql],
            &["DROP CONSTRAINT articles.uq_title"]
        ),
        // PostgreSQL renders `.null()` as ALTER COLUMN ... DROP NOT NULL: breaking, not
        // destructive, so it is a warning and the statement is safe.
        render!(
            Table::alter()
                .table("articles")
                .modify_column(ColumnDef::new("body").text().null())
                .to_owned(),
            [Postgres],
            &[]
        ),
        render!(
            Type::drop().name("mood").if_exists().cascade().to_owned(),
            [Postgres],
            &["DROP TYPE mood CASCADE"]
        ),
        render!(
            Extension::drop().name("hstore").cascade().to_owned(),
            [Postgres],
            &["DROP EXTENSION hstore"]
        ),
        render!(
            Query::delete().from_table("articles").to_owned(),
            [Postgres, MySql, Sqlite],
            &["DELETE without WHERE articles"]
        ),
    ]
    .concat()
}

fn articles() -> sea_query::TableCreateStatement {
    Table::create()
        .table("articles")
        .if_not_exists()
        .col(
            ColumnDef::new("id")
                .integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(
            ColumnDef::new("title")
                .string_len(200)
                .not_null()
                .unique_key(),
        )
        .col(ColumnDef::new("body").text().null())
        .col(ColumnDef::new("draft").boolean().not_null().default(true))
        .col(ColumnDef::new("score").decimal())
        .col(ColumnDef::new("views").big_integer().default(0))
        .col(ColumnDef::new("token").uuid())
        .col(ColumnDef::new("meta").json())
        .col(ColumnDef::new("cover").blob())
        .col(ColumnDef::new("published_on").date())
        .col(
            ColumnDef::new("created_at")
                .timestamp_with_time_zone()
                .not_null()
                .default(Expr::current_timestamp()),
        )
        .col(ColumnDef::new("author_id").integer().not_null())
        .foreign_key(
            ForeignKey::create()
                .name("fk_author")
                .from("articles", "author_id")
                .to("authors", "id")
                .on_delete(ForeignKeyAction::Cascade)
                .on_update(ForeignKeyAction::NoAction),
        )
        .to_owned()
}

fn safe() -> Vec<Rendered> {
    [
        render!(articles(), [Postgres, MySql, Sqlite], &[]),
        render!(
            Index::create()
                .name("idx_title")
                .table("articles")
                .col("title")
                .col("draft")
                .unique()
                .if_not_exists()
                .to_owned(),
            [Postgres, Sqlite],
            &[]
        ),
        render!(
            Index::create()
                .name("idx_title")
                .table("articles")
                .col("title")
                .to_owned(),
            [MySql],
            &[]
        ),
        render!(
            Index::create()
                .name("idx_title")
                .table("articles")
                .col("title")
                .concurrently()
                .to_owned(),
            [Postgres],
            &[]
        ),
        render!(
            Table::alter()
                .table("articles")
                .add_column(ColumnDef::new("subtitle").string().not_null().default(""))
                .to_owned(),
            [Postgres, MySql, Sqlite],
            &[]
        ),
        render!(
            Table::alter()
                .table("articles")
                .add_column_if_not_exists(ColumnDef::new("slug").string())
                .to_owned(),
            [Postgres, MySql, Sqlite],
            &[]
        ),
        render!(
            Table::alter()
                .table("articles")
                .rename_column("body", "content")
                .to_owned(),
            [Postgres, MySql, Sqlite],
            &[]
        ),
        render!(
            Table::alter()
                .table("articles")
                .modify_column(ColumnDef::new("views").big_integer().not_null())
                .to_owned(),
            [Postgres, MySql],
            &[]
        ),
        render!(
            Table::rename().table("articles", "posts").to_owned(),
            [Postgres, MySql, Sqlite],
            &[]
        ),
        render!(
            ForeignKey::create()
                .name("fk_author")
                .from("articles", "author_id")
                .to("authors", "id")
                .to_owned(),
            [Postgres, MySql],
            &[]
        ),
        render!(
            Type::create()
                .as_enum("mood")
                .values(["happy", "sad"])
                .to_owned(),
            [Postgres],
            &[]
        ),
        render!(
            Type::alter().name("mood").add_value("meh").to_owned(),
            [Postgres],
            &[]
        ),
        render!(
            Extension::create()
                .name("hstore")
                .if_not_exists()
                .to_owned(),
            [Postgres],
            &[]
        ),
        render!(
            Query::delete()
                .from_table("articles")
                .and_where(Expr::col("id").eq(1))
                .to_owned(),
            [Postgres, MySql, Sqlite],
            &[]
        ),
        render!(
            Query::update()
                .table("articles")
                .value("draft", false)
                .and_where(Expr::col("id").eq(1))
                .to_owned(),
            [Postgres, MySql, Sqlite],
            &[]
        ),
        render!(
            Query::insert()
                .into_table("articles")
                .columns(["title", "body"])
                .values_panic(["DROP TABLE x; --".into(), "it's".into()])
                .to_owned(),
            [Postgres, MySql, Sqlite],
            &[]
        ),
    ]
    .concat()
}

fn check(rendered: Vec<Rendered>) {
    let mut failures = Vec::new();
    for r in rendered {
        let got = classify_sql(&r.sql, r.dialect);
        let any = classify_sql_any_dialect(&r.sql);
        let shown: Vec<String> = got.findings.iter().map(ToString::to_string).collect();
        let any_shown: Vec<String> = any.findings.iter().map(ToString::to_string).collect();
        let destructive = got.findings.iter().all(|f| f.risk == Risk::Destructive);
        if got.statements != Some(1) || shown != r.findings || !destructive {
            failures.push(format!("{:?} {}\n    got {got:?}", r.dialect, r.sql));
        }
        // At compile time the backend is unknown; the same findings must come out.
        if any.statements != Some(1) || any_shown != r.findings {
            failures.push(format!("any dialect: {}\n    got {any:?}", r.sql));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn sea_query_drops_are_destructive() {
    check(destructive());
}

#[test]
fn sea_query_creates_and_adds_are_one_safe_statement() {
    check(safe());
}
