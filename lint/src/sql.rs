//! Finds the destructive operations in parsed statements.
//!
//! Matching on the syntax tree, not on words, is what keeps `drop_count` columns, `truncate_log`
//! tables and `'DROP TABLE x'` strings from being reported.

use sqlparser::ast::{
    AssignmentTarget, CascadeOption, ConditionalStatementBlock, CreateFunctionBody, Delete, Expr,
    FromTable, Ident, Insert, ObjectName, ObjectType, Query, SelectItem, SetExpr, Statement,
    TableFactor, TableObject, TableWithJoins, Update, Value,
};

use crate::alter::{alter_table, rename_table};
use crate::gate::{State, key};
use crate::{Dialect, Finding, Rebuild, body, dml};

/// What the statements of one text hold, and the revision's state they read and update.
pub(crate) struct Cx<'s> {
    pub(crate) dialect: Dialect,
    pub(crate) state: &'s mut State,
    pub(crate) findings: Vec<Finding>,
    pub(crate) warnings: Vec<Finding>,
    pub(crate) rebuilds: Vec<Rebuild>,
    /// A finding was left out because of what earlier statements of the revision did.
    pub(crate) exempted: bool,
}

impl<'s> Cx<'s> {
    /// Whether the revision created `table`; remembers that the answer spared a finding.
    pub(crate) fn new_table(&mut self, table: &str) -> bool {
        let new = self.state.is_new_table(table);
        self.exempted |= new;
        new
    }

    /// Whether the revision added `column` to `table` (or created `table`); remembers that
    /// the answer spared a finding.
    pub(crate) fn new_column(&mut self, table: &str, column: &str) -> bool {
        let new = self.state.is_new_column(table, column);
        self.exempted |= new;
        new
    }

    pub(crate) fn new(dialect: Dialect, state: &'s mut State) -> Self {
        Cx {
            dialect,
            state,
            findings: Vec::new(),
            warnings: Vec::new(),
            rebuilds: Vec::new(),
            exempted: false,
        }
    }
}

