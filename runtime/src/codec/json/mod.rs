//! The `json` format. Records are JSON objects keyed by column name; values
//! follow Flink's JSON format (base64 bytes, SQL or ISO-8601 timestamps).
//! Non-finite floats are written as the strings `"NaN"`, `"Infinity"` and
//! `"-Infinity"` instead of being turned into `null`.

pub mod reader;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

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
    fn read_json<'de, D: Deserializer<'de>>(de: D, dt: &'static DataType, cx: &JsonCx) -> Result<Self, D::Error>;
    /// Whether this is SQL NULL.
    fn is_null(&self) -> bool {
        false
    }
    /// The value of a field missing from the input, if that is allowed.
    fn missing(_cx: &JsonCx) -> Option<Self> {
        None
    }
}

/// Deserializes a `T` with its type and the format options.
pub struct JsonSeed<'a, T> {
    dt: &'static DataType,
    cx: &'a JsonCx,
    _t: PhantomData<fn() -> T>,
}

impl<'a, T> JsonSeed<'a, T> {
    pub fn new(dt: &'static DataType, cx: &'a JsonCx) -> Self {
        JsonSeed { dt, cx, _t: PhantomData }
    }
}

impl<'de, T: JsonField> DeserializeSeed<'de> for JsonSeed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<T, D::Error> {
        T::read_json(de, self.dt, self.cx)
    }
}

/// An object key, borrowed from the input when it has no escapes.
pub struct JsonKey<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for JsonKey<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonKey<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonKey(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonKey(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonKey(Cow::Owned(v)))
            }
        }
        de.deserialize_str(V)
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

fn custom<E: de::Error>(msg: impl fmt::Display) -> E {
    E::custom(msg)
}

impl JsonField for bool {
    fn write_json(&self, out: &mut Vec<u8>, _: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
        Ok(())
    }
    fn read_json<'de, D: Deserializer<'de>>(de: D, _: &'static DataType, _: &JsonCx) -> Result<Self, D::Error> {
        bool::deserialize(de)
    }
}

macro_rules! int_json {
    ($($t:ty),*) => {$(
        impl JsonField for $t {
            fn write_json(&self, out: &mut Vec<u8>, _: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
                out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
                Ok(())
            }
            fn read_json<'de, D: Deserializer<'de>>(de: D, _: &'static DataType, _: &JsonCx) -> Result<Self, D::Error> {
                <$t>::deserialize(de)
            }
        }
    )*};
}
int_json!(i8, i16, i32, i64);

struct FloatVisitor;
impl<'de> Visitor<'de> for FloatVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, \"NaN\", \"Infinity\" or \"-Infinity\"")
    }
    fn visit_f64<E>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" | "Infinity" | "-Infinity" => text::parse_float(v).map_err(custom),
            _ => Err(custom(format!("`{}` is not a number", super::echo(v)))),
        }
    }
}

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

impl JsonField for f64 {
    fn write_json(&self, out: &mut Vec<u8>, _: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
        write_float(out, *self, None);
        Ok(())
    }
    fn read_json<'de, D: Deserializer<'de>>(de: D, _: &'static DataType, _: &JsonCx) -> Result<Self, D::Error> {
        de.deserialize_any(FloatVisitor)
    }
}

