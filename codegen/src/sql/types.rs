//! Flink's result types: integer promotion, DECIMAL precision and scale
//! derivation (`LogicalTypeMerging`), DOUBLE contamination, the cast matrix,
//! and how a value of one type is widened to another in Rust.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::SqlType;

/// Flink's maximum DECIMAL precision.
const MAX_PRECISION: u8 = 38;
/// Flink's minimum scale kept when a derived precision is capped.
const MIN_ADJUSTED_SCALE: u8 = 6;

/// The arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// An exact integer's rank; `None` for other types.
pub(crate) fn int_rank(t: &SqlType) -> Option<u8> {
    match t {
        SqlType::TinyInt => Some(1),
        SqlType::SmallInt => Some(2),
        SqlType::Int => Some(3),
        SqlType::BigInt => Some(4),
        _ => None,
    }
}

pub(crate) fn is_numeric(t: &SqlType) -> bool {
    int_rank(t).is_some() || matches!(t, SqlType::Float | SqlType::Double | SqlType::Decimal { .. })
}

pub(crate) fn is_string(t: &SqlType) -> bool {
    matches!(t, SqlType::String | SqlType::Varchar(_) | SqlType::Char(_))
}

/// An integer type as the DECIMAL that holds it (Flink: TINYINT → DECIMAL(3, 0) …).
fn as_decimal(t: &SqlType) -> Option<(u8, u8)> {
    match t {
        SqlType::TinyInt => Some((3, 0)),
        SqlType::SmallInt => Some((5, 0)),
        SqlType::Int => Some((10, 0)),
        SqlType::BigInt => Some((19, 0)),
        SqlType::Decimal { precision, scale } => Some((*precision, *scale)),
        _ => None,
    }
}

/// Flink's `adjustPrecisionScale`: a precision over 38 keeps the integer digits and at least 6 of the scale.
fn adjust(precision: i32, scale: i32) -> SqlType {
    let max = i32::from(MAX_PRECISION);
    let (p, s) = if precision <= max {
        (precision, scale)
    } else {
        let int_digits = precision - scale;
        let min_scale = scale.min(i32::from(MIN_ADJUSTED_SCALE));
        (max, (max - int_digits).max(min_scale))
    };
    SqlType::Decimal { precision: p.clamp(1, max) as u8, scale: s.clamp(0, max) as u8 }
}

/// The result type of an arithmetic operator, as Flink derives it; `None` when the operands are not numeric.
pub(crate) fn arith(op: Arith, l: &SqlType, r: &SqlType) -> Option<SqlType> {
    if !is_numeric(l) || !is_numeric(r) {
        return None;
    }
    if matches!(l, SqlType::Double) || matches!(r, SqlType::Double) {
        return Some(SqlType::Double);
    }
    if matches!(l, SqlType::Float) || matches!(r, SqlType::Float) {
        // FLOAT with a DECIMAL is DOUBLE; with an integer or FLOAT it stays FLOAT.
        let dec = matches!(l, SqlType::Decimal { .. }) || matches!(r, SqlType::Decimal { .. });
        return Some(if dec { SqlType::Double } else { SqlType::Float });
    }
    if let (Some(a), Some(b)) = (int_rank(l), int_rank(r)) {
        // Integer arithmetic keeps the wider operand's type (MOD: the right's, as Flink does).
        return Some(if op == Arith::Mod {
            r.clone()
        } else if a >= b {
            l.clone()
        } else {
            r.clone()
        });
    }
    let ((p1, s1), (p2, s2)) = (as_decimal(l)?, as_decimal(r)?);
    let (p1, s1, p2, s2) = (i32::from(p1), i32::from(s1), i32::from(p2), i32::from(s2));
    Some(match op {
        Arith::Add | Arith::Sub => {
            let s = s1.max(s2);
            adjust((p1 - s1).max(p2 - s2) + s + 1, s)
        }
        Arith::Mul => adjust(p1 + p2 + 1, s1 + s2),
        Arith::Div => {
            let s = i32::from(MIN_ADJUSTED_SCALE).max(s1 + p2 + 1);
            adjust(p1 - s1 + s2 + s, s)
        }
        Arith::Mod => {
            let s = s1.max(s2);
            adjust((p1 - s1).min(p2 - s2) + s, s)
        }
    })
}

