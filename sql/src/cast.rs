//! `CAST` with Flink's cast matrix, one function per (from, to) family.
//! Failing casts return `Err` (the record fails, as Flink's `CAST` throws);
//! `TRY_CAST` is the same call with `.ok()` (NULL on failure, as Flink).
//!
//! Casts that cannot fail and are one Rust operator (integer widening,
//! integer → DOUBLE, FLOAT → DOUBLE) are emitted by the compiler as `as`/
//! `from` and have no function here. The text forms are Flink's:
//! booleans `TRUE`/`FALSE`… (see each function), dates `2024-01-02`,
//! times `03:04:05`, timestamps `2024-01-02 03:04:05.123`.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::arith::SqlInt;
use crate::error::SqlError;
use crate::text;

/// CAST(integer AS narrower integer): fails when out of range (Flink
/// wraps; this project fails the record).
#[inline]
pub fn int_to_int<F: SqlInt, T: SqlInt>(value: F) -> Result<T, SqlError> {
    T::try_from(value.into()).map_err(|_| SqlError::invalid_cast(value, T::SQL, "out of range"))
}

/// CAST(DOUBLE AS integer) (FLOAT widens to DOUBLE first): truncates toward
/// zero, as Flink; NaN, infinities and values out of range fail.
#[inline]
pub fn f64_to_int<T: SqlInt>(value: f64) -> Result<T, SqlError> {
    let fail = |reason| SqlError::invalid_cast(value, T::SQL, reason);
    if value.is_nan() {
        return Err(fail("not a number"));
    }
    let t = value.trunc();
    // 2^63 is exact in f64; any i64 range check must be strict above.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) {
        return Err(fail("out of range"));
    }
    T::try_from(t as i64).map_err(|_| fail("out of range"))
}

/// CAST(DOUBLE AS BIGINT): see [`f64_to_int`].
#[inline]
pub fn f64_to_i64(value: f64) -> Result<i64, SqlError> {
    f64_to_int(value)
}

/// CAST(DOUBLE AS INT): see [`f64_to_int`].
#[inline]
pub fn f64_to_i32(value: f64) -> Result<i32, SqlError> {
    f64_to_int(value)
}

/// CAST(DOUBLE AS FLOAT): the nearest float; a finite value beyond FLOAT's
/// range fails (it would become an infinity silently).
#[inline]
pub fn f64_to_f32(value: f64) -> Result<f32, SqlError> {
    let narrow = value as f32;
    if narrow.is_infinite() && value.is_finite() {
        return Err(SqlError::invalid_cast(value, "FLOAT", "out of range"));
    }
    Ok(narrow)
}

/// CAST(numeric AS BOOLEAN): zero is FALSE, anything else TRUE (Flink).
#[inline]
pub fn int_to_bool<T: SqlInt>(value: T) -> bool {
    value != T::default()
}

/// CAST(BOOLEAN AS numeric): TRUE is 1, FALSE 0 (Flink).
#[inline]
pub fn bool_to_int<T: SqlInt>(value: bool) -> T {
    T::try_from(i64::from(value)).unwrap_or_default()
}

/// CAST(STRING AS TINYINT/SMALLINT/INT/BIGINT): surrounding whitespace is
/// trimmed, an optional sign, digits, and (as Flink) an optional fraction
/// of digits that is dropped (`'1.9'` is 1); anything else, or a value out
/// of range, fails.
pub fn str_to_int<T: SqlInt>(text: &str) -> Result<T, SqlError> {
    let fail = |reason| SqlError::invalid_cast(text, T::SQL, reason);
    let wide = text::parse_integer(text.trim()).map_err(fail)?;
    T::try_from(wide).map_err(|_| fail("out of range"))
}

/// CAST(STRING AS TINYINT): see [`str_to_int`].
pub fn str_to_i8(text: &str) -> Result<i8, SqlError> {
    str_to_int(text)
}

/// CAST(STRING AS SMALLINT): see [`str_to_int`].
pub fn str_to_i16(text: &str) -> Result<i16, SqlError> {
    str_to_int(text)
}

