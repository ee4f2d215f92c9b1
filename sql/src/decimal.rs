//! DECIMAL(p, s) arithmetic and casts. The compiler derives each result's
//! precision and scale at compile time with Flink's rules and passes them:
//! every function rounds HALF_UP to `scale` and fails (Flink gives NULL)
//! when the result needs more than `precision` digits.
//!
//! Values are `bigdecimal::BigDecimal`; a function never scales a value by
//! more than [`MAX_SCALE_STEP`] powers of ten, so a value with an absurd
//! exponent (`1e-999999999` read from JSON) fails instead of allocating.

use bigdecimal::num_bigint::{BigInt, Sign};
use bigdecimal::{BigDecimal, RoundingMode, ToPrimitive, Zero};

use crate::arith::SqlInt;
use crate::error::SqlError;

/// Flink's largest DECIMAL precision.
pub const MAX_PRECISION: u32 = 38;

/// The most powers of ten any rescale may multiply by.
pub const MAX_SCALE_STEP: i64 = 2 * MAX_PRECISION as i64 + 2;

/// `a + b` as DECIMAL(precision, scale).
pub fn add(a: &BigDecimal, b: &BigDecimal, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    check_exponent(a, "DECIMAL +")?;
    check_exponent(b, "DECIMAL +")?;
    fit_op(a + b, precision, scale, "DECIMAL +", || format!("{a} + {b}"))
}

/// `a - b` as DECIMAL(precision, scale).
pub fn sub(a: &BigDecimal, b: &BigDecimal, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    check_exponent(a, "DECIMAL -")?;
    check_exponent(b, "DECIMAL -")?;
    fit_op(a - b, precision, scale, "DECIMAL -", || format!("{a} - {b}"))
}

/// `a * b` as DECIMAL(precision, scale).
pub fn mul(a: &BigDecimal, b: &BigDecimal, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    check_exponent(a, "DECIMAL *")?;
    check_exponent(b, "DECIMAL *")?;
    fit_op(a * b, precision, scale, "DECIMAL *", || format!("{a} * {b}"))
}

/// `a / b` as DECIMAL(precision, scale), computed exactly and rounded
/// HALF_UP once; fails when `b` is zero.
pub fn div(a: &BigDecimal, b: &BigDecimal, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    if b.is_zero() {
        return Err(SqlError::division_by_zero("DECIMAL /", a));
    }
    let (na, ea) = a.as_bigint_and_exponent();
    let (nb, eb) = b.as_bigint_and_exponent();
    // a / b * 10^scale = na * 10^(scale - ea + eb) / nb
    let k = i64::from(scale) - ea + eb;
    check_step(k, "DECIMAL /")?;
    let (num, den) = if k >= 0 { (na * pow10(k), nb) } else { (na, nb * pow10(-k)) };
    let q = div_half_up(&num, &den);
    fit_op(BigDecimal::new(q, i64::from(scale)), precision, scale, "DECIMAL /", || format!("{a} / {b}"))
}

/// `MOD(a, b)` / `a % b` as DECIMAL(precision, scale), with the sign of
/// the dividend; fails when `b` is zero.
pub fn rem(a: &BigDecimal, b: &BigDecimal, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    if b.is_zero() {
        return Err(SqlError::division_by_zero("MOD(DECIMAL, DECIMAL)", a));
    }
    check_exponent(a, "MOD(DECIMAL, DECIMAL)")?;
    check_exponent(b, "MOD(DECIMAL, DECIMAL)")?;
    // Both at the larger scale, the remainder of the unscaled integers.
    let s = a.fractional_digit_count().max(b.fractional_digit_count());
    let (na, _) = a.with_scale(s).into_bigint_and_exponent();
    let (nb, _) = b.with_scale(s).into_bigint_and_exponent();
    let r = BigDecimal::new(na % nb, s);
    fit_op(r, precision, scale, "MOD(DECIMAL, DECIMAL)", || format!("MOD({a}, {b})"))
}

