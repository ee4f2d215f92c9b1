//! The query's result columns into the sink: `*` expanded as Flink expands
//! it, matched by position to the sink's non-VIRTUAL columns (or by the
//! INSERT column list), each converted without loss (else a CAST is asked
//! for) and never a possible null into a NOT NULL column.

use sqlparser::ast::{BinaryOperator, Expr, SelectItem};

use super::emit::{Binding, Output, Plan};
use super::expr::TExpr;
use super::ops::widen_to;
use super::scope::{Col, Scope};
use super::{Parsed, types};
use crate::diag::{Diag, Diags};
use crate::input::PipelineInput;
use crate::ir::{ColumnIr, SqlType, TableIr};
use crate::span::Span;

/// Checks the statement against its tables and plans the function.
pub(crate) fn plan(
    p: &PipelineInput,
    parsed: &Parsed,
    from: &TableIr,
    to: &TableIr,
    time_zone: String,
    diags: &mut Diags<Span>,
) -> Option<Plan> {
    let (stmt, src) = (&parsed.stmt, &parsed.src);
    let mut qualifiers = vec![from.name.clone()];
    qualifiers.extend(stmt.source_alias.clone());
    let mut scope = Scope::new(src, from, qualifiers, time_zone);
    let mut ok = true;
    let unnest = match &stmt.unnest {
        None => None,
        // Without its UNNEST columns the rest of the statement would only give follow-on errors.
        Some(u) => Some(unnest(&mut scope, u, diags)?),
    };
    if let Some(w) = &stmt.selection {
        proven_not_null(w, &mut scope);
    }
    let unnest = unnest.map(|(array, local, copy, _)| {
        let element_nullable = matches!(&array.ty, SqlType::Array(el) if el.nullable);
        let fields = unnest_fields(&scope, &array, &local);
        let not_null = fields.is_empty() && scope.not_null.contains(&local) && scope.cols.last().is_some_and(|c| c.nullable);
        super::emit::Unnest { array, local, copy, not_null, fields, element_nullable }
    });
    let filter = match &stmt.selection {
        Some(w) => {
            let f = scope.boolean(w, diags);
            ok &= f.is_some();
            f
        }
        None => None,
    };
    let items = projection(&mut scope, &stmt.projection, diags);
    let outputs = outputs(p, &scope, stmt, to, items?, diags);
    let outputs = outputs?;
    if !ok {
        return None;
    }
    let bindings = scope
        .cols
        .iter()
        .filter(|c| !c.field.is_empty() && scope.used.contains(&c.local))
        .map(|c| Binding {
            local: c.local.clone(),
            field: c.field.clone(),
            copy: types::is_copy(&c.ty),
            not_null: scope.not_null.contains(&c.local),
            nullable: c.nullable,
        })
        .collect();
    Some(Plan {
        fn_name: format!("transform_{}", p.name.replace('-', "_")),
        from_rust: from.rust_name.clone(),
        to_rust: to.rust_name.clone(),
        bindings,
        unnest,
        filter,
        outputs,
        sql: src.text.clone(),
    })
}

/// Columns the WHERE clause proves not null: `col IS NOT NULL` among its top-level ANDs.
fn proven_not_null(w: &Expr, scope: &mut Scope) {
    match w {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            proven_not_null(left, scope);
            proven_not_null(right, scope);
        }
        Expr::Nested(e) => proven_not_null(e, scope),
        Expr::IsNotNull(e) => {
            let local = match e.as_ref() {
                Expr::Identifier(i) => scope.resolve(None, &i.value).ok(),
                Expr::CompoundIdentifier(parts) if parts.len() == 2 => scope.resolve(Some(&parts[0].value), &parts[1].value).ok(),
                _ => None,
            };
            if let Some(l) = local.map(|c| c.local.clone()) {
                scope.not_null.insert(l);
            }
        }
        _ => {}
    }
}

/// A result column: its name (for `INSERT` lists and messages), value and where it was written.
struct Item {
    name: Option<String>,
    value: TExpr,
    at: Span,
}