/// Appends the findings of `statement`, and of the statements it runs now, to `cx`.
pub(crate) fn statement_findings(statement: &Statement, cx: &mut Cx<'_>) {
    match statement {
        Statement::Drop {
            object_type,
            names,
            table,
            cascade,
            ..
        } => {
            let operation = format!("DROP {object_type}");
            for name in names {
                let object = match (object_type, table) {
                    // MySQL `DROP INDEX i ON t`: index names are per table there.
                    (ObjectType::Index, Some(table)) => in_table(table, &name_of(name)),
                    _ => name_of(name),
                };
                if *object_type == ObjectType::Table && !drop_table_loses(&object, cx) {
                    continue;
                }
                cx.findings
                    .push(Finding::destructive(&operation, Some(object)).with_cascade(*cascade));
            }
        }
        Statement::RenameTable(renames) => {
            for rename in renames {
                rename_table(&name_of(&rename.old_name), &name_of(&rename.new_name), cx);
            }
        }
        Statement::CreateTable(create) if !create.or_replace => {
            let table = name_of(&create.name);
            cx.state.created.insert(key(&table));
            let columns = create.columns.iter().map(|c| key(&c.name.value)).collect();
            cx.state.columns.insert(key(&table), columns);
            if let Some(query) = &create.query {
                query_findings(query, cx);
            }
        }
        Statement::CreateFunction(function) => {
            let body = match &function.function_body {
                Some(
                    CreateFunctionBody::AsBeforeOptions { body, .. }
                    | CreateFunctionBody::AsAfterOptions(body)
                    | CreateFunctionBody::Return(body),
                ) => literal_text(body),
                _ => None,
            };
            if let Some(body) = body {
                let name = name_of(&function.name);
                for mut finding in body::findings(&body, cx.dialect) {
                    finding.object = Some(match finding.object {
                        Some(object) => format!("{object} (in function {name})"),
                        None => format!("(in function {name})"),
                    });
                    cx.findings.push(finding);
                }
            }
        }
        Statement::DropFunction(drop) => {
            for f in &drop.func_desc {
                push(cx, "DROP FUNCTION", Some(name_of(&f.name)));
            }
        }
        Statement::DropProcedure { proc_desc, .. } => {
            for p in proc_desc {
                push(cx, "DROP PROCEDURE", Some(name_of(&p.name)));
            }
        }
        Statement::DropDomain(drop) => push(cx, "DROP DOMAIN", Some(name_of(&drop.name))),
        Statement::DropTrigger(drop) => {
            let trigger = name_of(&drop.trigger_name);
            let object = match &drop.table_name {
                Some(table) => in_table(table, &trigger),
                None => trigger,
            };
            push(cx, "DROP TRIGGER", Some(object));
        }
        Statement::DropPolicy(drop) => {
            push(
                cx,
                "DROP POLICY",
                Some(in_table(&drop.table_name, &drop.name.value)),
            );
        }
        Statement::DropExtension(drop) => {
            for name in &drop.names {
                push(cx, "DROP EXTENSION", Some(name.value.clone()));
            }
        }
        Statement::DropOperator(drop) => {
            for op in &drop.operators {
                push(cx, "DROP OPERATOR", Some(name_of(&op.name)));
            }
        }
        Statement::DropOperatorFamily(drop) => {
            for name in &drop.names {
                push(cx, "DROP OPERATOR FAMILY", Some(name_of(name)));
            }
        }
        Statement::DropOperatorClass(drop) => {
            for name in &drop.names {
                push(cx, "DROP OPERATOR CLASS", Some(name_of(name)));
            }
        }
        Statement::DropSecret { name, .. } => push(cx, "DROP SECRET", Some(name.value.clone())),
        Statement::DropConnector { name, .. } => {
            push(cx, "DROP CONNECTOR", Some(name.value.clone()))
        }
        Statement::Truncate(truncate) => {
            let cascade = truncate.cascade == Some(CascadeOption::Cascade);
            for target in &truncate.table_names {
                let table = name_of(&target.name);
                if !cx.new_table(&table) {
                    cx.findings
                        .push(Finding::destructive("TRUNCATE", Some(table)).with_cascade(cascade));
                }
            }
        }
        Statement::Delete(delete) if dml::selects_every_row(delete.selection.as_ref()) => {
            for table in deleted_tables(delete) {
                if !cx.new_table(&table) {
                    cx.findings
                        .push(Finding::destructive("DELETE without WHERE", Some(table)));
                }
            }
        }
        Statement::Update(update) => update_findings(update, cx),
        Statement::AlterTable(alter) => alter_table(alter, cx),
        // MariaDB: drops the existing table and its rows before creating the new one.
        Statement::CreateTable(create) if create.or_replace => {
            cx.findings.push(Finding::destructive(
                "CREATE OR REPLACE TABLE",
                Some(name_of(&create.name)),
            ));
        }

        // Statements that run other statements now.
        Statement::Query(query) => query_findings(query, cx),
        Statement::Insert(insert) => {
            if let Some(source) = &insert.source {
                remember_copy(insert, source, cx.state);
                query_findings(source, cx);
            }
        }
        Statement::Explain {
            analyze: true,
            statement,
            ..
        }
        | Statement::Prepare { statement, .. } => statement_findings(statement, cx),
        Statement::If(s) => {
            let blocks = std::iter::once(&s.if_block)
                .chain(&s.elseif_blocks)
                .chain(&s.else_block);
            blocks_findings(blocks, cx);
        }
        Statement::While(s) => blocks_findings(std::iter::once(&s.while_block), cx),
        Statement::Case(s) => blocks_findings(s.when_blocks.iter().chain(&s.else_block), cx),
        _ => {}
    }
}

fn push(cx: &mut Cx<'_>, operation: &str, object: Option<String>) {
    cx.findings.push(Finding::destructive(operation, object));
}

/// Whether dropping `table` loses rows: not when the revision created it (a scratch table),
/// nor when it copied every column of it into a new table first (a rebuild). A rebuild that
/// leaves columns out is reported as dropping them.
fn drop_table_loses(table: &str, cx: &mut Cx<'_>) -> bool {
    if cx.new_table(table) {
        return false;
    }
    let state = &mut *cx.state;
    let Some(copied) = state.copied.get(&key(table)).cloned() else {
        return true;
    };
    match (state.columns.get(&key(table)), &copied) {
        (_, None) => {}
        (Some(columns), Some(_)) => {
            let rebuild = Rebuild {
                table: table.to_owned(),
                copied: copied.clone(),
            };
            for lost in rebuild.lost(columns) {
                cx.findings.push(Finding::destructive(
                    "DROP COLUMN",
                    Some(format!("{table}.{lost}")),
                ));
            }
        }
        (None, Some(_)) => cx.rebuilds.push(Rebuild {
            table: table.to_owned(),
            copied,
        }),
    }
    cx.exempted = true;
    false
}

