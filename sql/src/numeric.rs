//! Numeric functions on integers and DOUBLE (DECIMAL ones are in
//! [`crate::decimal`]). Integer results that do not fit fail the record.
//!
//! Domain errors of the floating-point functions follow Flink, which calls
//! `java.lang.Math`: `SQRT(-1)` and `LN(-1)` are NaN, `LN(0)` and
//! `LOG10(0)` are -Infinity — no error, no NULL. (DuckDB raises an error
//! there; the differential test leaves those inputs out.)

use bigdecimal::{BigDecimal, RoundingMode};

use crate::arith::SqlInt;
use crate::error::SqlError;

/// ABS(integer): fails on the type's minimum (Flink wraps to it).
#[inline]
pub fn abs<T: SqlInt>(value: T) -> Result<T, SqlError> {
    if value >= T::default() {
        return Ok(value);
    }
    crate::arith::neg(value).map_err(|_| SqlError::overflow(&format!("ABS({})", T::SQL), value))
}

/// ABS(DOUBLE).
#[inline]
pub fn abs_f64(value: f64) -> f64 {
    value.abs()
}

/// ROUND(integer, digits): HALF_UP at `digits` before the point when
/// negative (`ROUND(1250, -2)` is 1300); non-negative digits leave it.
/// Fails when the result does not fit (`ROUND(CAST(127 AS TINYINT), -1)`).
pub fn round_int<T: SqlInt>(value: T, digits: i32) -> Result<T, SqlError> {
    int_at_digits(value, digits, true)
}

/// TRUNCATE(integer, digits): toward zero at `digits` before the point
/// when negative (`TRUNCATE(1259, -2)` is 1200).
pub fn truncate_int<T: SqlInt>(value: T, digits: i32) -> Result<T, SqlError> {
    int_at_digits(value, digits, false)
}

fn int_at_digits<T: SqlInt>(value: T, digits: i32, half_up: bool) -> Result<T, SqlError> {
    if digits >= 0 {
        return Ok(value);
    }
    let v: i64 = value.into();
    // 10^19 exceeds i64: every i64 rounds to 0 at 19 or more digits.
    let Some(unit) = 10i64.checked_pow(digits.unsigned_abs()) else { return Ok(T::default()) };
    let kept = v / unit * unit;
    let rest = v - kept;
    let rounded = if half_up && rest.unsigned_abs() * 2 >= unit.unsigned_abs() {
        kept.checked_add(if v < 0 { -unit } else { unit })
    } else {
        Some(kept)
    };
    let function = if half_up { "ROUND" } else { "TRUNCATE" };
    rounded.and_then(|r| T::try_from(r).ok()).ok_or_else(|| SqlError::overflow(&format!("{function}({}, {digits})", T::SQL), value))
}

/// ROUND(DOUBLE, digits): HALF_UP on the shortest decimal form of the
/// value (Flink: `BigDecimal.valueOf(d).setScale(digits, HALF_UP)`), so
/// `ROUND(2.675, 2)` is 2.68. NaN and infinities are returned as they are.
pub fn round_f64(value: f64, digits: i32) -> f64 {
    f64_at_digits(value, digits, RoundingMode::HalfUp)
}

/// TRUNCATE(DOUBLE, digits): toward zero at `digits` (Flink:
/// `TRUNCATE(42.324, 2)` is 42.32).
pub fn truncate_f64(value: f64, digits: i32) -> f64 {
    f64_at_digits(value, digits, RoundingMode::Down)
}

fn f64_at_digits(value: f64, digits: i32, mode: RoundingMode) -> f64 {
    if !value.is_finite() || value == 0.0 {
        return value;
    }
    // Doubles have at most 17 significant digits and exponents within
    // ±324: rounding beyond those bounds is the identity or zero.
    let digits = i64::from(digits).clamp(-330, 345);
    let Ok(exact) = format!("{value:e}").parse::<BigDecimal>() else { return value };
    let rounded = exact.with_scale_round(digits, mode);
    rounded.to_scientific_notation().parse().unwrap_or(value)
}

/// FLOOR(DOUBLE).
#[inline]
pub fn floor_f64(value: f64) -> f64 {
    value.floor()
}

/// CEIL(DOUBLE) / CEILING.
#[inline]
pub fn ceil_f64(value: f64) -> f64 {
    value.ceil()
}

/// MOD(integer, integer): see [`crate::arith::rem`] (sign of the dividend,
/// by zero fails). Flink: `MOD(7, 3)` is 1... (the compiler may call
/// `arith::rem` directly).
#[inline]
pub fn modulo<T: SqlInt>(a: T, b: T) -> Result<T, SqlError> {
    crate::arith::rem(a, b)
}

