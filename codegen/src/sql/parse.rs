//! The statement: `INSERT INTO sink [(cols)] SELECT … FROM source
//! [CROSS JOIN UNNEST(array) AS t(x)] [WHERE …]`, parsed by `sqlparser`;
//! every other form, and every stateful clause, is a located error.

use sqlparser::ast::{
    Expr, GroupByExpr, JoinOperator, ObjectName, Query, SelectItem, SetExpr, Spanned, Statement, TableFactor, TableObject,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Location;

use super::source::SqlSource;
use crate::diag::{Diag, Diags};
use crate::span::Span;

/// A name as written, with where.
pub(crate) type Named = (String, Span);

/// `CROSS JOIN UNNEST(array) AS t(x)`.
pub(crate) struct Unnest {
    pub(crate) array: Expr,
    /// The element's column name (`x`); `f0` as Flink names it when not given.
    pub(crate) column: Named,
    /// The table alias (`t`), for `t.x`.
    pub(crate) alias: Option<String>,
    /// All the alias's column names: more than one expands an array of ROW into its fields (`t(a, b)`).
    pub(crate) columns: Vec<Named>,
}

/// The parts of an accepted statement.
pub(crate) struct Stmt {
    pub(crate) sink: Named,
    pub(crate) columns: Vec<Named>,
    pub(crate) source: Named,
    /// The source's alias (`FROM orders o`).
    pub(crate) source_alias: Option<String>,
    pub(crate) unnest: Option<Unnest>,
    pub(crate) projection: Vec<SelectItem>,
    pub(crate) selection: Option<Expr>,
}

/// Parses the one statement of a pipeline's `sql:`.
pub(crate) fn statement(src: &SqlSource, diags: &mut Diags<Span>) -> Option<Stmt> {
    let dialect = GenericDialect {};
    let parsed = Parser::new(&dialect).try_with_sql(&src.text).and_then(|mut p| p.parse_statements());
    let mut stmts = match parsed {
        Ok(s) => s,
        Err(e) => {
            syntax_error(src, &e.to_string(), diags);
            return None;
        }
    };
    if stmts.len() != 1 {
        let at = stmts.get(1).map_or(src.whole(), |s| src.sp(s.span()));
        diags.push(
            Diag::error(at, format!("a pipeline's `sql` is one statement, found {}", stmts.len()))
                .label("one statement")
                .help("write one `INSERT INTO sink SELECT … FROM source` per pipeline"),
        );
        return None;
    }
    let stmt = stmts.remove(0);
    let Statement::Insert(ins) = stmt else {
        diags.push(
            Diag::error(src.sp(stmt.span()), "a pipeline's `sql` must be `INSERT INTO sink SELECT … FROM source`")
                .label("not an INSERT")
                .help("write `INSERT INTO <sink table> SELECT … FROM <source table>`"),
        );
        return None;
    };
    let sink = match &ins.table {
        TableObject::TableName(n) => name(src, n, diags)?,
        other => {
            diags.push(Diag::error(src.sp(other.span()), "the sink must be a table of the spec").label("not a table"));
            return None;
        }
    };
    let columns = ins.columns.iter().filter_map(|c| name(src, c, diags)).collect();
    let Some(query) = &ins.source else {
        diags.push(Diag::error(sink.1, "the INSERT has no SELECT").label("no query").help("write `INSERT INTO sink SELECT … FROM source`"));
        return None;
    };
    select(src, query, sink, columns, diags)
}

fn select(src: &SqlSource, query: &Query, sink: Named, columns: Vec<Named>, diags: &mut Diags<Span>) -> Option<Stmt> {
    let mut ok = true;
    let mut refuse = |at: Span, what: &str, why: &str, diags: &mut Diags<Span>| {
        ok = false;
        stateful(at, what, why, diags)
    };
    if let Some(w) = &query.with {
        refuse(src.sp(w.span()), "WITH", "a common table expression is a query of its own; write the expression inline", diags);
    }
    if let Some(o) = &query.order_by {
        refuse(src.sp(o.span()), "ORDER BY", "sorting a stream needs every record before the first can be written", diags);
    }
    if let Some(l) = &query.limit_clause {
        refuse(src.sp(l.span()), "LIMIT", "a limit counts records across the whole stream, which is state", diags);
    }
    let SetExpr::Select(sel) = query.body.as_ref() else {
        let at = src.sp(query.body.span());
        refuse(at, "this query form", "only one SELECT per pipeline is compiled: set operations and VALUES need state or no source", diags);
        return None;
    };
    if sel.distinct.is_some() {
        refuse(src.sp(sel.select_token.0.span), "DISTINCT", "removing duplicates remembers every record seen", diags);
    }
    let group_by = match &sel.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(e, _) => !e.is_empty(),
    };
    if group_by {
        let at = src.find_word(0, "GROUP").unwrap_or(src.whole());
        refuse(at, "GROUP BY", "aggregation keeps state per group and per window; compile it as a Rust transform or in Flink", diags);
    }
    if let Some(h) = &sel.having {
        refuse(src.sp(h.span()), "HAVING", "it filters aggregates, which are state", diags);
    }
    if !sel.named_window.is_empty() {
        let at = src.find_word(0, "WINDOW").unwrap_or(src.whole());
        refuse(at, "WINDOW", "windows keep state across records", diags);
    }
    let (source, source_alias, unnest) = from(src, &sel.from, diags)?;
    ok.then_some(Stmt { sink, columns, source, source_alias, unnest, projection: sel.projection.clone(), selection: sel.selection.clone() })
}