impl JsonField for f32 {
    fn write_json(&self, out: &mut Vec<u8>, _: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
        write_float(out, *self as f64, Some(*self));
        Ok(())
    }
    fn read_json<'de, D: Deserializer<'de>>(de: D, _: &'static DataType, _: &JsonCx) -> Result<Self, D::Error> {
        let v = de.deserialize_any(FloatVisitor)?;
        let x = v as f32;
        if v.is_finite() && x.is_infinite() {
            return Err(custom(format!("{v} is out of range for FLOAT")));
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
    fn read_json<'de, D: Deserializer<'de>>(de: D, dt: &'static DataType, _: &JsonCx) -> Result<Self, D::Error> {
        // Read the number's own text, so no digit passes through a float.
        let raw = <&serde_json::value::RawValue>::deserialize(de)?;
        let t = raw.get();
        let t = t.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(t);
        text::parse_decimal(t, dt).map_err(custom)
    }
}

impl JsonField for String {
    fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, _: &JsonCx) -> Result<(), EncodeError> {
        text::check_str(self, dt).map_err(EncodeError::new)?;
        write_str(out, self);
        Ok(())
    }
    fn read_json<'de, D: Deserializer<'de>>(de: D, dt: &'static DataType, _: &JsonCx) -> Result<Self, D::Error> {
        let s = String::deserialize(de)?;
        text::check_str(&s, dt).map_err(custom)?;
        Ok(s)
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
    fn read_json<'de, D: Deserializer<'de>>(de: D, dt: &'static DataType, _: &JsonCx) -> Result<Self, D::Error> {
        let s = JsonKey::deserialize(de)?;
        let b =
            base64::engine::general_purpose::STANDARD.decode(s.0.as_bytes()).map_err(|e| custom(format!("bytes are not base64: {e}")))?;
        text::check_bytes(&b, dt).map_err(custom)?;
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
            fn read_json<'de, D: Deserializer<'de>>(de: D, dt: &'static DataType, _: &JsonCx) -> Result<Self, D::Error> {
                let s = JsonKey::deserialize(de)?;
                #[allow(clippy::redundant_closure_call)]
                ($read)(&*s.0, dt).map_err(custom)
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
    fn write_json(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &JsonCx) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.write_json(out, dt, cx),
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }
    fn read_json<'de, D: Deserializer<'de>>(de: D, dt: &'static DataType, cx: &JsonCx) -> Result<Self, D::Error> {
        struct V<'a, T>(&'static DataType, &'a JsonCx, PhantomData<T>);
        impl<'de, T: JsonField> Visitor<'de> for V<'_, T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or null")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
                T::read_json(de, self.0, self.1).map(Some)
            }
        }
        de.deserialize_option(V::<T>(dt, cx, PhantomData))
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
    fn read_json<'de, D: Deserializer<'de>>(de: D, dt: &'static DataType, cx: &JsonCx) -> Result<Self, D::Error> {
        struct V<'a, T>(&'static DataType, &'a JsonCx, PhantomData<T>);
        impl<'de, T: JsonField> Visitor<'de> for V<'_, T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(v) = seq.next_element_seed(JsonSeed::<T>::new(self.0, self.1))? {
                    out.push(v);
                }
                Ok(out)
            }
        }
        de.deserialize_seq(V::<T>(dt.element(), cx, PhantomData))
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
    fn read_json<'de, D: Deserializer<'de>>(de: D, dt: &'static DataType, cx: &JsonCx) -> Result<Self, D::Error> {
        struct Vis<'a, K, V>(&'static DataType, &'a JsonCx, PhantomData<(K, V)>);
        impl<'de, K: MapKey, V: JsonField> Visitor<'de> for Vis<'_, K, V> {
            type Value = BTreeMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(k) = map.next_key::<JsonKey<'de>>()? {
                    let key = K::read_key(&k.0, self.0.map_key()).map_err(custom)?;
                    let v = map.next_value_seed(JsonSeed::<V>::new(self.0.element(), self.1))?;
                    if out.insert(key, v).is_some() {
                        return Err(custom(format!("duplicate map key `{}`", super::echo(&k.0))));
                    }
                }
                Ok(out)
            }
        }
        de.deserialize_map(Vis::<K, V>(dt, cx, PhantomData))
    }
}

/// Decodes a whole record, rejecting trailing data.
pub fn decode_record<T: JsonField>(data: &[u8], cx: &JsonCx) -> Result<T, super::DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(data);
    let v = T::read_json(&mut de, &DataType::Row, cx)?;
    de.end()?;
    Ok(v)
}

/// Encodes a whole record.
pub fn encode_record<T: JsonField>(v: &T, cx: &JsonCx) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    v.write_json(&mut out, &DataType::Row, cx)?;
    Ok(out)
}

/// The error for a field that appears twice in one object.
pub fn duplicate_field<E: de::Error>(name: &str) -> E {
    E::custom(format_args!("field `{name}` appears twice"))
}

/// Wraps an error with the field it happened in.
pub fn field_error<E: de::Error>(name: &str, e: E) -> E {
    E::custom(format_args!("field `{name}`: {e}"))
}

/// A value the generated decoders read straight from a [`JsonReader`]
/// (no serde visitor, no intermediate value): the fast path for `json`.
pub trait JsonRead: Sized {
    fn read(r: &mut JsonReader<'_>, dt: &'static DataType, cx: &JsonCx) -> Result<Self, ReadError>;
    /// The value of a field missing from the input, if that is allowed.
    fn missing(_cx: &JsonCx) -> Option<Self> {
        None
    }
}

/// Reads one field of an object, naming it in any error.
#[inline]
pub fn read_field<T: JsonRead>(r: &mut JsonReader<'_>, column: &str, dt: &'static DataType, cx: &JsonCx) -> Result<T, ReadError> {
    T::read(r, dt, cx).map_err(|e| e.in_field(column))
}

/// Skips the value of a field the table does not have (Flink ignores them).
#[inline]
pub fn skip_field(r: &mut JsonReader<'_>) -> Result<(), ReadError> {
    r.skip_value()
}

/// The error for a field that appears twice in one object.
pub fn duplicate(r: &JsonReader<'_>, column: &str) -> ReadError {
    r.error(format!("field `{column}` appears twice"))
}

/// The value of a field absent from the object, or the error saying so.
pub fn absent<T: JsonRead>(r: &JsonReader<'_>, column: &str, cx: &JsonCx) -> Result<T, ReadError> {
    T::missing(cx).ok_or_else(|| r.error(format!("missing field `{column}`")))
}

/// Decodes a whole record with the fast reader, rejecting trailing data.
pub fn read_record<T: JsonRead>(data: &[u8], cx: &JsonCx) -> Result<T, super::DecodeError> {
    let mut r = JsonReader::new(data);
    let v = T::read(&mut r, &DataType::Row, cx).and_then(|v| r.end().map(|_| v));
    v.map_err(|e| e.into_decode("field"))
}

