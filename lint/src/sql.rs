//! Finds the destructive operations in parsed statements.
//!
//! Matching on the syntax tree, not on words, is what keeps `drop_count` columns, `truncate_log`
//! tables and `'DROP TABLE x'` strings from being reported.

use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, ConditionalStatementBlock, Delete,
    FromTable, Ident, ObjectName, ObjectType, Query, SetExpr, Statement, TableFactor,
    TableWithJoins,
};

use crate::Finding;

/// Appends the findings of `statement`, and of the statements it runs now, to `out`.
pub(crate) fn statement_findings(statement: &Statement, out: &mut Vec<Finding>) {
    let mut push = |operation: &str, object: Option<String>| {
        out.push(Finding::destructive(operation, object));
    };
    match statement {
        Statement::Drop {
            object_type,
            names,
            table,
            ..
        } => {
            let operation = format!("DROP {object_type}");
            for name in names {
                let object = match (object_type, table) {
                    // MySQL `DROP INDEX i ON t`: index names are per table there.
                    (ObjectType::Index, Some(table)) => in_table(table, &name_of(name)),
                    _ => name_of(name),
                };
                push(&operation, Some(object));
            }
        }
        Statement::DropFunction(drop) => {
            for f in &drop.func_desc {
                push("DROP FUNCTION", Some(name_of(&f.name)));
            }
        }
        Statement::DropProcedure { proc_desc, .. } => {
            for p in proc_desc {
                push("DROP PROCEDURE", Some(name_of(&p.name)));
            }
        }
        Statement::DropDomain(drop) => push("DROP DOMAIN", Some(name_of(&drop.name))),
        Statement::DropTrigger(drop) => {
            let trigger = name_of(&drop.trigger_name);
            let object = match &drop.table_name {
                Some(table) => in_table(table, &trigger),
                None => trigger,
            };
            push("DROP TRIGGER", Some(object));
        }
        Statement::DropPolicy(drop) => {
            push(
                "DROP POLICY",
                Some(in_table(&drop.table_name, &drop.name.value)),
            );
        }
        Statement::DropExtension(drop) => {
            for name in &drop.names {
                push("DROP EXTENSION", Some(name.value.clone()));
            }
        }
        Statement::DropOperator(drop) => {
            for op in &drop.operators {
                push("DROP OPERATOR", Some(name_of(&op.name)));
            }
        }
        Statement::DropOperatorFamily(drop) => {
            for name in &drop.names {
                push("DROP OPERATOR FAMILY", Some(name_of(name)));
            }
        }
        Statement::DropOperatorClass(drop) => {
            for name in &drop.names {
                push("DROP OPERATOR CLASS", Some(name_of(name)));
            }
        }
        Statement::DropSecret { name, .. } => push("DROP SECRET", Some(name.value.clone())),
        Statement::DropConnector { name, .. } => push("DROP CONNECTOR", Some(name.value.clone())),
        Statement::Truncate(truncate) => {
            for target in &truncate.table_names {
                push("TRUNCATE", Some(name_of(&target.name)));
            }
        }
        Statement::Delete(delete) if delete.selection.is_none() => {
            for table in deleted_tables(delete) {
                push("DELETE without WHERE", Some(table));
            }
        }
        Statement::AlterTable(alter) => alter_table(alter, out),
        // MariaDB: drops the existing table and its rows before creating the new one.
        Statement::CreateTable(create) if create.or_replace => {
            push("CREATE OR REPLACE TABLE", Some(name_of(&create.name)));
        }

        // Statements that run other statements now.
        Statement::Query(query) => query_findings(query, out),
        Statement::Insert(insert) => {
            if let Some(source) = &insert.source {
                query_findings(source, out);
            }
        }
        Statement::Explain {
            analyze: true,
            statement,
            ..
        }
        | Statement::Prepare { statement, .. } => statement_findings(statement, out),
        Statement::If(s) => {
            let blocks = std::iter::once(&s.if_block)
                .chain(&s.elseif_blocks)
                .chain(&s.else_block);
            blocks_findings(blocks, out);
        }
        Statement::While(s) => blocks_findings(std::iter::once(&s.while_block), out),
        Statement::Case(s) => blocks_findings(s.when_blocks.iter().chain(&s.else_block), out),
        _ => {}
    }
}

