//! SQLite through sea-schema: declared types, `PRAGMA` defaults, keys,
//! indexes (without the primary key's own), foreign keys (unnamed in
//! SQLite, so named as autogenerate names them).

#![cfg(feature = "sqlite")]

use crate::schema::{Column, ColumnDefault, ForeignKey, Index, Schema, Table};
use sea_schema::sqlite::def::DefaultType;
use sea_schema::sqlite::discovery::SchemaDiscovery;
use std::borrow::Cow;
use std::str::FromStr;

pub(super) async fn read(url: &str) -> Result<Schema, sqlx::Error> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let found = SchemaDiscovery::new(pool.clone()).discover().await;
    // What the model cannot declare: views and triggers.
    let objects: Result<Vec<(String, String, String)>, sqlx::Error> = sqlx::query_as(
        "SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('view', 'trigger')",
    )
    .fetch_all(&pool)
    .await;
    pool.close().await;
    let found = found.map_err(|e| sqlx::Error::Protocol(format!("sea-schema: {e:?}")))?;
    let mut schema = Schema::default();
    for (kind, name, table) in objects? {
        let on = (kind == "trigger").then_some(table.as_str());
        schema.objects.insert(super::object(&kind, &name, on));
    }
    for def in found.tables {
        let mut table = Table::new(&def.name);
        for info in &def.columns {
            let mut column = Column::new(&info.name, super::from_column_type(&info.r#type));
            column.nullable = !info.not_null;
            column.default = match &info.default_value {
                DefaultType::Integer(i) => Some(ColumnDefault::Int(*i)),
                DefaultType::Float(f) => Some(ColumnDefault::Float(f64::from(*f))),
                DefaultType::String(s) => Some(ColumnDefault::Text(Cow::Owned(s.clone()))),
                DefaultType::CurrentTimestamp => {
                    Some(super::sql_default("CURRENT_TIMESTAMP".into()))
                }
                DefaultType::Null | DefaultType::Unspecified => None,
            };
            if info.primary_key {
                table.primary_key.push(info.name.clone());
            }
            table.columns.push(column);
        }
        if def.auto_increment
            && let [key] = table.primary_key.as_slice()
        {
            let key = key.clone();
            if let Some(column) = table.columns.iter_mut().find(|c| c.name == key) {
                column.auto_increment = true;
            }
        }
        for key in &def.foreign_keys {
            table.foreign_keys.push(ForeignKey {
                name: ForeignKey::default_name(&def.name, &key.from),
                columns: key.from.clone(),
                ref_table: key.table.clone(),
                ref_columns: key.to.clone(),
                on_delete: super::action(&format!("{:?}", key.on_delete)),
                on_update: super::action(&format!("{:?}", key.on_update)),
            });
        }
        schema.tables.insert(def.name.clone(), table);
    }
    for info in found.indexes {
        let Some(table) = schema.tables.get_mut(&info.table_name) else {
            continue;
        };
        if info.origin == "pk" {
            continue;
        }
        if info.partial != 0 {
            schema.unsupported.push(format!(
                "the partial index `{}` on `{}`",
                info.index_name, info.table_name
            ));
            continue;
        }
        table.indexes.push(Index {
            name: info.index_name.clone(),
            columns: info.columns.clone(),
            unique: info.unique,
        });
    }
    Ok(schema)
}