/// The common type two operands of a comparison (or the branches of a CASE) are converted to.
pub(crate) fn common(l: &SqlType, r: &SqlType) -> Option<SqlType> {
    if l == r {
        return Some(l.clone());
    }
    if is_numeric(l) && is_numeric(r) {
        if let (Some(a), Some(b)) = (int_rank(l), int_rank(r)) {
            return Some(if a >= b { l.clone() } else { r.clone() });
        }
        if matches!(l, SqlType::Double | SqlType::Float) || matches!(r, SqlType::Double | SqlType::Float) {
            return Some(SqlType::Double);
        }
        let ((p1, s1), (p2, s2)) = (as_decimal(l)?, as_decimal(r)?);
        let s = s1.max(s2);
        let int_digits = (p1 - s1).max(p2 - s2);
        return Some(adjust(i32::from(int_digits) + i32::from(s), i32::from(s)));
    }
    if is_string(l) && is_string(r) {
        return Some(match (l, r) {
            (SqlType::Varchar(a) | SqlType::Char(a), SqlType::Varchar(b) | SqlType::Char(b)) => SqlType::Varchar(*a.max(b)),
            _ => SqlType::String,
        });
    }
    match (l, r) {
        (SqlType::Timestamp(a), SqlType::Timestamp(b)) => Some(SqlType::Timestamp(*a.max(b))),
        (SqlType::TimestampLtz(a), SqlType::TimestampLtz(b)) => Some(SqlType::TimestampLtz(*a.max(b))),
        (SqlType::Time(a), SqlType::Time(b)) => Some(SqlType::Time(*a.max(b))),
        (SqlType::Bytes | SqlType::Varbinary(_) | SqlType::Binary(_), SqlType::Bytes | SqlType::Varbinary(_) | SqlType::Binary(_)) => {
            Some(SqlType::Bytes)
        }
        _ => None,
    }
}

/// Whether a value of `from` goes into `to` without loss (the implicit conversions).
pub(crate) fn lossless(from: &SqlType, to: &SqlType) -> bool {
    if from == to {
        return true;
    }
    match (from, to) {
        (a, b) if int_rank(a).is_some() && int_rank(b).is_some() => int_rank(a) < int_rank(b),
        (a, SqlType::Decimal { precision, scale }) if int_rank(a).is_some() || matches!(a, SqlType::Decimal { .. }) => {
            as_decimal(a).is_some_and(|(p, s)| *scale >= s && i32::from(*precision) - i32::from(*scale) >= i32::from(p) - i32::from(s))
        }
        (SqlType::TinyInt | SqlType::SmallInt, SqlType::Float) => true,
        (SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::Float, SqlType::Double) => true,
        (a, SqlType::String) => is_string(a),
        (SqlType::Varchar(n) | SqlType::Char(n), SqlType::Varchar(m)) => n <= m,
        (SqlType::Varbinary(_) | SqlType::Binary(_), SqlType::Bytes) => true,
        (SqlType::Varbinary(n) | SqlType::Binary(n), SqlType::Varbinary(m)) => n <= m,
        (SqlType::Timestamp(p), SqlType::Timestamp(q))
        | (SqlType::TimestampLtz(p), SqlType::TimestampLtz(q))
        | (SqlType::Time(p), SqlType::Time(q)) => p <= q,
        _ => false,
    }
}