/// The SELECT list, `*` expanded.
fn projection(scope: &mut Scope, items: &[SelectItem], diags: &mut Diags<Span>) -> Option<Vec<Item>> {
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let at = scope.at(item);
        match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                let name = match (item, e) {
                    (SelectItem::ExprWithAlias { alias, .. }, _) => Some(alias.value.clone()),
                    (_, Expr::Identifier(i)) => Some(i.value.clone()),
                    (_, Expr::CompoundIdentifier(p)) => p.last().map(|i| i.value.clone()),
                    _ => None,
                };
                match scope.expr(e, diags) {
                    Some(value) => out.push(Item { name, value, at: scope.at_expr(e) }),
                    None => ok = false,
                }
            }
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                let names: Vec<String> = scope.cols.iter().map(|c| c.name.clone()).collect();
                for n in names {
                    let q = sqlparser::ast::Ident::new(n.clone());
                    if let Some(value) = scope.expr(&Expr::Identifier(q), diags) {
                        out.push(Item { name: Some(n), value, at });
                    }
                }
            }
            other => {
                diags.push(Diag::error(at, format!("`{other}` is not supported in a SELECT list")).label("not supported"));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Matches result columns to the sink's columns.
fn outputs(
    p: &PipelineInput,
    scope: &Scope,
    stmt: &super::parse::Stmt,
    to: &TableIr,
    items: Vec<Item>,
    diags: &mut Diags<Span>,
) -> Option<Vec<Output>> {
    let _ = p;
    let writable: Vec<&ColumnIr> = to.columns.iter().filter(|c| c.metadata.is_none()).collect();
    let targets: Vec<&ColumnIr> = if stmt.columns.is_empty() {
        writable.clone()
    } else {
        let mut t = Vec::new();
        for (n, at) in &stmt.columns {
            match writable.iter().find(|c| &c.name == n) {
                Some(c) => t.push(*c),
                None => {
                    let d = Diag::error(*at, format!("`{}` has no writable column `{n}`", to.name)).label("unknown column");
                    diags.push(match crate::suggest::closest(n, writable.iter().map(|c| c.name.as_str())) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d,
                    });
                    return None;
                }
            }
        }
        t
    };
    if targets.len() != items.len() {
        let at = items.get(targets.len()).map_or(stmt.sink.1, |i| i.at);
        diags.push(
            Diag::error(at, format!("the SELECT gives {} column(s) but `{}` takes {}", items.len(), to.name, targets.len()))
                .label("column count")
                .note(format!(
                    "`{}` columns, in order: {}",
                    to.name,
                    targets.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ))
                .help("match the sink's non-VIRTUAL columns by position, or name them: `INSERT INTO sink (a, b) SELECT …`"),
        );
        return None;
    }
    let mut ok = true;
    let mut values: Vec<(String, TExpr, bool)> = Vec::new();
    for (c, item) in targets.iter().zip(items) {
        match column(scope, c, item, to, diags) {
            Some(v) => values.push(v),
            None => ok = false,
        }
    }
    // Sink columns not written: VIRTUAL metadata (default), or unlisted ones (NULL; NOT NULL is an error).
    let mut out = Vec::new();
    for c in &to.columns {
        if let Some(i) = values.iter().position(|v| v.0 == c.ident) {
            let (field, value, some) = values.swap_remove(i);
            out.push(Output { field, value: Some(value), some });
        } else if c.metadata.is_some() || c.nullable || targets.iter().any(|t| t.ident == c.ident) {
            out.push(Output { field: c.ident.clone(), value: None, some: false });
        } else {
            diags.push(
                Diag::error(stmt.sink.1, format!("column `{}` of `{}` is NOT NULL and the INSERT does not give it", c.name, to.name))
                    .label("missing column")
                    .help(format!("add `{}` to the INSERT column list", c.name)),
            );
            ok = false;
        }
    }
    ok.then_some(out)
}

/// One result column into one sink column.
fn column(scope: &Scope, c: &ColumnIr, item: Item, to: &TableIr, diags: &mut Diags<Span>) -> Option<(String, TExpr, bool)> {
    let mut v = super::ops::retype_null(item.value, &c.ty);
    let what = item.name.map_or(String::new(), |n| format!(" `{n}`"));
    let other_table = scope.qualifiers.first().is_some_and(|t| t != &to.name);
    if other_table && super::emit::has_row(&v.ty) && !matches!(v.node, super::expr::Node::Null) {
        if v.ty != c.ty || !super::rows::rebuildable(&v.ty) {
            diags.push(
                Diag::error(item.at, format!("the result column{what} is a {}, which is not the ROW type of column `{}` ({})", v.ty, c.name, c.ty))
                    .label("another ROW type")
                    .help("a ROW is copied into another table's column of the same ROW type (field names, types, nullability); otherwise select the fields as columns"),
            );
            return None;
        }
        // Each table's ROW is its own struct: rebuilt field by field.
        let hint = format!("{}{}", to.rust_name, crate::ident::type_name(&c.name));
        let (ty, body) = (v.ty.clone(), super::rows::rebuild(quote::quote!(__a0), &v.ty, &hint, 0));
        v = TExpr::strict(ty, vec![v], body, None, false);
    }
    if !types::lossless(&v.ty, &c.ty) {
        diags.push(
            Diag::error(
                item.at,
                format!("the result column{what} is {}, which does not convert without loss to {} (column `{}`)", v.ty, c.ty, c.name),
            )
            .label("lossy column")
            .help(format!("CAST it: `CAST(… AS {})`, or widen the sink column", c.ty)),
        );
        return None;
    }
    if v.nullable && !c.nullable {
        diags.push(
            Diag::error(item.at, format!("the result column{what} may be null, but `{}` is NOT NULL", c.name))
                .label("null into NOT NULL")
                .help("use COALESCE(…, default), add `WHERE … IS NOT NULL` on the column, or make the sink column nullable"),
        );
        return None;
    }
    let some = c.nullable && !v.nullable;
    let _ = &scope;
    Some((c.ident.clone(), widen_to(v, &c.ty), some))
}