/// CAST(STRING AS INT): see [`str_to_int`].
pub fn str_to_i32(text: &str) -> Result<i32, SqlError> {
    str_to_int(text)
}

/// CAST(STRING AS BIGINT): see [`str_to_int`].
pub fn str_to_i64(text: &str) -> Result<i64, SqlError> {
    str_to_int(text)
}

/// CAST(STRING AS DOUBLE): trimmed; decimal or exponent notation, `NaN`,
/// `Infinity`/`-Infinity` (Java's `Double.parseDouble`, as Flink).
pub fn str_to_f64(text: &str) -> Result<f64, SqlError> {
    text::parse_double(text.trim()).ok_or_else(|| SqlError::invalid_cast(text, "DOUBLE", "not a number"))
}

/// CAST(STRING AS FLOAT): as [`str_to_f64`], then to the nearest float.
pub fn str_to_f32(text: &str) -> Result<f32, SqlError> {
    let wide = text::parse_double(text.trim()).ok_or_else(|| SqlError::invalid_cast(text, "FLOAT", "not a number"))?;
    f64_to_f32(wide).map_err(|_| SqlError::invalid_cast(text, "FLOAT", "out of range"))
}

/// CAST(STRING AS BOOLEAN): trimmed, case-insensitive `true`/`t`/`yes`/
/// `y`/`1` and `false`/`f`/`no`/`n`/`0` (Flink's sets); anything else fails.
pub fn str_to_bool(text: &str) -> Result<bool, SqlError> {
    let t = text.trim();
    let is = |words: &[&str]| words.iter().any(|w| t.eq_ignore_ascii_case(w));
    if is(&["true", "t", "yes", "y", "1"]) {
        Ok(true)
    } else if is(&["false", "f", "no", "n", "0"]) {
        Ok(false)
    } else {
        Err(SqlError::invalid_cast(text, "BOOLEAN", "not a boolean (true/false, t/f, yes/no, y/n, 1/0)"))
    }
}

/// CAST(STRING AS DATE): trimmed `yyyy-M-d` (one or two digits for month
/// and day, as Flink); anything else, or no such day, fails.
pub fn str_to_date(text: &str) -> Result<NaiveDate, SqlError> {
    text::parse_date(text.trim()).map_err(|why| SqlError::invalid_cast(text, "DATE", why))
}

/// CAST(STRING AS TIME): trimmed `H:m[:s[.fraction]]`.
pub fn str_to_time(text: &str) -> Result<NaiveTime, SqlError> {
    text::parse_time(text.trim()).map_err(|why| SqlError::invalid_cast(text, "TIME", why))
}

/// CAST(STRING AS TIMESTAMP): trimmed `yyyy-M-d` optionally followed by a
/// space or `T` and a time as [`str_to_time`] (`2024-01-02 03:04:05.123`).
pub fn str_to_timestamp(text: &str) -> Result<NaiveDateTime, SqlError> {
    text::parse_timestamp(text.trim()).map_err(|why| SqlError::invalid_cast(text, "TIMESTAMP", why))
}

/// CAST(STRING AS BYTES/VARBINARY): the UTF-8 bytes.
pub fn str_to_bytes(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// CAST(BYTES AS STRING): the bytes decoded as UTF-8; invalid UTF-8 fails
/// (it would be replaced silently otherwise).
pub fn bytes_to_str(bytes: &[u8]) -> Result<String, SqlError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        SqlError::invalid_cast(format_args!("{} bytes", bytes.len()), "STRING", &format!("invalid UTF-8 at byte {at}"))
    })
}

/// CAST(BOOLEAN AS STRING): `TRUE` or `FALSE` (Flink's text form).
pub fn bool_to_str(value: bool) -> String {
    if value { "TRUE" } else { "FALSE" }.to_string()
}

/// CAST(integer AS STRING).
pub fn int_to_str<T: SqlInt>(value: T) -> String {
    value.to_string()
}

