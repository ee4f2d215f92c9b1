//! The temporal functions and JSON_VALUE: `EXTRACT`, `FLOOR(ts TO unit)`,
//! `DATE_FORMAT`, `TO_TIMESTAMP`, `TO_DATE`, `TIMESTAMPADD`,
//! `TIMESTAMPDIFF`. TIMESTAMP_LTZ values are read in the pipeline's
//! `table.local-time-zone`.

use proc_macro2::TokenStream;
use quote::quote;
use sqlparser::ast::{DateTimeField, Expr};

use super::check::{Scope, retype_null, widen_to};
use super::expr::{Node, TExpr};
use super::types;
use crate::diag::{Diag, Diags};
use crate::ir::SqlType;
use crate::span::Span;

const UNITS: &[&str] = &["YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND", "MILLISECOND"];

fn sql() -> TokenStream {
    quote!(::kinesis_tables::sql)
}

/// A time unit as the run-time enum `sql::extra::Unit`.
fn unit(s: &Scope, name: &str, at: Span, diags: &mut Diags<Span>) -> Option<TokenStream> {
    let up = name.to_ascii_uppercase();
    if !UNITS.contains(&up.as_str()) {
        let d = Diag::error(at, format!("`{name}` is not a time unit")).label("unknown unit");
        diags.push(match crate::suggest::closest(&up, UNITS.iter().copied()) {
            Some(c) => d.help(format!("did you mean `{c}`?")),
            None => d.help(format!("units: {}", UNITS.join(", "))),
        });
        return None;
    }
    let _ = s;
    let id = quote::format_ident!("{}", heck::AsUpperCamelCase(&up).to_string());
    let sql = sql();
    Some(quote!(#sql::extra::Unit::#id))
}

fn field_name(f: &DateTimeField) -> String {
    f.to_string()
}

/// A DATE, TIMESTAMP or TIMESTAMP_LTZ operand, as a `NaiveDateTime` in the local time zone.
fn datetime(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    let t = s.expr(e, diags)?;
    let sql = sql();
    let tz = s.time_zone.clone();
    match &t.ty {
        SqlType::Timestamp(_) => Some(t),
        SqlType::Date => Some(TExpr::strict(SqlType::Timestamp(0), vec![t], quote!(#sql::cast::date_to_timestamp(__a0)), None, false)),
        SqlType::TimestampLtz(p) => {
            let p = *p;
            Some(TExpr::strict(SqlType::Timestamp(p), vec![t], quote!(#sql::extra::local_time(__a0, #tz)), None, false))
        }
        other => {
            diags.push(Diag::error(s.at_expr(e), format!("expected a DATE or TIMESTAMP, found {other}")).label("not a time").help("CAST it to TIMESTAMP"));
            None
        }
    }
}

/// `EXTRACT(unit FROM t)`: a BIGINT.
pub(crate) fn extract(s: &mut Scope, field: &DateTimeField, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    let u = unit(s, &field_name(field), s.at_expr(e), diags);
    let t = datetime(s, e, diags)?;
    let u = u?;
    let sql = sql();
    Some(TExpr::strict(SqlType::BigInt, vec![t], quote!(#sql::extra::extract(&__a0, #u)), None, false))
}

/// `FLOOR(t TO unit)` / `CEIL(t TO unit)`: of t's type.
pub(crate) fn floor_to(s: &mut Scope, floor: bool, e: &Expr, field: &DateTimeField, diags: &mut Diags<Span>) -> Option<TExpr> {
    let u = unit(s, &field_name(field), s.at_expr(e), diags);
    let t = s.expr(e, diags)?;
    let u = u?;
    if !matches!(t.ty, SqlType::Timestamp(_) | SqlType::Date) {
        diags.push(Diag::error(s.at_expr(e), format!("FLOOR/CEIL … TO takes a DATE or TIMESTAMP, found {}", t.ty)).label("not a time"));
        return None;
    }
    let sql = sql();
    let ty = t.ty.clone();
    let (f, t) = if ty == SqlType::Date { (quote!(floor_date), t) } else { (quote!(floor_timestamp), t) };
    let body = quote!(#sql::extra::#f(__a0, #u, #floor));
    Some(TExpr::strict(ty, vec![t], quote!(#body), Some(s.text(e)), false))
}

fn string(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    s.string(e, diags)
}

/// The temporal functions called by name, and JSON_VALUE.
pub(crate) fn call(s: &mut Scope, whole: &Expr, name: &str, a: &[&Expr], text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = sql();
    let tz = s.time_zone.clone();
    match name {
        "DATE_FORMAT" => {
            let (t, f) = (datetime(s, a[0], diags), string(s, a[1], diags));
            Some(TExpr::strict(SqlType::String, vec![t?, f?], quote!(#sql::extra::date_format(&__a0, &__a1)), Some(text), false))
        }
        "TO_TIMESTAMP" | "TO_DATE" => {
            let v: Vec<_> = a.iter().map(|e| string(s, e, diags)).collect();
            let v: Vec<TExpr> = v.into_iter().collect::<Option<_>>()?;
            let fmt = if v.len() == 2 { quote!(::core::option::Option::Some(&*__a1)) } else { quote!(::core::option::Option::None) };
            let (ty, f) = if name == "TO_DATE" { (SqlType::Date, quote!(to_date)) } else { (SqlType::Timestamp(3), quote!(to_timestamp)) };
            Some(TExpr::strict(ty, v, quote!(#sql::extra::#f(&__a0, #fmt)), Some(text), false))
        }
        "TIMESTAMPADD" => {
            let u = unit_arg(s, a[0], diags);
            let n = s.expr(a[1], diags).map(|n| retype_null(n, &SqlType::Int));
            let t = s.expr(a[2], diags);
            let (u, n, t) = (u?, n?, t?);
            if types::int_rank(&n.ty).is_none() || !matches!(t.ty, SqlType::Timestamp(_) | SqlType::Date) {
                diags.push(Diag::error(s.at_expr(whole), format!("TIMESTAMPADD takes (unit, integer, TIMESTAMP or DATE), found ({}, {})", n.ty, t.ty)).label("wrong argument types"));
                return None;
            }
            let n = widen_to(n, &SqlType::BigInt);
            let (ty, f) = if t.ty == SqlType::Date { (SqlType::Date, quote!(add_date)) } else { (t.ty.clone(), quote!(add_timestamp)) };
            Some(TExpr::strict(ty, vec![n, t], quote!(#sql::extra::#f(__a1, #u, __a0)), Some(text), false))
        }
        "TIMESTAMPDIFF" => {
            let u = unit_arg(s, a[0], diags);
            let (x, y) = (datetime(s, a[1], diags), datetime(s, a[2], diags));
            let (u, x, y) = (u?, x?, y?);
            Some(TExpr::strict(SqlType::Int, vec![x, y], quote!(#sql::extra::timestamp_diff(&__a0, &__a1, #u)), Some(text), false))
        }
        "JSON_VALUE" => {
            let (j, p) = (string(s, a[0], diags), string(s, a[1], diags));
            if let Expr::Value(v) = a[1]
                && !matches!(v.value, sqlparser::ast::Value::SingleQuotedString(_))
            {
                diags.push(Diag::error(s.at_expr(a[1]), "the JSON path must be a string literal").label("not a path"));
                return None;
            }
            Some(TExpr::strict(SqlType::String, vec![j?, p?], quote!(#sql::extra::json_value(&__a0, &__a1)), Some(text), true))
        }
        _ => {
            let _ = tz;
            diags.push(Diag::error(s.at_expr(whole), format!("`{name}` is not compiled yet")).label("not supported"));
            None
        }
    }
}

fn unit_arg(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TokenStream> {
    match e {
        Expr::Identifier(i) => unit(s, &i.value, s.src.sp(i.span), diags),
        other => {
            diags.push(Diag::error(s.at_expr(other), "expected a time unit such as DAY").label("not a unit"));
            None
        }
    }
}

#[allow(dead_code)]
fn node_is_null(t: &TExpr) -> bool {
    matches!(t.node, Node::Null)
}