/// The locals of `t(a, b, …)` over an array of ROW (the scope's columns after the element's name), empty otherwise.
fn unnest_fields(scope: &Scope, array: &TExpr, element: &str) -> Vec<super::emit::UnnestField> {
    let (SqlType::Array(_), Some(SqlType::Row(fields))) =
        (&array.ty, scope.cols.iter().find(|c| c.local == element && c.name.is_empty()).map(|c| &c.ty))
    else {
        return Vec::new();
    };
    let start = scope.cols.len() - fields.len();
    fields
        .iter()
        .zip(&scope.cols[start..])
        .map(|(f, c)| super::emit::UnnestField {
            local: c.local.clone(),
            field: crate::ident::field_name(&f.name),
            nullable: c.nullable,
            field_not_null: !f.nullable,
            copy: types::is_copy(&f.ty),
            not_null: scope.not_null.contains(&c.local) && c.nullable,
        })
        .collect()
}

/// `CROSS JOIN UNNEST(array) AS t(x)`: the array, typed, and its element added to the scope as column `x`;
/// `AS t(a, b, …)` over an array of ROW adds its fields as columns `a`, `b`, … as Flink does.
fn unnest(scope: &mut Scope, u: &super::parse::Unnest, diags: &mut Diags<Span>) -> Option<(TExpr, String, bool, String)> {
    let a = scope.expr(&u.array, diags)?;
    let SqlType::Array(el) = &a.ty else {
        diags.push(Diag::error(scope.at_expr(&u.array), format!("UNNEST takes an ARRAY, found {}", a.ty)).label("not an array"));
        return None;
    };
    if u.columns.len() > 1 {
        return unnest_row(scope, u, a.clone(), &el.ty, el.nullable, diags);
    }
    let local = format!("e_{}", crate::ident::field_name(&u.column.0).trim_start_matches("r#"));
    scope.cols.push(Col { name: u.column.0.clone(), local: local.clone(), field: String::new(), ty: el.ty.clone(), nullable: el.nullable });
    scope.unnest_alias = u.alias.clone();
    let copy = types::is_copy(&el.ty);
    Some((a, local, copy, u.column.0.clone()))
}

/// `UNNEST(rows) AS t(a, b, …)`: one column per field of the ROW element, named by the alias list.
fn unnest_row(
    scope: &mut Scope,
    u: &super::parse::Unnest,
    a: TExpr,
    el: &SqlType,
    el_nullable: bool,
    diags: &mut Diags<Span>,
) -> Option<(TExpr, String, bool, String)> {
    let fields = match el {
        SqlType::Row(f) if f.len() == u.columns.len() => f,
        _ => {
            let (what, help) = match el {
                SqlType::Row(f) => (format!("the ROW element has {} fields", f.len()), format!("name each of the {} fields once", f.len())),
                t => (format!("the element is {t}, one column"), "name one column: `AS t (x)`".to_string()),
            };
            diags.push(
                Diag::error(u.columns[1].1, format!("UNNEST is given {} column names but {what}", u.columns.len()))
                    .label("column names do not match the element")
                    .help(help),
            );
            return None;
        }
    };
    let local = format!("e_{}", crate::ident::field_name(&u.column.0).trim_start_matches("r#"));
    let row = format!("{local}_row");
    for (f, (name, _)) in fields.iter().zip(&u.columns) {
        let local = format!("e_{}", crate::ident::field_name(name).trim_start_matches("r#"));
        scope.cols.push(Col { name: name.clone(), local, field: String::new(), ty: f.ty.clone(), nullable: f.nullable || el_nullable });
    }
    scope.unnest_alias = u.alias.clone();
    // The element itself is not a column: its local only names the loop variable.
    let marker = Col { name: String::new(), local: row.clone(), field: String::new(), ty: el.clone(), nullable: el_nullable };
    let at = scope.cols.len() - fields.len();
    scope.cols.insert(at, marker);
    Some((a, row, false, String::new()))
}
