//! JSON_VALUE's clauses, which sqlparser does not parse: `RETURNING type`
//! and `{NULL | ERROR | DEFAULT value} ON {EMPTY | ERROR}`. Before the
//! statement is parsed they are found with sqlparser's tokenizer and
//! blanked out of the text (same length, so every location stays right); a
//! DEFAULT's value stays as an extra argument (`DEFAULT` becomes a comma).
//! The call then finds its clauses by the offset of its name.

use std::collections::BTreeMap;

use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use proc_macro2::TokenStream;
use quote::quote;
use sqlparser::ast::Expr;

use super::args::{PatternArg, cached, once, pattern_arg};
use super::expr::TExpr;
use super::scope::Scope;
use super::source::SqlSource;
use super::types;
use crate::diag::{Diag, Diags};
use crate::ir::SqlType;
use crate::span::Span;

/// What a JSON_VALUE does ON EMPTY or ON ERROR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    Null,
    Error,
    /// DEFAULT: the value is the call's argument at this index.
    Default(usize),
}

/// The clauses of one JSON_VALUE call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clauses {
    /// The RETURNING type's text and its byte range in the SQL text.
    pub(crate) returning: Option<(String, usize, usize)>,
    pub(crate) on_empty: Behavior,
    pub(crate) on_error: Behavior,
}

/// A token with its byte range in the text.
struct Tok {
    token: Token,
    start: usize,
    end: usize,
}

impl Tok {
    fn word(&self) -> Option<String> {
        match &self.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }
}

/// Finds, records and blanks the clauses of every JSON_VALUE call; keyed by the byte offset of the call's name.
pub(crate) fn extract(src: &SqlSource) -> (String, BTreeMap<usize, Clauses>) {
    let mut text = src.text.clone();
    let mut found = BTreeMap::new();
    let Ok(raw) = Tokenizer::new(&GenericDialect {}, &src.text).tokenize_with_location() else { return (text, found) };
    let toks: Vec<Tok> = raw
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .filter_map(|t| Some(Tok { start: src.offset(t.span.start)?, end: src.offset(t.span.end)?, token: t.token }))
        .collect();
    let mut i = 0;
    while i + 1 < toks.len() {
        if toks[i].word().as_deref() == Some("JSON_VALUE") && toks[i + 1].token == Token::LParen {
            let mut blanks = Vec::new();
            if let Some(c) = call(&toks, i + 2, &src.text, &mut blanks) {
                for (a, b, comma) in blanks {
                    if src.text.is_char_boundary(a) && src.text.is_char_boundary(b) && src.text[a..b].is_ascii() {
                        let fill = if comma { format!(",{}", " ".repeat(b - a - 1)) } else { " ".repeat(b - a) };
                        text.replace_range(a..b, &fill);
                    }
                }
                found.insert(toks[i].start, c);
            }
        }
        i += 1;
    }
    (text, found)
}

/// The clauses of the call whose arguments start at token `from`; `blanks` gets the ranges to blank (`true`: a comma).
fn call(toks: &[Tok], from: usize, text: &str, blanks: &mut Vec<(usize, usize, bool)>) -> Option<Clauses> {
    // The tokens at depth 1 of the call, up to its closing parenthesis.
    let mut depth = 1;
    let mut top = Vec::new();
    for (k, t) in toks.iter().enumerate().skip(from) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    top.push(k);
                    break;
                }
            }
            _ => {}
        }
        if depth == 1 {
            top.push(k);
        }
    }
    let word = |k: usize| toks[top[k]].word();
    let mut commas = top.iter().filter(|&&k| toks[k].token == Token::Comma).count();
    let mut c = Clauses { returning: None, on_empty: Behavior::Null, on_error: Behavior::Null };
    let mut k = 0;
    let mut any = false;
    while k < top.len() {
        match word(k).as_deref() {
            Some("RETURNING") => {
                let end =
                    (k + 1..top.len()).find(|&j| matches!(word(j).as_deref(), Some("NULL" | "ERROR" | "DEFAULT")) || j == top.len() - 1)?;
                let (a, b) = (toks[top[k]].start, toks[top[end - 1]].end);
                let ty_start = toks[top[k + 1]].start;
                c.returning = Some((text[ty_start..b].to_string(), ty_start, b));
                blanks.push((a, b, false));
                any = true;
                k = end;
            }
            Some(w @ ("NULL" | "ERROR" | "DEFAULT")) => {
                // The clause runs to `ON EMPTY` / `ON ERROR` at this depth.
                let on = (k + 1..top.len().saturating_sub(1))
                    .find(|&j| word(j).as_deref() == Some("ON") && matches!(word(j + 1).as_deref(), Some("EMPTY" | "ERROR")))?;
                if w != "DEFAULT" && on != k + 1 {
                    return None;
                }
                let which = word(on + 1)?;
                let b = match w {
                    "NULL" => Behavior::Null,
                    "ERROR" => Behavior::Error,
                    _ => {
                        commas += 1;
                        Behavior::Default(commas)
                    }
                };
                if which == "EMPTY" {
                    c.on_empty = b
                } else {
                    c.on_error = b
                }
                if w == "DEFAULT" {
                    blanks.push((toks[top[k]].start, toks[top[k]].end, true));
                    blanks.push((toks[top[on]].start, toks[top[on + 1]].end, false));
                } else {
                    blanks.push((toks[top[k]].start, toks[top[on + 1]].end, false));
                }
                any = true;
                k = on + 2;
            }
            _ => k += 1,
        }
    }
    any.then_some(c)
}

