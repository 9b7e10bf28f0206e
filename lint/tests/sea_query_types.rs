//! Every column type sea-query 1.0 renders for a backend, in CREATE TABLE and ALTER TABLE ADD
//! COLUMN, is one safe statement under that backend's dialect, with none left as unknown: an
//! unknown here would be a trap (refused at run time, nothing for the compiler to flag).

use cofferdam_lint::{Dialect, classify_sql, classify_sql_any_dialect};
use sea_query::{
    ColumnDef, ColumnType, Expr, ExprTrait, MysqlQueryBuilder, PgInterval, PostgresQueryBuilder,
    SchemaBuilder, SqliteQueryBuilder, Table,
};

fn common() -> Vec<(&'static str, ColumnDef)> {
    let c = |label: &str| ColumnDef::new(label.to_owned());
    vec![
        ("char_len", c("char_len").char_len(10).to_owned()),
        ("char", c("char").char().to_owned()),
        ("string_len", c("string_len").string_len(200).to_owned()),
        ("string", c("string").string().to_owned()),
        ("text", c("text").text().to_owned()),
        ("tiny_integer", c("tiny_integer").tiny_integer().to_owned()),
        (
            "small_integer",
            c("small_integer").small_integer().to_owned(),
        ),
        ("integer", c("integer").integer().to_owned()),
        ("big_integer", c("big_integer").big_integer().to_owned()),
        (
            "tiny_unsigned",
            c("tiny_unsigned").tiny_unsigned().to_owned(),
        ),
        (
            "small_unsigned",
            c("small_unsigned").small_unsigned().to_owned(),
        ),
        ("unsigned", c("unsigned").unsigned().to_owned()),
        ("big_unsigned", c("big_unsigned").big_unsigned().to_owned()),
        ("float", c("float").float().to_owned()),
        ("double", c("double").double().to_owned()),
        ("decimal", c("decimal").decimal().to_owned()),
        (
            "decimal_len",
            c("decimal_len").decimal_len(10, 2).to_owned(),
        ),
        ("date_time", c("date_time").date_time().to_owned()),
        ("timestamp", c("timestamp").timestamp().to_owned()),
        (
            "timestamp_tz",
            c("timestamp_tz").timestamp_with_time_zone().to_owned(),
        ),
        ("time", c("time").time().to_owned()),
        ("date", c("date").date().to_owned()),
        ("binary_len", c("binary_len").binary_len(16).to_owned()),
        ("binary", c("binary").binary().to_owned()),
        ("var_binary", c("var_binary").var_binary(64).to_owned()),
        ("blob", c("blob").blob().to_owned()),
        ("boolean", c("boolean").boolean().to_owned()),
        ("money", c("money").money().to_owned()),
        ("money_len", c("money_len").money_len(10, 2).to_owned()),
        ("json", c("json").json().to_owned()),
        ("json_binary", c("json_binary").json_binary().to_owned()),
        ("uuid", c("uuid").uuid().to_owned()),
        ("custom", c("custom").custom("citext").to_owned()),
        (
            "enumeration",
            c("enumeration")
                .enumeration("mood", ["happy", "sad"])
                .to_owned(),
        ),
        // Column options, on a common type.
        (
            "not_null_default",
            c("not_null_default")
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ),
        (
            "unique_key",
            c("unique_key").string().unique_key().to_owned(),
        ),
        (
            "check",
            c("check")
                .integer()
                .check(Expr::col("check").gt(0))
                .to_owned(),
        ),
        (
            "default_expr",
            c("default_expr")
                .timestamp()
                .default(Expr::current_timestamp())
                .to_owned(),
        ),
        (
            "default_string",
            c("default_string")
                .string()
                .default("it's; DROP TABLE x")
                .to_owned(),
        ),
    ]
}

fn postgres_only() -> Vec<(&'static str, ColumnDef)> {
    let c = |label: &str| ColumnDef::new(label.to_owned());
    vec![
        (
            "interval",
            c("interval")
                .interval(Some(PgInterval::DayToSecond), Some(3))
                .to_owned(),
        ),
        ("array", c("array").array(ColumnType::Integer).to_owned()),
        ("cidr", c("cidr").cidr().to_owned()),
        ("inet", c("inet").inet().to_owned()),
        ("mac_address", c("mac_address").mac_address().to_owned()),
        ("bit", c("bit").bit(Some(8)).to_owned()),
        ("varbit", c("varbit").varbit(8).to_owned()),
        ("ltree", c("ltree").ltree().to_owned()),
        (
            "generated",
            c("generated")
                .integer()
                .generated(Expr::col("a").add(1), true)
                .to_owned(),
        ),
        ("serial", c("serial").integer().auto_increment().to_owned()),
    ]
}

fn mysql_only() -> Vec<(&'static str, ColumnDef)> {
    let c = |label: &str| ColumnDef::new(label.to_owned());
    vec![
        ("year", c("year").year().to_owned()),
        ("bit", c("bit").bit(Some(8)).to_owned()),
        (
            "comment",
            c("comment").integer().comment("it's a count").to_owned(),
        ),
        (
            "auto_increment",
            c("auto_increment")
                .integer()
                .auto_increment()
                .primary_key()
                .to_owned(),
        ),
    ]
}

fn statements<B: SchemaBuilder + Default>(
    columns: &[(&'static str, ColumnDef)],
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (label, column) in columns {
        let create = Table::create()
            .table("t")
            .col(column.clone())
            .to_string(B::default());
        let add = Table::alter()
            .table("t")
            .add_column(column.clone())
            .to_string(B::default());
        out.push((*label, create));
        out.push((*label, add));
    }
    out
}

fn check(dialect: Dialect, rendered: Vec<(&'static str, String)>) {
    let mut failures = Vec::new();
    for (label, sql) in rendered {
        for (how, got) in [
            ("", classify_sql(&sql, dialect)),
            ("any dialect ", classify_sql_any_dialect(&sql)),
        ] {
            if got.statements != Some(1) || !got.is_safe() {
                failures.push(format!("{how}{dialect:?} {label}: {sql}\n    got {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn postgres_column_types() {
    let columns = [common(), postgres_only()].concat();
    check(
        Dialect::Postgres,
        statements::<PostgresQueryBuilder>(&columns),
    );
}

#[test]
fn mysql_column_types() {
    let columns = [common(), mysql_only()].concat();
    check(Dialect::MySql, statements::<MysqlQueryBuilder>(&columns));
}

#[test]
fn sqlite_column_types() {
    check(Dialect::Sqlite, statements::<SqliteQueryBuilder>(&common()));
}