/// CAST(DOUBLE AS STRING): Java's `Double.toString`, as Flink: `1.0`,
/// `0.001`, `1.0E-4`, `1.23456789E7`, `NaN`, `Infinity`.
pub fn f64_to_str(value: f64) -> String {
    text::java_double(value, format!("{value:e}"))
}

/// CAST(FLOAT AS STRING): Java's `Float.toString` (the shortest digits of
/// the float, not of its widened double).
pub fn f32_to_str(value: f32) -> String {
    text::java_double(f64::from(value), format!("{value:e}"))
}

/// CAST(DATE AS STRING): `yyyy-MM-dd`.
pub fn date_to_str(value: NaiveDate) -> String {
    value.format("%Y-%m-%d").to_string()
}

/// CAST(TIME(precision) AS STRING): `HH:mm:ss` and, for precision > 0,
/// the fraction with at least `precision` digits (trailing zeros beyond it
/// dropped, as Flink).
pub fn time_to_str(value: NaiveTime, precision: u32) -> String {
    let mut out = value.format("%H:%M:%S").to_string();
    text::push_fraction(&mut out, chrono::Timelike::nanosecond(&value), precision);
    out
}

/// CAST(TIMESTAMP(precision) AS STRING): `yyyy-MM-dd HH:mm:ss` and the
/// fraction as [`time_to_str`] (`2024-01-02 03:04:05.123` for
/// TIMESTAMP(3)).
pub fn timestamp_to_str(value: &NaiveDateTime, precision: u32) -> String {
    let mut out = value.format("%Y-%m-%d %H:%M:%S").to_string();
    text::push_fraction(&mut out, chrono::Timelike::nanosecond(value), precision);
    out
}

/// CAST(TIMESTAMP AS DATE): the day.
pub fn timestamp_to_date(value: &NaiveDateTime) -> NaiveDate {
    value.date()
}

/// CAST(TIMESTAMP AS TIME): the time of day.
pub fn timestamp_to_time(value: &NaiveDateTime) -> NaiveTime {
    value.time()
}

