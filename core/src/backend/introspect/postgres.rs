//! PostgreSQL through sea-schema (columns, types, defaults, primary keys,
//! foreign keys, check constraints to report), plus one catalog query for
//! indexes: sea-schema 0.18 reports unique ones only.

#![cfg(feature = "postgres")]

use crate::schema::{Column, ColumnDefault, ForeignKey, Index, Schema, Table, Type};
use sea_schema::postgres::def::ColumnDefault as Found;
use sea_schema::postgres::discovery::SchemaDiscovery;
use sqlx::Row;
use std::borrow::Cow;

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
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let result = read_with(&pool).await;
    pool.close().await;
    result
}

async fn read_with(pool: &sqlx::PgPool) -> Result<Schema, sqlx::Error> {
    let current: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(pool)
        .await?;
    let found = SchemaDiscovery::new(pool.clone(), &current)
        .discover()
        .await?;
    let mut schema = Schema::default();
    for def in found.tables {
        let name = def.info.name.clone();
        let mut table = Table::new(&name);
        for info in &def.columns {
            let mut column =
                Column::new(&info.name, super::from_column_type(&info.write_col_type()));
            if let sea_schema::postgres::def::Type::Enum(e) = &info.col_type {
                column.ty = Type::Custom(Cow::Owned(e.typename.clone()));
                schema
                    .unsupported
                    .push(format!("the enum type of `{name}.{}`", info.name));
            }
            column.nullable = info.not_null.is_none();
            column.auto_increment = info.is_identity;
            column.default = match &info.default {
                None => None,
                Some(Found::Int(i)) => Some(ColumnDefault::Int(*i)),
                Some(Found::Real(f)) => Some(ColumnDefault::Float(*f)),
                Some(Found::Bool(b)) => Some(ColumnDefault::Bool(*b)),
                Some(Found::String(s)) => Some(ColumnDefault::Text(Cow::Owned(s.clone()))),
                Some(Found::CurrentTimestamp) => {
                    Some(super::sql_default("CURRENT_TIMESTAMP".into()))
                }
                Some(Found::AutoIncrement(_)) => {
                    column.auto_increment = true;
                    None
                }
                Some(Found::Expression(e)) => Some(super::sql_default(e.clone())),
            };
            table.columns.push(column);
        }
        if let Some(key) = def.primary_key_constraints.first() {
            table.primary_key = key.columns.clone();
        }
        for key in &def.reference_constraints {
            let action = |a: &Option<sea_schema::postgres::def::ForeignKeyAction>| {
                a.as_ref()
                    .map_or_else(Default::default, |a| super::action(&format!("{a:?}")))
            };
            table.foreign_keys.push(ForeignKey {
                name: key.name.clone(),
                columns: key.columns.clone(),
                ref_table: key.table.clone(),
                ref_columns: key.foreign_columns.clone(),
                on_delete: action(&key.on_delete),
                on_update: action(&key.on_update),
            });
        }
        // PostgreSQL 15 lists each NOT NULL as a check; nullability is compared already.
        let not_null =
            |expr: &str| expr.trim_end().ends_with("IS NOT NULL") && !expr.contains(" AND ");
        for check in def.check_constraints.iter().filter(|c| !not_null(&c.expr)) {
            schema.unsupported.push(format!(
                "the check constraint `{}` on `{name}` ({})",
                check.name, check.expr
            ));
        }
        schema.tables.insert(name, table);
    }
    for row in sqlx::raw_sql(sqlx::AssertSqlSafe(INDEXES))
        .fetch_all(pool)
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
    Ok(schema)
}
