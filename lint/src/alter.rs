//! `ALTER TABLE` and renames: what each action drops, narrows or breaks.

use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, ColumnOption, DropBehavior,
};

use crate::gate::key;
use crate::sql::{Cx, in_table, name_of};
use crate::{Finding, type_narrows};

pub(crate) fn alter_table(alter: &AlterTable, cx: &mut Cx<'_>) {
    let table = name_of(&alter.name);
    let cascade_of = |b: &Option<DropBehavior>| *b == Some(DropBehavior::Cascade);
    for operation in &alter.operations {
        let mut push = |operation: &str, object: String, cascade: bool| {
            cx.findings
                .push(Finding::destructive(operation, Some(object)).with_cascade(cascade));
        };
        match operation {
            AlterTableOperation::DropColumn {
                column_names,
                drop_behavior,
                ..
            } => {
                for column in column_names {
                    push(
                        "DROP COLUMN",
                        in_table(&alter.name, &column.value),
                        cascade_of(drop_behavior),
                    );
                }
            }
            AlterTableOperation::DropConstraint {
                name,
                drop_behavior,
                ..
            } => {
                push(
                    "DROP CONSTRAINT",
                    in_table(&alter.name, &name.value),
                    cascade_of(drop_behavior),
                );
            }
            AlterTableOperation::DropForeignKey { name, .. } => {
                push(
                    "DROP FOREIGN KEY",
                    in_table(&alter.name, &name.value),
                    false,
                );
            }
            AlterTableOperation::DropPrimaryKey { .. } => {
                push("DROP PRIMARY KEY", table.clone(), false);
            }
            AlterTableOperation::DropIndex { name } => {
                push("DROP INDEX", in_table(&alter.name, &name.value), false);
            }
            AlterTableOperation::DropPartitions { partitions, .. } => {
                for partition in partitions {
                    push("DROP PARTITION", format!("{table}.{partition}"), false);
                }
            }
            AlterTableOperation::DropProjection { name, .. } => {
                push("DROP PROJECTION", in_table(&alter.name, &name.value), false);
            }
            AlterTableOperation::DropClusteringKey => {
                push("DROP CLUSTERING KEY", table.clone(), false);
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                alter_column(&table, &column_name.value, op, cx);
            }
            AlterTableOperation::AddColumn { column_def, .. } => {
                let column = key(&column_def.name.value);
                cx.state.added.insert((key(&table), column.clone()));
                cx.state
                    .columns
                    .entry(key(&table))
                    .or_default()
                    .push(column);
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => rename_column(&table, &old_column_name.value, &new_column_name.value, cx),
            AlterTableOperation::RenameTable { table_name } => {
                let new = table_name.to_string().replace(['"', '`'], "");
                let new = new
                    .strip_prefix("TO ")
                    .or_else(|| new.strip_prefix("AS "))
                    .unwrap_or(&new)
                    .trim()
                    .to_owned();
                rename_table(&table, &new, cx);
            }
            // MySQL: a new definition of the column, type included.
            AlterTableOperation::ModifyColumn {
                col_name,
                data_type,
                options,
                ..
            } => {
                column_definition(&table, &col_name.value, &data_type.to_string(), options, cx);
            }
            AlterTableOperation::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                ..
            } => {
                if key(&old_name.value) != key(&new_name.value) {
                    rename_column(&table, &old_name.value, &new_name.value, cx);
                }
                column_definition(&table, &old_name.value, &data_type.to_string(), options, cx);
            }
            // A safety net for drops this match does not name (dialect-specific ones, or new
            // ones in a later sqlparser): the operation's own text says it drops something.
            other => {
                let text = other.to_string();
                if let Some(rest) = text.strip_prefix("DROP ") {
                    let kind = rest.split_whitespace().next().unwrap_or_default();
                    push(
                        &format!("DROP {}", kind.to_ascii_uppercase()),
                        table.clone(),
                        false,
                    );
                }
            }
        }
    }
}

/// `ALTER COLUMN`: a narrowing type change loses data; dropping `NOT NULL` or a default only
/// breaks the release still running.
fn alter_column(table: &str, column: &str, op: &AlterColumnOperation, cx: &mut Cx<'_>) {
    let object = format!("{table}.{column}");
    match op {
        AlterColumnOperation::DropNotNull => {
            cx.warnings
                .push(Finding::breaking("DROP NOT NULL", Some(object)));
        }
        AlterColumnOperation::DropDefault => {
            cx.warnings
                .push(Finding::breaking("DROP DEFAULT", Some(object)));
        }
        AlterColumnOperation::SetDataType {
            data_type, using, ..
        } => {
            let loses = using.is_some() || type_narrows(&data_type.to_string());
            if loses && !cx.new_column(table, column) {
                let using = if using.is_some() { " USING ..." } else { "" };
                cx.findings.push(Finding::destructive(
                    "ALTER COLUMN TYPE",
                    Some(format!("{object} to {data_type}{using}")),
                ));
            }
        }
        _ => {}
    }
}

/// MySQL `MODIFY` / `CHANGE`: the column's whole new definition. A narrow type loses data; a
/// column left nullable (`NULL`, or no `NOT NULL`) is a dropped `NOT NULL` at worst.
fn column_definition(
    table: &str,
    column: &str,
    data_type: &str,
    options: &[ColumnOption],
    cx: &mut Cx<'_>,
) {
    let object = format!("{table}.{column}");
    if cx.new_column(table, column) {
        return;
    }
    if type_narrows(data_type) {
        cx.findings.push(Finding::destructive(
            "ALTER COLUMN TYPE",
            Some(format!("{object} to {data_type}")),
        ));
    }
    if options.iter().any(|o| matches!(o, ColumnOption::Null)) {
        cx.warnings
            .push(Finding::breaking("DROP NOT NULL", Some(object)));
    }
}

fn rename_column(table: &str, old: &str, new: &str, cx: &mut Cx<'_>) {
    if cx.state.is_new_column(table, old) {
        return;
    }
    cx.warnings.push(Finding::breaking(
        "RENAME COLUMN",
        Some(format!("{table}.{old} to {new}")),
    ));
}

pub(crate) fn rename_table(old: &str, new: &str, cx: &mut Cx<'_>) {
    let state = &mut *cx.state;
    if state.created.remove(&key(old)) {
        // A table made by this revision (a rebuild's new table) takes the old name.
        state.created.insert(key(new));
    } else {
        cx.warnings.push(Finding::breaking(
            "RENAME TABLE",
            Some(format!("{old} to {new}")),
        ));
    }
    if let Some(columns) = state.columns.remove(&key(old)) {
        state.columns.insert(key(new), columns);
    }
}
