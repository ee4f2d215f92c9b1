//! The `json` format. Records are JSON objects keyed by column name; values
//! follow Flink's JSON format (base64 bytes, SQL or ISO-8601 timestamps).
//! Non-finite floats are written as the strings `"NaN"`, `"Infinity"` and
//! `"-Infinity"` instead of being turned into `null`.
//!
//! Reading goes through [`JsonReader`] (no serde visitor): generated code
//! matches field names as bytes, strings are borrowed when they have no
//! escapes, and unknown fields are skipped with their syntax checked.

pub mod reader;

use std::collections::BTreeMap;

use base64::Engine as _;
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::key::MapKey;
use super::text;
use super::{DataType, EncodeError, ReadError};
use crate::config::{JsonOptions, TimestampStandard};
pub use reader::JsonReader;

/// The format options generated code passes to every value.
#[derive(Debug, Clone, Copy)]
pub struct JsonCx {
    pub timestamp_standard: TimestampStandard,
    pub decimal_as_plain_number: bool,
    pub ignore_null_fields: bool,
    pub fail_on_missing_field: bool,
}

impl JsonCx {
    pub const fn from_options(o: &JsonOptions) -> Self {
        JsonCx {
            timestamp_standard: o.timestamp_standard,
            decimal_as_plain_number: o.decimal_as_plain_number,
            ignore_null_fields: o.ignore_null_fields,
            fail_on_missing_field: o.fail_on_missing_field,
        }
    }
}

/// A value that can be a JSON field.
pub trait JsonField: Sized {
    fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &JsonCx) -> Result<(), EncodeError>;
    fn read_json(r: &mut JsonReader<'_>, dt: &'static DataType, cx: &JsonCx) -> Result<Self, ReadError>;
    /// Whether this is SQL NULL.
    fn is_null(&self) -> bool {
        false
    }
    /// The value of a field missing from the input, if that is allowed.
    fn missing(_cx: &JsonCx) -> Option<Self> {
        None
    }
}

/// Writes a JSON string literal.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Reads one field of an object, naming it in any error.
#[inline]
pub fn read_field<T: JsonField>(r: &mut JsonReader<'_>, column: &str, dt: &'static DataType, cx: &JsonCx) -> Result<T, ReadError> {
    T::read_json(r, dt, cx).map_err(|e| e.in_field(column))
}

/// Skips the value of a field the table does not have (Flink ignores them).
#[inline]
pub fn skip_field(r: &mut JsonReader<'_>, name: &[u8]) -> Result<(), ReadError> {
    r.skip_unknown(name)
}

/// The error for a field that appears twice in one object.
pub fn duplicate(r: &JsonReader<'_>, column: &str) -> ReadError {
    r.error(format!("field `{column}` appears twice"))
}

/// The value of a field absent from the object, or the error saying so.
pub fn absent<T: JsonField>(r: &JsonReader<'_>, column: &str, cx: &JsonCx) -> Result<T, ReadError> {
    T::missing(cx).ok_or_else(|| r.error(format!("missing field `{column}`")))
}

/// Decodes a whole record with the fast reader, rejecting trailing data.
pub fn decode_record<T: JsonField>(data: &[u8], cx: &JsonCx) -> Result<T, super::DecodeError> {
    let mut r = JsonReader::new(data);
    let v = T::read_json(&mut r, &DataType::Row, cx).and_then(|v| r.end().map(|_| v));
    v.map_err(|e| e.into_decode("field"))
}

/// Encodes a whole record.
pub fn encode_record<T: JsonField>(v: &T, cx: &JsonCx) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    v.write_json(&mut out, &DataType::Row, cx)?;
    Ok(out)
}

fn at<T>(start: usize, res: Result<T, String>) -> Result<T, ReadError> {
    res.map_err(|m| ReadError::new(start, m))
}

impl JsonField for bool {
    fn write_json(&self, out: &mut Vec<u8>, _: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
        Ok(())
    }
    #[inline]
    fn read_json(r: &mut JsonReader<'_>, _: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        r.read_bool()
    }
}

macro_rules! int_json {
    ($($t:ty => $sql:literal),*) => {$(
        impl JsonField for $t {
            #[inline]
            fn write_json(&self, out: &mut Vec<u8>, _: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
                out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
                Ok(())
            }
            #[inline]
            fn read_json(r: &mut JsonReader<'_>, _: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
                let start = r.offset();
                let v = r.read_i64()?;
                <$t>::try_from(v).map_err(|_| ReadError::new(start, format!("{v} is out of range for {}", $sql)))
            }
        }
    )*};
}
int_json!(i8 => "TINYINT", i16 => "SMALLINT", i32 => "INT", i64 => "BIGINT");

