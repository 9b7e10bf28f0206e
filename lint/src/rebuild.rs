//! SQLite's table rebuild, planned from text.
//!
//! SQLite cannot change a column (and sea-query panics when asked to render
//! `modify_column` for it). The documented way is to build a new table,
//! copy the rows, drop the old one and rename the new one. This module
//! plans the new table from what the runtime can read and render: the old
//! table's `CREATE TABLE` as `sqlite_master` keeps it, and the `ALTER TABLE`
//! rendered for PostgreSQL, which can say every change.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, ColumnOptionDef, Ident, ObjectName,
    Statement,
};
use sqlparser::dialect::{PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

/// The new table of a rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RebuildPlan {
    /// `CREATE TABLE` of the new table, under its temporary name.
    pub create: String,
    /// The columns copied, as `(old name, new name)`, in the new table's order.
    pub copied: Vec<(String, String)>,
    /// The old table's columns the new one does not have.
    pub dropped: Vec<String>,
}

/// Plans the rebuild of the table created by `create` (SQLite text) as
/// changed by `alter` (an `ALTER TABLE` in PostgreSQL's syntax), naming the
/// new table `new_name`. Refuses what a rebuild cannot carry over.
pub fn plan_rebuild(create: &str, alter: &str, new_name: &str) -> Result<RebuildPlan, String> {
    let mut table = match Parser::parse_sql(&SQLiteDialect {}, create)
        .map_err(|e| format!("the table's definition could not be read: {e}"))?
        .pop()
    {
        Some(Statement::CreateTable(table)) => table,
        _ => return Err("the table's definition is not a CREATE TABLE".to_owned()),
    };
    let operations = match Parser::parse_sql(&PostgreSqlDialect {}, alter)
        .map_err(|e| format!("the change could not be read: {e}"))?
        .pop()
    {
        Some(Statement::AlterTable(alter)) => alter.operations,
        _ => return Err("the change is not an ALTER TABLE".to_owned()),
    };
    let mut copied: Vec<(String, String)> = table
        .columns
        .iter()
        .map(|c| (c.name.value.clone(), c.name.value.clone()))
        .collect();
    let mut dropped = Vec::new();
    let constraints: Vec<String> = table.constraints.iter().map(ToString::to_string).collect();
    for operation in operations {
        match operation {
            AlterTableOperation::AlterColumn { column_name, op } => {
                let column = table
                    .columns
                    .iter_mut()
                    .find(|c| c.name.value.eq_ignore_ascii_case(&column_name.value))
                    .ok_or_else(|| format!("it has no column `{}`", column_name.value))?;
                let options = &mut column.options;
                match op {
                    AlterColumnOperation::SetDataType { using: Some(_), .. } => {
                        return Err("a type change `USING` an expression cannot be rebuilt; copy the data in a revision of its own".to_owned());
                    }
                    AlterColumnOperation::SetDataType { data_type, .. } => {
                        column.data_type = data_type
                    }
                    AlterColumnOperation::SetNotNull => {
                        options.retain(|o| {
                            !matches!(o.option, ColumnOption::Null | ColumnOption::NotNull)
                        });
                        options.push(plain(ColumnOption::NotNull));
                    }
                    AlterColumnOperation::DropNotNull => {
                        options.retain(|o| !matches!(o.option, ColumnOption::NotNull));
                    }
                    AlterColumnOperation::SetDefault { value } => {
                        options.retain(|o| !matches!(o.option, ColumnOption::Default(_)));
                        options.push(plain(ColumnOption::Default(value)));
                    }
                    AlterColumnOperation::DropDefault => {
                        options.retain(|o| !matches!(o.option, ColumnOption::Default(_)));
                    }
                    other => return Err(format!("`ALTER COLUMN {other}` cannot be rebuilt")),
                }
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                for name in column_names {
                    let index = table
                        .columns
                        .iter()
                        .position(|c| c.name.value.eq_ignore_ascii_case(&name.value))
                        .ok_or_else(|| format!("it has no column `{}`", name.value))?;
                    if constraints.iter().any(|c| mentions(c, &name.value)) {
                        return Err(format!(
                            "column `{}` is part of a table constraint; change the constraint in the same revision first",
                            name.value
                        ));
                    }
                    let column = table.columns.remove(index);
                    copied.retain(|(_, new)| !new.eq_ignore_ascii_case(&column.name.value));
                    dropped.push(column.name.value);
                }
            }
            AlterTableOperation::AddColumn { column_def, .. } => table.columns.push(column_def),
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let column = table
                    .columns
                    .iter_mut()
                    .find(|c| c.name.value.eq_ignore_ascii_case(&old_column_name.value))
                    .ok_or_else(|| format!("it has no column `{}`", old_column_name.value))?;
                for (_, new) in &mut copied {
                    if new.eq_ignore_ascii_case(&old_column_name.value) {
                        new.clone_from(&new_column_name.value);
                    }
                }
                column.name = new_column_name;
            }
            other => return Err(format!("`{other}` cannot be rebuilt on SQLite")),
        }
    }
    table.name = ObjectName::from(vec![Ident::with_quote('"', new_name)]);
    Ok(RebuildPlan {
        create: table.to_string(),
        copied,
        dropped,
    })
}