/// CAST(DECIMAL AS DECIMAL(precision, scale)), and the fitting of any value
/// to a column's type: rounds HALF_UP to `scale`, fails on overflow.
pub fn fit(value: &BigDecimal, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    fit_to(value, precision, scale, RoundingMode::HalfUp)
        .map_err(|why| SqlError::invalid_cast(value, &format!("DECIMAL({precision}, {scale})"), &why))
}

/// CAST(integer AS DECIMAL(precision, scale)).
pub fn from_int<T: SqlInt>(value: T, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    fit(&BigDecimal::from(value.into()), precision, scale)
}

/// CAST(DOUBLE/FLOAT AS DECIMAL(precision, scale)): the shortest decimal
/// that reads back as `value` (Java's `BigDecimal.valueOf(double)`, as
/// Flink), then rounded HALF_UP; NaN and infinities fail.
pub fn from_f64(value: f64, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    let target = || format!("DECIMAL({precision}, {scale})");
    if !value.is_finite() {
        return Err(SqlError::invalid_cast(value, &target(), "not a finite number"));
    }
    // `{:e}` is the shortest round-trip form, e.g. `1.5e-3`.
    let exact: BigDecimal = format!("{value:e}").parse().map_err(|_| SqlError::invalid_cast(value, &target(), "not a finite number"))?;
    fit_to(&exact, precision, scale, RoundingMode::HalfUp).map_err(|why| SqlError::invalid_cast(value, &target(), &why))
}

/// CAST(STRING AS DECIMAL(precision, scale)): surrounding whitespace is
/// trimmed (as Flink); a malformed number fails.
pub fn from_str(text: &str, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    let target = || format!("DECIMAL({precision}, {scale})");
    let trimmed = text.trim();
    let ok = !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    let value: BigDecimal = match ok {
        true => trimmed.parse().map_err(|_| SqlError::invalid_cast(text, &target(), "not a number"))?,
        false => return Err(SqlError::invalid_cast(text, &target(), "not a number")),
    };
    fit_to(&value, precision, scale, RoundingMode::HalfUp).map_err(|why| SqlError::invalid_cast(text, &target(), &why))
}

/// CAST(DECIMAL AS integer): truncates toward zero (as Flink); fails when
/// out of range.
pub fn to_int<T: SqlInt>(value: &BigDecimal) -> Result<T, SqlError> {
    let out_of_range = || SqlError::invalid_cast(value, T::SQL, "out of range");
    if value.order_of_magnitude() > 19 {
        return Err(out_of_range());
    }
    let whole = value.with_scale_round(0, RoundingMode::Down);
    let wide = whole.to_i64().ok_or_else(out_of_range)?;
    T::try_from(wide).map_err(|_| out_of_range())
}

/// CAST(DECIMAL AS DOUBLE): the nearest double.
pub fn to_f64(value: &BigDecimal) -> f64 {
    if value.order_of_magnitude().abs() > 400 {
        return if value.order_of_magnitude() > 0 { f64::INFINITY.copysign(sign_f64(value)) } else { 0.0 };
    }
    value.to_scientific_notation().parse().unwrap_or(f64::NAN)
}

/// CAST(DECIMAL AS STRING): plain notation with the value's scale
/// (`12.30` for DECIMAL(4, 2)), never an exponent (Java's
/// `toPlainString`, as Flink).
pub fn to_str(value: &BigDecimal) -> String {
    value.to_plain_string()
}

/// ROUND(DECIMAL, digits) as DECIMAL(precision, scale): HALF_UP at
/// `digits` after the point (negative: before it), then at `scale`.
/// Flink's example: `ROUND(1.5)` is 2, `ROUND(-1.5)` is -2.
pub fn round(value: &BigDecimal, digits: i32, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    at_digits(value, digits, RoundingMode::HalfUp, precision, scale, "ROUND")
}

