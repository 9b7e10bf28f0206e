//! PostgreSQL from the catalog, in four set-based queries (columns,
//! constraints, indexes, and the views, triggers, functions and types the
//! model cannot declare) for the whole schema.
//!
//! Not sea-schema, for a measured reason: sea-schema 0.18 asks
//! `information_schema` several questions per table, and reading a
//! 200-table schema took 242 s on this project's CI machine (PostgreSQL 15);
//! these queries take well under a second (see BENCHMARKS.md). It also
//! reports unique indexes only, and lists each NOT NULL as a check.

#![cfg(feature = "postgres")]

use crate::schema::{
    Column, ColumnDefault, ForeignKey, ForeignKeyAction, Index, Schema, Table, Type,
};
use sqlx::{AssertSqlSafe, Connection, Row};
use std::borrow::Cow;

const COLUMNS: &str = "\
SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
       NOT a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity <> '' \
FROM pg_attribute a \
JOIN pg_class c ON c.oid = a.attrelid \
JOIN pg_namespace n ON n.oid = c.relnamespace \
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
ORDER BY c.relname, a.attnum";

const CONSTRAINTS: &str = "\
SELECT c.relname::text, k.conname::text, k.contype::text, \
       (SELECT string_agg(a.attname::text, ',' ORDER BY x.n) FROM unnest(k.conkey) WITH ORDINALITY x(num, n) \
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.num), \
       r.relname::text, \
       (SELECT string_agg(a.attname::text, ',' ORDER BY x.n) FROM unnest(k.confkey) WITH ORDINALITY x(num, n) \
        JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.num), \
       k.confdeltype::text, k.confupdtype::text, pg_get_constraintdef(k.oid) \
FROM pg_constraint k \
JOIN pg_class c ON c.oid = k.conrelid \
JOIN pg_namespace n ON n.oid = c.relnamespace \
LEFT JOIN pg_class r ON r.oid = k.confrelid \
WHERE n.nspname = current_schema() AND k.contype IN ('p', 'f', 'c') \
ORDER BY c.relname, k.conname";

/// Every index of the current schema but the primary keys', with its
/// columns in order; expressions and predicates flagged.
const INDEXES: &str = "\
SELECT t.relname::text, i.relname::text, ix.indisunique, \
       (ix.indpred IS NOT NULL OR ix.indexprs IS NOT NULL), \
       COALESCE(string_agg(a.attname::text, ',' ORDER BY k.n), '') \
FROM pg_index ix \
JOIN pg_class t ON t.oid = ix.indrelid \
JOIN pg_class i ON i.oid = ix.indexrelid \
JOIN pg_namespace ns ON ns.oid = t.relnamespace \
CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n) \
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
WHERE ns.nspname = current_schema() AND NOT ix.indisprimary \
GROUP BY t.relname, i.relname, ix.indisunique, ix.indpred, ix.indexprs";

pub(super) async fn read(url: &str) -> Result<Schema, sqlx::Error> {
    let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
    let result = read_with(&mut conn).await;
    let _ = conn.close().await;
    result
}

