//! `CAST` and `TRY_CAST` with Flink's cast matrix: a cast Flink refuses is
//! a compile error; a cast that can fail on a value fails the record
//! (`CAST`) or gives null (`TRY_CAST`).

use proc_macro2::TokenStream;
use quote::quote;

use super::expr::{Node, TExpr};
use super::ops::widen_to;
use super::types::{self, int_rank, is_string};
use crate::ir::SqlType;

/// How a value of one type becomes another: the Rust body over `__a0`, and whether it can fail.
pub(crate) enum Conversion {
    /// The checker's lossless widening.
    Widen,
    /// An infallible conversion.
    Total(TokenStream),
    /// A conversion that gives `Result<T, SqlError>`.
    Partial(TokenStream),
}

/// The conversion Flink's cast matrix allows from `from` to `to`; `None` when it forbids it.
pub(crate) fn conversion(from: &SqlType, to: &SqlType) -> Option<Conversion> {
    use Conversion::*;
    use SqlType as T;
    let sql = quote!(::kinesis_tables::sql);
    if from == to || (types::lossless(from, to) && !matches!(to, T::Varchar(_) | T::Char(_) | T::Varbinary(_) | T::Binary(_))) {
        return Some(Widen);
    }
    let rt = types::rust(to);
    let prec = |t: &SqlType| match t {
        T::Decimal { precision, scale } => (u32::from(*precision), i32::from(*scale)),
        _ => (0, 0),
    };
    Some(match (from, to) {
        (f, t) if int_rank(f).is_some() && int_rank(t).is_some() => {
            let ft = types::rust(f);
            Partial(quote!(#sql::cast::int_to_int::<#ft, #rt>(__a0)))
        }
        (f, T::Float | T::Double) if int_rank(f).is_some() => Total(quote!((__a0 as #rt))),
        (T::Float | T::Double, t) if int_rank(t).is_some() => Partial(quote!(#sql::cast::f64_to_int::<#rt>(f64::from(__a0)))),
        (T::Double, T::Float) => Partial(quote!(#sql::cast::f64_to_f32(__a0))),
        (f, T::Decimal { .. }) if int_rank(f).is_some() => {
            let (p, s) = prec(to);
            Partial(quote!(#sql::decimal::from_int(__a0, #p, #s)))
        }
        (T::Decimal { .. }, t) if int_rank(t).is_some() => Partial(quote!(#sql::decimal::to_int::<#rt>(&__a0))),
        (T::Decimal { .. }, T::Decimal { .. }) => {
            let (p, s) = prec(to);
            Partial(quote!(#sql::decimal::fit(&__a0, #p, #s)))
        }
        (T::Decimal { .. }, T::Double) => Total(quote!(#sql::decimal::to_f64(&__a0))),
        (T::Decimal { .. }, T::Float) => Total(quote!((#sql::decimal::to_f64(&__a0) as f32))),
        (T::Float | T::Double, T::Decimal { .. }) => {
            let (p, s) = prec(to);
            Partial(quote!(#sql::decimal::from_f64(f64::from(__a0), #p, #s)))
        }
        (T::Boolean, t) if int_rank(t).is_some() => Total(quote!(#sql::cast::bool_to_int::<#rt>(__a0))),
        (f, T::Boolean) if int_rank(f).is_some() => Total(quote!(#sql::cast::int_to_bool(__a0))),
        (f, t) if is_string(f) && is_string(t) => return Some(to_string_type(quote!(__a0), t)),
        (T::Bytes | T::Varbinary(_) | T::Binary(_), t) if is_string(t) => {
            return Some(match to_string_type(quote!(__a0), t) {
                Widen | Total(_) => Partial(quote!(#sql::cast::bytes_to_str(&__a0))),
                Partial(check) => Partial(quote!(#sql::cast::bytes_to_str(&__a0).and_then(|__a0| #check))),
            });
        }
        (f, t) if is_string(t) => {
            let s = to_str(f)?;
            return Some(match to_string_type(quote!(__a0), t) {
                Widen => Total(s),
                Partial(check) => Partial(quote!({ let __a0 = #s; #check })),
                Total(t) => Total(quote!({ let __a0 = #s; #t })),
            });
        }
        (f, t) if is_string(f) => from_str(t)?,
        (T::Bytes | T::Varbinary(_) | T::Binary(_), T::Bytes | T::Varbinary(_) | T::Binary(_)) => Widen,
        (T::Timestamp(_), T::Date) => Total(quote!(#sql::cast::timestamp_to_date(&__a0))),
        (T::Timestamp(_), T::Time(_)) => Total(quote!(#sql::cast::timestamp_to_time(&__a0))),
        (T::Date, T::Timestamp(_)) => Total(quote!(#sql::cast::date_to_timestamp(__a0))),
        (T::Timestamp(_), T::Timestamp(_)) | (T::TimestampLtz(_), T::TimestampLtz(_)) | (T::Time(_), T::Time(_)) => Widen,
        _ => return None,
    })
}

/// A non-null string into a `STRING`, `VARCHAR(n)` or `CHAR(n)`: longer values fail (Flink truncates).
fn to_string_type(v: TokenStream, to: &SqlType) -> Conversion {
    let n = match to {
        SqlType::Varchar(n) | SqlType::Char(n) => *n,
        _ => return Conversion::Widen,
    };
    let n = n as usize;
    let target = to.to_string();
    let sql = quote!(::kinesis_tables::sql);
    Conversion::Partial(quote!({
        let s: ::std::string::String = #v;
        if s.chars().count() <= #n { ::core::result::Result::Ok(s) } else { ::core::result::Result::Err(#sql::SqlError::invalid_cast(&s, #target, "the value is longer than the type")) }
    }))
}

/// The text of a non-null value `__a0` of `from`.
fn to_str(from: &SqlType) -> Option<TokenStream> {
    use SqlType as T;
    let sql = quote!(::kinesis_tables::sql);
    Some(match from {
        T::Boolean => quote!(#sql::cast::bool_to_str(__a0)),
        f if int_rank(f).is_some() => quote!(#sql::cast::int_to_str(__a0)),
        T::Double => quote!(#sql::cast::f64_to_str(__a0)),
        T::Float => quote!(#sql::cast::f32_to_str(__a0)),
        T::Decimal { .. } => quote!(#sql::decimal::to_str(&__a0)),
        T::Date => quote!(#sql::cast::date_to_str(__a0)),
        T::Time(p) => {
            let p = u32::from(*p);
            quote!(#sql::cast::time_to_str(__a0, #p))
        }
        T::Timestamp(p) => {
            let p = u32::from(*p);
            quote!(#sql::cast::timestamp_to_str(&__a0, #p))
        }
        T::Bytes | T::Varbinary(_) | T::Binary(_) => return None,
        _ => return None,
    })
}

/// Parsing a non-null string `__a0` as `to`.
fn from_str(to: &SqlType) -> Option<Conversion> {
    use SqlType as T;
    let sql = quote!(::kinesis_tables::sql);
    Some(Conversion::Partial(match to {
        T::Boolean => quote!(#sql::cast::str_to_bool(&__a0)),
        T::TinyInt => quote!(#sql::cast::str_to_i8(&__a0)),
        T::SmallInt => quote!(#sql::cast::str_to_i16(&__a0)),
        T::Int => quote!(#sql::cast::str_to_i32(&__a0)),
        T::BigInt => quote!(#sql::cast::str_to_i64(&__a0)),
        T::Float => quote!(#sql::cast::str_to_f32(&__a0)),
        T::Double => quote!(#sql::cast::str_to_f64(&__a0)),
        T::Decimal { precision, scale } => {
            let (p, s) = (u32::from(*precision), i32::from(*scale));
            quote!(#sql::decimal::from_str(&__a0, #p, #s))
        }
        T::Date => quote!(#sql::cast::str_to_date(&__a0)),
        T::Time(_) => quote!(#sql::cast::str_to_time(&__a0)),
        T::Timestamp(_) => quote!(#sql::cast::str_to_timestamp(&__a0)),
        T::Bytes | T::Varbinary(_) | T::Binary(_) => return Some(Conversion::Total(quote!(#sql::cast::str_to_bytes(&__a0)))),
        _ => return None,
    }))
}

/// `CAST(e AS to)` (`try`: `TRY_CAST`) of a checked operand; `None` when Flink forbids the cast.
pub(crate) fn cast(e: TExpr, to: &SqlType, try_: bool, text: String) -> Option<TExpr> {
    if matches!(e.node, Node::Null) {
        let mut e = e;
        e.ty = to.clone();
        return Some(e);
    }
    Some(match conversion(&e.ty, to)? {
        Conversion::Widen => {
            let mut w = widen_to(e, to);
            w.ty = to.clone();
            w
        }
        Conversion::Total(body) => TExpr::strict(to.clone(), vec![e], body, None, false),
        Conversion::Partial(body) if try_ => TExpr::strict(to.clone(), vec![e], quote!((#body).ok()), None, true),
        Conversion::Partial(body) => TExpr::strict(to.clone(), vec![e], body, Some(text), false),
    })
}