/// TRUNCATE(DECIMAL, digits) as DECIMAL(precision, scale): toward zero.
pub fn truncate(value: &BigDecimal, digits: i32, precision: u32, scale: i32) -> Result<BigDecimal, SqlError> {
    at_digits(value, digits, RoundingMode::Down, precision, scale, "TRUNCATE")
}

/// FLOOR(DECIMAL) as DECIMAL(precision, 0).
pub fn floor(value: &BigDecimal, precision: u32) -> Result<BigDecimal, SqlError> {
    at_digits(value, 0, RoundingMode::Floor, precision, 0, "FLOOR")
}

/// CEIL(DECIMAL) as DECIMAL(precision, 0).
pub fn ceil(value: &BigDecimal, precision: u32) -> Result<BigDecimal, SqlError> {
    at_digits(value, 0, RoundingMode::Ceiling, precision, 0, "CEIL")
}

/// ABS(DECIMAL) (same type; cannot overflow).
pub fn abs(value: &BigDecimal) -> BigDecimal {
    value.abs()
}

/// Unary `-` on DECIMAL (same type; cannot overflow).
pub fn neg(value: &BigDecimal) -> BigDecimal {
    -value
}

/// SIGN(DECIMAL): -1, 0 or 1 at the value's scale (Flink keeps the type).
pub fn sign(value: &BigDecimal) -> BigDecimal {
    let (_, scale) = value.as_bigint_and_exponent();
    let unit = match value.sign() {
        Sign::Minus => -1,
        Sign::NoSign => 0,
        Sign::Plus => 1,
    };
    BigDecimal::new(BigInt::from(unit), 0).with_scale(scale.clamp(0, MAX_SCALE_STEP))
}

/// `value` rounded with `mode` at `digits`, then fitted to the type.
fn at_digits(
    value: &BigDecimal,
    digits: i32,
    mode: RoundingMode,
    precision: u32,
    scale: i32,
    function: &str,
) -> Result<BigDecimal, SqlError> {
    check_exponent(value, function)?;
    let digits = i64::from(digits).clamp(-MAX_SCALE_STEP, MAX_SCALE_STEP);
    let rounded = rescale(value, digits, mode);
    fit_op(rounded, precision, scale, function, || format!("{function}({value}, {digits})"))
}

/// `value` at `scale` (may be negative), rounded with `mode`, without
/// allocating more than the value's digits: dropping more digits than the
/// value has rounds the digits away directly.
fn rescale(value: &BigDecimal, scale: i64, mode: RoundingMode) -> BigDecimal {
    let (_, current) = value.as_bigint_and_exponent();
    let digits = value.digits() as i64;
    if current - scale > digits + 1 {
        // |value| < 10^(digits - current) <= 10^(-scale - 1): one digit
        // below the last kept one, so the result is 0 or one unit.
        let unit = match mode {
            RoundingMode::Up => 1,
            RoundingMode::Ceiling if value.sign() == Sign::Plus => 1,
            RoundingMode::Floor if value.sign() == Sign::Minus => 1,
            _ => 0,
        };
        let sign = if value.sign() == Sign::Minus { -1 } else { 1 };
        return BigDecimal::new(BigInt::from(unit * sign), scale);
    }
    value.with_scale_round(scale, mode)
}

/// `value` rounded to `scale` and checked against `precision`, or why not.
fn fit_to(value: &BigDecimal, precision: u32, scale: i32, mode: RoundingMode) -> Result<BigDecimal, String> {
    let integer_digits = i64::from(precision) - i64::from(scale);
    if !value.is_zero() && value.order_of_magnitude() >= integer_digits {
        return Err(format!("needs more than {integer_digits} digits before the point"));
    }
    let rounded = rescale(value, i64::from(scale), mode);
    if !rounded.is_zero() && rounded.digits() > u64::from(precision) {
        return Err(format!("needs more than {integer_digits} digits before the point"));
    }
    Ok(rounded)
}

