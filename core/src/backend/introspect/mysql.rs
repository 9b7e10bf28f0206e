//! MySQL and MariaDB through sea-schema. `tinyint(1)` reads back as a
//! boolean and `binary(16)` as a UUID: what sea-query creates for them.

#![cfg(feature = "mysql")]

use crate::schema::{Column, ColumnDefault, ForeignKey, Index, Schema, Table, Type};
use sea_schema::mysql::def::{ColumnDefault as Found, Type as Found_};
use sea_schema::mysql::discovery::SchemaDiscovery;
use std::borrow::Cow;

pub(super) async fn read(url: &str) -> Result<Schema, sqlx::Error> {
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let result = read_with(&pool).await;
    pool.close().await;
    result
}

async fn read_with(pool: &sqlx::MySqlPool) -> Result<Schema, sqlx::Error> {
    let current: String = sqlx::query_scalar("SELECT DATABASE()")
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
            let ty = match &info.col_type {
                Found_::Bool => Type::Bool,
                Found_::TinyInt(attr) if attr.maximum == Some(1) => Type::Bool,
                Found_::Binary(attr) if attr.length == Some(16) => Type::Uuid,
                _ => {
                    let def = info.write_col_type(sea_query::ColumnDef::new(info.name.clone()));
                    def.get_column_type().map_or_else(
                        || Type::Custom(Cow::Owned(format!("{:?}", info.col_type).to_lowercase())),
                        super::from_column_type,
                    )
                }
            };
            let mut column = Column::new(&info.name, ty);
            column.nullable = info.null;
            column.auto_increment = info.extra.auto_increment;
            column.default = match &info.default {
                None | Some(Found::Null) => None,
                Some(Found::Int(i)) => Some(ColumnDefault::Int(*i)),
                Some(Found::Real(f)) => Some(ColumnDefault::Float(*f)),
                Some(Found::String(s)) => Some(ColumnDefault::Text(Cow::Owned(s.clone()))),
                Some(Found::CurrentTimestamp) => {
                    Some(super::sql_default("CURRENT_TIMESTAMP".into()))
                }
                Some(Found::CustomExpr(e)) => Some(super::sql_default(e.clone())),
            };
            table.columns.push(column);
        }
        for index in &def.indexes {
            let columns: Vec<String> = index.parts.iter().map(|p| p.column.clone()).collect();
            if index.name == "PRIMARY" {
                table.primary_key = columns;
                continue;
            }
            if index.functional || index.parts.iter().any(|p| p.sub_part.is_some()) {
                schema.unsupported.push(format!(
                    "the functional or prefix index `{}` on `{name}`",
                    index.name
                ));
                continue;
            }
            table.indexes.push(Index {
                name: index.name.clone(),
                columns,
                unique: index.unique,
            });
        }
        for key in &def.foreign_keys {
            table.foreign_keys.push(ForeignKey {
                name: key.name.clone(),
                columns: key.columns.clone(),
                ref_table: key.referenced_table.clone(),
                ref_columns: key.referenced_columns.clone(),
                on_delete: super::action(&format!("{:?}", key.on_delete)),
                on_update: super::action(&format!("{:?}", key.on_update)),
            });
        }
        schema.tables.insert(name, table);
    }
    let objects: Vec<(String, String, Option<String>)> = sqlx::query_as(OBJECTS)
        .bind(&current)
        .bind(&current)
        .bind(&current)
        .fetch_all(pool)
        .await?;
    for (kind, name, table) in objects {
        schema
            .objects
            .insert(super::object(&kind, &name, table.as_deref()));
    }
    Ok(schema)
}

/// What the model cannot declare, by kind and name: views, triggers,
/// functions and procedures of the current database.
const OBJECTS: &str = "\
SELECT CAST('view' AS CHAR), CAST(table_name AS CHAR), CAST(NULL AS CHAR) \
FROM information_schema.views WHERE table_schema = ? \
UNION ALL \
SELECT 'trigger', CAST(trigger_name AS CHAR), CAST(event_object_table AS CHAR) \
FROM information_schema.triggers WHERE trigger_schema = ? \
UNION ALL \
SELECT CAST(LOWER(routine_type) AS CHAR), CAST(routine_name AS CHAR), NULL \
FROM information_schema.routines WHERE routine_schema = ?";
