//! Functions and the special forms (`CAST`, `CASE`, `LIKE`, `SUBSTRING`,
//! `TRIM`, `EXTRACT`, `FLOOR`/`CEIL`, field and element access): arity and
//! argument types checked, result types as Flink gives them, bodies calling
//! `kinesis_tables::sql`.

use proc_macro2::TokenStream;
use quote::quote;
use sqlparser::ast::{
    AccessExpr, CaseWhen, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments,
    Spanned, Subscript,
};

use super::expr::{Node, TExpr};
use super::ops::{retype_null, widen_to};
use super::scope::Scope;
use super::types;
use crate::diag::{Diag, Diags};
use crate::ir::SqlType;
use crate::span::Span;

/// Every function the compiler knows, for did-you-mean.
pub(crate) const FUNCTIONS: &[&str] = &[
    "UPPER",
    "LOWER",
    "TRIM",
    "LTRIM",
    "RTRIM",
    "SUBSTRING",
    "CONCAT",
    "CONCAT_WS",
    "CHAR_LENGTH",
    "CHARACTER_LENGTH",
    "REPLACE",
    "REGEXP_EXTRACT",
    "REGEXP_REPLACE",
    "SPLIT_INDEX",
    "LPAD",
    "RPAD",
    "INITCAP",
    "MD5",
    "SHA256",
    "ABS",
    "ROUND",
    "FLOOR",
    "CEIL",
    "CEILING",
    "MOD",
    "POWER",
    "SQRT",
    "LN",
    "LOG10",
    "SIGN",
    "TRUNCATE",
    "EXTRACT",
    "DATE_FORMAT",
    "TO_TIMESTAMP",
    "TO_DATE",
    "TIMESTAMPADD",
    "TIMESTAMPDIFF",
    "CURRENT_TIMESTAMP",
    "NOW",
    "LOCALTIMESTAMP",
    "CURRENT_DATE",
    "TO_TIMESTAMP_LTZ",
    "FROM_UNIXTIME",
    "UNIX_TIMESTAMP",
    "IFNULL",
    "JSON_VALUE",
    "CARDINALITY",
    "COALESCE",
    "NULLIF",
    "IF",
    "CAST",
    "TRY_CAST",
];

/// Aggregate and window functions: stateful.
const AGGREGATES: &[&str] = &[
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "LISTAGG",
    "COLLECT",
    "FIRST_VALUE",
    "LAST_VALUE",
    "ROW_NUMBER",
    "RANK",
    "DENSE_RANK",
    "LAG",
    "LEAD",
    "STDDEV_POP",
    "VAR_POP",
];

fn sql() -> TokenStream {
    quote!(::kinesis_tables::sql)
}