/// POWER(base, exponent) on DOUBLE (Java's `Math.pow`: `POWER(1, NaN)` and
/// `POWER(-1, Infinity)` are NaN, where Rust's `powf` gives 1).
#[inline]
pub fn power(base: f64, exponent: f64) -> f64 {
    if exponent.is_nan() || (base.abs() == 1.0 && exponent.is_infinite()) {
        return f64::NAN;
    }
    base.powf(exponent)
}

/// SQRT(DOUBLE): NaN for a negative value (Flink).
#[inline]
pub fn sqrt(value: f64) -> f64 {
    value.sqrt()
}

/// LN(DOUBLE): -Infinity at 0, NaN below (Flink).
#[inline]
pub fn ln(value: f64) -> f64 {
    value.ln()
}

/// LOG10(DOUBLE): -Infinity at 0, NaN below (Flink).
#[inline]
pub fn log10(value: f64) -> f64 {
    value.log10()
}

/// LOG2(DOUBLE).
#[inline]
pub fn log2(value: f64) -> f64 {
    value.log2()
}

/// LOG(base, x): `LN(x) / LN(base)` (Flink).
#[inline]
pub fn log(base: f64, x: f64) -> f64 {
    x.ln() / base.ln()
}

/// EXP(DOUBLE).
#[inline]
pub fn exp(value: f64) -> f64 {
    value.exp()
}

/// SIGN(integer): -1, 0 or 1 in the argument's type.
#[inline]
pub fn sign_int<T: SqlInt>(value: T) -> T {
    let unit: i64 = match value.cmp(&T::default()) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    };
    T::try_from(unit).unwrap_or_default()
}

/// SIGN(DOUBLE): -1.0, 0.0 or 1.0 (Java's `Math.signum`: NaN stays NaN,
/// -0.0 stays -0.0).
#[inline]
pub fn sign_f64(value: f64) -> f64 {
    if value == 0.0 || value.is_nan() { value } else { value.signum() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abs_and_sign() {
        assert_eq!(abs(-5i32), Ok(5));
        assert_eq!(abs(i32::MIN).unwrap_err().kind(), crate::SqlErrorKind::Overflow);
        assert_eq!(abs(i8::MIN + 1), Ok(127));
        assert_eq!(sign_int(-7i64), -1);
        assert_eq!(sign_int(0i16), 0);
        assert_eq!(sign_f64(-2.5), -1.0);
        assert!(sign_f64(f64::NAN).is_nan());
    }

    #[test]
    fn rounding() {
        // Flink: ROUND(DOUBLE) is HALF_UP on the decimal form.
        assert_eq!(round_f64(2.675, 2), 2.68);
        assert_eq!(round_f64(-2.5, 0), -3.0);
        assert_eq!(round_f64(1234.5, -2), 1200.0);
        assert_eq!(round_f64(1e300, 2), 1e300);
        assert!(round_f64(f64::NAN, 2).is_nan());
        // Flink: TRUNCATE(42.324, 2) is 42.32.
        assert_eq!(truncate_f64(42.324, 2), 42.32);
        assert_eq!(truncate_f64(-42.329, 2), -42.32);
        assert_eq!(round_int(1250i32, -2), Ok(1300));
        assert_eq!(round_int(-1250i32, -2), Ok(-1300));
        assert_eq!(round_int(1249i32, -2), Ok(1200));
        assert_eq!(round_int(5i32, 2), Ok(5));
        assert_eq!(round_int(i64::MAX, -30), Ok(0));
        assert!(round_int(127i8, -1).is_err());
        assert_eq!(truncate_int(1259i32, -2), Ok(1200));
        assert_eq!(floor_f64(-1.5), -2.0);
        assert_eq!(ceil_f64(-1.5), -1.0);
    }

    #[test]
    fn powers_and_logarithms() {
        assert_eq!(power(2.0, 10.0), 1024.0);
        assert!(power(1.0, f64::NAN).is_nan());
        assert!(power(-1.0, f64::INFINITY).is_nan());
        assert_eq!(power(0.0, 0.0), 1.0);
        assert_eq!(sqrt(16.0), 4.0);
        assert!(sqrt(-1.0).is_nan());
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan());
        assert_eq!(log10(1000.0), 3.0);
        assert_eq!(log10(0.0), f64::NEG_INFINITY);
        assert_eq!(log(2.0, 8.0), 3.0);
        assert_eq!(modulo(-7i32, 3), Ok(-1));
        assert!(modulo(1i32, 0).is_err());
    }
}
