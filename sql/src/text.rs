//! Text forms shared by casts, `TO_DATE`/`TO_TIMESTAMP` and the string
//! functions: parsing numbers, dates and times the way Flink does, and
//! Java's `Double.toString`.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// An integer as Flink's string → integer cast reads it (already
/// trimmed): `[+-]digits[.digits]`, the fraction dropped.
pub(crate) fn parse_integer(t: &str) -> Result<i64, &'static str> {
    let (negative, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((w, f)) => (w, f),
        None => (rest, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not an integer");
    }
    let mut value: i64 = 0;
    for b in whole.bytes() {
        // Accumulated negative so that MIN parses.
        let digit = i64::from(b - b'0');
        value = value.checked_mul(10).and_then(|v| v.checked_sub(digit)).ok_or("out of range")?;
    }
    if negative { Ok(value) } else { value.checked_neg().ok_or("out of range") }
}

/// A double as Java's `Double.parseDouble` reads it (already trimmed):
/// decimal or exponent notation, `NaN`, `[+-]Infinity`.
pub(crate) fn parse_double(t: &str) -> Option<f64> {
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    match unsigned {
        "NaN" => return if unsigned.len() == t.len() { Some(f64::NAN) } else { None },
        "Infinity" => return Some(if t.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY }),
        _ => {}
    }
    // Rust also reads `inf`, `nan` and `infinity` in any case: Java does not.
    let numeric = unsigned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !numeric || !unsigned.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Java's `Double.toString` of `value`, from Rust's shortest round-trip
/// digits in exponent form (`sci`, e.g. `1.2345e7`): plain between 10^-3
/// and 10^7, else `d.dddE±n`; always a fraction digit.
pub(crate) fn java_double(value: f64, sci: String) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-3..7).contains(&exponent) {
        let point = exponent + 1;
        let (whole, fraction) = if point <= 0 {
            (String::from("0"), format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)))
        } else if point as usize >= digits.len() {
            (format!("{digits}{}", "0".repeat(point as usize - digits.len())), String::new())
        } else {
            (digits[..point as usize].to_string(), digits[point as usize..].to_string())
        };
        let fraction = if fraction.is_empty() { "0".to_string() } else { fraction };
        format!("{sign}{whole}.{fraction}")
    } else {
        let rest = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{rest}E{exponent}", &digits[..1])
    }
}

/// Appends `.fraction` for a time's `nanos` with at least `precision`
/// digits, trailing zeros beyond `precision` dropped (nothing when both
/// are zero).
pub(crate) fn push_fraction(out: &mut String, nanos: u32, precision: u32) {
    let nanos = nanos % 1_000_000_000; // a leap second's extra second is not shown
    let digits = format!("{nanos:09}");
    let keep = digits.trim_end_matches('0').len().max(precision.min(9) as usize);
    if keep > 0 {
        out.push('.');
        out.push_str(&digits[..keep]);
    }
}

/// A date `yyyy-M-d` (already trimmed).
pub(crate) fn parse_date(t: &str) -> Result<NaiveDate, &'static str> {
    let mut parts = t.splitn(3, '-');
    let (y, m, d) = match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => (y, m, d),
        _ => return Err("not a date (yyyy-MM-dd)"),
    };
    let number = |s: &str, max: usize| {
        if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) { None } else { s.parse::<u32>().ok() }
    };
    match (number(y, 4), number(m, 2), number(d, 2)) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d).ok_or("no such day"),
        _ => Err("not a date (yyyy-MM-dd)"),
    }
}

/// A time `H:m[:s[.fraction]]` (already trimmed), up to nine fraction
/// digits.
pub(crate) fn parse_time(t: &str) -> Result<NaiveTime, &'static str> {
    const FORM: &str = "not a time (HH:mm:ss[.fraction])";
    let (hms, fraction) = match t.split_once('.') {
        Some((a, f)) => (a, f),
        None => (t, ""),
    };
    let field = |s: &str| {
        if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) { None } else { s.parse::<u32>().ok() }
    };
    let mut parts = hms.split(':');
    let h = parts.next().and_then(field).ok_or(FORM)?;
    let m = parts.next().and_then(field).ok_or(FORM)?;
    let s = match parts.next() {
        Some(s) => field(s).ok_or(FORM)?,
        None if fraction.is_empty() => 0,
        None => return Err(FORM),
    };
    if parts.next().is_some() || fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FORM);
    }
    let nanos = if fraction.is_empty() { 0 } else { format!("{fraction:0<9}").parse::<u32>().map_err(|_| FORM)? };
    NaiveTime::from_hms_nano_opt(h, m, s, nanos).ok_or("no such time of day")
}

/// A timestamp `yyyy-M-d[( |T)time]` (already trimmed).
pub(crate) fn parse_timestamp(t: &str) -> Result<NaiveDateTime, &'static str> {
    match t.find([' ', 'T']) {
        Some(i) => Ok(parse_date(&t[..i])?.and_time(parse_time(t[i + 1..].trim_start())?)),
        None => Ok(parse_date(t)?.and_time(NaiveTime::MIN)),
    }
}