/// Rust code that widens a non-null value `v` of `from` to `to` (a lossless conversion or a numeric promotion).
pub(crate) fn widen(v: TokenStream, from: &SqlType, to: &SqlType) -> TokenStream {
    let sql = quote!(::kinesis_tables::sql);
    match (from, to) {
        (a, b) if a == b => v,
        (a, b) if int_rank(a).is_some() && int_rank(b).is_some() => {
            let (f, t) = (rust(a), rust(b));
            quote!(<#t as ::core::convert::From<#f>>::from(#v))
        }
        (a, SqlType::Decimal { .. }) if int_rank(a).is_some() => quote!(::kinesis_tables::types::Decimal::from(#v)),
        (SqlType::Decimal { .. }, SqlType::Decimal { .. }) => v,
        (SqlType::Decimal { .. }, SqlType::Double) => quote!(#sql::decimal::to_f64(&#v)),
        (SqlType::Decimal { .. }, SqlType::Float) => quote!((#sql::decimal::to_f64(&#v) as f32)),
        (a, SqlType::Double) if int_rank(a).is_some() => quote!((#v as f64)),
        (a, SqlType::Float) if int_rank(a).is_some() => quote!((#v as f32)),
        (SqlType::Float, SqlType::Double) => quote!(<f64 as ::core::convert::From<f32>>::from(#v)),
        _ => v,
    }
}

/// The Rust type of a non-null value of `t` (for locals and casts).
pub(crate) fn rust(t: &SqlType) -> TokenStream {
    crate::emit::types::plain_rust_type(t, false)
}

/// Whether values of `t` are `Copy` in Rust.
pub(crate) fn is_copy(t: &SqlType) -> bool {
    matches!(
        t,
        SqlType::Boolean
            | SqlType::TinyInt
            | SqlType::SmallInt
            | SqlType::Int
            | SqlType::BigInt
            | SqlType::Float
            | SqlType::Double
            | SqlType::Date
            | SqlType::Time(_)
            | SqlType::Timestamp(_)
            | SqlType::TimestampLtz(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(p: u8, s: u8) -> SqlType {
        SqlType::Decimal { precision: p, scale: s }
    }

    #[test]
    fn decimal_results_follow_flink() {
        // Flink: DECIMAL(p1,s1) + DECIMAL(p2,s2) → (max(p1-s1,p2-s2)+max(s1,s2)+1, max(s1,s2)).
        assert_eq!(arith(Arith::Add, &dec(10, 2), &dec(5, 3)), Some(dec(12, 3)));
        assert_eq!(arith(Arith::Mul, &dec(10, 2), &dec(5, 3)), Some(dec(16, 5)));
        // Division: scale max(6, s1+p2+1), precision p1-s1+s2+scale.
        assert_eq!(arith(Arith::Div, &dec(10, 2), &dec(5, 3)), Some(dec(19, 8)));
        assert_eq!(arith(Arith::Mod, &dec(10, 2), &dec(5, 3)), Some(dec(5, 3)));
        // Capped at 38 keeping at least 6 digits of scale.
        assert_eq!(arith(Arith::Mul, &dec(38, 10), &dec(38, 10)), Some(dec(38, 6)));
        // An INT operand counts as DECIMAL(10, 0).
        assert_eq!(arith(Arith::Add, &SqlType::Int, &dec(5, 2)), Some(dec(13, 2)));
    }

    #[test]
    fn integers_promote_and_doubles_contaminate() {
        assert_eq!(arith(Arith::Add, &SqlType::Int, &SqlType::BigInt), Some(SqlType::BigInt));
        assert_eq!(arith(Arith::Add, &SqlType::TinyInt, &SqlType::TinyInt), Some(SqlType::TinyInt));
        assert_eq!(arith(Arith::Mul, &dec(5, 2), &SqlType::Double), Some(SqlType::Double));
        assert_eq!(arith(Arith::Mul, &dec(5, 2), &SqlType::Float), Some(SqlType::Double));
        assert_eq!(arith(Arith::Add, &SqlType::String, &SqlType::Int), None);
    }
}
