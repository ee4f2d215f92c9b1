//! Text forms shared by the formats: decimals, dates, times, timestamps,
//! and the length checks of sized types.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

use super::{DataType, EncodeError};
use crate::config::TimestampStandard;

pub fn check_str(s: &str, dt: &DataType) -> Result<(), String> {
    match dt {
        DataType::Varchar(n) | DataType::Char(n) => {
            let len = s.chars().count();
            if len > *n as usize {
                return Err(format!(
                    "{len} characters do not fit {}({n})",
                    if matches!(dt, DataType::Char(_)) { "CHAR" } else { "VARCHAR" }
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

pub fn check_bytes(b: &[u8], dt: &DataType) -> Result<(), String> {
    match dt {
        DataType::Varbinary(n) | DataType::Binary(n) if b.len() > *n as usize => Err(format!("{} bytes do not fit {dt:?}", b.len())),
        _ => Ok(()),
    }
}

/// Checks a decimal against DECIMAL(p, s) and returns it at scale `s`.
/// A value needing more digits is an error, never rounded.
pub fn fit_decimal(d: &BigDecimal, dt: &DataType) -> Result<BigDecimal, String> {
    fit_decimal_shown(d, dt, &super::echo(&d.to_string()))
}

/// [`fit_decimal`], naming the value `shown` in its errors.
fn fit_decimal_shown(d: &BigDecimal, dt: &DataType, shown: &dyn std::fmt::Display) -> Result<BigDecimal, String> {
    let DataType::Decimal { precision, scale } = *dt else { return Ok(d.clone()) };
    // Decide from the digit count and exponent first: rescaling a value like
    // `1e2000000000` would build a two-billion-digit number.
    let (digits, frac) = (d.digits() as i64, d.fractional_digit_count());
    let zero = d.sign() == bigdecimal::num_bigint::Sign::NoSign;
    if zero {
        return Ok(BigDecimal::new(0.into(), scale as i64));
    }
    if digits - frac > precision as i64 - scale as i64 {
        return Err(format!("{shown} has more than {} digits before the point of DECIMAL({precision}, {scale})", precision - scale));
    }
    if frac > scale as i64 + digits {
        return Err(format!("{shown} has more than {scale} digits after the point of DECIMAL({precision}, {scale})"));
    }
    let scaled = d.with_scale(scale as i64);
    if &scaled != d {
        return Err(format!("{shown} has more than {scale} digits after the point of DECIMAL({precision}, {scale})"));
    }
    let (digits, _) = scaled.as_bigint_and_exponent();
    let len = digits.magnitude().to_string().len();
    if digits.magnitude().to_string() != "0" && len > precision as usize {
        return Err(format!("{shown} has more than {precision} digits for DECIMAL({precision}, {scale})"));
    }
    Ok(scaled)
}

pub fn decimal_text(d: &BigDecimal, dt: &DataType, scientific: bool) -> Result<String, EncodeError> {
    let v = fit_decimal(d, dt).map_err(EncodeError::new)?;
    Ok(if scientific { v.to_scientific_notation() } else { v.to_plain_string() })
}

/// The most digits a DECIMAL holds (DECIMAL(38)).
const MAX_DECIMAL_DIGITS: usize = 38;

/// Parses a decimal (`[+-]digits[.digits][(e|E)[+-]digits]`, at least one
/// mantissa digit) and fits it to DECIMAL(p, s) (see [`fit_decimal`]).
///
/// The text is scanned once without building a number: leading and trailing
/// zeros are dropped and a value with more significant digits than the
/// precision (at most 38) is refused then. Only the remaining few digits are
/// turned into a number, so the time is linear in the text's length
/// (big-number parsing of a 1 MB mantissa is quadratic).
pub fn parse_decimal(s: &str, dt: &DataType) -> Result<BigDecimal, String> {
    let shown = super::echo(s);
    let not = || format!("`{shown}` is not a decimal");
    let b = s.trim().as_bytes();
    let mut i = 0;
    // An optional sign at `i`: whether it is `-`.
    let sign = |i: &mut usize| match b.get(*i) {
        Some(b'-') => {
            *i += 1;
            true
        }
        Some(b'+') => {
            *i += 1;
            false
        }
        _ => false,
    };
    let negative = sign(&mut i);
    let digits_from = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        &b[start..*i]
    };
    let int = digits_from(&mut i);
    let frac = if b.get(i) == Some(&b'.') {
        i += 1;
        digits_from(&mut i)
    } else {
        &[][..]
    };
    if int.is_empty() && frac.is_empty() {
        return Err(not());
    }
    // The exponent, saturated far beyond any DECIMAL's range.
    const FAR: i64 = 1 << 50;
    let mut exp: i64 = 0;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let neg_exp = sign(&mut i);
        let e = digits_from(&mut i);
        if e.is_empty() {
            return Err(not());
        }
        for d in e {
            exp = (exp * 10 + i64::from(d - b'0')).min(FAR);
        }
        if neg_exp {
            exp = -exp;
        }
    }
    if i != b.len() {
        return Err(not());
    }
    // The significant digits: the mantissa's digits without leading and
    // trailing zeros, and the power of ten of the last one.
    let all = || int.iter().chain(frac);
    let leading = all().take_while(|&&d| d == b'0').count();
    let total = int.len() + frac.len();
    if leading == total {
        return fit_decimal_shown(&BigDecimal::from(0), dt, &shown);
    }
    let trailing = all().rev().take_while(|&&d| d == b'0').count();
    let significant = total - leading - trailing;
    let max = match dt {
        DataType::Decimal { precision, .. } => *precision as usize,
        _ => MAX_DECIMAL_DIGITS,
    };
    if significant > max {
        return Err(format!("`{shown}` has {significant} significant digits, more than DECIMAL({max}) holds"));
    }
    let text: String = all().skip(leading).take(significant).map(|&d| d as char).collect();
    let mantissa: bigdecimal::num_bigint::BigInt = text.parse().map_err(|_| not())?;
    let last_digit_power = (exp - frac.len() as i64 + trailing as i64).clamp(-FAR, FAR);
    let d = BigDecimal::new(if negative { -mantissa } else { mantissa }, -last_digit_power);
    fit_decimal_shown(&d, dt, &shown)
}

fn precision_of(dt: &DataType) -> u8 {
    match dt {
        DataType::Time(p) | DataType::Timestamp(p) | DataType::TimestampLtz(p) => *p,
        _ => 9,
    }
}

fn check_nanos(nanos: u32, p: u8) -> Result<(), String> {
    let unit = 10u32.pow(9 - p.min(9) as u32);
    if !nanos.is_multiple_of(unit) {
        return Err(format!("the value has more sub-second digits than precision {p} holds"));
    }
    Ok(())
}

fn push_fraction(out: &mut String, nanos: u32, p: u8) {
    if p == 0 {
        return;
    }
    out.push('.');
    let mut n = nanos % 1_000_000_000;
    let mut digits = [b'0'; 9];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for &d in &digits[..(p as usize).min(9)] {
        out.push(d as char);
    }
}

fn push_2(out: &mut String, v: u32) {
    out.push((b'0' + (v / 10 % 10) as u8) as char);
    out.push((b'0' + (v % 10) as u8) as char);
}

/// `yyyy-MM-dd` for the years 0 to 9999 without going through a format
/// string; `false` (nothing written) for other years.
fn push_date(out: &mut String, d: &NaiveDate) -> bool {
    let y = d.year();
    if !(0..=9999).contains(&y) {
        return false;
    }
    push_2(out, y as u32 / 100);
    push_2(out, y as u32 % 100);
    out.push('-');
    push_2(out, d.month());
    out.push('-');
    push_2(out, d.day());
    true
}

fn push_hms(out: &mut String, t: &NaiveTime) {
    push_2(out, t.hour());
    out.push(':');
    push_2(out, t.minute());
    out.push(':');
    // A leap second (nanoseconds ≥ 1e9) shows as second 60, as chrono does.
    push_2(out, t.second() + t.nanosecond() / 1_000_000_000);
}

/// The value of `b` as decimal digits, if it is only digits.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
}

/// `yyyy-MM-dd` exactly, or `None` (the caller then asks chrono, which also
/// accepts the rarer forms and words the error).
fn fast_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(digits(&b[..4])? as i32, digits(&b[5..7])?, digits(&b[8..])?)
}

/// `HH:mm:ss` with an optional `.` and 1 to 9 digits, or `None`.
fn fast_time(b: &[u8]) -> Option<NaiveTime> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let nanos = match &b[8..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => digits(frac)? * 10u32.pow(9 - frac.len() as u32),
        _ => return None,
    };
    let (h, m, sec) = (digits(&b[..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    if sec > 59 {
        return None;
    }
    NaiveTime::from_hms_nano_opt(h, m, sec, nanos)
}

/// `yyyy-MM-dd HH:mm:ss[.f…]` (or with `T`), or `None`.
fn fast_timestamp(b: &[u8]) -> Option<NaiveDateTime> {
    if b.len() < 19 || !matches!(b[10], b' ' | b'T') {
        return None;
    }
    Some(fast_date(&b[..10])?.and_time(fast_time(&b[11..])?))
}

pub fn date_text(d: &NaiveDate) -> String {
    let mut s = String::with_capacity(10);
    if !push_date(&mut s, d) {
        return d.format("%Y-%m-%d").to_string();
    }
    s
}

pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    if let Some(d) = fast_date(s.as_bytes()) {
        return Ok(d);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("`{}` is not a date (yyyy-MM-dd): {e}", super::echo(s)))
}

pub fn time_text(t: &NaiveTime, dt: &DataType) -> Result<String, EncodeError> {
    let p = precision_of(dt);
    check_nanos(t.nanosecond(), p).map_err(EncodeError::new)?;
    let mut s = String::with_capacity(18);
    push_hms(&mut s, t);
    push_fraction(&mut s, t.nanosecond(), p);
    Ok(s)
}

pub fn parse_time(s: &str, dt: &DataType) -> Result<NaiveTime, String> {
    let t = match fast_time(s.as_bytes()) {
        Some(t) => t,
        None => {
            NaiveTime::parse_from_str(s, "%H:%M:%S%.f").map_err(|e| format!("`{}` is not a time (HH:mm:ss[.fff]): {e}", super::echo(s)))?
        }
    };
    check_nanos(t.nanosecond(), precision_of(dt))?;
    Ok(t)
}

pub fn timestamp_text(t: &NaiveDateTime, dt: &DataType, std: TimestampStandard) -> Result<String, EncodeError> {
    let p = precision_of(dt);
    check_nanos(t.nanosecond(), p).map_err(EncodeError::new)?;
    let mut s = String::with_capacity(30);
    if push_date(&mut s, &t.date()) {
        s.push(if std == TimestampStandard::Iso8601 { 'T' } else { ' ' });
        push_hms(&mut s, &t.time());
    } else {
        s = t.format(if std == TimestampStandard::Iso8601 { "%Y-%m-%dT%H:%M:%S" } else { "%Y-%m-%d %H:%M:%S" }).to_string();
    }
    push_fraction(&mut s, t.nanosecond(), p);
    Ok(s)
}

pub fn parse_timestamp(s: &str, dt: &DataType) -> Result<NaiveDateTime, String> {
    let t = match fast_timestamp(s.as_bytes()) {
        Some(t) => t,
        None => NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
            .map_err(|e| format!("`{}` is not a timestamp (yyyy-MM-dd HH:mm:ss[.fff]): {e}", super::echo(s)))?,
    };
    check_nanos(t.nanosecond(), precision_of(dt))?;
    Ok(t)
}

pub fn timestamp_ltz_text(t: &DateTime<Utc>, dt: &DataType, std: TimestampStandard) -> Result<String, EncodeError> {
    let mut s = timestamp_text(&t.naive_utc(), dt, std)?;
    s.push('Z');
    Ok(s)
}

pub fn parse_timestamp_ltz(s: &str, dt: &DataType) -> Result<DateTime<Utc>, String> {
    if let Some(t) = s.strip_suffix('Z').and_then(|n| fast_timestamp(n.as_bytes())) {
        check_nanos(t.nanosecond(), precision_of(dt))?;
        return Ok(t.and_utc());
    }
    let t = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .or_else(|_| DateTime::parse_from_str(&s.replacen('T', " ", 1), "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| s.strip_suffix('Z').ok_or(()).and_then(|n| parse_timestamp(n, dt).map(|n| n.and_utc()).map_err(|_| ())))
        .map_err(|_| format!("`{}` is not a timestamp with a zone (yyyy-MM-dd HH:mm:ss[.fff]Z)", super::echo(s)))?;
    check_nanos(t.nanosecond(), precision_of(dt))?;
    Ok(t)
}

pub fn float_text(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        out.push_str(ryu::Buffer::new().format_finite(f));
    }
}

pub fn parse_float(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => s.trim().parse::<f64>().map_err(|_| format!("`{}` is not a number", super::echo(s))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_date_and_time_paths_agree_with_chrono() {
        let mut rng = fastrand::Rng::with_seed(3);
        let ts = DataType::Timestamp(9);
        for _ in 0..20_000 {
            let secs = rng.i64(-62_135_596_800..253_402_300_799); // years 1 to 9999
            let nanos = match rng.u8(..3) {
                0 => 0,
                1 => rng.u32(..1000) * 1_000_000,
                _ => rng.u32(..1_000_000_000),
            };
            let t = DateTime::from_timestamp(secs, nanos).unwrap().naive_utc();
            for std in [TimestampStandard::Sql, TimestampStandard::Iso8601] {
                let fmt = if std == TimestampStandard::Iso8601 { "%Y-%m-%dT%H:%M:%S%.9f" } else { "%Y-%m-%d %H:%M:%S%.9f" };
                let text = timestamp_text(&t, &ts, std).unwrap();
                assert_eq!(text, t.format(fmt).to_string());
                assert_eq!(parse_timestamp(&text, &ts).unwrap(), t);
                assert_eq!(NaiveDateTime::parse_from_str(&text, fmt).unwrap(), t);
            }
            assert_eq!(date_text(&t.date()), t.date().format("%Y-%m-%d").to_string());
            assert_eq!(parse_date(&date_text(&t.date())).unwrap(), t.date());
            let tt = t.time();
            assert_eq!(time_text(&tt, &DataType::Time(9)).unwrap(), tt.format("%H:%M:%S%.9f").to_string());
            assert_eq!(parse_time(&time_text(&tt, &DataType::Time(9)).unwrap(), &DataType::Time(9)).unwrap(), tt);
            let ltz = format!("{}Z", timestamp_text(&t, &ts, TimestampStandard::Sql).unwrap());
            assert_eq!(parse_timestamp_ltz(&ltz, &ts).unwrap(), t.and_utc());
        }
        // Shapes the fast path leaves to chrono, with the same results.
        assert_eq!(parse_date("2024-2-9").unwrap(), NaiveDate::from_ymd_opt(2024, 2, 9).unwrap());
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_timestamp("2024-01-01 24:00:00", &ts).is_err());
        assert!(parse_timestamp("2024-01-01 10:00:00.", &ts).is_err());
        assert_eq!(
            parse_timestamp("2024-01-01 10:00:00.1234567891", &ts).ok(),
            NaiveDateTime::parse_from_str("2024-01-01 10:00:00.1234567891", "%Y-%m-%d %H:%M:%S%.f").ok()
        );
        assert!(parse_time("10:00:00.1234", &DataType::Time(3)).is_err(), "more digits than TIME(3) holds");
        let far = NaiveDate::from_ymd_opt(12_345, 1, 2).unwrap();
        assert_eq!(date_text(&far), far.format("%Y-%m-%d").to_string());
    }

    #[test]
    fn huge_exponents_are_refused_without_expanding_them() {
        let dt = DataType::Decimal { precision: 10, scale: 2 };
        // Expanding either would build a number with two billion digits.
        assert!(parse_decimal("1e2000000000", &dt).unwrap_err().contains("before the point"));
        assert!(parse_decimal("1e-2000000000", &dt).unwrap_err().contains("after the point"));
        assert!(parse_decimal("-7e2000000000", &dt).is_err());
        // Ordinary values still fit, trailing zeros and exponents included.
        assert_eq!(parse_decimal("12345678.90", &dt).unwrap().to_string(), "12345678.90");
        assert_eq!(parse_decimal("1.5000", &dt).unwrap().to_string(), "1.50");
        assert_eq!(parse_decimal("15e-1", &dt).unwrap().to_string(), "1.50");
        assert_eq!(parse_decimal("0e-2000000000", &dt).unwrap(), BigDecimal::from(0));
        assert!(parse_decimal("123456789.00", &dt).is_err());
        assert!(parse_decimal("1.005", &dt).is_err());
    }

    #[test]
    fn long_decimals_are_refused_before_building_a_number() {
        let dt = DataType::Decimal { precision: 38, scale: 10 };
        // A 1 MB mantissa with a matching negative exponent (a value near 1):
        // refused by its digit count, with a short message.
        let long = format!("{}e-999999", "1234567890".repeat(100_000));
        let e = parse_decimal(&long, &dt).unwrap_err();
        assert!(e.contains("has 999999 significant digits, more than DECIMAL(38) holds"), "{e}");
        assert!(e.len() < 300, "{} bytes: {e}", e.len());
        assert!(e.starts_with("`1234567890123456789012345678901234567890123456789012345678901234… (1000008 bytes in all)`"), "{e}");
        // The precision of the column counts, not 38.
        let small = DataType::Decimal { precision: 5, scale: 2 };
        assert!(parse_decimal("1.23456", &small).unwrap_err().contains("more than DECIMAL(5)"));
        // Zeros around the significant digits are not digits of the value,
        // however many there are.
        let zeros = "0".repeat(1 << 20);
        assert_eq!(parse_decimal(&format!("{zeros}1.5{zeros}"), &dt).unwrap().to_string(), "1.5000000000");
        assert_eq!(parse_decimal(&format!("-{zeros}.{zeros}"), &dt).unwrap(), BigDecimal::from(0));
        assert_eq!(parse_decimal(&format!("15{zeros}e-{}", (1 << 20) + 1), &dt).unwrap().to_string(), "1.5000000000");
        // A huge exponent saturates and is refused by the range check.
        let e = parse_decimal(&format!("1e{}", "9".repeat(1 << 20)), &dt).unwrap_err();
        assert!(e.contains("digits before the point") && e.len() < 300, "{e}");
        assert!(parse_decimal(&format!("1e-{}", "9".repeat(1 << 20)), &dt).unwrap_err().contains("digits after the point"));
        // The accepted forms, and what is not a decimal.
        for (text, value) in [
            ("+1", "1.0000000000"),
            (" -2.5 ", "-2.5000000000"),
            (".5", "0.5000000000"),
            ("5.", "5.0000000000"),
            ("1E+2", "100.0000000000"),
            ("-0", "0"),
        ] {
            assert_eq!(parse_decimal(text, &dt).map(|d| d.to_string()).as_deref(), Ok(value), "{text}");
        }
        for bad in ["", "-", ".", "e5", "1e", "1e+", "1.2.3", "1_0", "0x10", "1 2", "NaN", "--1", "١"] {
            assert!(parse_decimal(bad, &dt).unwrap_err().ends_with("is not a decimal"), "{bad:?}");
        }
    }
}
