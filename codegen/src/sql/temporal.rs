//! The temporal functions and JSON_VALUE: `EXTRACT`, `FLOOR`/`CEIL(t TO
//! unit)`, `DATE_FORMAT`, `TO_TIMESTAMP`, `TO_DATE`, `TIMESTAMPADD`,
//! `TIMESTAMPDIFF`. TIMESTAMP_LTZ values are read in the pipeline's
//! `table.local-time-zone`. Units, formats and paths are checked at build
//! time with the run-time constructors.

use kinesis_tables_sql::temporal::TimeUnit;
use proc_macro2::TokenStream;
use quote::quote;
use sqlparser::ast::{DateTimeField, Expr};

use super::args::{PatternArg, cached, once, pattern_arg};
use super::expr::TExpr;
use super::ops::{retype_null, widen_to};
use super::scope::Scope;
use super::types;
use crate::diag::{Diag, Diags};
use crate::ir::SqlType;
use crate::span::Span;

const UNITS: &[&str] = &["YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND", "MILLISECOND"];

fn sql() -> TokenStream {
    quote!(::kinesis_tables::sql)
}

/// A time unit as `sql::temporal::TimeUnit::…`.
fn unit(name: &str, at: Span, diags: &mut Diags<Span>) -> Option<(TimeUnit, TokenStream)> {
    let Some(u) = TimeUnit::parse(&name.to_ascii_uppercase()) else {
        let d = Diag::error(at, format!("`{name}` is not a time unit")).label("unknown unit");
        diags.push(match crate::suggest::closest(&name.to_ascii_uppercase(), UNITS.iter().copied()) {
            Some(c) => d.help(format!("did you mean `{c}`?")),
            None => d.help(format!("units: {}", UNITS.join(", "))),
        });
        return None;
    };
    let id = quote::format_ident!("{}", format!("{u:?}"));
    let sql = sql();
    Some((u, quote!(#sql::temporal::TimeUnit::#id)))
}

/// The pipeline's zone, as `Result<&LocalTimeZone, SqlError>`.
pub(crate) fn zone(s: &Scope) -> TokenStream {
    let sql = sql();
    let tz = &s.time_zone;
    once(quote!(#sql::temporal::LocalTimeZone), quote!(#sql::temporal::LocalTimeZone::parse(#tz)))
}

/// A DATE, TIMESTAMP or TIMESTAMP_LTZ operand as a TIMESTAMP (an LTZ in the local time zone).
fn datetime(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    let t = s.expr(e, diags)?;
    let sql = sql();
    match &t.ty {
        SqlType::Timestamp(_) => Some(t),
        SqlType::Date => Some(TExpr::strict(SqlType::Timestamp(0), vec![t], quote!(#sql::cast::date_to_timestamp(__a0)), None, false)),
        SqlType::TimestampLtz(p) => {
            let (p, z) = (*p, zone(s));
            let body = quote!(#z.map(|z| #sql::temporal::ltz_to_timestamp(&__a0, z)));
            Some(TExpr::strict(SqlType::Timestamp(p), vec![t], body, Some(s.text(e)), false))
        }
        other => {
            diags.push(
                Diag::error(s.at_expr(e), format!("expected a DATE or TIMESTAMP, found {other}"))
                    .label("not a time")
                    .help("CAST it to TIMESTAMP"),
            );
            None
        }
    }
}

/// `EXTRACT(unit FROM t)`: a BIGINT.
pub(crate) fn extract(s: &mut Scope, field: &DateTimeField, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    let u = unit(&field.to_string(), s.at_expr(e), diags);
    let t = s.expr(e, diags)?;
    let (_, u) = u?;
    let sql = sql();
    let text = s.text(e);
    match t.ty {
        SqlType::Date => Some(TExpr::strict(SqlType::BigInt, vec![t], quote!(#sql::temporal::extract_date(#u, __a0)), Some(text), false)),
        SqlType::Time(_) => {
            Some(TExpr::strict(SqlType::BigInt, vec![t], quote!(#sql::temporal::extract_time(#u, __a0)), Some(text), false))
        }
        _ => {
            let t = datetime(s, e, diags)?;
            Some(TExpr::strict(SqlType::BigInt, vec![t], quote!(#sql::temporal::extract_timestamp(#u, &__a0)), None, false))
        }
    }
}

/// `FLOOR(t TO unit)` / `CEIL(t TO unit)`: of t's type.
pub(crate) fn floor_to(s: &mut Scope, floor: bool, e: &Expr, field: &DateTimeField, diags: &mut Diags<Span>) -> Option<TExpr> {
    let u = unit(&field.to_string(), s.at_expr(e), diags);
    let t = s.expr(e, diags)?;
    let (_, u) = u?;
    let sql = sql();
    let body = match (&t.ty, floor) {
        (SqlType::Date, true) => quote!(#sql::temporal::floor_date(__a0, #u)),
        (SqlType::Date, false) => quote!(#sql::temporal::ceil_date(__a0, #u)),
        (SqlType::Timestamp(_), true) => quote!(#sql::temporal::floor_timestamp(&__a0, #u)),
        (SqlType::Timestamp(_), false) => quote!(#sql::temporal::ceil_timestamp(&__a0, #u)),
        (other, _) => {
            diags.push(Diag::error(s.at_expr(e), format!("FLOOR/CEIL … TO takes a DATE or TIMESTAMP, found {other}")).label("not a time"));
            return None;
        }
    };
    let ty = t.ty.clone();
    Some(TExpr::strict(ty, vec![t], body, Some(s.text(e)), false))
}

/// `use_` over the date format: a literal compiled once, or a format from the record (the last argument) compiled per record.
fn with_format(mut args: Vec<TExpr>, f: PatternArg, use_: TokenStream) -> (Vec<TExpr>, TokenStream) {
    let sql = sql();
    let ty = quote!(#sql::temporal::DateFormat);
    match f {
        PatternArg::Literal(f) => (args, {
            let p = once(ty, quote!(#sql::temporal::DateFormat::new(#f)));
            quote!(#p.and_then(#use_))
        }),
        PatternArg::Record(e) => {
            let key = quote::format_ident!("__a{}", args.len());
            args.push(e);
            let build = quote!(|f: &str, _: &str| #sql::temporal::DateFormat::new(f));
            (args, cached(ty, quote!(&#key), quote!(""), build, use_))
        }
    }
}

/// The temporal functions called by name, and JSON_VALUE.
pub(crate) fn call(s: &mut Scope, whole: &Expr, name: &str, a: &[&Expr], text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = sql();
    let check_format = |f: &str| kinesis_tables_sql::temporal::DateFormat::new(f).map(|_| ()).map_err(|e| e.to_string());
    match name {
        "DATE_FORMAT" => {
            let t = datetime(s, a[0], diags);
            let f = pattern_arg(s, a[1], "date format", check_format, diags);
            let (t, f) = (t?, f?);
            let (args, body) =
                with_format(vec![t], f, quote!(|f: &#sql::temporal::DateFormat| ::core::result::Result::Ok(f.format(&__a0))));
            Some(TExpr::strict(SqlType::String, args, body, Some(text), false))
        }
        "TO_TIMESTAMP" | "TO_DATE" => {
            let v = s.string(a[0], diags);
            let f = a.get(1).map(|f| pattern_arg(s, f, "date format", check_format, diags));
            let v = v?;
            let date = name == "TO_DATE";
            let ty = if date { SqlType::Date } else { SqlType::Timestamp(3) };
            let Some(f) = f else {
                let body = if date { quote!(#sql::temporal::to_date(&__a0)) } else { quote!(#sql::temporal::to_timestamp(&__a0)) };
                return Some(TExpr::strict(ty, vec![v], body, None, true));
            };
            let use_ = if date {
                quote!(|f: &#sql::temporal::DateFormat| ::core::result::Result::Ok(#sql::temporal::to_date_with(&__a0, f)))
            } else {
                quote!(|f: &#sql::temporal::DateFormat| ::core::result::Result::Ok(#sql::temporal::to_timestamp_with(&__a0, f)))
            };
            let (args, body) = with_format(vec![v], f?, use_);
            Some(TExpr::strict(ty, args, body, Some(text), true))
        }
        "TIMESTAMPADD" => {
            let u = unit_arg(s, a[0], diags);
            let n = s.expr(a[1], diags).map(|n| retype_null(n, &SqlType::Int));
            let t = s.expr(a[2], diags);
            let (u, n, t) = (u?, n?, t?);
            if types::int_rank(&n.ty).is_none() || !matches!(t.ty, SqlType::Timestamp(_) | SqlType::Date) {
                diags.push(
                    Diag::error(
                        s.at_expr(whole),
                        format!("TIMESTAMPADD takes (unit, integer, TIMESTAMP or DATE), found ({}, {})", n.ty, t.ty),
                    )
                    .label("wrong argument types"),
                );
                return None;
            }
            let n = widen_to(n, &SqlType::BigInt);
            let ty = t.ty.clone();
            let body = if ty == SqlType::Date {
                quote!(#sql::temporal::timestampadd_date(#u, __a0, __a1))
            } else {
                quote!(#sql::temporal::timestampadd(#u, __a0, &__a1))
            };
            Some(TExpr::strict(ty, vec![n, t], body, Some(text), false))
        }
        "TIMESTAMPDIFF" => {
            let u = unit_arg(s, a[0], diags);
            let (x, y) = (datetime(s, a[1], diags), datetime(s, a[2], diags));
            let (u, x, y) = (u?, x?, y?);
            Some(TExpr::strict(SqlType::Int, vec![x, y], quote!(#sql::temporal::timestampdiff(#u, &__a0, &__a1)), Some(text), false))
        }
        "JSON_VALUE" => super::json::json_value(s, whole, a, text, diags),
        "TO_TIMESTAMP_LTZ" => to_timestamp_ltz(s, a, text, diags),
        // UNIX_TIMESTAMP(): the processing time in seconds since the epoch.
        "UNIX_TIMESTAMP" => {
            Some(TExpr::new(SqlType::BigInt, false, super::expr::Node::Lit(quote!(#sql::temporal::current_timestamp().timestamp()))))
        }
        "FROM_UNIXTIME" => from_unixtime(s, a, text, diags),
        _ => {
            diags.push(Diag::error(s.at_expr(whole), format!("`{name}` is not compiled yet")).label("not supported"));
            None
        }
    }
}

/// `FROM_UNIXTIME(seconds [, format])`: the instant as text in the pipeline's time zone (default format `yyyy-MM-dd HH:mm:ss`).
fn from_unixtime(s: &mut Scope, a: &[&Expr], text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = sql();
    let n = s.expr(a[0], diags).map(|n| retype_null(n, &SqlType::BigInt));
    let check_format = |f: &str| kinesis_tables_sql::temporal::DateFormat::new(f).map(|_| ()).map_err(|e| e.to_string());
    let f = match a.get(1) {
        Some(f) => pattern_arg(s, f, "date format", check_format, diags),
        None => Some(PatternArg::Literal("yyyy-MM-dd HH:mm:ss".to_string())),
    };
    let (n, f) = (n?, f?);
    if types::int_rank(&n.ty).is_none() {
        let msg = format!("FROM_UNIXTIME takes an integer number of seconds, found {}", n.ty);
        diags.push(Diag::error(s.at_expr(a[0]), msg).label("not an integer").help("CAST it to BIGINT"));
        return None;
    }
    let z = zone(s);
    let use_ = quote!(|f: &#sql::temporal::DateFormat| #z.and_then(|z| #sql::temporal::epoch_seconds_to_ltz(__a0).map(|t| f.format(&z.to_local(&t)))));
    let (args, body) = with_format(vec![widen_to(n, &SqlType::BigInt)], f, use_);
    Some(TExpr::strict(SqlType::String, args, body, Some(text), false))
}

/// `TO_TIMESTAMP_LTZ(epoch, 0 | 3)`: seconds or milliseconds since the epoch.
fn to_timestamp_ltz(s: &mut Scope, a: &[&Expr], text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = sql();
    // TO_TIMESTAMP_LTZ(epoch, 0 | 3): seconds or milliseconds since the epoch.
    let n = s.expr(a[0], diags).map(|n| retype_null(n, &SqlType::BigInt));
    let p = match a[1] {
        Expr::Value(v) if matches!(&v.value, sqlparser::ast::Value::Number(p, _) if p == "0" || p == "3") => Some(v.value.to_string()),
        other => {
            diags.push(
                Diag::error(s.at_expr(other), "TO_TIMESTAMP_LTZ's precision must be the literal 0 (seconds) or 3 (milliseconds)")
                    .label("not 0 or 3"),
            );
            None
        }
    };
    let (n, p) = (n?, p?);
    if types::int_rank(&n.ty).is_none() {
        diags.push(
            Diag::error(s.at_expr(a[0]), format!("TO_TIMESTAMP_LTZ takes an integer number of seconds or milliseconds, found {}", n.ty))
                .label("not an integer")
                .help("CAST it to BIGINT"),
        );
        return None;
    }
    let n = widen_to(n, &SqlType::BigInt);
    let (ty, body) = if p == "0" {
        (SqlType::TimestampLtz(0), quote!(#sql::temporal::epoch_seconds_to_ltz(__a0)))
    } else {
        (SqlType::TimestampLtz(3), quote!(#sql::temporal::epoch_millis_to_ltz(__a0)))
    };
    Some(TExpr::strict(ty, vec![n], body, Some(text), false))
}

fn unit_arg(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TokenStream> {
    match e {
        Expr::Identifier(i) => unit(&i.value, s.src.sp(i.span), diags).map(|u| u.1),
        other => {
            diags.push(Diag::error(s.at_expr(other), "expected a time unit such as DAY").label("not a unit"));
            None
        }
    }
}