fn write_float(out: &mut Vec<u8>, f: f64, as_f32: Option<f32>) {
    if f.is_finite() {
        match as_f32 {
            Some(x) => out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes()),
            None => out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes()),
        }
    } else {
        let mut s = String::new();
        text::float_text(f, &mut s);
        write_str(out, &s);
    }
}

fn read_float(r: &mut JsonReader<'_>) -> Result<f64, ReadError> {
    let start = r.offset();
    if r.peek() == Some(b'"') {
        let s = r.read_str()?;
        return match &*s {
            "NaN" | "Infinity" | "-Infinity" => at(start, text::parse_float(&s)),
            _ => Err(ReadError::new(start, format!("`{}` is not a number", super::echo(&s)))),
        };
    }
    let t = r.number_text().map_err(|_| r.expected("a number, \"NaN\", \"Infinity\" or \"-Infinity\""))?;
    if let Some(v) = fast_float(t) {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(ReadError::new(start, format!("{} is out of range for DOUBLE", super::echo(t)))),
    }
}

/// Clinger's fast path: a number whose digits fit 2^53 and whose decimal
/// exponent is within ±22 is one exact multiplication or division by an
/// exact power of ten, so correctly rounded. `None` sends the text to the
/// full parser.
#[inline]
fn fast_float(t: &str) -> Option<f64> {
    const POW10: [f64; 23] =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
    let b = t.as_bytes();
    let (neg, mut i) = if b.first() == Some(&b'-') { (true, 1) } else { (false, 0) };
    let mut m: u64 = 0;
    let mut digits = 0u32;
    let mut exp: i32 = 0;
    let mut in_fraction = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                if m == 0 && c == b'0' {
                    // Leading zeros add no significant digit.
                } else {
                    digits += 1;
                    if digits > 19 {
                        return None;
                    }
                }
                m = m * 10 + u64::from(c - b'0');
                if in_fraction {
                    exp -= 1;
                }
            }
            b'.' => in_fraction = true,
            b'e' | b'E' => {
                let e: i32 = t[i + 1..].parse().ok()?;
                exp = exp.checked_add(e)?;
                break;
            }
            _ => return None,
        }
        i += 1;
    }
    if m > 1 << 53 || !(-22..=22).contains(&exp) {
        return None;
    }
    let v = if exp >= 0 { m as f64 * POW10[exp as usize] } else { m as f64 / POW10[(-exp) as usize] };
    Some(if neg { -v } else { v })
}

impl JsonField for f64 {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>, _: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
        write_float(out, *self, None);
        Ok(())
    }
    #[inline]
    fn read_json(r: &mut JsonReader<'_>, _: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        read_float(r)
    }
}

impl JsonField for f32 {
    fn write_json(&self, out: &mut Vec<u8>, _: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
        write_float(out, *self as f64, Some(*self));
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>, _: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        let start = r.offset();
        let v = read_float(r)?;
        let x = v as f32;
        if v.is_finite() && x.is_infinite() {
            return Err(ReadError::new(start, format!("{v} is out of range for FLOAT")));
        }
        Ok(x)
    }
}

impl JsonField for BigDecimal {
    fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &JsonCx) -> Result<(), EncodeError> {
        let s = text::decimal_text(self, dt, !cx.decimal_as_plain_number)?;
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }
    /// A number (read from its own text, so no digit passes through a
    /// float) or a string holding one.
    fn read_json(r: &mut JsonReader<'_>, dt: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        let start = r.offset();
        if r.peek() == Some(b'"') {
            let s = r.read_str()?;
            return at(start, text::parse_decimal(&s, dt));
        }
        let t = r.number_text()?;
        at(start, text::parse_decimal(t, dt))
    }
}

impl JsonField for String {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
        text::check_str(self, dt).map_err(EncodeError::new)?;
        write_str(out, self);
        Ok(())
    }
    #[inline]
    fn read_json(r: &mut JsonReader<'_>, dt: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        let start = r.offset();
        let s = r.read_str()?;
        at(start, text::check_str(&s, dt))?;
        Ok(s.into_owned())
    }
}

impl JsonField for Vec<u8> {
    fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
        text::check_bytes(self, dt).map_err(EncodeError::new)?;
        out.push(b'"');
        out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(self).as_bytes());
        out.push(b'"');
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>, dt: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        let start = r.offset();
        let s = r.read_str()?;
        let b = base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|e| ReadError::new(start, format!("bytes are not base64: {e}")))?;
        at(start, text::check_bytes(&b, dt))?;
        Ok(b)
    }
}