fn alter_table(alter: &AlterTable, out: &mut Vec<Finding>) {
    let table = name_of(&alter.name);
    let mut push = |operation: &str, object: String| {
        out.push(Finding::destructive(operation, Some(object)));
    };
    for operation in &alter.operations {
        match operation {
            AlterTableOperation::DropColumn { column_names, .. } => {
                for column in column_names {
                    push("DROP COLUMN", in_table(&alter.name, &column.value));
                }
            }
            AlterTableOperation::DropConstraint { name, .. } => {
                push("DROP CONSTRAINT", in_table(&alter.name, &name.value));
            }
            AlterTableOperation::DropForeignKey { name, .. } => {
                push("DROP FOREIGN KEY", in_table(&alter.name, &name.value));
            }
            AlterTableOperation::DropPrimaryKey { .. } => push("DROP PRIMARY KEY", table.clone()),
            AlterTableOperation::DropIndex { name } => {
                push("DROP INDEX", in_table(&alter.name, &name.value));
            }
            AlterTableOperation::DropPartitions { partitions, .. } => {
                for partition in partitions {
                    push("DROP PARTITION", format!("{table}.{partition}"));
                }
            }
            AlterTableOperation::DropProjection { name, .. } => {
                push("DROP PROJECTION", in_table(&alter.name, &name.value));
            }
            AlterTableOperation::DropClusteringKey => push("DROP CLUSTERING KEY", table.clone()),
            AlterTableOperation::AlterColumn { column_name, op } => {
                let operation = match op {
                    AlterColumnOperation::DropNotNull => "DROP NOT NULL",
                    AlterColumnOperation::DropDefault => "DROP DEFAULT",
                    _ => continue,
                };
                push(operation, in_table(&alter.name, &column_name.value));
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
                    );
                }
            }
        }
    }
}

/// The tables a `DELETE` removes rows from: MySQL's `DELETE t1, t2 FROM ...` names them (maybe
/// by alias) before `FROM`; otherwise they are the tables after `FROM`.
fn deleted_tables(delete: &Delete) -> Vec<String> {
    let from = match &delete.from {
        FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => from,
    };
    if delete.tables.is_empty() {
        return from.iter().filter_map(|t| relation_name(t, None)).collect();
    }
    delete
        .tables
        .iter()
        .map(|target| {
            let alias = match target.0.as_slice() {
                [part] => part.as_ident().map(|i| i.value.as_str()),
                _ => None,
            };
            alias
                .and_then(|alias| from.iter().find_map(|t| relation_name(t, Some(alias))))
                .unwrap_or_else(|| name_of(target))
        })
        .collect()
}

/// The name of a joined table; with `alias`, only the table that alias stands for.
fn relation_name(from: &TableWithJoins, alias: Option<&str>) -> Option<String> {
    let relations =
        std::iter::once(&from.relation).chain(from.joins.iter().map(|join| &join.relation));
    for relation in relations {
        if let TableFactor::Table {
            name, alias: as_, ..
        } = relation
        {
            match alias {
                None => return Some(name_of(name)),
                Some(alias) if as_.as_ref().is_some_and(|a| a.name.value == alias) => {
                    return Some(name_of(name));
                }
                Some(_) => {}
            }
        }
    }
    None
}

/// Data-modifying statements inside a query: PostgreSQL `WITH d AS (DELETE FROM t) SELECT ...`.
fn query_findings(query: &Query, out: &mut Vec<Finding>) {
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            query_findings(&cte.query, out);
        }
    }
    set_expr_findings(&query.body, out);
}

fn set_expr_findings(body: &SetExpr, out: &mut Vec<Finding>) {
    match body {
        SetExpr::Query(query) => query_findings(query, out),
        SetExpr::SetOperation { left, right, .. } => {
            set_expr_findings(left, out);
            set_expr_findings(right, out);
        }
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
            statement_findings(s, out);
        }
        _ => {}
    }
}

fn blocks_findings<'a>(
    blocks: impl Iterator<Item = &'a ConditionalStatementBlock>,
    out: &mut Vec<Finding>,
) {
    for block in blocks {
        for statement in block.statements() {
            statement_findings(statement, out);
        }
    }
}

/// `schema.table` with identifier quotes removed.
fn name_of(name: &ObjectName) -> String {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|part| match part.as_ident() {
            Some(Ident { value, .. }) => value.clone(),
            None => part.to_string(),
        })
        .collect();
    parts.join(".")
}

fn in_table(table: &ObjectName, object: &str) -> String {
    format!("{}.{object}", name_of(table))
}
