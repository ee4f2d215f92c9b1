//! Text forms shared by the formats: decimals, dates, times, timestamps,
//! and the length checks of sized types.

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

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
    let DataType::Decimal { precision, scale } = *dt else { return Ok(d.clone()) };
    // Decide from the digit count and exponent first: rescaling a value like
    // `1e2000000000` would build a two-billion-digit number.
    let (digits, frac) = (d.digits() as i64, d.fractional_digit_count());
    let zero = d.sign() == bigdecimal::num_bigint::Sign::NoSign;
    if zero {
        return Ok(BigDecimal::new(0.into(), scale as i64));
    }
    if digits - frac > precision as i64 - scale as i64 {
        return Err(format!("{d} has more than {} digits before the point of DECIMAL({precision}, {scale})", precision - scale));
    }
    if frac > scale as i64 + digits {
        return Err(format!("{d} has more than {scale} digits after the point of DECIMAL({precision}, {scale})"));
    }
    let scaled = d.with_scale(scale as i64);
    if &scaled != d {
        return Err(format!("{d} has more than {scale} digits after the point of DECIMAL({precision}, {scale})"));
    }
    let (digits, _) = scaled.as_bigint_and_exponent();
    let len = digits.magnitude().to_string().len();
    if digits.magnitude().to_string() != "0" && len > precision as usize {
        return Err(format!("{d} has more than {precision} digits for DECIMAL({precision}, {scale})"));
    }
    Ok(scaled)
}

pub fn decimal_text(d: &BigDecimal, dt: &DataType, scientific: bool) -> Result<String, EncodeError> {
    let v = fit_decimal(d, dt).map_err(EncodeError::new)?;
    Ok(if scientific { v.to_scientific_notation() } else { v.to_plain_string() })
}

pub fn parse_decimal(s: &str, dt: &DataType) -> Result<BigDecimal, String> {
    let d: BigDecimal = s.trim().parse().map_err(|_| format!("`{s}` is not a decimal"))?;
    fit_decimal(&d, dt)
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
    let digits = format!("{:09}", nanos % 1_000_000_000);
    out.push('.');
    out.push_str(&digits[..p as usize]);
}

pub fn date_text(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("`{s}` is not a date (yyyy-MM-dd): {e}"))
}

pub fn time_text(t: &NaiveTime, dt: &DataType) -> Result<String, EncodeError> {
    let p = precision_of(dt);
    check_nanos(t.nanosecond(), p).map_err(EncodeError::new)?;
    let mut s = t.format("%H:%M:%S").to_string();
    push_fraction(&mut s, t.nanosecond(), p);
    Ok(s)
}

pub fn parse_time(s: &str, dt: &DataType) -> Result<NaiveTime, String> {
    let t = NaiveTime::parse_from_str(s, "%H:%M:%S%.f").map_err(|e| format!("`{s}` is not a time (HH:mm:ss[.fff]): {e}"))?;
    check_nanos(t.nanosecond(), precision_of(dt))?;
    Ok(t)
}

pub fn timestamp_text(t: &NaiveDateTime, dt: &DataType, std: TimestampStandard) -> Result<String, EncodeError> {
    let p = precision_of(dt);
    check_nanos(t.nanosecond(), p).map_err(EncodeError::new)?;
    let mut s = t.format(if std == TimestampStandard::Iso8601 { "%Y-%m-%dT%H:%M:%S" } else { "%Y-%m-%d %H:%M:%S" }).to_string();
    push_fraction(&mut s, t.nanosecond(), p);
    Ok(s)
}

pub fn parse_timestamp(s: &str, dt: &DataType) -> Result<NaiveDateTime, String> {
    let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .map_err(|e| format!("`{s}` is not a timestamp (yyyy-MM-dd HH:mm:ss[.fff]): {e}"))?;
    check_nanos(t.nanosecond(), precision_of(dt))?;
    Ok(t)
}

pub fn timestamp_ltz_text(t: &DateTime<Utc>, dt: &DataType, std: TimestampStandard) -> Result<String, EncodeError> {
    let mut s = timestamp_text(&t.naive_utc(), dt, std)?;
    s.push('Z');
    Ok(s)
}

pub fn parse_timestamp_ltz(s: &str, dt: &DataType) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .or_else(|_| DateTime::parse_from_str(&s.replacen('T', " ", 1), "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| s.strip_suffix('Z').ok_or(()).and_then(|n| parse_timestamp(n, dt).map(|n| n.and_utc()).map_err(|_| ())))
        .map_err(|_| format!("`{s}` is not a timestamp with a zone (yyyy-MM-dd HH:mm:ss[.fff]Z)"))?;
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
        _ => s.trim().parse::<f64>().map_err(|_| format!("`{s}` is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