/// `JSON_VALUE(json, path [RETURNING t] [… ON EMPTY] [… ON ERROR])`.
pub(crate) fn json_value(s: &mut Scope, whole: &Expr, a: &[&Expr], text: String, diags: &mut Diags<Span>) -> Option<TExpr> {
    let sql = quote!(::kinesis_tables::sql);
    let clauses = s.call_at.and_then(|at| s.src.json.get(&at)).cloned();
    let c = clauses.unwrap_or(Clauses { returning: None, on_empty: Behavior::Null, on_error: Behavior::Null });
    let defaults = [c.on_empty, c.on_error].iter().filter(|b| matches!(b, Behavior::Default(_))).count();
    if a.len() != 2 + defaults {
        let msg = format!("`JSON_VALUE` takes (json, path [RETURNING type] [… ON EMPTY] [… ON ERROR]), found {} arguments", a.len());
        diags.push(Diag::error(s.at_expr(whole), msg).label("wrong number of arguments"));
        return None;
    }
    let j = s.string(a[0], diags);
    let check = |p: &str| kinesis_tables_sql::json::JsonPath::new(p).map(|_| ()).map_err(|e| e.to_string());
    let p = pattern_arg(s, a[1], "JSON path", check, diags);
    let ty = returning(s, &c, diags);
    let (j, p, ty) = (j?, p?, ty?);
    let conv = converter(&ty);
    let mut behaviors = Vec::new();
    for b in [c.on_empty, c.on_error] {
        behaviors.push(match b {
            Behavior::Null => quote!(#sql::json::JsonBehavior::Null),
            Behavior::Error => quote!(#sql::json::JsonBehavior::Error),
            Behavior::Default(k) => {
                let v = default_value(s, a[k], &ty, diags)?;
                quote!(#sql::json::JsonBehavior::Default(#v))
            }
        });
    }
    let (on_empty, on_error) = (&behaviors[0], &behaviors[1]);
    let use_ = quote!(|p: &#sql::json::JsonPath| #sql::json::json_value_with(&__a0, p, #conv, #on_empty, #on_error));
    let (args, body) = match p {
        PatternArg::Literal(p) => {
            let path = once(quote!(#sql::json::JsonPath), quote!(#sql::json::JsonPath::new(#p)));
            (vec![j], quote!(#path.and_then(#use_)))
        }
        PatternArg::Record(p) => {
            let build = quote!(|p: &str, _: &str| #sql::json::JsonPath::new(p));
            (vec![j, p], cached(quote!(#sql::json::JsonPath), quote!(&__a1), quote!(""), build, use_))
        }
    };
    Some(TExpr::strict(ty, args, body, Some(text), true))
}

/// The RETURNING type (STRING when not given): one JSON_VALUE can return.
fn returning(s: &Scope, c: &Clauses, diags: &mut Diags<Span>) -> Option<SqlType> {
    let Some((t, a, b)) = &c.returning else { return Some(SqlType::String) };
    let at = s.src.span(*a, *b);
    let ty = match crate::parse::sql_type::parse_sql_type(t) {
        Ok((ty, _)) => ty,
        Err(e) => {
            diags.push(Diag::error(at, format!("`{t}` is not a Flink SQL type: {}", e.message)).label("unknown type"));
            return None;
        }
    };
    let ok = types::is_string(&ty)
        || types::int_rank(&ty).is_some()
        || matches!(ty, SqlType::Boolean | SqlType::Float | SqlType::Double | SqlType::Decimal { .. });
    if !ok {
        diags.push(
            Diag::error(at, format!("JSON_VALUE cannot return {ty}"))
                .label("unsupported RETURNING type")
                .help("return STRING, BOOLEAN, an integer type, FLOAT, DOUBLE or DECIMAL, and CAST the result"),
        );
        return None;
    }
    Some(ty)
}

/// The run-time conversion of a JSON scalar's text to `ty`.
fn converter(ty: &SqlType) -> TokenStream {
    let sql = quote!(::kinesis_tables::sql);
    match ty {
        SqlType::Decimal { precision, scale } => {
            let (p, sc) = (u32::from(*precision), i32::from(*scale));
            quote!(#sql::json::decimal_converter(#p, #sc))
        }
        t if types::is_string(t) => quote!(|t: &str| ::core::option::Option::Some(::std::string::String::from(t))),
        t => {
            let r = types::rust(t);
            quote!(<#r as #sql::json::JsonReturning>::from_json_text)
        }
    }
}

/// Whether `text` converts to `ty` as a JSON scalar would (the run-time conversion, at build time).
fn converts(text: &str, ty: &SqlType) -> bool {
    use kinesis_tables_sql::json::{JsonReturning, decimal_converter};
    match ty {
        SqlType::Decimal { precision, scale } => decimal_converter(u32::from(*precision), i32::from(*scale))(text).is_some(),
        SqlType::Boolean => bool::from_json_text(text).is_some(),
        SqlType::TinyInt => i8::from_json_text(text).is_some(),
        SqlType::SmallInt => i16::from_json_text(text).is_some(),
        SqlType::Int => i32::from_json_text(text).is_some(),
        SqlType::BigInt => i64::from_json_text(text).is_some(),
        SqlType::Float => f32::from_json_text(text).is_some(),
        SqlType::Double => f64::from_json_text(text).is_some(),
        _ => true,
    }
}

/// A DEFAULT value: a literal that converts to the RETURNING type, as its text.
fn default_value(s: &Scope, e: &Expr, ty: &SqlType, diags: &mut Diags<Span>) -> Option<String> {
    let lit = |v: &sqlparser::ast::Value| match v {
        sqlparser::ast::Value::Number(n, _) => Some(n.clone()),
        sqlparser::ast::Value::SingleQuotedString(t) => Some(t.clone()),
        sqlparser::ast::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    let text = match e {
        Expr::Value(v) => lit(&v.value),
        Expr::UnaryOp { op: sqlparser::ast::UnaryOperator::Minus, expr } => match expr.as_ref() {
            Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::Number(..)) => lit(&v.value).map(|n| format!("-{n}")),
            _ => None,
        },
        _ => None,
    };
    let Some(text) = text else {
        diags.push(
            Diag::error(s.at_expr(e), "JSON_VALUE's DEFAULT must be a literal here")
                .label("not a literal")
                .help("write a number, 'string' or boolean, or use COALESCE(JSON_VALUE(…), expression) for a computed default"),
        );
        return None;
    };
    if !converts(&text, ty) {
        diags
            .push(Diag::error(s.at_expr(e), format!("the DEFAULT {text:?} is not a {ty}")).label("does not convert to the RETURNING type"));
        return None;
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    #[test]
    fn clauses_are_blanked_keeping_every_offset() {
        let sql = "SELECT JSON_VALUE(p, '$.a' RETURNING DECIMAL(5, 2) DEFAULT -1 ON EMPTY ERROR ON ERROR), x FROM t";
        let src = SqlSource::new(sql, Span { start: 0, len: sql.len(), content: 0 }, sql);
        // SqlSource::new extracts the clauses.
        let (text, found) = (&src.text, &src.json);
        assert_eq!(text.len(), sql.len());
        assert_eq!(text, "SELECT JSON_VALUE(p, '$.a'                         ,       -1                        ), x FROM t");
        let c = &found[&sql.find("JSON_VALUE").unwrap()];
        assert_eq!(c.returning.as_ref().map(|r| r.0.as_str()), Some("DECIMAL(5, 2)"));
        assert_eq!((c.on_empty, c.on_error), (Behavior::Default(2), Behavior::Error));
    }
}