macro_rules! text_json {
    ($t:ty, $write:expr, $read:expr) => {
        impl JsonField for $t {
            fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &JsonCx) -> Result<(), EncodeError> {
                #[allow(clippy::redundant_closure_call)]
                let s: String = ($write)(self, dt, cx)?;
                out.push(b'"');
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
                Ok(())
            }
            fn read_json(r: &mut JsonReader<'_>, dt: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
                let start = r.offset();
                let s = r.read_str()?;
                #[allow(clippy::redundant_closure_call)]
                at(start, ($read)(&*s, dt))
            }
        }
    };
}

text_json!(NaiveDate, |v: &NaiveDate, _: &DataType, _: &JsonCx| Ok::<_, EncodeError>(text::date_text(v)), |s: &str, _: &DataType| {
    text::parse_date(s)
});
text_json!(NaiveTime, |v: &NaiveTime, dt: &DataType, _: &JsonCx| text::time_text(v, dt), text::parse_time);
text_json!(
    NaiveDateTime,
    |v: &NaiveDateTime, dt: &DataType, cx: &JsonCx| text::timestamp_text(v, dt, cx.timestamp_standard),
    text::parse_timestamp
);
text_json!(
    DateTime<Utc>,
    |v: &DateTime<Utc>, dt: &DataType, cx: &JsonCx| text::timestamp_ltz_text(v, dt, cx.timestamp_standard),
    text::parse_timestamp_ltz
);

impl<T: JsonField> JsonField for Option<T> {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &JsonCx) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.write_json(out, dt, cx),
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }
    #[inline]
    fn read_json(r: &mut JsonReader<'_>, dt: &'static DataType, cx: &JsonCx) -> Result<Self, ReadError> {
        if r.null()? { Ok(None) } else { T::read_json(r, dt, cx).map(Some) }
    }
    fn is_null(&self) -> bool {
        self.is_none()
    }
    fn missing(cx: &JsonCx) -> Option<Self> {
        if cx.fail_on_missing_field { None } else { Some(None) }
    }
}

impl<T: JsonField> JsonField for Vec<T> {
    fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &JsonCx) -> Result<(), EncodeError> {
        out.push(b'[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            v.write_json(out, dt.element(), cx).map_err(|e| e.in_field(&format!("[{i}]")))?;
        }
        out.push(b']');
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>, dt: &'static DataType, cx: &JsonCx) -> Result<Self, ReadError> {
        r.begin_array()?;
        let mut out = Vec::new();
        let mut first = true;
        while r.next_item(&mut first)? {
            let i = out.len();
            out.push(T::read_json(r, dt.element(), cx).map_err(|e| e.in_field(&format!("[{i}]")))?);
        }
        Ok(out)
    }
}

impl<K: MapKey, V: JsonField> JsonField for BTreeMap<K, V> {
    fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &JsonCx) -> Result<(), EncodeError> {
        out.push(b'{');
        let mut key = String::new();
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            key.clear();
            k.write_key(&mut key, dt.map_key())?;
            write_str(out, &key);
            out.push(b':');
            v.write_json(out, dt.element(), cx).map_err(|e| e.in_field(&format!("[{key}]")))?;
        }
        out.push(b'}');
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>, dt: &'static DataType, cx: &JsonCx) -> Result<Self, ReadError> {
        r.begin_object()?;
        let mut out = BTreeMap::new();
        let mut first = true;
        loop {
            let start = r.offset();
            let Some(k) = r.next_key(&mut first)? else { return Ok(out) };
            let key = at(start, K::read_key(&k, dt.map_key()))?;
            let v = V::read_json(r, dt.element(), cx).map_err(|e| e.in_field(&format!("[{}]", super::echo(&k))))?;
            if out.insert(key, v).is_some() {
                return Err(ReadError::new(start, format!("duplicate map key `{}`", super::echo(&k))));
            }
        }
    }
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn the_float_fast_path_agrees_with_the_full_parser() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut texts: Vec<String> =
            ["0", "-0", "1.5", "0.1", "123456789012345678", "9007199254740993", "1e22", "1e23", "4.35", "-2.5e-3", "0.000001"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        for _ in 0..100_000 {
            let bits = rng.u32(1..64);
            let m = rng.u64(..1 << bits);
            let text = match rng.u8(..3) {
                0 => format!("{m}"),
                1 => format!("{}.{:0>w$}", m / 1000, m % 1000, w = 3),
                _ => format!("{m}e{}", rng.i32(-25..25)),
            };
            texts.push(text);
        }
        for t in &texts {
            if let Some(v) = fast_float(t) {
                assert_eq!(v.to_bits(), t.parse::<f64>().unwrap().to_bits(), "{t}");
            }
        }
    }
}
