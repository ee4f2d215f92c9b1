//! The supported functions, one arm each: arity, argument types, Flink's
//! result type and the body (inline when it is one expression, else a call
//! into `kinesis_tables::sql`).

use proc_macro2::TokenStream;
use quote::quote;
use sqlparser::ast::{CeilFloorKind, DateTimeField, Expr};

use super::args::{PatternArg, arity, cached, once, pair, pattern_arg};
use super::expr::{Node, TExpr};
use super::ops::{retype_null, widen_to};
use super::scope::Scope;
use super::types::{self, Arith};
use crate::diag::{Diag, Diags};
use crate::ir::SqlType;
use crate::span::Span;

fn sql() -> TokenStream {
    quote!(::kinesis_tables::sql)
}

fn strict(ty: SqlType, args: Vec<TExpr>, body: TokenStream) -> Option<TExpr> {
    Some(TExpr::strict(ty, args, body, None, false))
}

fn fallible(ty: SqlType, args: Vec<TExpr>, body: TokenStream, text: String) -> Option<TExpr> {
    Some(TExpr::strict(ty, args, body, Some(text), false))
}

/// Types every argument (reporting all errors), then `None` if one failed.
fn all(s: &mut Scope, a: &[&Expr], diags: &mut Diags<Span>) -> Option<Vec<TExpr>> {
    let typed: Vec<_> = a.iter().map(|e| s.expr(e, diags)).collect();
    typed.into_iter().collect()
}

fn want(s: &Scope, e: &Expr, t: TExpr, ok: bool, what: &str, diags: &mut Diags<Span>) -> Option<TExpr> {
    if ok || matches!(t.node, Node::Null) {
        return Some(t);
    }
    diags
        .push(Diag::error(s.at_expr(e), format!("expected {what}, found {}", t.ty)).label("wrong argument type").help("CAST the argument"));
    None
}

fn string_arg(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    let t = s.expr(e, diags)?;
    let ok = types::is_string(&t.ty);
    want(s, e, retype_null(t, &SqlType::String), ok, "a string", diags)
}

fn int_arg(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    let t = s.expr(e, diags)?;
    let ok = types::int_rank(&t.ty).is_some();
    let ok = ok && t.ty != SqlType::BigInt;
    want(s, e, retype_null(t, &SqlType::Int), ok, "an INT", diags).map(|t| widen_to(t, &SqlType::Int))
}

fn double_arg(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    let t = s.numeric(e, diags)?;
    Some(widen_to(t, &SqlType::Double))
}

/// One function call; `name` is upper case and known.
pub(crate) fn call(s: &mut Scope, whole: &Expr, name: &str, at: Span, a: &[&Expr], diags: &mut Diags<Span>) -> Option<TExpr> {
    let text = s.text(whole);
    let n = a.len();
    let (min, max) = match name {
        "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP" | "CURRENT_DATE" => (0, 0),
        "IFNULL" | "TO_TIMESTAMP_LTZ" => (2, 2),
        "FROM_UNIXTIME" => (1, 2),
        "UNIX_TIMESTAMP" => (0, 0),
        "UPPER" | "LOWER" | "LTRIM" | "RTRIM" | "CHAR_LENGTH" | "CHARACTER_LENGTH" | "INITCAP" | "MD5" | "SHA256" | "ABS" | "SQRT"
        | "LN" | "LOG10" | "SIGN" | "CARDINALITY" | "FLOOR" | "CEIL" | "CEILING" | "TRIM" => (1, 1),
        "MOD" | "POWER" | "NULLIF" | "DATE_FORMAT" => (2, 2),
        "JSON_VALUE" => (2, 4),
        "ROUND" | "TRUNCATE" | "TO_TIMESTAMP" | "TO_DATE" => (1, 2),
        "REPLACE" | "SPLIT_INDEX" | "LPAD" | "RPAD" | "IF" | "REGEXP_REPLACE" | "TIMESTAMPADD" | "TIMESTAMPDIFF" => (3, 3),
        "REGEXP_EXTRACT" => (2, 3),
        "CONCAT" | "COALESCE" => (1, usize::MAX),
        "CONCAT_WS" => (2, usize::MAX),
        _ => (0, usize::MAX),
    };
    if !arity(name, at, n, min, max, diags) {
        return None;
    }
    match name {
        "UPPER" | "LOWER" | "LTRIM" | "RTRIM" | "TRIM" | "INITCAP" | "CHAR_LENGTH" | "CHARACTER_LENGTH" | "MD5" | "SHA256" | "REPLACE"
        | "CONCAT" | "CONCAT_WS" | "SPLIT_INDEX" | "LPAD" | "RPAD" | "REGEXP_EXTRACT" | "REGEXP_REPLACE" => {
            string_call(s, name, a, text, diags)
        }
        "ABS" | "SIGN" | "SQRT" | "LN" | "LOG10" | "POWER" | "MOD" | "ROUND" | "TRUNCATE" | "FLOOR" | "CEIL" | "CEILING"
        | "CARDINALITY" => numeric_call(s, whole, name, a, text, diags),
        "COALESCE" | "IFNULL" | "NULLIF" | "IF" | "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP" | "CURRENT_DATE" => {
            conditional_call(s, whole, name, a, diags)
        }
        _ => super::temporal::call(s, whole, name, a, text, diags),
    }
}