/// The FROM clause: one table, optionally `CROSS JOIN UNNEST(…)`.
fn from(
    src: &SqlSource,
    from: &[sqlparser::ast::TableWithJoins],
    diags: &mut Diags<Span>,
) -> Option<(Named, Option<String>, Option<Unnest>)> {
    let Some(first) = from.first() else {
        let at = src.find_word(0, "SELECT").unwrap_or(src.whole());
        diags.push(Diag::error(at, "the SELECT has no FROM").label("no source").help("add `FROM <source table>`"));
        return None;
    };
    if let Some(second) = from.get(1) {
        stateful(src.sp(second.relation.span()), "a join", "joining two streams keeps each side's records until they match", diags);
        return None;
    }
    let (source, alias) = match &first.relation {
        TableFactor::Table { name: n, alias, .. } => (name(src, n, diags)?, alias.as_ref().map(|a| a.name.value.clone())),
        other => {
            stateful(
                src.sp(other.span()),
                "this FROM",
                "read from a table of the spec: subqueries and table functions are not compiled",
                diags,
            );
            return None;
        }
    };
    let mut unnest = None;
    for j in &first.joins {
        let cross = matches!(j.join_operator, JoinOperator::CrossJoin(_));
        match (&j.relation, cross, unnest.is_none()) {
            (TableFactor::UNNEST { alias, array_exprs, with_offset: false, with_ordinality: false, .. }, true, true)
                if array_exprs.len() == 1 =>
            {
                let col = alias.as_ref().and_then(|a| a.columns.first()).map(|c| (c.name.value.clone(), src.sp(c.name.span)));
                let column = col.unwrap_or_else(|| ("f0".to_string(), src.sp(array_exprs[0].span())));
                let columns = alias.iter().flat_map(|a| &a.columns).map(|c| (c.name.value.clone(), src.sp(c.name.span))).collect();
                let alias = alias.as_ref().map(|a| a.name.value.clone());
                unnest = Some(Unnest { array: array_exprs[0].clone(), column, alias, columns });
            }
            (r, _, _) => {
                stateful(
                    src.sp(r.span()),
                    "a join",
                    "joining two streams keeps each side's records until they match; only `CROSS JOIN UNNEST(array) AS t(x)` of one array is compiled",
                    diags,
                );
                return None;
            }
        }
    }
    Some((source, alias, unnest))
}

fn name(src: &SqlSource, n: &ObjectName, diags: &mut Diags<Span>) -> Option<Named> {
    let parts: Vec<_> = n.0.iter().filter_map(|p| p.as_ident()).collect();
    match parts.as_slice() {
        [one] => Some((one.value.clone(), src.sp(one.span))),
        _ => {
            diags.push(
                Diag::error(src.sp(n.span()), format!("`{n}` is not a table name of this spec"))
                    .label("qualified name")
                    .help("name the table as the spec does, without catalog or database"),
            );
            None
        }
    }
}

/// A located "not supported" error for a stateful construct.
pub(crate) fn stateful(at: Span, what: &str, why: &str, diags: &mut Diags<Span>) {
    diags.push(
        Diag::error(at, format!("{what} is not supported: pipelines compile stateless, per-record SQL"))
            .label("not supported")
            .note(format!("why: {why}"))
            .help("write the logic as a Rust `transform`, or run this part in Flink"),
    );
}

/// A sqlparser syntax error, at the line and column its message gives.
fn syntax_error(src: &SqlSource, msg: &str, diags: &mut Diags<Span>) {
    let msg = msg.strip_prefix("sql parser error: ").unwrap_or(msg);
    let (text, at) = match msg.rfind(" at Line: ") {
        Some(i) => {
            let loc = &msg[i + " at Line: ".len()..];
            let mut it = loc.split(", Column: ");
            let line = it.next().and_then(|l| l.trim().parse().ok());
            let column = it.next().and_then(|c| c.trim().parse().ok());
            let at = match (line, column) {
                (Some(line), Some(column)) => src.offset(Location { line, column }).map(|o| src.span(o, o + src.token_len(o))),
                _ => None,
            };
            (&msg[..i], at)
        }
        None => (msg, None),
    };
    let at = at.unwrap_or_else(|| src.span(src.text.trim_end().len().saturating_sub(1), src.text.trim_end().len()));
    let help = if src.comment_follows() {
        "in a plain YAML value ` #` starts a comment, so the SQL was cut there: write `sql: |` and the statement on the lines below"
    } else {
        "the statement is `INSERT INTO sink SELECT … FROM source [WHERE …]` in Flink SQL"
    };
    diags.push(Diag::error(at, format!("SQL syntax error: {text}")).label("here").help(help));
}