/// An operation's exact `result` fitted to DECIMAL(precision, scale); an
/// overflow names the operation and its operands (`operands()`).
fn fit_op(result: BigDecimal, precision: u32, scale: i32, what: &str, operands: impl FnOnce() -> String) -> Result<BigDecimal, SqlError> {
    fit_to(&result, precision, scale, RoundingMode::HalfUp)
        .map_err(|why| SqlError::overflow(&format!("{what} as DECIMAL({precision}, {scale})"), format_args!("{} ({why})", operands())))
}

/// Fails on a value whose exponent is beyond any DECIMAL(38, s): arithmetic
/// on it would allocate by its exponent.
fn check_exponent(value: &BigDecimal, what: &str) -> Result<(), SqlError> {
    let (_, exponent) = value.as_bigint_and_exponent();
    check_step(exponent, what)
}

fn check_step(step: i64, what: &str) -> Result<(), SqlError> {
    if step.abs() > MAX_SCALE_STEP {
        return Err(SqlError::invalid_argument(what, format_args!("a DECIMAL scale of {step} is out of range")));
    }
    Ok(())
}

fn pow10(k: i64) -> BigInt {
    num_pow(BigInt::from(10), k.unsigned_abs())
}

fn num_pow(base: BigInt, exp: u64) -> BigInt {
    let mut out = BigInt::from(1);
    for _ in 0..exp {
        out *= &base;
    }
    out
}

/// `num / den` rounded HALF_UP (away from zero on a tie).
fn div_half_up(num: &BigInt, den: &BigInt) -> BigInt {
    let q = num / den;
    let r = num - &q * den;
    let twice: BigInt = r.clone() * 2;
    let away = twice.magnitude() >= den.magnitude();
    if !away || r.is_zero() {
        return q;
    }
    if (num.sign() == Sign::Minus) != (den.sign() == Sign::Minus) { q - 1 } else { q + 1 }
}

