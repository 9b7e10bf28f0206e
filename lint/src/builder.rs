//! The destructive entry points and methods of sea-query 1.0's schema builders, by name.
//!
//! The macro sees calls, not types, so this is a table of names. It was checked against
//! sea-query 1.0.2: `Type::alter()` there has `add_value`, `rename_to` and `rename_value` but no
//! way to drop a value, and `TableAlterStatement` has four drop methods.

/// Associated functions that start a destructive statement: `Table::drop()`, and the statement
/// types' own constructors (`TableDropStatement::new()`) that do the same.
const ENTRY_POINTS: &[(&str, &str, &str)] = &[
    ("Table", "drop", "DROP TABLE"),
    ("Table", "truncate", "TRUNCATE"),
    ("Index", "drop", "DROP INDEX"),
    ("ForeignKey", "drop", "DROP FOREIGN KEY"),
    ("Type", "drop", "DROP TYPE"),
    ("Extension", "drop", "DROP EXTENSION"),
    ("TableDropStatement", "new", "DROP TABLE"),
    ("TableTruncateStatement", "new", "TRUNCATE"),
    ("IndexDropStatement", "new", "DROP INDEX"),
    ("ForeignKeyDropStatement", "new", "DROP FOREIGN KEY"),
    ("TypeDropStatement", "new", "DROP TYPE"),
    ("ExtensionDropStatement", "new", "DROP EXTENSION"),
];

/// Methods of `TableAlterStatement` that drop part of a table.
const METHODS: &[(&str, &str)] = &[
    ("drop_column", "DROP COLUMN"),
    ("drop_column_if_exists", "DROP COLUMN"),
    ("drop_foreign_key", "DROP FOREIGN KEY"),
    ("drop_constraint", "DROP CONSTRAINT"),
];

/// sea-query builder entry points and methods, by name, e.g. classify_builder(Some("Table"), "drop")
/// -> Some("DROP TABLE"); classify_builder(None, "drop_column") -> Some("DROP COLUMN").
/// `ty` is the type an associated function is called on (`Table::drop()` -> Some("Table")),
/// None for a method call on a builder value. Returns the operation name, None when safe.
///
/// `ty` may be a path (`sea_query::Table`); only its last segment counts. `Query::delete` is
/// not in this table: whether a delete is destructive depends on the `WHERE` in its chain.
///
/// `modify_column` is judged by its `ColumnDef`: see [`column_type_narrows`] and
/// [`modify_column_warning`].
///
/// ```
/// use cofferdam_lint::classify_builder;
///
/// assert_eq!(classify_builder(Some("sea_query::Table"), "truncate"), Some("TRUNCATE"));
/// assert_eq!(classify_builder(None, "drop_foreign_key"), Some("DROP FOREIGN KEY"));
/// assert_eq!(classify_builder(Some("Table"), "create"), None);
/// ```
pub fn classify_builder(ty: Option<&str>, method: &str) -> Option<&'static str> {
    match ty {
        Some(ty) => {
            let ty = ty.rsplit("::").next().unwrap_or(ty).trim();
            ENTRY_POINTS
                .iter()
                .find(|(t, m, _)| *t == ty && *m == method)
                .map(|(_, _, operation)| *operation)
        }
        None => METHODS
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, operation)| *operation),
    }
}