fn at<T>(r: &JsonReader<'_>, start: usize, res: Result<T, String>) -> Result<T, ReadError> {
    let _ = r;
    res.map_err(|m| ReadError::new(start, m))
}

impl JsonRead for bool {
    fn read(r: &mut JsonReader<'_>, _: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        r.read_bool()
    }
}

macro_rules! int_read {
    ($($t:ty => $sql:literal),*) => {$(
        impl JsonRead for $t {
            #[inline]
            fn read(r: &mut JsonReader<'_>, _: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
                let start = r.offset();
                let v = r.read_i64()?;
                <$t>::try_from(v).map_err(|_| ReadError::new(start, format!("{v} is out of range for {}", $sql)))
            }
        }
    )*};
}
int_read!(i8 => "TINYINT", i16 => "SMALLINT", i32 => "INT", i64 => "BIGINT");

fn read_float(r: &mut JsonReader<'_>) -> Result<f64, ReadError> {
    let start = r.offset();
    if r.peek() == Some(b'"') {
        let s = r.read_str()?;
        return match &*s {
            "NaN" | "Infinity" | "-Infinity" => at(r, start, text::parse_float(&s)),
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

impl JsonRead for f64 {
    fn read(r: &mut JsonReader<'_>, _: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        read_float(r)
    }
}

impl JsonRead for f32 {
    fn read(r: &mut JsonReader<'_>, _: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        let start = r.offset();
        let v = read_float(r)?;
        let x = v as f32;
        if v.is_finite() && x.is_infinite() {
            return Err(ReadError::new(start, format!("{v} is out of range for FLOAT")));
        }
        Ok(x)
    }
}

impl JsonRead for BigDecimal {
    #[inline]
    fn read(r: &mut JsonReader<'_>, dt: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        let start = r.offset();
        if r.peek() == Some(b'"') {
            let s = r.read_str()?;
            return at(r, start, text::parse_decimal(&s, dt));
        }
        let t = r.number_text()?;
        at(r, start, text::parse_decimal(t, dt))
    }
}

impl JsonRead for String {
    #[inline]
    fn read(r: &mut JsonReader<'_>, dt: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        let start = r.offset();
        let s = r.read_str()?;
        at(r, start, text::check_str(&s, dt))?;
        Ok(s.into_owned())
    }
}

impl JsonRead for Vec<u8> {
    #[inline]
    fn read(r: &mut JsonReader<'_>, dt: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
        let start = r.offset();
        let s = r.read_str()?;
        let b = base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|e| ReadError::new(start, format!("bytes are not base64: {e}")))?;
        at(r, start, text::check_bytes(&b, dt))?;
        Ok(b)
    }
}

macro_rules! text_read {
    ($t:ty, $read:expr) => {
        impl JsonRead for $t {
            fn read(r: &mut JsonReader<'_>, dt: &'static DataType, _: &JsonCx) -> Result<Self, ReadError> {
                let start = r.offset();
                let s = r.read_str()?;
                #[allow(clippy::redundant_closure_call)]
                at(r, start, ($read)(&*s, dt))
            }
        }
    };
}
text_read!(NaiveDate, |s: &str, _: &DataType| text::parse_date(s));
text_read!(NaiveTime, text::parse_time);
text_read!(NaiveDateTime, text::parse_timestamp);
text_read!(DateTime<Utc>, text::parse_timestamp_ltz);

impl<T: JsonRead> JsonRead for Option<T> {
    #[inline]
    fn read(r: &mut JsonReader<'_>, dt: &'static DataType, cx: &JsonCx) -> Result<Self, ReadError> {
        if r.null()? { Ok(None) } else { T::read(r, dt, cx).map(Some) }
    }
    fn missing(cx: &JsonCx) -> Option<Self> {
        if cx.fail_on_missing_field { None } else { Some(None) }
    }
}

impl<T: JsonRead> JsonRead for Vec<T> {
    fn read(r: &mut JsonReader<'_>, dt: &'static DataType, cx: &JsonCx) -> Result<Self, ReadError> {
        r.begin_array()?;
        let mut out = Vec::new();
        let mut first = true;
        while r.next_item(&mut first)? {
            let i = out.len();
            out.push(T::read(r, dt.element(), cx).map_err(|e| e.in_field(&format!("[{i}]")))?);
        }
        Ok(out)
    }
}

impl<K: MapKey, V: JsonRead> JsonRead for BTreeMap<K, V> {
    fn read(r: &mut JsonReader<'_>, dt: &'static DataType, cx: &JsonCx) -> Result<Self, ReadError> {
        r.begin_object()?;
        let mut out = BTreeMap::new();
        let mut first = true;
        loop {
            let start = r.offset();
            let Some(k) = r.next_key(&mut first)? else { return Ok(out) };
            let key = at(r, start, K::read_key(&k, dt.map_key()))?;
            let v = V::read(r, dt.element(), cx).map_err(|e| e.in_field(&format!("[{}]", super::echo(&k))))?;
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