fn sign_f64(value: &BigDecimal) -> f64 {
    if value.sign() == Sign::Minus { -1.0 } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlErrorKind;

    fn d(s: &str) -> BigDecimal {
        s.parse().unwrap()
    }

    #[test]
    fn arithmetic_rounds_half_up_to_the_scale() {
        assert_eq!(add(&d("1.25"), &d("2.5"), 5, 2).unwrap().to_string(), "3.75");
        assert_eq!(sub(&d("1.25"), &d("2.5"), 5, 2).unwrap().to_string(), "-1.25");
        assert_eq!(mul(&d("1.25"), &d("1.1"), 6, 3).unwrap().to_string(), "1.375");
        assert_eq!(mul(&d("1.25"), &d("1.1"), 6, 2).unwrap().to_string(), "1.38");
        assert_eq!(mul(&d("-1.25"), &d("1.1"), 6, 2).unwrap().to_string(), "-1.38");
        // 2 / 3 at scale 6: 0.666667; -2 / 3: -0.666667
        assert_eq!(div(&d("2"), &d("3"), 10, 6).unwrap().to_string(), "0.666667");
        assert_eq!(div(&d("-2"), &d("3"), 10, 6).unwrap().to_string(), "-0.666667");
        assert_eq!(div(&d("1"), &d("8"), 10, 2).unwrap().to_string(), "0.13");
        assert_eq!(rem(&d("-7.5"), &d("2"), 5, 1).unwrap().to_string(), "-1.5");
    }

    #[test]
    fn results_beyond_the_precision_fail() {
        let e = add(&d("999.99"), &d("0.01"), 5, 2).unwrap_err();
        assert_eq!(e.kind(), SqlErrorKind::Overflow);
        assert!(e.message().contains("999.99 + 0.01"), "{e}");
        // Rounding up past the precision also fails.
        assert_eq!(fit(&d("99.995"), 4, 2).unwrap_err().kind(), SqlErrorKind::InvalidCast);
        assert_eq!(fit(&d("99.994"), 4, 2).unwrap().to_string(), "99.99");
    }

    #[test]
    fn division_by_zero_fails() {
        assert_eq!(div(&d("1"), &d("0.00"), 10, 2).unwrap_err().kind(), SqlErrorKind::DivisionByZero);
        assert_eq!(rem(&d("1"), &d("0"), 10, 2).unwrap_err().kind(), SqlErrorKind::DivisionByZero);
    }

    #[test]
    fn absurd_exponents_fail_without_allocating() {
        let tiny = d("1e-999999999");
        assert_eq!(add(&tiny, &d("1"), 10, 2).unwrap_err().kind(), SqlErrorKind::InvalidArgument);
        assert_eq!(div(&d("1"), &tiny, 10, 2).unwrap_err().kind(), SqlErrorKind::InvalidArgument);
        // A cast rounds it away (HALF_UP to 0) without scaling by 10^999999999.
        assert_eq!(to_str(&fit(&tiny, 10, 2).unwrap()), "0.00");
        assert_eq!(from_str("1e999999999", 10, 2).unwrap_err().kind(), SqlErrorKind::InvalidCast);
    }

    #[test]
    fn casts_from_and_to_other_types() {
        assert_eq!(from_int(42i32, 5, 2).unwrap().to_string(), "42.00");
        assert!(from_int(1000i32, 5, 2).is_err());
        // Java's BigDecimal.valueOf(0.1) is 0.1, not the binary expansion.
        assert_eq!(from_f64(0.1, 5, 3).unwrap().to_string(), "0.100");
        assert_eq!(from_f64(2.675, 5, 2).unwrap().to_string(), "2.68");
        assert!(from_f64(f64::NAN, 5, 2).is_err());
        assert_eq!(from_str(" 12.345 ", 5, 2).unwrap().to_string(), "12.35");
        assert_eq!(from_str("-12.345", 5, 2).unwrap().to_string(), "-12.35");
        assert!(from_str("12a", 5, 2).is_err());
        assert!(from_str("", 5, 2).is_err());
        assert_eq!(to_int::<i32>(&d("-12.9")), Ok(-12));
        assert_eq!(to_int::<i8>(&d("127.9")), Ok(127));
        assert!(to_int::<i8>(&d("128")).is_err());
        assert!(to_int::<i64>(&d("1e30")).is_err());
        assert_eq!(to_f64(&d("12.5")), 12.5);
        assert_eq!(to_str(&d("12.30")), "12.30");
        assert_eq!(to_str(&d("1.2E+3").with_scale(0)), "1200");
    }

    #[test]
    fn round_truncate_floor_ceil() {
        // Flink: ROUND(1.5) is 2, ROUND(-1.5) is -2 (HALF_UP).
        assert_eq!(round(&d("1.5"), 0, 2, 0).unwrap().to_string(), "2");
        assert_eq!(round(&d("-1.5"), 0, 2, 0).unwrap().to_string(), "-2");
        assert_eq!(round(&d("1234.5678"), -2, 6, 0).unwrap().to_string(), "1200");
        assert_eq!(round(&d("1250"), -2, 6, 0).unwrap().to_string(), "1300");
        assert_eq!(truncate(&d("-1.59"), 1, 3, 1).unwrap().to_string(), "-1.5");
        assert_eq!(floor(&d("-1.5"), 3).unwrap().to_string(), "-2");
        assert_eq!(ceil(&d("-1.5"), 3).unwrap().to_string(), "-1");
        assert_eq!(ceil(&d("1.2"), 3).unwrap().to_string(), "2");
        assert!(round(&d("9.5"), 0, 1, 0).is_err());
        assert_eq!(sign(&d("-3.20")).to_string(), "-1.00");
        assert_eq!(abs(&d("-3.20")).to_string(), "3.20");
    }
}
