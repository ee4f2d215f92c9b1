//! Avro's JSON encoding (`avro.encoding: json`), as Avro's `JsonEncoder`
//! writes it: a record is an object with its fields in order, a union is
//! `null` or `{"<branch>": value}` (the branch named by its type: `int`,
//! `long`, `string`, `bytes`, `array`, `map`, or a record's full name),
//! `bytes` (and DECIMAL's unscaled bytes) a string of one ISO-8859-1
//! character per byte, dates, times and timestamps the numbers of the
//! binary encoding.
//!
//! Generated code implements [`AvroJson`] for each record; there is no
//! schema interpretation per record. Reading parses the datum with
//! `serde_json` (bounded by the record's size) and walks it.

use std::collections::BTreeMap;

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Map;
pub use serde_json::Value;

use super::{AvroField, AvroReader};
use crate::codec::key::MapKey;
use crate::codec::{DataType, DecodeError, EncodeError, ReadError};

/// A value in Avro's JSON encoding.
pub trait AvroJson: Sized {
    /// The union branch name of this type (a record's full name for records).
    fn branch(dt: &'static DataType) -> &'static str {
        branch_of(dt)
    }
    fn write_avro_json(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError>;
    fn read_avro_json(v: &Value, dt: &'static DataType) -> Result<Self, ReadError>;
}

/// The Avro type name of a column type's schema (without the union).
pub fn branch_of(dt: &DataType) -> &'static str {
    match dt {
        DataType::Boolean => "boolean",
        DataType::TinyInt | DataType::SmallInt | DataType::Int | DataType::Date | DataType::Time(_) => "int",
        DataType::BigInt | DataType::Timestamp(_) | DataType::TimestampLtz(_) => "long",
        DataType::Float => "float",
        DataType::Double => "double",
        DataType::String | DataType::Varchar(_) | DataType::Char(_) => "string",
        DataType::Bytes | DataType::Varbinary(_) | DataType::Binary(_) | DataType::Decimal { .. } => "bytes",
        DataType::Array(_) => "array",
        DataType::Map(..) => "map",
        DataType::Row => "record",
    }
}

/// Writes a JSON string (serde_json's escaping; writing to a `Vec` cannot fail).
fn write_str(out: &mut Vec<u8>, s: &str) {
    if let Err(e) = serde_json::to_writer(&mut *out, s) {
        unreachable!("serializing a str into a Vec failed: {e}");
    }
}

fn err(message: impl Into<String>) -> ReadError {
    ReadError::new(0, message)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(what: &str, v: &Value) -> ReadError {
    err(format!("expected {what}, found {}", kind(v)))
}

/// Writes bytes as a JSON string of ISO-8859-1 characters.
pub fn write_latin1(out: &mut Vec<u8>, b: &[u8]) {
    let s: String = b.iter().map(|&c| char::from(c)).collect();
    write_str(out, &s);
}

/// Reads a JSON string of ISO-8859-1 characters as bytes.
pub fn read_latin1(v: &Value) -> Result<Vec<u8>, ReadError> {
    let Value::String(s) = v else { return Err(expected("a string of bytes", v)) };
    s.chars()
        .map(|c| {
            u8::try_from(u32::from(c))
                .map_err(|_| err(format!("character U+{:04X} is not a byte (bytes are ISO-8859-1 characters)", u32::from(c))))
        })
        .collect()
}

/// Runs the binary codec over a value's binary form: the logical types
/// (decimals, dates, times, timestamps) are the same numbers in both encodings.
fn via_binary<T: AvroField>(bytes: &[u8], dt: &'static DataType) -> Result<T, ReadError> {
    let mut r = AvroReader::new(bytes);
    let v = T::read_avro(&mut r, dt)?;
    r.finish()?;
    Ok(v)
}

fn long_of(v: &Value) -> Result<i64, ReadError> {
    v.as_i64().ok_or_else(|| match v {
        Value::Number(n) => err(format!("{n} is not a 64-bit integer")),
        _ => expected("an integer", v),
    })
}

fn number(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    out.extend_from_slice(v.to_string().as_bytes());
}

impl AvroJson for bool {
    fn write_avro_json(&self, out: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
        Ok(())
    }
    fn read_avro_json(v: &Value, _: &'static DataType) -> Result<Self, ReadError> {
        v.as_bool().ok_or_else(|| expected("a boolean", v))
    }
}

macro_rules! int_json {
    ($($t:ty),*) => {$(
        impl AvroJson for $t {
            fn write_avro_json(&self, out: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
                number(out, self);
                Ok(())
            }
            fn read_avro_json(v: &Value, _: &'static DataType) -> Result<Self, ReadError> {
                let n = long_of(v)?;
                <$t>::try_from(n).map_err(|_| err(format!("{n} does not fit {}", stringify!($t))))
            }
        }
    )*};
}
int_json!(i8, i16, i32, i64);

macro_rules! float_json {
    ($($t:ty),*) => {$(
        impl AvroJson for $t {
            fn write_avro_json(&self, out: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
                if !self.is_finite() {
                    return Err(EncodeError::new(format!("{self} has no JSON number (Avro's JSON encoding would write a non-standard token)")));
                }
                let mut s = String::new();
                crate::codec::text::float_text(f64::from(*self), &mut s);
                out.extend_from_slice(s.as_bytes());
                Ok(())
            }
            fn read_avro_json(v: &Value, _: &'static DataType) -> Result<Self, ReadError> {
                let f = v.as_f64().ok_or_else(|| expected("a number", v))?;
                let x = f as $t;
                if x.is_infinite() {
                    return Err(err(format!("{f} is out of range for {}", stringify!($t))));
                }
                Ok(x)
            }
        }
    )*};
}
float_json!(f32, f64);

impl AvroJson for String {
    fn write_avro_json(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        crate::codec::text::check_str(self, dt).map_err(EncodeError::new)?;
        write_str(out, self);
        Ok(())
    }
    fn read_avro_json(v: &Value, dt: &'static DataType) -> Result<Self, ReadError> {
        let Value::String(s) = v else { return Err(expected("a string", v)) };
        crate::codec::text::check_str(s, dt).map_err(err)?;
        Ok(s.clone())
    }
}

impl AvroJson for Vec<u8> {
    fn write_avro_json(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        crate::codec::text::check_bytes(self, dt).map_err(EncodeError::new)?;
        write_latin1(out, self);
        Ok(())
    }
    fn read_avro_json(v: &Value, dt: &'static DataType) -> Result<Self, ReadError> {
        let b = read_latin1(v)?;
        crate::codec::text::check_bytes(&b, dt).map_err(err)?;
        Ok(b)
    }
}

impl AvroJson for BigDecimal {
    fn write_avro_json(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        let v = crate::codec::text::fit_decimal(self, dt).map_err(EncodeError::new)?;
        let (unscaled, _) = v.as_bigint_and_exponent();
        write_latin1(out, &unscaled.to_signed_bytes_be());
        Ok(())
    }
    fn read_avro_json(v: &Value, dt: &'static DataType) -> Result<Self, ReadError> {
        // No larger than the string serde_json already holds; the binary
        // reader refuses more than a DECIMAL can take.
        let b = read_latin1(v)?;
        let mut bin = Vec::with_capacity(b.len() + 2);
        super::write_bytes(&mut bin, &b);
        via_binary(&bin, dt)
    }
}

/// Date, time and timestamps: the number of the binary encoding.
macro_rules! numeric_json {
    ($($t:ty),*) => {$(
        impl AvroJson for $t {
            fn write_avro_json(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
                let mut bin = Vec::with_capacity(10);
                self.write_avro(&mut bin, dt)?;
                let n = AvroReader::new(&bin).read_long().map_err(|e| EncodeError::new(e.message.clone()))?;
                number(out, n);
                Ok(())
            }
            fn read_avro_json(v: &Value, dt: &'static DataType) -> Result<Self, ReadError> {
                let n = long_of(v)?;
                let mut bin = Vec::with_capacity(10);
                super::write_long(&mut bin, n);
                via_binary(&bin, dt)
            }
        }
    )*};
}
numeric_json!(NaiveDate, NaiveTime, NaiveDateTime, DateTime<Utc>);

/// A nullable value: `null`, or `{"<branch>": value}`.
impl<T: AvroJson> AvroJson for Option<T> {
    fn write_avro_json(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        match self {
            None => out.extend_from_slice(b"null"),
            Some(v) => {
                out.push(b'{');
                write_str(out, T::branch(dt));
                out.push(b':');
                v.write_avro_json(out, dt)?;
                out.push(b'}');
            }
        }
        Ok(())
    }
    fn read_avro_json(v: &Value, dt: &'static DataType) -> Result<Self, ReadError> {
        let m = match v {
            Value::Null => return Ok(None),
            Value::Object(m) => m,
            _ => return Err(expected("null or a union object", v)),
        };
        let want = T::branch(dt);
        match m.iter().next() {
            Some((k, inner)) if m.len() == 1 && k == want => T::read_avro_json(inner, dt).map(Some),
            Some((k, _)) if m.len() == 1 => Err(err(format!("union branch `{}` is not `{want}`", crate::codec::echo(k)))),
            _ => Err(err(format!("a union object has one key (`{want}`), this one has {}", m.len()))),
        }
    }
}

impl<T: AvroJson> AvroJson for Vec<T> {
    fn write_avro_json(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        out.push(b'[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            v.write_avro_json(out, dt.element()).map_err(|e| e.in_field(&format!("[{i}]")))?;
        }
        out.push(b']');
        Ok(())
    }
    fn read_avro_json(v: &Value, dt: &'static DataType) -> Result<Self, ReadError> {
        let Value::Array(items) = v else { return Err(expected("an array", v)) };
        items.iter().enumerate().map(|(i, x)| T::read_avro_json(x, dt.element()).map_err(|e| e.in_field(&format!("[{i}]")))).collect()
    }
}

impl<K: MapKey, V: AvroJson> AvroJson for BTreeMap<K, V> {
    fn write_avro_json(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
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
            v.write_avro_json(out, dt.element()).map_err(|e| e.in_field(&format!("[{}]", crate::codec::echo(&key))))?;
        }
        out.push(b'}');
        Ok(())
    }
    fn read_avro_json(v: &Value, dt: &'static DataType) -> Result<Self, ReadError> {
        let Value::Object(m) = v else { return Err(expected("an object (a map)", v)) };
        let mut out = BTreeMap::new();
        for (k, x) in m {
            let key = K::read_key(k, dt.map_key()).map_err(err)?;
            let val = V::read_avro_json(x, dt.element()).map_err(|e| e.in_field(&format!("[{}]", crate::codec::echo(k))))?;
            out.insert(key, val);
        }
        Ok(out)
    }
}

/// The fields of a record object (for generated `read_avro_json`).
pub fn object(v: &Value) -> Result<&Map<String, Value>, ReadError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(expected("an object (a record)", v)),
    }
}

