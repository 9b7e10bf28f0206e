//! What `#[derive(cofferdam::Model)]` registers, and the schema the models
//! of a set declare.
//!
//! The derive turns each struct into one [`Model`], submitted to inventory
//! like a revision; [`schema`] collects those of one set (the crate's name
//! unless `#[model(set = "...")]`) into a [`Schema`].

use super::{Column, ForeignKey, Index, Schema, Table};
use std::borrow::Cow;

/// A column type, as sea-query creates it. The derive picks one from the
/// field's Rust type; `#[model(sql_type = "...")]` gives [`Type::Custom`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Type {
    /// `smallint`: `i8`, `i16`, `u8`.
    SmallInt,
    /// `integer`: `i32`, `u16`.
    Int,
    /// `bigint`: `i64`, `u32`, `u64`.
    BigInt,
    /// `boolean`: `bool`.
    Bool,
    /// `real`: `f32`.
    Float,
    /// `double precision`: `f64`.
    Double,
    /// `decimal(p, s)`: `Decimal` with `precision` and `scale`.
    Decimal(Option<(u32, u32)>),
    /// `varchar(n)`: `String` with `len = n`.
    Varchar(u32),
    /// `text`: `String` without `len`.
    Text,
    /// A binary string: `Vec<u8>`.
    Blob,
    /// `date`: `NaiveDate`, `time::Date`.
    Date,
    /// `time`: `NaiveTime`, `time::Time`.
    Time,
    /// `timestamp` without time zone: `NaiveDateTime`, `PrimitiveDateTime`.
    Timestamp,
    /// `timestamp with time zone`: `DateTime<Tz>`, `OffsetDateTime`.
    TimestampTz,
    /// `uuid`: `Uuid`.
    Uuid,
    /// `json`: `serde_json::Value`, `Json<T>`.
    Json,
    /// A type written as SQL, passed through as it is.
    Custom(Cow<'static, str>),
}

/// A column default.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ColumnDefault {
    /// `DEFAULT NULL`, the same as none.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A string, unquoted.
    Text(Cow<'static, str>),
    /// An SQL expression the server evaluates, such as `now()`.
    Sql(Cow<'static, str>),
}

/// `ON DELETE` / `ON UPDATE` of a foreign key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum ForeignKeyAction {
    /// `NO ACTION`, the default.
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

/// One model: a struct with `#[derive(cofferdam::Model)]`.
#[derive(Debug)]
pub struct Model {
    /// The set whose migrations must reach this model (the crate's name
    /// unless `#[model(set = "...")]`).
    pub set: &'static str,
    /// The table.
    pub table: &'static str,
    /// The Rust path of the struct.
    pub rust_type: &'static str,
    /// The columns, in field order.
    pub columns: &'static [ModelColumn],
    /// The primary key, in field order.
    pub primary_key: &'static [&'static str],
    /// Indexes (`index`, `unique`, and `#[model(index(...))]` on the struct).
    pub indexes: &'static [ModelIndex],
    /// Foreign keys (`references(...)`).
    pub foreign_keys: &'static [ModelForeignKey],
}

/// One field of a [`Model`].
#[derive(Debug)]
pub struct ModelColumn {
    /// The column's name.
    pub name: &'static str,
    /// Its type.
    pub ty: Type,
    /// `Option<T>`.
    pub nullable: bool,
    /// `default = ...` or `default_sql = "..."`.
    pub default: Option<ColumnDefault>,
    /// `auto_increment`.
    pub auto_increment: bool,
}

/// An index of a [`Model`].
#[derive(Debug)]
pub struct ModelIndex {
    /// `name = "..."`, else the default name.
    pub name: Option<&'static str>,
    /// The columns.
    pub columns: &'static [&'static str],
    /// Whether it is unique.
    pub unique: bool,
}

/// A foreign key of a [`Model`].
#[derive(Debug)]
pub struct ModelForeignKey {
    /// The referencing columns.
    pub columns: &'static [&'static str],
    /// The referenced table.
    pub ref_table: &'static str,
    /// The referenced columns.
    pub ref_columns: &'static [&'static str],
    /// `on_delete = ...`.
    pub on_delete: ForeignKeyAction,
    /// `on_update = ...`.
    pub on_update: ForeignKeyAction,
}

inventory::collect!(Model);

/// Every model registered for `set`, sorted by table.
pub fn registered(set: &str) -> Vec<&'static Model> {
    let mut models: Vec<&'static Model> = inventory::iter::<Model>
        .into_iter()
        .filter(|m| m.set == set)
        .collect();
    models.sort_by_key(|m| m.table);
    models
}

/// The schema the models of `set` declare.
pub(super) fn schema(set: &str) -> Schema {
    let mut schema = Schema::default();
    for model in registered(set) {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let mut table = Table::new(model.table);
        table.columns = model
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.to_owned(),
                ty: c.ty.clone(),
                nullable: c.nullable,
                default: c.default.clone(),
                auto_increment: c.auto_increment,
            })
            .collect();
        table.primary_key = owned(model.primary_key);
        table.indexes = model
            .indexes
            .iter()
            .map(|i| {
                let columns = owned(i.columns);
                Index {
                    name: i.name.map_or_else(
                        || Index::default_name(model.table, &columns, i.unique),
                        str::to_owned,
                    ),
                    columns,
                    unique: i.unique,
                }
            })
            .collect();
        table.foreign_keys = model
            .foreign_keys
            .iter()
            .map(|f| {
                let columns = owned(f.columns);
                ForeignKey {
                    name: ForeignKey::default_name(model.table, &columns),
                    columns,
                    ref_table: f.ref_table.to_owned(),
                    ref_columns: owned(f.ref_columns),
                    on_delete: f.on_delete,
                    on_update: f.on_update,
                }
            })
            .collect();
        if let Some(previous) = schema.tables.insert(model.table.to_owned(), table) {
            schema.unsupported.push(format!(
                "two models declare the table `{}`; only one (`{}`) is compared",
                previous.name, model.rust_type
            ));
        }
    }
    schema
}