/// `CAST(e AS t)` / `TRY_CAST(e AS t)`.
pub(crate) fn cast_expr(s: &mut Scope, whole: &Expr, kind: &CastKind, e: &Expr, dt: &DataType, diags: &mut Diags<Span>) -> Option<TExpr> {
    let v = s.expr(e, diags)?;
    let type_text = dt.to_string();
    let at = s.src.find_word(s.src.offset(whole.span().start).unwrap_or(0), &type_text).unwrap_or(s.at_expr(whole));
    let to = match crate::parse::sql_type::parse_sql_type(&type_text) {
        Ok((t, _)) => t,
        Err(err) => {
            diags.push(Diag::error(at, format!("`{type_text}` is not a Flink SQL type: {}", err.message)).label("unknown type"));
            return None;
        }
    };
    let try_ = matches!(kind, CastKind::TryCast | CastKind::SafeCast);
    let from = v.ty.clone();
    let text = s.text(whole);
    if let Some(body) = ltz_cast(s, &from, &to) {
        let t = if try_ {
            TExpr::strict(to, vec![v], quote!((#body).ok()), None, true)
        } else {
            TExpr::strict(to, vec![v], body, Some(text), false)
        };
        return Some(t);
    }
    let r = super::cast::cast(v, &to, try_, text);
    if r.is_none() {
        diags.push(
            Diag::error(at, format!("Flink cannot cast {from} to {to}"))
                .label("cast not allowed")
                .help("see Flink's cast matrix (Data Types → Casting); go through STRING or another type if that is meant"),
        );
    }
    r
}

/// `CASE [operand] WHEN … THEN … ELSE … END`.
pub(crate) fn case(
    s: &mut Scope,
    operand: Option<&Expr>,
    conds: &[CaseWhen],
    otherwise: Option<&Expr>,
    diags: &mut Diags<Span>,
) -> Option<TExpr> {
    let mut whens = Vec::new();
    let mut ok = true;
    for c in conds {
        let cond = match operand {
            Some(op) => s.compare(&c.condition, op, &sqlparser::ast::BinaryOperator::Eq, &c.condition, diags),
            None => s.boolean(&c.condition, diags),
        };
        let val = s.expr(&c.result, diags);
        match (cond, val) {
            (Some(c), Some(v)) => whens.push((c, v)),
            _ => ok = false,
        }
    }
    let otherwise = match otherwise {
        Some(o) => Some(s.expr(o, diags)?),
        None => None,
    };
    if !ok {
        return None;
    }
    let values: Vec<TExpr> = whens.iter().map(|w| w.1.clone()).chain(otherwise.clone()).collect();
    let at = conds.first().map_or(s.src.whole(), |c| s.at_expr(&c.result));
    let ty = common_of(&values, at, diags)?;
    let nullable = otherwise.as_ref().is_none_or(|o| o.nullable) || values.iter().any(|v| v.nullable);
    let whens = whens.into_iter().map(|(c, v)| (c, widen_to(retype_null(v, &ty), &ty))).collect();
    let otherwise = otherwise.map(|o| Box::new(widen_to(retype_null(o, &ty), &ty)));
    Some(TExpr::new(ty, nullable, Node::Case { whens, otherwise }))
}

/// The common type of CASE branches, COALESCE or IF arguments (NULL literals take the others' type).
fn common_of(values: &[TExpr], at: Span, diags: &mut Diags<Span>) -> Option<SqlType> {
    let mut ty: Option<SqlType> = None;
    for v in values.iter().filter(|v| !matches!(v.node, Node::Null)) {
        ty = Some(match &ty {
            None => v.ty.clone(),
            Some(t) => match types::common(t, &v.ty) {
                Some(c) => c,
                None => {
                    diags.push(
                        Diag::error(at, format!("type mismatch: the branches are {t} and {}, which have no common type", v.ty))
                            .label("type mismatch")
                            .help("CAST the branches to one type"),
                    );
                    return None;
                }
            },
        });
    }
    Some(ty.unwrap_or(SqlType::Boolean))
}

/// `LIKE` / `SIMILAR TO` with a literal pattern, compiled once.
#[allow(clippy::too_many_arguments)]
pub(crate) fn like(
    s: &mut Scope,
    whole: &Expr,
    e: &Expr,
    pattern: &Expr,
    escape: Option<&Expr>,
    negated: bool,
    similar: bool,
    diags: &mut Diags<Span>,
) -> Option<TExpr> {
    let v = s.string(e, diags);
    let esc = match escape {
        None => None,
        Some(Expr::Value(v)) if matches!(&v.value, sqlparser::ast::Value::SingleQuotedString(c) if c.chars().count() == 1) => {
            match &v.value {
                sqlparser::ast::Value::SingleQuotedString(c) => c.chars().next(),
                _ => None,
            }
        }
        Some(other) => {
            diags.push(Diag::error(s.at_expr(whole), format!("the ESCAPE must be one character, found {other}")).label("bad escape"));
            return None;
        }
    };
    let sql = sql();
    let text = s.text(whole);
    let ty = if similar { quote!(#sql::pattern::Similar) } else { quote!(#sql::pattern::Like) };
    let esc_code = match esc {
        Some(c) => quote!(::core::option::Option::Some(#c)),
        None => quote!(#sql::pattern::DEFAULT_ESCAPE),
    };
    let literal = match pattern {
        Expr::Value(p) => match &p.value {
            sqlparser::ast::Value::SingleQuotedString(pat) => Some(pat),
            _ => None,
        },
        _ => None,
    };
    let (args, m) = match literal {
        // A literal pattern: checked here, compiled once.
        Some(pat) => {
            if let Err(why) = super::regex::check_like(pat, esc, similar) {
                diags.push(Diag::error(s.at_expr(pattern), format!("the pattern cannot be compiled: {why}")).label("bad pattern"));
                return None;
            }
            let m = quote!({
                static P: ::std::sync::LazyLock<::core::result::Result<#ty, #sql::SqlError>> = ::std::sync::LazyLock::new(|| #ty::new(#pat, #esc_code));
                P.as_ref().map_err(::core::clone::Clone::clone).map(|p| p.matches(&__a0))
            });
            (vec![v?], m)
        }
        // A pattern from the record: compiled per record; a bad one fails the record.
        None => {
            let p = s.string(pattern, diags);
            (vec![v?, p?], quote!(#ty::new(&__a1, #esc_code).map(|p| p.matches(&__a0))))
        }
    };
    let body = if negated { quote!(#m.map(|b| !b)) } else { m };
    Some(TExpr::strict(SqlType::Boolean, args, body, Some(text), false))
}

/// `a.b` on a ROW value.
pub(crate) fn row_field(s: &mut Scope, base: TExpr, name: &str, at: Span, diags: &mut Diags<Span>) -> Option<TExpr> {
    let SqlType::Row(fields) = &base.ty else {
        diags.push(Diag::error(at, format!("`{name}`: {} has no fields", base.ty)).label("not a ROW").help("only ROW columns have fields"));
        return None;
    };
    let Some(f) = fields.iter().find(|f| f.name == name) else {
        let d = Diag::error(at, format!("the ROW has no field `{name}`")).label("unknown field");
        diags.push(match crate::suggest::closest(name, fields.iter().map(|f| f.name.as_str())) {
            Some(c) => d.help(format!("did you mean `{c}`?")),
            None => d,
        });
        return None;
    };
    let _ = s;
    let id = crate::ident::ident(&crate::ident::field_name(&f.name));
    let (ty, nullable) = (f.ty.clone(), f.nullable);
    Some(TExpr::strict(ty, vec![base], quote!(__a0.#id), None, nullable))
}

/// `a[i]` (1-based; out of range is null, as Flink gives) and `.field` access after it.
pub(crate) fn access(s: &mut Scope, root: &Expr, chain: &[AccessExpr], diags: &mut Diags<Span>) -> Option<TExpr> {
    let mut e = s.expr(root, diags)?;
    for a in chain {
        e = match a {
            AccessExpr::Dot(Expr::Identifier(i)) => row_field(s, e, &i.value, s.src.sp(i.span), diags)?,
            AccessExpr::Subscript(Subscript::Index { index }) => {
                let i = s.numeric(index, diags)?;
                if types::int_rank(&i.ty).is_none() {
                    diags.push(
                        Diag::error(s.at_expr(index), format!("an array index is an integer, found {}", i.ty)).label("not an integer"),
                    );
                    return None;
                }
                let i = widen_to(i, &SqlType::BigInt);
                match &e.ty {
                    SqlType::Array(el) => {
                        let (ty, nullable) = (el.ty.clone(), el.nullable);
                        let get = quote!(usize::try_from(__a1).ok().and_then(|i| i.checked_sub(1)).and_then(|i| __a0.into_iter().nth(i)));
                        let body = if nullable { quote!(#get.flatten()) } else { get };
                        TExpr::strict(ty, vec![e, i], body, None, true)
                    }
                    other => {
                        diags.push(Diag::error(s.at_expr(root), format!("{other} is not an ARRAY")).label("not an array"));
                        return None;
                    }
                }
            }
            other => {
                diags.push(Diag::error(s.at_expr(root), format!("`{other:?}` access is not supported")).label("not supported"));
                return None;
            }
        };
    }
    Some(e)
}

/// The arguments of a plain function call.
fn args<'e>(s: &Scope, f: &'e Function, name: &str, diags: &mut Diags<Span>) -> Option<Vec<&'e Expr>> {
    match &f.args {
        FunctionArguments::None => Some(Vec::new()),
        FunctionArguments::List(l) => {
            if l.duplicate_treatment.is_some() || !l.clauses.is_empty() {
                let msg = match l.clauses.first() {
                    Some(c)
                        if l.duplicate_treatment.is_none()
                            && !matches!(c, FunctionArgumentClause::OrderBy(_) | FunctionArgumentClause::Where(_)) =>
                    {
                        format!("`{c}` is not a clause of `{name}`")
                    }
                    _ => "DISTINCT and ORDER BY inside a call are aggregation".to_string(),
                };
                diags.push(Diag::error(s.at(f), msg).label("not supported"));
                return None;
            }
            l.args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                    _ => {
                        diags.push(Diag::error(s.at(f), "only positional arguments are supported").label("not supported"));
                        None
                    }
                })
                .collect()
        }
        FunctionArguments::Subquery(q) => {
            super::parse::stateful(s.src.sp(q.span()), "a subquery", "a subquery reads other records than the current one", diags);
            None
        }
    }
}

/// A function call: known ones are in `calls`; aggregates are stateful; anything else is unknown.
pub(crate) fn call(s: &mut Scope, whole: &Expr, f: &Function, diags: &mut Diags<Span>) -> Option<TExpr> {
    let name = f.name.to_string().to_ascii_uppercase();
    let name_at = f.name.0.first().and_then(|p| p.as_ident()).map_or(s.at(f), |i| s.src.sp(i.span));
    if f.over.is_some() {
        super::parse::stateful(name_at, "OVER", "an OVER window aggregates across records", diags);
        return None;
    }
    if AGGREGATES.contains(&name.as_str()) {
        super::parse::stateful(name_at, &format!("the aggregate `{name}`"), "aggregation keeps state across records", diags);
        return None;
    }
    if !FUNCTIONS.contains(&name.as_str()) {
        let d = Diag::error(name_at, format!("unknown function `{name}`")).label("unknown function");
        diags.push(match crate::suggest::closest(&name, FUNCTIONS.iter().copied()) {
            Some(c) => d.help(format!("did you mean `{c}`?")),
            None => d.help("see the README's list of supported functions, or write the logic as a Rust `transform`"),
        });
        return None;
    }
    let a = args(s, f, &name, diags)?;
    s.call_at = f.name.0.first().and_then(|p| p.as_ident()).and_then(|i| s.src.offset(i.span.start));
    super::calls::call(s, whole, &name, name_at, &a, diags)
}

/// `SUBSTRING`, `TRIM`, `EXTRACT`, `FLOOR`/`CEIL`, `POSITION` (parsed as special forms).
pub(crate) fn special(s: &mut Scope, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
    super::calls::special(s, e, diags)
}

/// A cast to or from TIMESTAMP_LTZ, read in the pipeline's `table.local-time-zone`: the body over `__a0`, as `Result<T, SqlError>`.
fn ltz_cast(s: &Scope, from: &SqlType, to: &SqlType) -> Option<TokenStream> {
    use SqlType as T;
    let sql = sql();
    let z = super::temporal::zone(s);
    let t = quote!(#sql::temporal);
    Some(match (from, to) {
        (T::TimestampLtz(_), T::Timestamp(_)) => quote!(#z.map(|z| #t::ltz_to_timestamp(&__a0, z))),
        (T::TimestampLtz(_), T::Date) => quote!(#z.map(|z| #t::ltz_to_date(&__a0, z))),
        (T::TimestampLtz(p), T::String) => {
            let p = u32::from(*p);
            quote!(#z.map(|z| #t::ltz_to_str(&__a0, z, #p)))
        }
        (T::Timestamp(_), T::TimestampLtz(_)) => quote!(#z.and_then(|z| #t::timestamp_to_ltz(&__a0, z))),
        (T::Date, T::TimestampLtz(_)) => quote!(#z.and_then(|z| #t::timestamp_to_ltz(&#sql::cast::date_to_timestamp(__a0), z))),
        (f, T::TimestampLtz(_)) if types::is_string(f) => quote!(#z.and_then(|z| #t::str_to_ltz(&__a0, z))),
        _ => return None,
    })
}
