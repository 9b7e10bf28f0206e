//! The gate's case corpus: migrations labelled destructive or benign, each tagged with the
//! squawk rule, strong_migrations check or Python SDK behaviour it stands for.
//!
//! Each case is written once. Its body runs against a [`Recorder`] to measure the runtime
//! guard (the SQL each backend really gets), and its tokens (`stringify!`) are given to the
//! macro's scanner to measure the compile-time gate. Tags: `squawk:<rule>`, `sm:<check>`
//! (strong_migrations), `sdk:<behaviour>`, `cofferdam:<issue item>`.

#![allow(dead_code, unused_mut, unused_variables)]

use super::recorder::Recorder;
use cofferdam_lint::Dialect;
use sea_query::extension::postgres::Type;
use sea_query::{ColumnDef, DeleteStatement, Expr, ExprTrait, ForeignKey, Index, Query, Table};
// An alias the macro cannot see, as when it is imported at the top of a migrations module.
use sea_query::Table as Tbl;

/// One migration of the corpus.
pub struct Case {
    pub name: &'static str,
    /// The rule or behaviour it stands for.
    pub rule: &'static str,
    pub destructive: bool,
    /// The backends it runs on.
    pub dialects: &'static [Dialect],
    /// The compiler cannot see what it runs (a helper, a module-level constant, a live table
    /// schema): out of compile-time scope, the runtime guard's job.
    pub hidden: bool,
    /// Tables that exist before it runs, with their columns (what the runtime reads from the
    /// catalog).
    pub tables: &'static [(&'static str, &'static [&'static str])],
    /// The body, as tokens, for the macro's scanner.
    pub body: &'static str,
    pub run: fn(&mut Recorder),
}

macro_rules! case {
    (
        $name:literal, $rule:literal, $label:ident, [$($d:ident),+]
        $(, hidden = $hidden:literal)?
        $(, tables = [$(($t:literal, [$($c:literal),*])),*])?
        , |$m:ident| $body:block
    ) => {
        Case {
            name: $name,
            rule: $rule,
            destructive: label!($label),
            dialects: &[$(Dialect::$d),+],
            hidden: false $(|| $hidden)?,
            tables: &[$($(($t, &[$($c),*])),*)?],
            body: stringify!($body),
            run: |$m: &mut Recorder| $body,
        }
    };
}

macro_rules! label {
    (destructive) => {
        true
    };
    (benign) => {
        false
    };
}

const MODULE_SQL: &str = "DROP TABLE legacy_sessions";

fn tenant_sql(tenant: &str) -> String {
    ["DROP TABLE data_", tenant].concat()
}

fn drop_in_helper(m: &mut Recorder) {
    m.execute("ALTER TABLE users DROP COLUMN email");
}

fn old_table() -> sea_query::TableDropStatement {
    Table::drop().table("old_reports").to_owned()
}