impl ColumnDefault {
    /// The default as `ty` stores it, spelled one way: `1` in a boolean is
    /// `true`, `now()` is `CURRENT_TIMESTAMP`, casts (`'x'::text`) are gone.
    pub(crate) fn normalised(self, ty: &Type) -> ColumnDefault {
        let boolean = |text: &str| match text.to_ascii_lowercase().as_str() {
            "1" | "true" | "t" | "'1'" | "'t'" | "'true'" => Some(true),
            "0" | "false" | "f" | "'0'" | "'f'" | "'false'" => Some(false),
            _ => None,
        };
        match (self, ty) {
            (ColumnDefault::Int(i), Type::Bool) => ColumnDefault::Bool(i != 0),
            (ColumnDefault::Text(t) | ColumnDefault::Sql(t), Type::Bool)
                if boolean(&t).is_some() =>
            {
                ColumnDefault::Bool(boolean(&t).unwrap_or_default())
            }
            (ColumnDefault::Float(f), Type::SmallInt | Type::Int | Type::BigInt)
                if f.fract() == 0.0 =>
            {
                ColumnDefault::Int(f as i64)
            }
            (ColumnDefault::Int(i), Type::Float | Type::Double | Type::Decimal(_)) => {
                ColumnDefault::Float(i as f64)
            }
            (
                ColumnDefault::Text(t) | ColumnDefault::Sql(t),
                Type::SmallInt | Type::Int | Type::BigInt,
            ) if t.trim_matches('\'').parse::<i64>().is_ok() => {
                ColumnDefault::Int(t.trim_matches('\'').parse().unwrap_or_default())
            }
            (
                ColumnDefault::Text(t) | ColumnDefault::Sql(t),
                Type::Float | Type::Double | Type::Decimal(_),
            ) if t.trim_matches('\'').parse::<f64>().is_ok() => {
                ColumnDefault::Float(t.trim_matches('\'').parse().unwrap_or_default())
            }
            (ColumnDefault::Sql(t), _) => {
                let text = sql_expression(&t);
                match text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
                    Some(inner) if !inner.contains('\'') => {
                        ColumnDefault::Text(Cow::Owned(inner.to_owned()))
                    }
                    _ if text == "null" => ColumnDefault::Null,
                    _ => ColumnDefault::Sql(Cow::Owned(text)),
                }
            }
            (ColumnDefault::Text(t), _) if is_current_timestamp(&t) => {
                // SQLite reports an expression default as bare text.
                ColumnDefault::Sql(Cow::Borrowed("current_timestamp"))
            }
            (other, _) => other,
        }
    }

    /// The default as a person reads it in a message.
    pub fn describe(&self) -> String {
        match self {
            ColumnDefault::Null => "NULL".to_owned(),
            ColumnDefault::Int(i) => i.to_string(),
            ColumnDefault::Float(f) => f.to_string(),
            ColumnDefault::Bool(b) => b.to_string(),
            ColumnDefault::Text(t) => format!("'{t}'"),
            ColumnDefault::Sql(s) => s.to_string(),
        }
    }
}

fn is_current_timestamp(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().replace(' ', "").as_str(),
        "now()" | "current_timestamp" | "current_timestamp()" | "localtimestamp"
    )
}

/// An SQL default expression in one spelling: lower case outside quotes,
/// no casts, no outer parentheses, `now()` as `current_timestamp`.
fn sql_expression(text: &str) -> String {
    let mut text = text.trim();
    while text.starts_with('(') && text.ends_with(')') && balanced(&text[1..text.len() - 1]) {
        text = text[1..text.len() - 1].trim();
    }
    // `'x'::character varying`, `0::bigint`: PostgreSQL's casts of a literal.
    let text = match text.find("::") {
        Some(at) if !text[at..].contains('\'') => &text[..at],
        _ => text,
    };
    if is_current_timestamp(text) {
        return "current_timestamp".to_owned();
    }
    if text.starts_with('\'') {
        return text.to_owned();
    }
    text.to_ascii_lowercase()
}

fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_compare_in_one_spelling() {
        let sql = |s: &'static str| ColumnDefault::Sql(Cow::Borrowed(s));
        let ts = Type::TimestampTz;
        assert_eq!(sql("now()").normalised(&ts), sql("current_timestamp"));
        assert_eq!(
            sql("CURRENT_TIMESTAMP").normalised(&ts),
            sql("current_timestamp")
        );
        assert_eq!(
            sql("'draft'::character varying").normalised(&Type::Varchar(20)),
            ColumnDefault::Text(Cow::Borrowed("draft"))
        );
        assert_eq!(
            ColumnDefault::Int(1).normalised(&Type::Bool),
            ColumnDefault::Bool(true)
        );
        assert_eq!(sql("0").normalised(&Type::BigInt), ColumnDefault::Int(0));
    }
}