/// One field of a record object, named in any error; a missing field is an
/// error (the schema gives every field, as Avro's `JsonDecoder` expects).
pub fn field<T: AvroJson>(m: &Map<String, Value>, name: &str, dt: &'static DataType) -> Result<T, ReadError> {
    match m.get(name) {
        Some(v) => T::read_avro_json(v, dt).map_err(|e| e.in_field(name)),
        None => Err(err("the field is missing").in_field(name)),
    }
}

/// Writes `"name":` before a field.
pub fn write_key(out: &mut Vec<u8>, name: &str, first: bool) {
    if !first {
        out.push(b',');
    }
    write_str(out, name);
    out.push(b':');
}

/// Decodes a whole record from Avro JSON.
pub fn decode_record<T: AvroJson>(data: &[u8]) -> Result<T, DecodeError> {
    let v: Value = serde_json::from_slice(data).map_err(|e| DecodeError::invalid(format!("avro json: {e}")))?;
    T::read_avro_json(&v, &DataType::Row).map_err(|e| {
        if e.path.is_empty() {
            DecodeError::invalid(format!("avro json: {}", e.message))
        } else {
            DecodeError::invalid(format!("avro json: column `{}`: {}", e.path.join("."), e.message))
        }
    })
}

/// Encodes a whole record in Avro JSON.
pub fn encode_record<T: AvroJson>(v: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    v.write_avro_json(&mut out, &DataType::Row)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn text<T: AvroJson>(v: &T, dt: &'static DataType) -> String {
        let mut out = Vec::new();
        v.write_avro_json(&mut out, dt).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn back<T: AvroJson>(s: &str, dt: &'static DataType) -> Result<T, ReadError> {
        T::read_avro_json(&serde_json::from_str(s).unwrap(), dt)
    }

    static DEC: DataType = DataType::Decimal { precision: 10, scale: 2 };
    static ARR: DataType = DataType::Array(&DataType::Int);
    static MAP: DataType = DataType::Map(&DataType::String, &DataType::BigInt);

    #[test]
    fn unions_name_their_branch_and_bytes_are_latin1_characters() {
        assert_eq!(text(&Some(7i32), &DataType::Int), r#"{"int":7}"#);
        assert_eq!(text(&None::<i32>, &DataType::Int), "null");
        assert_eq!(text(&Some(vec![0u8, 0x41, 0xe9, 0xff]), &DataType::Bytes), "{\"bytes\":\"\\u0000A\u{e9}\u{ff}\"}");
        assert_eq!(text(&Some(vec![Some(1i32), None]), &ARR), r#"{"array":[{"int":1},null]}"#);
        let m = BTreeMap::from([("a".to_string(), 1i64)]);
        assert_eq!(text(&Some(m.clone()), &MAP), r#"{"map":{"a":1}}"#);
        // DECIMAL: the unscaled value's bytes; DATE, TIME, TIMESTAMP: their numbers.
        let d = BigDecimal::from_str("-123.45").unwrap();
        assert_eq!(text(&Some(d.clone()), &DEC), "{\"bytes\":\"\u{cf}\u{c7}\"}");
        let ts = NaiveDate::from_ymd_opt(1970, 1, 2).unwrap().and_hms_milli_opt(0, 0, 0, 5).unwrap();
        assert_eq!(text(&Some(ts), &DataType::Timestamp(3)), r#"{"long":86400005}"#);
        assert_eq!(text(&NaiveDate::from_ymd_opt(1969, 12, 31).unwrap(), &DataType::Date), "-1");
        // And back.
        assert_eq!(back::<Option<BigDecimal>>("{\"bytes\":\"\u{cf}\u{c7}\"}", &DEC).unwrap(), Some(d));
        assert_eq!(back::<Option<NaiveDateTime>>(r#"{"long":86400005}"#, &DataType::Timestamp(3)).unwrap(), Some(ts));
        assert_eq!(back::<Option<Vec<Option<i32>>>>(r#"{"array":[{"int":1},null]}"#, &ARR).unwrap(), Some(vec![Some(1), None]));
        assert_eq!(back::<BTreeMap<String, i64>>(r#"{"a":1}"#, &MAP).unwrap(), m);
        assert_eq!(
            back::<Option<Vec<u8>>>("{\"bytes\":\"\\u0000A\u{e9}\u{ff}\"}", &DataType::Bytes).unwrap(),
            Some(vec![0, 0x41, 0xe9, 0xff])
        );
    }

    #[test]
    fn avro_json_that_does_not_fit_is_an_error() {
        let e = back::<Option<i32>>(r#"{"long":1}"#, &DataType::Int).unwrap_err();
        assert!(e.message.contains("`long` is not `int`"), "{e:?}");
        assert!(back::<Option<i32>>(r#"{"int":1,"long":2}"#, &DataType::Int).unwrap_err().message.contains("one key"));
        assert!(back::<Option<i32>>("7", &DataType::Int).unwrap_err().message.contains("union object"));
        assert!(back::<Vec<u8>>(r#""\u0100""#, &DataType::Bytes).unwrap_err().message.contains("not a byte"));
        assert!(back::<i8>("200", &DataType::TinyInt).unwrap_err().message.contains("does not fit"));
        assert!(back::<i64>("1.5", &DataType::BigInt).is_err());
        assert!(back::<String>(r#""abcd""#, &DataType::Varchar(3)).unwrap_err().message.contains("VARCHAR(3)"));
        assert!(back::<BigDecimal>(&format!("\"{}\"", "\u{7f}".repeat(40)), &DEC).unwrap_err().message.contains("40-byte"));
        assert!(back::<NaiveTime>("86400000", &DataType::Time(3)).is_err());
        let e = back::<Vec<Option<i32>>>(r#"[{"int":1},{"int":"x"}]"#, &ARR).unwrap_err();
        assert_eq!(e.path, ["[1]"]);
        let mut out = Vec::new();
        assert!(f64::NAN.write_avro_json(&mut out, &DataType::Double).is_err());
    }

    #[test]
    fn records_need_every_field_and_errors_name_it() {
        #[derive(Debug, PartialEq)]
        struct Row {
            a: i64,
            b: Option<String>,
        }
        impl AvroJson for Row {
            fn branch(_: &'static DataType) -> &'static str {
                "org.apache.flink.avro.generated.record_row"
            }
            fn write_avro_json(&self, out: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
                out.push(b'{');
                write_key(out, "a", true);
                self.a.write_avro_json(out, &DataType::BigInt)?;
                write_key(out, "b", false);
                self.b.write_avro_json(out, &DataType::String)?;
                out.push(b'}');
                Ok(())
            }
            fn read_avro_json(v: &Value, _: &'static DataType) -> Result<Self, ReadError> {
                let m = object(v)?;
                Ok(Row { a: field(m, "a", &DataType::BigInt)?, b: field(m, "b", &DataType::String)? })
            }
        }
        let r = Some(Row { a: 1, b: None });
        let t = text(&r, &DataType::Row);
        assert_eq!(t, r#"{"org.apache.flink.avro.generated.record_row":{"a":1,"b":null}}"#);
        assert_eq!(back::<Option<Row>>(&t, &DataType::Row).unwrap(), r);
        let e = decode_record::<Row>(br#"{"a":1}"#).unwrap_err();
        assert_eq!(e.message, "avro json: column `b`: the field is missing");
        let e = decode_record::<Row>(br#"{"a":1,"b":{"string":5}}"#).unwrap_err();
        assert_eq!(e.message, "avro json: column `b`: expected a string, found a number");
        assert!(decode_record::<Row>(b"{\"a\":").unwrap_err().message.starts_with("avro json: "));
    }
}