pub fn cases() -> Vec<Case> {
    vec![
        // ---- Destructive: whole tables, schemas, databases ----
        case!(
            "drop table, builder",
            "squawk:ban-drop-table",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(Table::drop().table("articles"));
            }
        ),
        case!(
            "drop table, SQL",
            "squawk:ban-drop-table",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("DROP TABLE articles");
            }
        ),
        case!(
            "drop table if exists cascade",
            "squawk:ban-drop-table",
            destructive,
            [Postgres],
            |m| {
                m.execute("DROP TABLE IF EXISTS articles CASCADE");
            }
        ),
        case!(
            "drop two tables, builder",
            "sm:drop_table",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(Table::drop().table("a").table("b").cascade());
            }
        ),
        case!(
            "drop database",
            "squawk:ban-drop-database",
            destructive,
            [Postgres, MySql],
            |m| {
                m.execute("DROP DATABASE analytics");
            }
        ),
        case!(
            "drop schema cascade",
            "squawk:ban-drop-database",
            destructive,
            [Postgres],
            |m| {
                m.execute("DROP SCHEMA reporting CASCADE");
            }
        ),
        case!(
            "create or replace table",
            "sdk:drop_table",
            destructive,
            [MySql],
            |m| {
                m.execute("CREATE OR REPLACE TABLE t (id INT)");
            }
        ),
        case!(
            "drop view",
            "sm:drop_view",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("DROP VIEW active_users");
            }
        ),
        case!(
            "drop table named by a variable",
            "cofferdam:names",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let name = "audit_2020";
                m.exec(Table::drop().table(name));
            }
        ),
        // ---- Destructive: columns ----
        case!(
            "drop column, builder",
            "squawk:ban-drop-column",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(Table::alter().table("users").drop_column("email"));
            }
        ),
        case!(
            "drop column, SQL",
            "sm:remove_column",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("ALTER TABLE users DROP COLUMN email");
            }
        ),
        case!(
            "drop column without COLUMN",
            "squawk:ban-drop-column",
            destructive,
            [Postgres, MySql],
            |m| {
                m.execute("ALTER TABLE users DROP email");
            }
        ),
        case!(
            "drop column if exists, builder",
            "squawk:ban-drop-column",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(Table::alter().table("users").drop_column_if_exists("email"));
            }
        ),
        case!(
            "SQLite rebuild that leaves a column out",
            "sdk:batch_alter_table",
            destructive,
            [Sqlite],
            hidden = true,
            tables = [("items", ["id", "name", "price"])],
            |m| {
                m.execute("CREATE TABLE items_new (id INTEGER PRIMARY KEY, name TEXT)");
                m.execute("INSERT INTO items_new (id, name) SELECT id, name FROM items");
                m.execute("DROP TABLE items");
                m.execute("ALTER TABLE items_new RENAME TO items");
            }
        ),
        // ---- Destructive: rows ----
        case!(
            "truncate, builder",
            "squawk:ban-truncate-cascade",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(Table::truncate().table("sessions"));
            }
        ),
        case!(
            "truncate cascade",
            "squawk:ban-truncate-cascade",
            destructive,
            [Postgres],
            |m| {
                m.execute("TRUNCATE sessions CASCADE");
            }
        ),
        case!(
            "truncate two tables",
            "squawk:ban-truncate-cascade",
            destructive,
            [Postgres, MySql],
            |m| {
                m.execute("TRUNCATE TABLE sessions");
                m.execute("TRUNCATE TABLE tokens");
            }
        ),
        case!(
            "delete without where, builder",
            "sdk:delete_all",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(Query::delete().from_table("sessions"));
            }
        ),
        case!(
            "delete without where, SQL",
            "sm:execute",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("DELETE FROM sessions");
            }
        ),
        case!(
            "delete where true",
            "sm:execute",
            destructive,
            [Postgres, Sqlite],
            |m| {
                m.execute("DELETE FROM sessions WHERE true");
            }
        ),
        case!(
            "delete where 1 = 1",
            "sm:execute",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("DELETE FROM sessions WHERE 1 = 1");
            }
        ),
        case!(
            "delete, builder where constant",
            "cofferdam:always-true",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::delete()
                        .from_table("sessions")
                        .and_where(Expr::val(1).eq(1)),
                );
            }
        ),
        case!(
            "delete, builder where value true",
            "cofferdam:always-true",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::delete()
                        .from_table("sessions")
                        .and_where(Expr::value(true)),
                );
            }
        ),
        case!(
            "delete, builder where cust",
            "cofferdam:always-true",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::delete()
                        .from_table("sessions")
                        .and_where(Expr::cust("1 = 1")),
                );
            }
        ),
        case!(
            "delete, and_where_option(None)",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::delete()
                        .from_table("sessions")
                        .and_where_option(None),
                );
            }
        ),
        case!(
            "DeleteStatement::new",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(DeleteStatement::new().from_table("sessions"));
            }
        ),
        case!(
            "update set null without where",
            "sm:execute",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("UPDATE users SET phone = NULL");
            }
        ),
        case!(
            "update set constant without where",
            "sm:execute",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("UPDATE users SET status = 'active'");
            }
        ),
        case!(
            "update set constant where 1 = 1",
            "sm:execute",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("UPDATE users SET status = 'active' WHERE 1 = 1");
            }
        ),
        case!(
            "update set now() without where",
            "sm:execute",
            destructive,
            [Postgres, MySql],
            |m| {
                m.execute("UPDATE users SET updated_at = now()");
            }
        ),
        case!(
            "update builder set null",
            "sdk:update_all",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::update()
                        .table("users")
                        .value("phone", Expr::value(Option::<i32>::None)),
                );
            }
        ),
        case!(
            "update builder set constant",
            "sdk:update_all",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(Query::update().table("users").value("score", 0));
            }
        ),
        case!(
            "update builder where value true",
            "cofferdam:always-true",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::update()
                        .table("users")
                        .value("score", 0)
                        .and_where(Expr::value(true)),
                );
            }
        ),
        // ---- Destructive: narrowing type changes ----
        case!(
            "type to smaller varchar",
            "squawk:changing-column-type",
            destructive,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE users ALTER COLUMN name TYPE varchar(20)");
            }
        ),
        case!(
            "type decimal to integer",
            "sm:change_column",
            destructive,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE items ALTER COLUMN price TYPE integer");
            }
        ),
        case!(
            "type change with USING",
            "squawk:changing-column-type",
            destructive,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE items ALTER COLUMN price TYPE bigint USING round(price)");
            }
        ),
        case!(
            "type to numeric(6, 2)",
            "sm:change_column",
            destructive,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE items ALTER COLUMN weight SET DATA TYPE numeric(6, 2)");
            }
        ),
        case!(
            "MySQL MODIFY to narrower type",
            "sm:change_column",
            destructive,
            [MySql],
            |m| {
                m.execute("ALTER TABLE users MODIFY COLUMN name varchar(10) NOT NULL");
            }
        ),
        case!(
            "MySQL CHANGE to narrower type",
            "sm:change_column",
            destructive,
            [MySql],
            |m| {
                m.execute("ALTER TABLE users CHANGE COLUMN age age tinyint");
            }
        ),
        case!(
            "modify_column string_len, builder",
            "squawk:changing-column-type",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .modify_column(ColumnDef::new("name").string_len(20)),
                );
            }
        ),
        case!(
            "modify_column integer, builder",
            "sm:change_column",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("items")
                        .modify_column(ColumnDef::new("price").integer().not_null()),
                );
            }
        ),
        // ---- Destructive: schema (no rows lost) ----
        case!(
            "drop index, builder",
            "squawk:require-concurrent-index-deletion",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(Index::drop().name("users_email").table("users"));
            }
        ),
        case!(
            "drop index, SQL",
            "sm:remove_index",
            destructive,
            [Postgres, Sqlite],
            |m| {
                m.execute("DROP INDEX users_email");
            }
        ),
        case!(
            "drop index on, MySQL",
            "sm:remove_index",
            destructive,
            [MySql],
            |m| {
                m.execute("DROP INDEX users_email ON users");
            }
        ),
        case!(
            "drop foreign key, builder",
            "sm:remove_foreign_key",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(ForeignKey::drop().name("fk_author").table("posts"));
            }
        ),
        case!(
            "drop constraint, SQL",
            "sm:remove_check_constraint",
            destructive,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE posts DROP CONSTRAINT posts_title_check");
            }
        ),
        case!(
            "drop type, builder",
            "sm:drop_enum",
            destructive,
            [Postgres],
            |m| {
                m.exec(Type::drop().name("mood"));
            }
        ),
        // ---- Destructive: what the compiler can see in other shapes ----
        case!(
            "typed let literal",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let sql: &str = "DROP TABLE archived";
                m.execute(sql);
            }
        ),
        case!(
            "concat! bound to a variable",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let sql = concat!("DROP TABLE ", "archived");
                m.execute(sql);
            }
        ),
        case!(
            "const in the body",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                const SQL: &str = "DROP TABLE archived";
                m.execute(SQL);
            }
        ),
        case!(
            "include_str! file",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute(include_str!("drop_archived.sql"));
            }
        ),
        case!(
            "to_string of a literal",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let sql = "DELETE FROM archived".to_string();
                m.execute(&sql);
            }
        ),
        case!(
            "String::from a literal",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql],
            |m| {
                m.execute(&String::from("TRUNCATE archived"));
            }
        ),
        case!(
            "builder started then mutated",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let mut s = Table::drop();
                s.table("archived");
                m.exec(&s);
            }
        ),
        case!(
            "alter builder mutated",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql],
            |m| {
                let mut s = Table::alter();
                s.table("users");
                s.drop_column("email");
                m.exec(&s);
            }
        ),
        case!(
            "alias imported in the body",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                use sea_query::Table as T;
                m.exec(T::drop().table("archived"));
            }
        ),
        case!(
            "alias imported outside the body",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(Tbl::drop().table("archived"));
            }
        ),
        case!(
            "inner block does not hide the outer DROP",
            "cofferdam:scoping",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let sql = "DROP TABLE archived";
                {
                    let sql = "SELECT 1";
                    m.execute(sql);
                }
                m.execute(sql);
            }
        ),
        case!(
            "second statement of a string",
            "cofferdam:spans",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("CREATE TABLE a (id INT); DROP TABLE b");
            }
        ),
        case!(
            "format! template",
            "cofferdam:format",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let tenant = "acme";
                m.execute(&format!("DROP TABLE data_{tenant}"));
            }
        ),
        case!(
            "format! bound to a variable",
            "cofferdam:format",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let table = "audit_2019";
                let sql = format!("TRUNCATE {table}");
                m.execute(&sql);
            }
        ),
        case!(
            "custom narrow type, builder",
            "sm:change_column",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .modify_column(ColumnDef::new("code").custom("char(2)")),
                );
            }
        ),
        case!(
            "update builder, values list",
            "sdk:update_all",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::update()
                        .table("users")
                        .values([("plan", "free".into()), ("name", Expr::col("name"))]),
                );
            }
        ),
        case!(
            "delete builder stored then sent",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let stmt = Query::delete().from_table("sessions").to_owned();
                m.exec(stmt);
            }
        ),
        case!(
            "text joined with +",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let sql = String::from("DROP TABLE ") + "archived";
                m.execute(&sql);
            }
        ),
        case!(
            "array of literals joined",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute(&["ALTER TABLE users ", "DROP COLUMN email"].concat());
            }
        ),
        case!(
            "SQL chosen by backend",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let sql = if true {
                    "DROP TABLE archived"
                } else {
                    "SELECT 1"
                };
                m.execute(sql);
            }
        ),
        case!(
            "loop over statements",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                for sql in ["CREATE TABLE a (id INT)", "DROP TABLE b"] {
                    m.execute(sql);
                }
            }
        ),
        case!(
            "builder moved to another name",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let first = Table::drop().table("archived").to_owned();
                let second = first;
                m.exec(second);
            }
        ),
        case!(
            "update builder, cust NULL",
            "sdk:update_all",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::update()
                        .table("users")
                        .value("phone", Expr::cust("NULL")),
                );
            }
        ),
        case!(
            "SQL chosen by a match",
            "cofferdam:blind-spot",
            destructive,
            [Postgres, MySql, Sqlite],
            |m| {
                let dialect = m.dialect;
                let sql = match dialect {
                    Dialect::Sqlite => "DELETE FROM sessions",
                    _ => "TRUNCATE sessions",
                };
                m.execute(sql);
            }
        ),
        case!(
            "modify_column float, builder",
            "sm:change_column",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("items")
                        .modify_column(ColumnDef::new("weight").float()),
                );
            }
        ),
        case!(
            "modify_column decimal_len, builder",
            "sm:change_column",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("items")
                        .modify_column(ColumnDef::new("price").decimal_len(10, 0)),
                );
            }
        ),
        case!(
            "modify_column date, builder",
            "sm:change_column",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("events")
                        .modify_column(ColumnDef::new("at").date()),
                );
            }
        ),
        case!(
            "modify_column boolean, builder",
            "sm:change_column",
            destructive,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .modify_column(ColumnDef::new("flags").boolean()),
                );
            }
        ),
        case!("DO block", "sm:execute", destructive, [Postgres], |m| {
            m.execute("DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$");
        }),
        case!(
            "truncate in a function, then called",
            "cofferdam:raw-connections",
            destructive,
            [Postgres],
            |m| {
                m.execute("CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE audit; END $$");
                m.execute("SELECT purge()");
            }
        ),
        case!(
            "delete in a SQL function",
            "cofferdam:raw-connections",
            destructive,
            [Postgres],
            |m| {
                m.execute(
                    "CREATE FUNCTION purge() RETURNS void AS 'DELETE FROM audit' LANGUAGE sql",
                );
            }
        ),
        // ---- Destructive: out of the compiler's sight (the runtime guard's job) ----
        case!(
            "SQL from a helper",
            "sm:execute",
            destructive,
            [Postgres, MySql, Sqlite],
            hidden = true,
            |m| {
                let sql = tenant_sql("acme");
                m.execute(&sql);
            }
        ),
        case!(
            "migration handed to a helper",
            "sm:execute",
            destructive,
            [Postgres, MySql, Sqlite],
            hidden = true,
            |m| {
                drop_in_helper(m);
            }
        ),
        case!(
            "builder from a helper",
            "sm:drop_table",
            destructive,
            [Postgres, MySql, Sqlite],
            hidden = true,
            |m| {
                m.exec(old_table());
            }
        ),
        case!(
            "module-level const",
            "sm:execute",
            destructive,
            [Postgres, MySql, Sqlite],
            hidden = true,
            |m| {
                m.execute(MODULE_SQL);
            }
        ),
        // ---- Benign: breaking but not destructive (warnings) ----
        case!(
            "drop not null, builder",
            "squawk:ban-drop-not-null",
            benign,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .modify_column(ColumnDef::new("bio").text().null()),
                );
            }
        ),
        case!(
            "drop not null, SQL",
            "squawk:ban-drop-not-null",
            benign,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE users ALTER COLUMN bio DROP NOT NULL");
            }
        ),
        case!(
            "drop default",
            "sm:change_column_default",
            benign,
            [Postgres, MySql],
            |m| {
                m.execute("ALTER TABLE users ALTER COLUMN plan DROP DEFAULT");
            }
        ),
        case!(
            "rename column, builder",
            "squawk:renaming-column",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .rename_column("name", "full_name"),
                );
            }
        ),
        case!(
            "rename column, SQL",
            "sm:rename_column",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("ALTER TABLE users RENAME COLUMN name TO full_name");
            }
        ),
        case!(
            "rename table, builder",
            "squawk:renaming-table",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(Table::rename().table("users", "accounts"));
            }
        ),
        case!(
            "rename table, SQL",
            "sm:rename_table",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("ALTER TABLE users RENAME TO accounts");
            }
        ),
        case!(
            "MySQL MODIFY to text NULL",
            "sm:change_column_null",
            benign,
            [MySql],
            |m| {
                m.execute("ALTER TABLE users MODIFY COLUMN bio text NULL");
            }
        ),
        // ---- Benign: locking and availability (out of scope) ----
        case!(
            "create index without concurrently",
            "squawk:require-concurrent-index-creation",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Index::create()
                        .name("users_email")
                        .table("users")
                        .col("email"),
                );
            }
        ),
        case!(
            "create index concurrently",
            "sm:add_index",
            benign,
            [Postgres],
            |m| {
                m.execute("CREATE INDEX CONCURRENTLY users_email ON users (email)");
            }
        ),
        case!(
            "create unique index",
            "squawk:disallowed-unique-constraint",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("CREATE UNIQUE INDEX users_email ON users (email)");
            }
        ),
        case!(
            "add foreign key",
            "squawk:adding-foreign-key-constraint",
            benign,
            [Postgres, MySql],
            |m| {
                m.exec(
                    ForeignKey::create()
                        .name("fk_author")
                        .from("posts", "author_id")
                        .to("users", "id"),
                );
            }
        ),
        case!(
            "add check constraint not valid",
            "squawk:constraint-missing-not-valid",
            benign,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE posts ADD CONSTRAINT title_len CHECK (length(title) < 200) NOT VALID");
            }
        ),
        case!(
            "set not null",
            "sm:change_column_null",
            benign,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE users ALTER COLUMN email SET NOT NULL");
            }
        ),
        case!(
            "add not null column with default",
            "squawk:adding-not-nullable-field",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Table::alter().table("users").add_column(
                        ColumnDef::new("plan")
                            .string_len(20)
                            .not_null()
                            .default("free"),
                    ),
                );
            }
        ),
        case!(
            "add column with volatile default",
            "squawk:adding-field-with-default",
            benign,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()");
            }
        ),
        case!(
            "widen to text",
            "squawk:changing-column-type",
            benign,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE users ALTER COLUMN name TYPE text");
            }
        ),
        case!(
            "int to bigint",
            "squawk:prefer-bigint-over-int",
            benign,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE users ALTER COLUMN id TYPE bigint");
            }
        ),
        case!(
            "modify_column big_integer, builder",
            "sm:change_column",
            benign,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .modify_column(ColumnDef::new("id").big_integer()),
                );
            }
        ),
        case!(
            "modify_column text, builder",
            "sm:change_column",
            benign,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .modify_column(ColumnDef::new("bio").text()),
                );
            }
        ),
        case!(
            "widen varchar to 255",
            "sm:change_column",
            benign,
            [Postgres],
            |m| {
                m.execute("ALTER TABLE users ALTER COLUMN name TYPE varchar(255)");
            }
        ),
        case!(
            "widen varchar, builder",
            "sm:change_column",
            benign,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .modify_column(ColumnDef::new("name").string_len(500)),
                );
            }
        ),
        case!(
            "modify_column double, builder",
            "sm:change_column",
            benign,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("items")
                        .modify_column(ColumnDef::new("weight").double()),
                );
            }
        ),
        case!(
            "modify_column timestamptz, builder",
            "squawk:prefer-timestamptz",
            benign,
            [Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("events")
                        .modify_column(ColumnDef::new("at").timestamp_with_time_zone()),
                );
            }
        ),
        case!(
            "modify_column big_unsigned, builder",
            "sm:change_column",
            benign,
            [MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .modify_column(ColumnDef::new("id").big_unsigned().not_null()),
                );
            }
        ),
        // ---- Benign: ordinary migrations ----
        case!(
            "create table, builder",
            "sdk:create_table",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Table::create()
                        .table("articles")
                        .col(ColumnDef::new("id").big_integer().primary_key())
                        .col(ColumnDef::new("title").string_len(200).not_null()),
                );
            }
        ),
        case!(
            "SQLite decimal column, builder",
            "cofferdam:trap",
            benign,
            [Sqlite, Postgres, MySql],
            |m| {
                m.exec(
                    Table::alter()
                        .table("items")
                        .add_column(ColumnDef::new("price").decimal_len(10, 2)),
                );
            }
        ),
        case!(
            "SQLite decimal table, builder",
            "cofferdam:trap",
            benign,
            [Sqlite],
            |m| {
                m.exec(
                    Table::create()
                        .table("prices")
                        .col(ColumnDef::new("amount").decimal_len(10, 2)),
                );
            }
        ),
        case!(
            "add nullable column",
            "sm:add_column",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .add_column(ColumnDef::new("nickname").text().null()),
                );
            }
        ),
        case!(
            "insert rows",
            "sdk:bulk_insert",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::insert()
                        .into_table("plans")
                        .columns(["name"])
                        .values_panic(["free".into()]),
                );
            }
        ),
        case!(
            "backfill from another column",
            "sm:backfill",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("UPDATE articles SET slug = lower(title)");
            }
        ),
        case!(
            "backfill of a new column with a constant",
            "sm:backfill",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .add_column(ColumnDef::new("score").integer().null()),
                );
                m.execute("UPDATE users SET score = 0");
            }
        ),
        case!(
            "backfill of a new column, builder",
            "sm:backfill",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("ALTER TABLE users ADD COLUMN active BOOLEAN");
                m.exec(Query::update().table("users").value("active", true));
            }
        ),
        case!(
            "update with where",
            "sm:execute",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("UPDATE users SET status = 'banned' WHERE id = 7");
            }
        ),
        case!(
            "update with subquery where",
            "sm:execute",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("UPDATE users SET status = NULL WHERE id IN (SELECT user_id FROM bans)");
            }
        ),
        case!(
            "update builder with where",
            "sdk:update",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::update()
                        .table("users")
                        .value("score", 0)
                        .and_where(Expr::col("id").eq(7)),
                );
            }
        ),
        case!(
            "delete with where",
            "sm:execute",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("DELETE FROM sessions WHERE expires_at < now()");
            }
        ),
        case!(
            "delete builder with where",
            "sdk:delete",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::delete()
                        .from_table("sessions")
                        .and_where(Expr::col("id").eq(1)),
                );
            }
        ),
        case!(
            "delete builder, where added later",
            "cofferdam:false-alarm",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                let mut d = Query::delete();
                d.from_table("sessions");
                d.and_where(Expr::col("expired").eq(true));
                m.exec(&d);
            }
        ),
        case!(
            "delete builder, and_where_option(Some)",
            "sdk:delete",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::delete()
                        .from_table("sessions")
                        .and_where_option(Some(Expr::col("id").eq(1))),
                );
            }
        ),
        case!(
            "delete builder, condition in a variable",
            "sdk:delete",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                let expired = Expr::col("expires_at").lt(Expr::cust("now()"));
                m.exec(Query::delete().from_table("sessions").and_where(expired));
            }
        ),
        case!(
            "update builder, cust reads a column",
            "sm:backfill",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Query::update()
                        .table("articles")
                        .value("slug", Expr::cust("lower(title)")),
                );
            }
        ),
        case!(
            "loop over safe statements",
            "sm:execute",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                for sql in ["CREATE TABLE a (id INT)", "CREATE INDEX a_id ON a (id)"] {
                    m.execute(sql);
                }
            }
        ),
        case!(
            "SQLite rebuild as its docs write it",
            "sdk:batch_alter_table",
            benign,
            [Sqlite],
            tables = [("items", ["id", "name"])],
            |m| {
                m.execute("PRAGMA foreign_keys = OFF");
                m.execute("CREATE TABLE new_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
                m.execute("INSERT INTO new_items (id, name) SELECT id, name FROM items");
                m.execute("DROP TABLE items");
                m.execute("ALTER TABLE new_items RENAME TO items");
                m.execute("PRAGMA foreign_key_check");
                m.execute("PRAGMA foreign_keys = ON");
            }
        ),
        case!(
            "lock timeout first",
            "squawk:require-timeout-settings",
            benign,
            [Postgres],
            |m| {
                m.execute("SET lock_timeout = '5s'");
                m.execute("ALTER TABLE users ADD COLUMN nickname text");
            }
        ),
        case!(
            "online index, MySQL",
            "sm:add_index",
            benign,
            [MySql],
            |m| {
                m.execute(
                    "ALTER TABLE users ADD INDEX users_email (email), ALGORITHM=INPLACE, LOCK=NONE",
                );
            }
        ),
        case!(
            "maintenance after a backfill",
            "sm:backfill",
            benign,
            [Postgres],
            |m| {
                m.execute("VACUUM ANALYZE users");
                m.execute("REINDEX INDEX CONCURRENTLY users_email");
            }
        ),
        case!(
            "faithful SQLite rebuild",
            "sdk:batch_alter_table",
            benign,
            [Sqlite],
            tables = [("items", ["id", "name", "price"])],
            |m| {
                m.execute("CREATE TABLE items_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)");
                m.execute(
                    "INSERT INTO items_new (id, name, price) SELECT id, name, price FROM items",
                );
                m.execute("DROP TABLE items");
                m.execute("ALTER TABLE items_new RENAME TO items");
            }
        ),
        case!(
            "faithful SQLite rebuild, SELECT *",
            "sdk:batch_alter_table",
            benign,
            [Sqlite],
            tables = [("items", ["id", "name", "price"])],
            |m| {
                m.execute("CREATE TABLE items_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)");
                m.execute("INSERT INTO items_new SELECT * FROM items");
                m.execute("DROP TABLE items");
                m.execute("ALTER TABLE items_new RENAME TO items");
            }
        ),
        case!(
            "faithful SQLite rebuild, one text",
            "sdk:batch_alter_table",
            benign,
            [Sqlite],
            tables = [("items", ["id", "name"])],
            |m| {
                m.execute("CREATE TABLE _items_new (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO _items_new (id, name) SELECT id, name FROM items; DROP TABLE items; ALTER TABLE _items_new RENAME TO items;");
            }
        ),
        case!(
            "scratch table, SQL",
            "cofferdam:false-alarm",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("CREATE TABLE tmp_ids (id INT)");
                m.execute("INSERT INTO tmp_ids SELECT id FROM users");
                m.execute("DELETE FROM tmp_ids");
                m.execute("DROP TABLE tmp_ids");
            }
        ),
        case!(
            "scratch table, builder",
            "cofferdam:false-alarm",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Table::create()
                        .table("scratch")
                        .col(ColumnDef::new("id").integer()),
                );
                m.exec(Table::drop().table("scratch"));
            }
        ),
        case!(
            "strings and comments mention DROP",
            "cofferdam:false-alarm",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("INSERT INTO notes (body) VALUES ('please DROP TABLE x')");
                m.execute("-- DROP TABLE notes\nUPDATE notes SET body = trim(body)");
            }
        ),
        case!(
            "columns named like drops",
            "cofferdam:false-alarm",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("CREATE TABLE stats (drop_count INTEGER, truncate_log TEXT)");
            }
        ),
        case!(
            "shadowed DROP never sent",
            "cofferdam:scoping",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                let sql = "DROP TABLE archived";
                let sql = "SELECT 1";
                m.execute(sql);
            }
        ),
        case!(
            "create view",
            "sdk:create_view",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("CREATE VIEW active_users AS SELECT * FROM users WHERE active");
            }
        ),
        case!(
            "create enum type",
            "sm:create_enum",
            benign,
            [Postgres],
            |m| {
                m.execute("CREATE TYPE mood AS ENUM ('happy', 'sad')");
            }
        ),
        case!(
            "create function, safe body",
            "sm:execute",
            benign,
            [Postgres],
            |m| {
                m.execute("CREATE FUNCTION one() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql");
            }
        ),
        case!(
            "copy rows into an existing table",
            "sm:execute",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.execute("INSERT INTO archive (id, body) SELECT id, body FROM posts WHERE created_at < '2020-01-01'");
            }
        ),
        case!(
            "format! of a safe template",
            "cofferdam:format",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                let id = 7;
                m.execute(&format!("UPDATE users SET score = 0 WHERE id = {id}"));
            }
        ),
        case!(
            "add column, varchar",
            "sm:add_column",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Table::alter()
                        .table("users")
                        .add_column(ColumnDef::new("code").string_len(8).null()),
                );
            }
        ),
        case!(
            "add index, builder",
            "sm:add_index",
            benign,
            [Postgres, MySql, Sqlite],
            |m| {
                m.exec(
                    Index::create()
                        .name("posts_author")
                        .table("posts")
                        .col("author_id")
                        .if_not_exists(),
                );
            }
        ),
        case!("rename index", "sm:rename_index", benign, [Postgres], |m| {
            m.execute("ALTER INDEX users_email RENAME TO users_email_idx");
        }),
    ]
}
