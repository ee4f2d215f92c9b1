//! Argument helpers of the functions: arity, common types, literal
//! arguments checked at build time, values built once into statics.

use proc_macro2::TokenStream;
use quote::quote;
use sqlparser::ast::Expr;

use super::expr::TExpr;
use super::ops::{unify, widen_to};
use super::scope::Scope;
use super::types;
use crate::diag::{Diag, Diags};
use crate::ir::SqlType;
use crate::span::Span;

fn sql() -> TokenStream {
    quote!(::kinesis_tables::sql)
}

/// Checks the number of arguments.
pub(crate) fn arity(name: &str, at: Span, got: usize, min: usize, max: usize, diags: &mut Diags<Span>) -> bool {
    if got >= min && got <= max {
        return true;
    }
    let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
    diags.push(Diag::error(at, format!("`{name}` takes {want} argument(s), found {got}")).label("wrong number of arguments"));
    false
}

/// Unifies NULL literals and converts both sides to their common type.
pub(crate) fn pair(l: TExpr, r: TExpr) -> Option<(TExpr, TExpr, SqlType)> {
    let (l, r) = unify(l, r);
    let ty = types::common(&l.ty, &r.ty)?;
    Some((widen_to(l, &ty), widen_to(r, &ty), ty))
}

/// A string-literal argument (a pattern, a format, a JSON path): its text, or a located error.
pub(crate) fn literal_arg(s: &Scope, e: &Expr, what: &str, diags: &mut Diags<Span>) -> Option<String> {
    if let Expr::Value(v) = e
        && let sqlparser::ast::Value::SingleQuotedString(text) = &v.value
    {
        return Some(text.clone());
    }
    diags.push(
        Diag::error(s.at_expr(e), format!("the {what} must be a string literal"))
            .label("not a literal")
            .help(format!("the {what} is checked and compiled once, at build time")),
    );
    None
}

/// Checks a literal with `check` (the run-time constructor, called at build time); a located error when it fails.
pub(crate) fn checked_literal(
    s: &Scope,
    e: &Expr,
    what: &str,
    check: impl FnOnce(&str) -> Result<(), String>,
    diags: &mut Diags<Span>,
) -> Option<String> {
    let text = literal_arg(s, e, what, diags)?;
    match check(&text) {
        Ok(()) => Some(text),
        Err(why) => {
            diags.push(
                Diag::error(s.at_expr(e), format!("the {what} cannot be compiled: {why}"))
                    .label(format!("bad {what}"))
                    .help("patterns follow Java's syntax where Rust's `regex` can run them (no backreferences, no look-around)"),
            );
            None
        }
    }
}

/// `{ static V: LazyLock<Result<T, SqlError>> = …; V.as_ref().map_err(Clone::clone) }`: a value built once, as `Result<&T, SqlError>`.
pub(crate) fn once(ty: TokenStream, init: TokenStream) -> TokenStream {
    let sql = sql();
    quote!({
        static V: ::std::sync::LazyLock<::core::result::Result<#ty, #sql::SqlError>> = ::std::sync::LazyLock::new(|| #init);
        V.as_ref().map_err(::core::clone::Clone::clone)
    })
}

/// A pattern, format or path argument: a literal (checked at build time, compiled once) or a STRING of the record.
pub(crate) enum PatternArg {
    Literal(String),
    /// Compiled per record (see [`cached`]).
    Record(TExpr),
}

/// A pattern argument; a literal is checked with `check`.
pub(crate) fn pattern_arg(
    s: &mut Scope,
    e: &Expr,
    what: &str,
    check: impl FnOnce(&str) -> Result<(), String>,
    diags: &mut Diags<Span>,
) -> Option<PatternArg> {
    let literal = matches!(e, Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::SingleQuotedString(_)));
    if literal {
        return checked_literal(s, e, what, check, diags).map(PatternArg::Literal);
    }
    let t = s.expr(e, diags)?;
    if !types::is_string(&t.ty) && !matches!(t.node, super::expr::Node::Null) {
        diags.push(Diag::error(s.at_expr(e), format!("the {what} must be a STRING, found {}", t.ty)).label("not a string"));
        return None;
    }
    Some(PatternArg::Record(super::ops::retype_null(t, &SqlType::String)))
}

/// `use_` (over `&T`, giving `Result<R, SqlError>`) on the value `build` (`|k: &str, k2: &str| -> Result<T, SqlError>`)
/// compiles from `key`/`key2` (`&str` expressions), keeping the last one compiled per call site and thread.
pub(crate) fn cached(ty: TokenStream, key: TokenStream, key2: TokenStream, build: TokenStream, use_: TokenStream) -> TokenStream {
    let sql = sql();
    quote!({
        ::std::thread_local!(static C: ::core::cell::RefCell<#sql::cache::LastCompiled<#ty>> =
            const { ::core::cell::RefCell::new(#sql::cache::LastCompiled::new()) });
        C.with_borrow_mut(|c| c.with(#key, #key2, #build, #use_))
    })
}