/// The table an `ALTER TABLE` (in PostgreSQL's syntax) changes, unquoted
/// (`schema.table` when qualified).
pub fn altered_table(alter: &str) -> Option<String> {
    match Parser::parse_sql(&PostgreSqlDialect {}, alter)
        .ok()?
        .pop()?
    {
        Statement::AlterTable(alter) => Some(
            alter
                .name
                .0
                .iter()
                .filter_map(|part| part.as_ident().map(|ident| ident.value.clone()))
                .collect::<Vec<_>>()
                .join("."),
        ),
        _ => None,
    }
}

fn plain(option: ColumnOption) -> ColumnOptionDef {
    ColumnOptionDef { name: None, option }
}

/// Whether SQL text `sql` names `column`, quoted or not.
pub fn mentions(sql: &str, column: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let column = column.to_ascii_lowercase();
    lower.match_indices(&column).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + column.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_column_keeps_the_others() {
        let plan = plan_rebuild(
            "CREATE TABLE \"t\" ( \"id\" integer NOT NULL PRIMARY KEY, \"title\" varchar(20), \"junk\" text )",
            r#"ALTER TABLE "t" ALTER COLUMN "title" TYPE varchar(200), ALTER COLUMN "title" SET NOT NULL, DROP COLUMN "junk""#,
            "t_new",
        )
        .unwrap();
        assert_eq!(
            plan.create,
            r#"CREATE TABLE "t_new" ("id" INTEGER NOT NULL PRIMARY KEY, "title" VARCHAR(200) NOT NULL)"#
        );
        assert_eq!(plan.dropped, ["junk"]);
        assert_eq!(plan.copied.len(), 2);
    }

    #[test]
    fn what_cannot_be_rebuilt_is_refused() {
        let create = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, UNIQUE (a))";
        assert!(
            plan_rebuild(create, "ALTER TABLE t DROP COLUMN a", "n")
                .unwrap_err()
                .contains("constraint")
        );
        assert!(
            plan_rebuild(create, "ALTER TABLE t ALTER COLUMN b SET NOT NULL", "n")
                .unwrap_err()
                .contains("no column `b`")
        );
        assert!(
            plan_rebuild(
                create,
                "ALTER TABLE t ALTER COLUMN a TYPE int USING a::int",
                "n"
            )
            .unwrap_err()
            .contains("USING")
        );
        assert!(
            mentions("CREATE INDEX i ON t (\"a\")", "a")
                && !mentions("CREATE INDEX i ON t (ab)", "a")
        );
    }
}