/// CAST(DATE AS TIMESTAMP): midnight of the day.
pub fn date_to_timestamp(value: NaiveDate) -> NaiveDateTime {
    value.and_time(NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlErrorKind;

    #[test]
    fn integers_narrow_only_in_range() {
        assert_eq!(int_to_int::<i32, i8>(127), Ok(127i8));
        let e = int_to_int::<i32, i8>(300).unwrap_err();
        assert_eq!(e.kind(), SqlErrorKind::InvalidCast);
        assert_eq!(e.message(), "cannot cast '300' to TINYINT: out of range");
    }

    #[test]
    fn doubles_truncate_toward_zero() {
        assert_eq!(f64_to_i64(1.9), Ok(1));
        assert_eq!(f64_to_i64(-1.9), Ok(-1));
        assert_eq!(f64_to_i32(2147483647.9), Ok(i32::MAX));
        assert!(f64_to_i32(2147483648.0).is_err());
        assert!(f64_to_i64(9.3e18).is_err());
        assert_eq!(f64_to_i64(i64::MIN as f64), Ok(i64::MIN));
        assert!(f64_to_i64(f64::NAN).is_err());
        assert!(f64_to_i64(f64::INFINITY).is_err());
        assert!(f64_to_f32(1e300).is_err());
        assert_eq!(f64_to_f32(f64::INFINITY), Ok(f32::INFINITY));
    }

    #[test]
    fn strings_to_integers() {
        assert_eq!(str_to_i32(" 42 "), Ok(42));
        assert_eq!(str_to_i32("+42"), Ok(42));
        assert_eq!(str_to_i32("-42"), Ok(-42));
        // Flink drops a fraction of digits.
        assert_eq!(str_to_i32("1.9"), Ok(1));
        assert_eq!(str_to_i64("-9223372036854775808"), Ok(i64::MIN));
        assert!(str_to_i64("9223372036854775808").is_err());
        assert!(str_to_i8("128").is_err());
        for bad in ["", "abc", "1e3", "1.x", "--1", ".5", "1 2"] {
            let e = str_to_i32(bad).unwrap_err();
            assert_eq!(e.kind(), SqlErrorKind::InvalidCast, "{bad}");
        }
        // TRY_CAST is the same with .ok().
        assert_eq!(str_to_i32("abc").ok(), None);
    }

    #[test]
    fn strings_to_doubles_booleans_and_temporals() {
        assert_eq!(str_to_f64(" 1.5e3 "), Ok(1500.0));
        assert!(str_to_f64("NaN").unwrap().is_nan());
        assert_eq!(str_to_f64("-Infinity"), Ok(f64::NEG_INFINITY));
        assert!(str_to_f64("inf").is_err());
        assert!(str_to_f64("x").is_err());
        assert_eq!(str_to_bool(" TRUE "), Ok(true));
        assert_eq!(str_to_bool("y"), Ok(true));
        assert_eq!(str_to_bool("0"), Ok(false));
        assert!(str_to_bool("maybe").is_err());
        assert_eq!(str_to_date("2024-1-2"), Ok(NaiveDate::from_ymd_opt(2024, 1, 2).unwrap()));
        assert!(str_to_date("2024-02-30").is_err());
        assert!(str_to_date("2024/01/02").is_err());
        let ts = str_to_timestamp("2024-01-02 03:04:05.123").unwrap();
        assert_eq!(timestamp_to_str(&ts, 3), "2024-01-02 03:04:05.123");
        assert_eq!(
            str_to_timestamp("2024-01-02T03:04:05").unwrap(),
            NaiveDate::from_ymd_opt(2024, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap()
        );
        assert_eq!(str_to_timestamp("2024-01-02").unwrap().time(), NaiveTime::MIN);
        assert!(str_to_timestamp("2024-01-02 25:00:00").is_err());
        assert_eq!(str_to_time("03:04:05.5").unwrap(), NaiveTime::from_hms_milli_opt(3, 4, 5, 500).unwrap());
    }

    #[test]
    fn text_forms() {
        assert_eq!(bool_to_str(true), "TRUE");
        assert_eq!(int_to_str(-5i64), "-5");
        // Java's Double.toString.
        assert_eq!(f64_to_str(1.0), "1.0");
        assert_eq!(f64_to_str(-1.5), "-1.5");
        assert_eq!(f64_to_str(0.001), "0.001");
        assert_eq!(f64_to_str(0.0001), "1.0E-4");
        assert_eq!(f64_to_str(12345678.9), "1.23456789E7");
        assert_eq!(f64_to_str(1e10), "1.0E10");
        assert_eq!(f64_to_str(1234567.0), "1234567.0");
        assert_eq!(f64_to_str(100.0), "100.0");
        assert_eq!(f64_to_str(f64::NAN), "NaN");
        assert_eq!(f64_to_str(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f32_to_str(0.1), "0.1");
        let ts = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap().and_hms_milli_opt(3, 4, 5, 100).unwrap();
        assert_eq!(timestamp_to_str(&ts, 3), "2024-01-02 03:04:05.100");
        assert_eq!(timestamp_to_str(&ts, 0), "2024-01-02 03:04:05.1");
        assert_eq!(timestamp_to_str(&ts.with_nanosecond(0).unwrap(), 0), "2024-01-02 03:04:05");
        assert_eq!(date_to_str(ts.date()), "2024-01-02");
        assert_eq!(time_to_str(ts.time(), 0), "03:04:05.1");
    }

    #[test]
    fn bytes_and_booleans() {
        assert_eq!(bytes_to_str(b"abc"), Ok("abc".to_string()));
        let e = bytes_to_str(&[0x61, 0xff]).unwrap_err();
        assert!(e.message().contains("invalid UTF-8 at byte 1"), "{e}");
        assert_eq!(str_to_bytes("é"), vec![0xc3, 0xa9]);
        assert!(int_to_bool(-3i32));
        assert!(!int_to_bool(0i64));
        assert_eq!(bool_to_int::<i8>(true), 1);
    }

    use chrono::Timelike as _;
}