/// `ColumnDef` type methods whose SQL type can narrow a column's values (see
/// [`type_narrows`](crate::type_narrows)), as rendered by sea-query 1.0 for at least one
/// backend; `Some(false)` for wide ones, None for a method that sets no type.
///
/// `string_len(n)` is listed as narrowing; a caller that sees `n` should apply
/// [`type_narrows`](crate::type_narrows)'s rule (255 or more widens). `decimal()` does not
/// narrow, because no backend gives it a precision.
///
/// ```
/// use cofferdam_lint::column_type_narrows;
///
/// assert_eq!(column_type_narrows("string_len"), Some(true));
/// assert_eq!(column_type_narrows("text"), Some(false));
/// assert_eq!(column_type_narrows("not_null"), None);
/// ```
pub fn column_type_narrows(method: &str) -> Option<bool> {
    const NARROW: &[&str] = &[
        "char_len",
        "char",
        "string_len",
        "tiny_integer",
        "small_integer",
        "integer",
        "tiny_unsigned",
        "small_unsigned",
        "unsigned",
        "float",
        "decimal_len",
        "money_len",
        "boolean",
        "date",
        "time",
        "year",
        "bit",
        "varbit",
        "binary_len",
        "var_binary",
        "enumeration",
        "uuid",
        "binary",
    ];
    const WIDE: &[&str] = &[
        "text",
        "string",
        "big_integer",
        "big_unsigned",
        "double",
        "decimal",
        "money",
        "date_time",
        "timestamp",
        "timestamp_with_time_zone",
        "json",
        "json_binary",
        "blob",
        "custom",
        "interval",
        "cidr",
        "inet",
        "mac_address",
        "ltree",
    ];
    if NARROW.contains(&method) {
        Some(true)
    } else if WIDE.contains(&method) {
        Some(false)
    } else {
        None
    }
}

/// The breaking-but-not-destructive operation a `ColumnDef` option renders inside
/// `modify_column`, if any: `.null()` is `DROP NOT NULL` on PostgreSQL.
pub fn modify_column_warning(method: &str) -> Option<&'static str> {
    (method == "null").then_some("DROP NOT NULL")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &[(Option<&str>, &str, Option<&str>)] = &[
        (Some("Table"), "drop", Some("DROP TABLE")),
        (Some("Table"), "truncate", Some("TRUNCATE")),
        (Some("Index"), "drop", Some("DROP INDEX")),
        (Some("ForeignKey"), "drop", Some("DROP FOREIGN KEY")),
        (Some("Type"), "drop", Some("DROP TYPE")),
        (Some("Extension"), "drop", Some("DROP EXTENSION")),
        (Some("sea_query::Table"), "drop", Some("DROP TABLE")),
        (
            Some("sea_query::extension::postgres::Type"),
            "drop",
            Some("DROP TYPE"),
        ),
        (Some("TableDropStatement"), "new", Some("DROP TABLE")),
        (Some("TableTruncateStatement"), "new", Some("TRUNCATE")),
        (Some("IndexDropStatement"), "new", Some("DROP INDEX")),
        (
            Some("ForeignKeyDropStatement"),
            "new",
            Some("DROP FOREIGN KEY"),
        ),
        (Some("TypeDropStatement"), "new", Some("DROP TYPE")),
        (
            Some("ExtensionDropStatement"),
            "new",
            Some("DROP EXTENSION"),
        ),
        (None, "drop_column", Some("DROP COLUMN")),
        (None, "drop_column_if_exists", Some("DROP COLUMN")),
        (None, "drop_foreign_key", Some("DROP FOREIGN KEY")),
        (None, "drop_constraint", Some("DROP CONSTRAINT")),
        // Safe: creating, altering, renaming, and deletes (checked for WHERE by the macro).
        (Some("Table"), "create", None),
        (Some("Table"), "alter", None),
        (Some("Table"), "rename", None),
        (Some("Index"), "create", None),
        (Some("ForeignKey"), "create", None),
        (Some("Type"), "create", None),
        (Some("Type"), "alter", None),
        (Some("Query"), "delete", None),
        (Some("TableCreateStatement"), "new", None),
        (None, "add_column", None),
        (None, "modify_column", None),
        (None, "rename_column", None),
        (None, "add_foreign_key", None),
        (None, "add_value", None),
        (None, "rename_value", None),
        // A method named like an entry point is not one: `x.drop()` is not `Table::drop()`.
        (None, "drop", None),
        (None, "truncate", None),
        (Some("Column"), "drop", None),
        (Some("Table"), "drop_column", None),
    ];

    #[test]
    fn builder_names() {
        for &(ty, method, expected) in CASES {
            assert_eq!(classify_builder(ty, method), expected, "{ty:?} {method}");
        }
    }
}