/// `INSERT INTO new (...) SELECT a, b FROM old` into a table the revision created: remember
/// which columns of `old` were copied, for a later `DROP TABLE old`.
fn remember_copy(insert: &Insert, source: &Query, state: &mut State) {
    let TableObject::TableName(target) = &insert.table else {
        return;
    };
    if !state.is_new_table(&name_of(target)) {
        return;
    }
    let SetExpr::Select(select) = &*source.body else {
        return;
    };
    let [from] = select.from.as_slice() else {
        return;
    };
    if !from.joins.is_empty() {
        return;
    }
    let TableFactor::Table { name, .. } = &from.relation else {
        return;
    };
    let mut copied = Some(Vec::new());
    for item in &select.projection {
        match item {
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => copied = None,
            SelectItem::ExprWithAliases { .. } => return,
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                let column = match expr {
                    Expr::Identifier(ident) => ident.value.clone(),
                    Expr::CompoundIdentifier(parts) => {
                        parts.last().map(|p| p.value.clone()).unwrap_or_default()
                    }
                    // An expression reads the column it names, transformed; count what it
                    // reads as copied (a type conversion is judged elsewhere).
                    other => other.to_string(),
                };
                if let Some(columns) = &mut copied {
                    columns.push(key(&column));
                }
            }
        }
    }
    let old = key(&name_of(name));
    // Expression items list their text: a column appears in it if it is read.
    if let Some(columns) = &mut copied {
        let known = state.columns.get(&old).cloned().unwrap_or_default();
        let texts = columns.clone();
        for column in known {
            if texts.iter().any(|t| t.contains(&column)) && !columns.contains(&column) {
                columns.push(column);
            }
        }
    }
    state.copied.insert(old, copied);
}

/// `UPDATE` of every row that sets a column to a constant overwrites it, unless the revision
/// added the column (a backfill).
fn update_findings(update: &Update, cx: &mut Cx<'_>) {
    if !dml::selects_every_row(update.selection.as_ref()) || update.from.is_some() {
        return;
    }
    let Some(table) = relation_name(&update.table, None) else {
        return;
    };
    for assignment in &update.assignments {
        let AssignmentTarget::ColumnName(column) = &assignment.target else {
            continue;
        };
        let column = column
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.clone())
            .unwrap_or_default();
        if dml::constant(&assignment.value) && !cx.new_column(&table, &column) {
            cx.findings.push(Finding::destructive(
                "UPDATE without WHERE",
                Some(format!("{table}.{column}")),
            ));
        }
    }
}

/// The text of a function body given as a string literal.
fn literal_text(body: &Expr) -> Option<String> {
    match body {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
            Value::DollarQuotedString(d) => Some(d.value.clone()),
            _ => None,
        },
        _ => None,
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
fn query_findings(query: &Query, cx: &mut Cx<'_>) {
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            query_findings(&cte.query, cx);
        }
    }
    set_expr_findings(&query.body, cx);
}

fn set_expr_findings(body: &SetExpr, cx: &mut Cx<'_>) {
    match body {
        SetExpr::Query(query) => query_findings(query, cx),
        SetExpr::SetOperation { left, right, .. } => {
            set_expr_findings(left, cx);
            set_expr_findings(right, cx);
        }
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
            statement_findings(s, cx);
        }
        _ => {}
    }
}

fn blocks_findings<'a>(
    blocks: impl Iterator<Item = &'a ConditionalStatementBlock>,
    cx: &mut Cx<'_>,
) {
    for block in blocks {
        for statement in block.statements() {
            statement_findings(statement, cx);
        }
    }
}

/// `schema.table` with identifier quotes removed.
pub(crate) fn name_of(name: &ObjectName) -> String {
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

pub(crate) fn in_table(table: &ObjectName, object: &str) -> String {
    format!("{}.{object}", name_of(table))
}