async fn read_with(conn: &mut sqlx::PgConnection) -> Result<Schema, sqlx::Error> {
    let mut schema = Schema::default();
    for row in sqlx::raw_sql(AssertSqlSafe(COLUMNS))
        .fetch_all(&mut *conn)
        .await?
    {
        let (table, name, ty): (String, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let (nullable, default, identity): (bool, Option<String>, bool) =
            (row.try_get(3)?, row.try_get(4)?, row.try_get(5)?);
        let mut column = Column::new(&name, parse_type(&ty));
        column.nullable = nullable;
        column.auto_increment = identity;
        match default {
            Some(text) if text.starts_with("nextval(") => column.auto_increment = true,
            Some(text) => column.default = Some(ColumnDefault::Sql(Cow::Owned(text))),
            None => {}
        }
        schema
            .tables
            .entry(table.clone())
            .or_insert_with(|| Table::new(&table))
            .columns
            .push(column);
    }
    let split = |text: Option<String>| -> Vec<String> {
        text.map(|t| t.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    for row in sqlx::raw_sql(AssertSqlSafe(CONSTRAINTS))
        .fetch_all(&mut *conn)
        .await?
    {
        let (table, name, kind): (String, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let columns = split(row.try_get(3)?);
        let Some(entry) = schema.tables.get_mut(&table) else {
            continue;
        };
        match kind.as_str() {
            "p" => entry.primary_key = columns,
            "f" => entry.foreign_keys.push(ForeignKey {
                name,
                columns,
                ref_table: row.try_get::<Option<String>, _>(4)?.unwrap_or_default(),
                ref_columns: split(row.try_get(5)?),
                on_delete: action(&row.try_get::<String, _>(6)?),
                on_update: action(&row.try_get::<String, _>(7)?),
            }),
            _ => {
                let definition: String = row.try_get(8)?;
                schema.unsupported.push(format!(
                    "the check constraint `{name}` on `{table}` ({definition})"
                ));
            }
        }
    }
    for row in sqlx::raw_sql(AssertSqlSafe(INDEXES))
        .fetch_all(&mut *conn)
        .await?
    {
        let (table, index): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        let (unique, special): (bool, bool) = (row.try_get(2)?, row.try_get(3)?);
        let columns: String = row.try_get(4)?;
        let Some(entry) = schema.tables.get_mut(&table) else {
            continue;
        };
        if special {
            schema.unsupported.push(format!(
                "the partial or expression index `{index}` on `{table}`"
            ));
            continue;
        }
        entry.indexes.push(Index {
            name: index,
            columns: columns.split(',').map(str::to_owned).collect(),
            unique,
        });
    }
    for row in sqlx::raw_sql(AssertSqlSafe(OBJECTS))
        .fetch_all(&mut *conn)
        .await?
    {
        let (kind, name, table): (String, String, Option<String>) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        schema
            .objects
            .insert(super::object(&kind, &name, table.as_deref()));
    }
    Ok(schema)
}

/// What the model cannot declare, by kind and name: views, triggers,
/// functions and procedures, enum and domain types of the current schema,
/// without what an extension owns.
const OBJECTS: &str = "\
SELECT CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END, c.relname::text, NULL::text \
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm') \
UNION ALL \
SELECT 'trigger', t.tgname::text, c.relname::text \
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
WHERE n.nspname = current_schema() AND NOT t.tgisinternal \
UNION ALL \
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END, p.proname::text, NULL \
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
WHERE n.nspname = current_schema() \
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') \
UNION ALL \
SELECT CASE t.typtype WHEN 'e' THEN 'enum type' ELSE 'domain' END, t.typname::text, NULL \
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd') \
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')";

/// `pg_constraint.confdeltype`: a, r, c, n, d.
fn action(code: &str) -> ForeignKeyAction {
    match code {
        "r" => ForeignKeyAction::Restrict,
        "c" => ForeignKeyAction::Cascade,
        "n" => ForeignKeyAction::SetNull,
        "d" => ForeignKeyAction::SetDefault,
        _ => ForeignKeyAction::NoAction,
    }
}

/// `format_type()`'s spelling as a [`Type`].
fn parse_type(text: &str) -> Type {
    let (name, args) = match text.split_once('(') {
        Some((name, rest)) => (name, rest.trim_end_matches(')')),
        None => (text, ""),
    };
    let numbers: Vec<u32> = args
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    match (name, numbers.as_slice()) {
        ("smallint", _) => Type::SmallInt,
        ("integer", _) => Type::Int,
        ("bigint", _) => Type::BigInt,
        ("boolean", _) => Type::Bool,
        ("real", _) => Type::Float,
        ("double precision", _) => Type::Double,
        ("numeric", [p, s]) => Type::Decimal(Some((*p, *s))),
        ("numeric", _) => Type::Decimal(None),
        ("character varying", [n]) => Type::Varchar(*n),
        ("character varying" | "text", _) => Type::Text,
        ("bytea", _) => Type::Blob,
        ("date", _) => Type::Date,
        ("time without time zone", _) => Type::Time,
        ("timestamp without time zone", _) => Type::Timestamp,
        ("timestamp with time zone", _) => Type::TimestampTz,
        ("uuid", _) => Type::Uuid,
        ("json" | "jsonb", _) => Type::Json,
        _ => Type::Custom(Cow::Owned(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_types_read_back_as_ours() {
        assert_eq!(parse_type("character varying(200)"), Type::Varchar(200));
        assert_eq!(parse_type("numeric(10,2)"), Type::Decimal(Some((10, 2))));
        assert_eq!(parse_type("timestamp with time zone"), Type::TimestampTz);
        assert_eq!(parse_type("citext"), Type::Custom(Cow::Borrowed("citext")));
    }
}