/// The string functions.
fn string_call(s: &mut Scope, name: &str, a: &[&Expr], text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = sql();
    match name {
        "UPPER" | "LOWER" | "LTRIM" | "RTRIM" | "TRIM" | "INITCAP" => {
            let v = string_arg(s, a[0], diags)?;
            let body = match name {
                "UPPER" => quote!(#sql::string::upper(&__a0)),
                "LOWER" => quote!(#sql::string::lower(&__a0)),
                "LTRIM" => quote!(#sql::string::ltrim(&__a0)),
                "RTRIM" => quote!(#sql::string::rtrim(&__a0)),
                "TRIM" => quote!(#sql::string::trim_both(&__a0, " ")),
                _ => quote!(#sql::string::initcap(&__a0)),
            };
            strict(SqlType::String, vec![v], body)
        }
        "CHAR_LENGTH" | "CHARACTER_LENGTH" => {
            let v = string_arg(s, a[0], diags)?;
            strict(SqlType::Int, vec![v], quote!(#sql::string::char_length(&__a0)))
        }
        "MD5" | "SHA256" => {
            let v = string_arg(s, a[0], diags)?;
            let body = if name == "MD5" { quote!(#sql::string::md5(&__a0)) } else { quote!(#sql::string::sha256(&__a0)) };
            strict(SqlType::Char(if name == "MD5" { 32 } else { 64 }), vec![v], body)
        }
        "REPLACE" => {
            let v = [string_arg(s, a[0], diags), string_arg(s, a[1], diags), string_arg(s, a[2], diags)];
            let [x, y, z] = v;
            strict(SqlType::String, vec![x?, y?, z?], quote!(#sql::string::replace(&__a0, &__a1, &__a2)))
        }
        "CONCAT" => {
            let v: Vec<_> = a.iter().map(|e| string_arg(s, e, diags)).collect();
            let v: Vec<_> = v.into_iter().collect::<Option<_>>()?;
            let names: Vec<_> = (0..v.len()).map(|i| quote::format_ident!("__a{}", i)).collect();
            strict(SqlType::String, v, quote!(#sql::string::concat(&[#(&*#names),*])))
        }
        "CONCAT_WS" => concat_ws(s, a, diags),
        "SPLIT_INDEX" => {
            let (x, d, i) = (string_arg(s, a[0], diags), string_arg(s, a[1], diags), int_arg(s, a[2], diags));
            Some(TExpr::strict(SqlType::String, vec![x?, d?, i?], quote!(#sql::string::split_index(&__a0, &__a1, __a2)), None, true))
        }
        "LPAD" | "RPAD" => {
            let (x, l, p) = (string_arg(s, a[0], diags), int_arg(s, a[1], diags), string_arg(s, a[2], diags));
            let f = if name == "LPAD" { quote!(lpad) } else { quote!(rpad) };
            Some(TExpr::strict(SqlType::String, vec![x?, l?, p?], quote!(#sql::string::#f(&__a0, __a1, &__a2)), Some(text), true))
        }
        "REGEXP_EXTRACT" | "REGEXP_REPLACE" => regexp(s, name, a, text, diags),
        _ => None,
    }
}

/// The numeric functions (and CARDINALITY).
fn numeric_call(s: &mut Scope, whole: &Expr, name: &str, a: &[&Expr], text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = sql();
    match name {
        "ABS" => {
            let v = s.numeric(a[0], diags)?;
            let body = match &v.ty {
                t if types::int_rank(t).is_some() => quote!(#sql::numeric::abs(__a0)),
                SqlType::Decimal { .. } => quote!(::core::result::Result::<_, #sql::SqlError>::Ok(#sql::decimal::abs(&__a0))),
                _ => quote!(::core::result::Result::<_, #sql::SqlError>::Ok(__a0.abs())),
            };
            fallible(v.ty.clone(), vec![v], body, text)
        }
        "SIGN" => {
            let v = s.numeric(a[0], diags)?;
            let body = match &v.ty {
                SqlType::Decimal { .. } => quote!(#sql::decimal::sign(&__a0)),
                t if types::int_rank(t).is_some() => quote!(#sql::numeric::sign_int(__a0)),
                SqlType::Float => quote!((#sql::numeric::sign_f64(f64::from(__a0)) as f32)),
                _ => quote!(#sql::numeric::sign_f64(__a0)),
            };
            strict(v.ty.clone(), vec![v], body)
        }
        "SQRT" | "LN" | "LOG10" => {
            let v = double_arg(s, a[0], diags)?;
            let body = match name {
                "SQRT" => quote!(#sql::numeric::sqrt(__a0)),
                "LN" => quote!(#sql::numeric::ln(__a0)),
                _ => quote!(#sql::numeric::log10(__a0)),
            };
            strict(SqlType::Double, vec![v], body)
        }
        "POWER" => {
            let (x, y) = (double_arg(s, a[0], diags), double_arg(s, a[1], diags));
            strict(SqlType::Double, vec![x?, y?], quote!(#sql::numeric::power(__a0, __a1)))
        }
        "MOD" => {
            let (l, r) = (s.numeric(a[0], diags), s.numeric(a[1], diags));
            s.arith(whole, Arith::Mod, l?, r?, diags)
        }
        "ROUND" | "TRUNCATE" => round(s, name, a, text, diags),
        "FLOOR" | "CEIL" | "CEILING" => floor_ceil(s, name == "FLOOR", a[0], text, diags),
        "CARDINALITY" => {
            let v = s.expr(a[0], diags)?;
            if !matches!(v.ty, SqlType::Array(_) | SqlType::Map(..)) {
                diags.push(
                    Diag::error(s.at_expr(a[0]), format!("CARDINALITY takes an ARRAY or a MAP, found {}", v.ty)).label("not a collection"),
                );
                return None;
            }
            strict(SqlType::Int, vec![v], quote!(i32::try_from((&__a0).len()).unwrap_or(i32::MAX)))
        }
        _ => None,
    }
}

/// COALESCE, NULLIF, IF and CURRENT_TIMESTAMP.
fn conditional_call(s: &mut Scope, whole: &Expr, name: &str, a: &[&Expr], diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = sql();
    match name {
        // IFNULL(x, replacement) is COALESCE of two (Flink).
        "COALESCE" | "IFNULL" => {
            let v = all(s, a, diags)?;
            let ty = common(s, whole, &v, diags)?;
            let nullable = v.iter().all(|x| x.nullable);
            let v = v.into_iter().map(|x| widen_to(retype_null(x, &ty), &ty)).collect();
            Some(TExpr::new(ty, nullable, Node::Coalesce(v)))
        }
        "NULLIF" => {
            // CASE WHEN a = b THEN NULL ELSE a END: a comparison with NULL is not TRUE, so NULLIF(a, NULL) is a.
            let v = all(s, a, diags)?;
            let [x, y]: [TExpr; 2] = v.try_into().ok()?;
            let Some((x, y, ty)) = pair(x, y) else { return mismatch(s, whole, diags) };
            let body = if types::is_string(&ty) {
                quote!((::core::convert::AsRef::<str>::as_ref(__a0) == ::core::convert::AsRef::<str>::as_ref(__a1)))
            } else {
                quote!((__a0 == __a1))
            };
            let eq = TExpr::strict(SqlType::Boolean, vec![x.clone(), y], body, None, false).borrowing();
            let null = TExpr::new(ty.clone(), true, Node::Null);
            Some(TExpr::new(ty, true, Node::Case { whens: vec![(eq, null)], otherwise: Some(Box::new(x)) }))
        }
        "IF" => {
            let c = s.boolean(a[0], diags);
            let v = all(s, &a[1..], diags);
            let (c, v) = (c?, v?);
            let ty = common(s, whole, &v, diags)?;
            let nullable = v.iter().any(|x| x.nullable);
            let mut v = v.into_iter().map(|x| widen_to(retype_null(x, &ty), &ty));
            let (t, e) = (v.next()?, v.next()?);
            Some(TExpr::new(ty, nullable, Node::Case { whens: vec![(c, t)], otherwise: Some(Box::new(e)) }))
        }
        "CURRENT_TIMESTAMP" | "NOW" => {
            Some(TExpr::new(SqlType::TimestampLtz(3), false, Node::Lit(quote!(#sql::temporal::current_timestamp()))))
        }
        // The processing time in the pipeline's `table.local-time-zone`.
        "LOCALTIMESTAMP" | "CURRENT_DATE" => {
            let z = super::temporal::zone(s);
            let (ty, body) = if name == "CURRENT_DATE" {
                (SqlType::Date, quote!(#z.map(|z| #sql::temporal::ltz_to_date(&#sql::temporal::current_timestamp(), z))))
            } else {
                (SqlType::Timestamp(3), quote!(#z.map(#sql::temporal::local_timestamp)))
            };
            Some(TExpr::strict(ty, Vec::new(), body, Some(name.to_string()), false))
        }
        _ => None,
    }
}

fn mismatch(s: &Scope, whole: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    diags.push(
        Diag::error(s.at_expr(whole), "type mismatch: the arguments have no common type")
            .label("type mismatch")
            .help("CAST them to one type"),
    );
    None
}

fn common(s: &Scope, whole: &Expr, v: &[TExpr], diags: &mut Diags<Span>) -> Option<SqlType> {
    let mut ty: Option<SqlType> = None;
    for x in v.iter().filter(|x| !matches!(x.node, Node::Null)) {
        ty = match &ty {
            None => Some(x.ty.clone()),
            Some(t) => match types::common(t, &x.ty) {
                Some(c) => Some(c),
                None => {
                    mismatch(s, whole, diags);
                    return None;
                }
            },
        };
    }
    Some(ty.unwrap_or(SqlType::String))
}

/// `CONCAT_WS(sep, …)`: null arguments are skipped (Flink); a null separator gives null.
fn concat_ws(s: &mut Scope, a: &[&Expr], diags: &mut Diags<Span>) -> Option<TExpr> {
    let v: Vec<_> = a.iter().map(|e| string_arg(s, e, diags)).collect();
    let mut v: Vec<TExpr> = v.into_iter().collect::<Option<_>>()?;
    let sep = v.remove(0);
    // Each value as Option<String>, joined by a helper over a fixed-size array: no boxing.
    let parts: Vec<TExpr> = v
        .into_iter()
        .map(|x| {
            if x.nullable {
                TExpr::new(SqlType::String, false, x.node)
            } else {
                TExpr::strict(SqlType::String, vec![x], quote!(::core::option::Option::Some(__a0)), None, false)
            }
        })
        .collect();
    let names: Vec<_> = (1..=parts.len()).map(|i| quote::format_ident!("__a{}", i)).collect();
    let sql = sql();
    let mut args = vec![sep];
    args.extend(parts);
    strict(SqlType::String, args, quote!(#sql::string::concat_ws(&__a0, &[#(#names.as_deref()),*])))
}

fn regexp(s: &mut Scope, name: &str, a: &[&Expr], text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = sql();
    let v = string_arg(s, a[0], diags);
    let pat = pattern_arg(s, a[1], "regular expression", super::regex::check_regex, diags);
    if name == "REGEXP_REPLACE" {
        let repl = pattern_arg(s, a[2], "replacement", |_| Ok(()), diags);
        let (v, pat, repl) = (v?, pat?, repl?);
        let ty = quote!((#sql::types::Regex, #sql::pattern::Replacement));
        if let (PatternArg::Literal(pat), PatternArg::Literal(repl)) = (&pat, &repl) {
            let init = quote!(#sql::pattern::java_regex(#pat).and_then(|r| #sql::pattern::Replacement::new(#repl, &r).map(|x| (r, x))));
            let p = once(ty, init);
            return fallible(SqlType::String, vec![v], quote!(#p.map(|(r, x)| #sql::pattern::regexp_replace(&__a0, r, x))), text);
        }
        let mut args = vec![v];
        let mut key = |p: PatternArg| match p {
            PatternArg::Literal(l) => quote!(#l),
            PatternArg::Record(e) => {
                let i = quote::format_ident!("__a{}", args.len());
                args.push(e);
                quote!(&#i)
            }
        };
        let (k1, k2) = (key(pat), key(repl));
        let build =
            quote!(|p: &str, x: &str| #sql::pattern::java_regex(p).and_then(|r| #sql::pattern::Replacement::new(x, &r).map(|x| (r, x))));
        let use_ = quote!(|(r, x): &(#sql::types::Regex, #sql::pattern::Replacement)| ::core::result::Result::Ok(#sql::pattern::regexp_replace(&__a0, r, x)));
        return fallible(SqlType::String, args, cached(ty, k1, k2, build, use_), text);
    }
    let group = match a.get(2) {
        Some(g) => int_arg(s, g, diags),
        None => Some(TExpr::new(SqlType::Int, false, Node::Int(0))),
    };
    let (v, pat, group) = (v?, pat?, group?);
    let (args, body) = match pat {
        PatternArg::Literal(pat) => {
            let p = once(quote!(#sql::types::Regex), quote!(#sql::pattern::java_regex(#pat)));
            (vec![v, group], quote!(#p.and_then(|r| #sql::pattern::regexp_extract(&__a0, r, __a1))))
        }
        PatternArg::Record(p) => {
            let build = quote!(|p: &str, _: &str| #sql::pattern::java_regex(p));
            let use_ = quote!(|r: &#sql::types::Regex| #sql::pattern::regexp_extract(&__a0, r, __a1));
            (vec![v, group, p], cached(quote!(#sql::types::Regex), quote!(&__a2), quote!(""), build, use_))
        }
    };
    Some(TExpr::strict(SqlType::String, args, body, Some(text), true))
}

/// `ROUND(x [, d])`, `TRUNCATE(x [, d])`: the type of x (DECIMAL: scale d).
fn round(s: &mut Scope, name: &str, a: &[&Expr], text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let x = s.numeric(a[0], diags);
    let d = match a.get(1) {
        Some(e) => match e {
            Expr::Value(v) => match &v.value {
                sqlparser::ast::Value::Number(n, _) => n.parse::<i32>().ok(),
                _ => None,
            },
            _ => None,
        }
        .or_else(|| {
            diags.push(Diag::error(s.at_expr(e), "the number of digits must be an integer literal").label("not a literal"));
            None
        }),
        None => Some(0),
    };
    let (x, d) = (x?, d?);
    let sql = sql();
    let trunc = name == "TRUNCATE";
    match x.ty.clone() {
        SqlType::Decimal { precision, scale } => {
            let s2 = d.clamp(0, i32::from(scale));
            let p2 = (i32::from(precision) - i32::from(scale) + s2 + 1).clamp(1, 38);
            let ty = SqlType::Decimal { precision: p2 as u8, scale: s2 as u8 };
            let (p2, s2) = (p2 as u32, s2);
            let f = if trunc { quote!(truncate) } else { quote!(round) };
            fallible(ty, vec![x], quote!(#sql::decimal::#f(&__a0, #d, #p2, #s2)), text)
        }
        t if types::int_rank(&t).is_some() => {
            let rt = types::rust(&t);
            let f = if trunc { quote!(truncate_int) } else { quote!(round_int) };
            fallible(t, vec![x], quote!(#sql::numeric::#f::<#rt>(__a0, #d)), text)
        }
        t => {
            let f = if trunc { quote!(truncate_f64) } else { quote!(round_f64) };
            let body = quote!(#sql::numeric::#f(f64::from(__a0), #d));
            let body = if t == SqlType::Float { quote!((#body as f32)) } else { body };
            strict(t, vec![x], body)
        }
    }
}

fn floor_ceil(s: &mut Scope, floor: bool, e: &Expr, text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let x = s.numeric(e, diags)?;
    let sql = sql();
    match x.ty.clone() {
        SqlType::Decimal { precision, scale } => {
            let p = (i32::from(precision) - i32::from(scale) + i32::from(scale > 0)).clamp(1, 38) as u8;
            let pp = u32::from(p);
            let f = if floor { quote!(floor) } else { quote!(ceil) };
            fallible(SqlType::Decimal { precision: p, scale: 0 }, vec![x], quote!(#sql::decimal::#f(&__a0, #pp)), text)
        }
        t if types::int_rank(&t).is_some() => Some(x),
        SqlType::Float => strict(SqlType::Float, vec![x], if floor { quote!(__a0.floor()) } else { quote!(__a0.ceil()) }),
        t => strict(t, vec![x], if floor { quote!(#sql::numeric::floor_f64(__a0)) } else { quote!(#sql::numeric::ceil_f64(__a0)) }),
    }
}

/// The special forms sqlparser parses apart from plain calls.
pub(crate) fn special(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = sql();
    let text = s.text(e);
    match e {
        Expr::Position { expr, r#in } => {
            let (needle, hay) = (string_arg(s, expr, diags), string_arg(s, r#in, diags));
            let body = quote!(#sql::string::position(&__a0, &__a1));
            Some(TExpr::strict(SqlType::Int, vec![needle?, hay?], body, None, false))
        }
        Expr::Substring { expr, substring_from, substring_for, .. } => {
            let v = string_arg(s, expr, diags);
            let from = substring_from.as_deref().map(|f| int_arg(s, f, diags));
            let len = substring_for.as_deref().map(|f| int_arg(s, f, diags));
            let mut args = vec![v?];
            let from = match from {
                Some(f) => f?,
                None => TExpr::new(SqlType::Int, false, Node::Int(1)),
            };
            args.push(from);
            let body = match len {
                Some(l) => {
                    args.push(l?);
                    quote!(#sql::string::substring(&__a0, __a1, ::core::option::Option::Some(__a2)))
                }
                None => quote!(#sql::string::substring(&__a0, __a1, ::core::option::Option::None)),
            };
            let _ = text;
            Some(TExpr::strict(SqlType::String, args, body, None, true))
        }
        Expr::Trim { expr, trim_where, trim_what, trim_characters: None } => {
            let v = string_arg(s, expr, diags);
            let what = match trim_what {
                Some(w) => string_arg(s, w, diags),
                None => Some(TExpr::new(SqlType::Char(1), false, Node::Str(" ".into()))),
            };
            let (v, what) = (v?, what?);
            let f = match trim_where {
                Some(sqlparser::ast::TrimWhereField::Leading) => quote!(trim_leading),
                Some(sqlparser::ast::TrimWhereField::Trailing) => quote!(trim_trailing),
                _ => quote!(trim_both),
            };
            strict(SqlType::String, vec![v, what], quote!(#sql::string::#f(&__a0, &__a1)))
        }
        Expr::Ceil { expr, field } | Expr::Floor { expr, field } => {
            let floor = matches!(e, Expr::Floor { .. });
            match field {
                CeilFloorKind::DateTimeField(DateTimeField::NoDateTime) => floor_ceil(s, floor, expr, text, diags),
                CeilFloorKind::DateTimeField(unit) => super::temporal::floor_to(s, floor, expr, unit, diags),
                CeilFloorKind::Scale(_) => {
                    diags.push(
                        Diag::error(s.at_expr(e), "FLOOR/CEIL with a scale is not Flink SQL")
                            .label("not supported")
                            .help("use ROUND or TRUNCATE"),
                    );
                    None
                }
            }
        }
        Expr::Extract { field, expr, .. } => super::temporal::extract(s, field, expr, diags),
        other => {
            diags.push(
                Diag::error(s.at_expr(other), format!("`{other}` is not in the SQL subset pipelines compile")).label("not supported"),
            );
            None
        }
    }
}
