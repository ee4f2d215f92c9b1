//! The `avro` format: single Avro datums without a container header, as
//! Flink's `avro` format writes them to a stream, in the schema Flink's
//! `AvroSchemaConverter` derives from the table's columns.
//!
//! Generated code writes and reads the fields of a record in column order
//! through [`AvroField`]; there is no schema interpretation per record. The
//! reader checks every length and count against the bytes that are left
//! before it allocates, so a damaged or hostile datum is a [`DecodeError`]
//! naming the column, never a panic or an allocation sized by the input.
//!
//! The mapping (Flink's):
//! - BOOLEAN → `boolean`; TINYINT, SMALLINT, INT → `int`; BIGINT → `long`;
//!   FLOAT → `float`; DOUBLE → `double`;
//! - CHAR, VARCHAR, STRING → `string`; BINARY, VARBINARY, BYTES → `bytes`;
//! - DECIMAL(p, s) → `bytes` with the `decimal` logical type: the unscaled
//!   value as big-endian two's complement;
//! - DATE → `int` days since 1970-01-01; TIME(p ≤ 3) → `int` milliseconds of
//!   the day;
//! - TIMESTAMP(p) and TIMESTAMP_LTZ(p) → `long` milliseconds (p ≤ 3),
//!   microseconds (p ≤ 6) or nanoseconds (p ≤ 9) since the epoch;
//! - ARRAY → `array`, MAP with string keys → `map`, ROW → a nested `record`;
//! - a nullable type → the union `["null", type]`.

pub mod json;

use std::collections::BTreeMap;

use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::BigInt;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

use super::key::MapKey;
use super::text;
use super::{DataType, DecodeError, EncodeError, ReadError};

/// The most bytes a DECIMAL's unscaled value may take: DECIMAL(38, s) needs
/// 16; anything longer cannot fit a column and is refused before it is parsed.
const MAX_DECIMAL_BYTES: usize = 32;

/// A cursor over one datum. Every read is bounds-checked.
#[derive(Debug)]
pub struct AvroReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> AvroReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        AvroReader { buf, pos: 0 }
    }

    /// An error at the current position.
    pub fn error(&self, message: impl Into<String>) -> ReadError {
        ReadError::new(self.pos, message)
    }

    /// The bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ReadError> {
        if n > self.remaining() {
            return Err(self.error(format!("{what} needs {n} bytes, {} are left", self.remaining())));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A zig-zag varint `long`.
    pub fn read_long(&mut self) -> Result<i64, ReadError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                self.pos = start;
                return Err(self.error("the datum ends inside a number"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                self.pos = start;
                return Err(self.error("a number longer than 64 bits"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        self.pos = start;
        Err(self.error("a number longer than 64 bits"))
    }

    /// A zig-zag varint `int`.
    pub fn read_int(&mut self) -> Result<i32, ReadError> {
        let at = self.pos;
        let v = self.read_long()?;
        i32::try_from(v).map_err(|_| ReadError::new(at, format!("{v} does not fit an avro int")))
    }

    pub fn read_bool(&mut self) -> Result<bool, ReadError> {
        match self.take(1, "a boolean")?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => {
                self.pos -= 1;
                Err(self.error(format!("{b} is not a boolean (0 or 1)")))
            }
        }
    }

    pub fn read_f32(&mut self) -> Result<f32, ReadError> {
        let b = self.take(4, "a float")?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn read_f64(&mut self) -> Result<f64, ReadError> {
        let b = self.take(8, "a double")?;
        Ok(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// A length-prefixed `bytes` value, borrowed from the datum.
    pub fn read_bytes(&mut self) -> Result<&'a [u8], ReadError> {
        let at = self.pos;
        let n = self.read_long()?;
        let Ok(n) = usize::try_from(n) else {
            self.pos = at;
            return Err(self.error(format!("negative length {n}")));
        };
        let left = self.remaining();
        if n > left {
            self.pos = at;
            return Err(self.error(format!("a length of {n} bytes runs past the end of the datum ({left} left)")));
        }
        self.take(n, "a value")
    }

    /// A `string`: length-prefixed UTF-8, borrowed from the datum.
    pub fn read_str(&mut self) -> Result<&'a str, ReadError> {
        let at = self.pos;
        let b = self.read_bytes()?;
        std::str::from_utf8(b).map_err(|e| ReadError::new(at, format!("a string that is not UTF-8 ({e})")))
    }

    /// The branch of a union with `branches` members.
    pub fn read_union(&mut self, branches: usize) -> Result<usize, ReadError> {
        let at = self.pos;
        let i = self.read_long()?;
        match usize::try_from(i) {
            Ok(i) if i < branches => Ok(i),
            _ => {
                self.pos = at;
                Err(self.error(format!("union branch {i} does not exist (the union has {branches})")))
            }
        }
    }

    /// The item count of the next block of an array or map; 0 ends it.
    /// Every item takes at least one byte, so a count larger than what is
    /// left is refused before anything is allocated.
    pub fn read_block(&mut self) -> Result<usize, ReadError> {
        let at = self.pos;
        let n = self.read_long()?;
        let count = if n < 0 {
            let size = self.read_long()?;
            if size < 0 || size as u64 > self.remaining() as u64 {
                self.pos = at;
                return Err(self.error(format!("a block size of {size} bytes runs past the end of the datum")));
            }
            n.unsigned_abs()
        } else {
            n as u64
        };
        if count > self.remaining() as u64 {
            self.pos = at;
            return Err(self.error(format!("a block of {count} items cannot fit the {} bytes left", self.remaining())));
        }
        Ok(count as usize)
    }

    /// Reads one field of a record, naming it in any error.
    pub fn field<T: AvroField>(&mut self, column: &str, dt: &'static DataType) -> Result<T, ReadError> {
        T::read_avro(self, dt).map_err(|e| e.in_field(column))
    }

    /// Checks that the datum was read to its end.
    pub fn finish(&self) -> Result<(), ReadError> {
        if self.remaining() > 0 {
            return Err(self.error(format!("{} bytes after the end of the record", self.remaining())));
        }
        Ok(())
    }
}

/// Writes a zig-zag varint `long`.
pub fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Writes a length-prefixed `bytes` or `string`.
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

/// A value that can be an Avro field.
pub trait AvroField: Sized {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError>;
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError>;
}

impl AvroField for bool {
    fn write_avro(&self, out: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
        out.push(u8::from(*self));
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, _: &'static DataType) -> Result<Self, ReadError> {
        r.read_bool()
    }
}

macro_rules! int_avro {
    ($($t:ty),*) => {$(
        impl AvroField for $t {
            fn write_avro(&self, out: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
                write_long(out, i64::from(*self));
                Ok(())
            }
            fn read_avro(r: &mut AvroReader<'_>, _: &'static DataType) -> Result<Self, ReadError> {
                let at = r.pos;
                let v = r.read_long()?;
                <$t>::try_from(v).map_err(|_| ReadError::new(at, format!("{v} does not fit {}", stringify!($t))))
            }
        }
    )*};
}
int_avro!(i8, i16, i32, i64);

impl AvroField for f32 {
    fn write_avro(&self, out: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.to_le_bytes());
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, _: &'static DataType) -> Result<Self, ReadError> {
        r.read_f32()
    }
}

impl AvroField for f64 {
    fn write_avro(&self, out: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.to_le_bytes());
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, _: &'static DataType) -> Result<Self, ReadError> {
        r.read_f64()
    }
}

impl AvroField for String {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        text::check_str(self, dt).map_err(EncodeError::new)?;
        write_bytes(out, self.as_bytes());
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError> {
        let at = r.pos;
        let s = r.read_str()?;
        text::check_str(s, dt).map_err(|m| ReadError::new(at, m))?;
        Ok(s.to_string())
    }
}

impl AvroField for Vec<u8> {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        text::check_bytes(self, dt).map_err(EncodeError::new)?;
        write_bytes(out, self);
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError> {
        let at = r.pos;
        let b = r.read_bytes()?;
        text::check_bytes(b, dt).map_err(|m| ReadError::new(at, m))?;
        Ok(b.to_vec())
    }
}

impl AvroField for BigDecimal {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        let v = text::fit_decimal(self, dt).map_err(EncodeError::new)?;
        let (unscaled, _) = v.as_bigint_and_exponent();
        write_bytes(out, &unscaled.to_signed_bytes_be());
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError> {
        let at = r.pos;
        let b = r.read_bytes()?;
        let fail = |message: String| ReadError::new(at, message);
        let DataType::Decimal { precision, scale } = *dt else { return Err(fail(format!("{dt:?} is not a DECIMAL"))) };
        if b.is_empty() {
            return Err(fail("a DECIMAL with no bytes (two's complement needs at least one)".into()));
        }
        if b.len() > MAX_DECIMAL_BYTES {
            return Err(fail(format!("a {}-byte unscaled value cannot fit DECIMAL({precision}, {scale})", b.len())));
        }
        let v = BigDecimal::new(BigInt::from_signed_bytes_be(b), i64::from(scale));
        text::fit_decimal(&v, dt).map_err(fail)
    }
}

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();

impl AvroField for NaiveDate {
    fn write_avro(&self, out: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
        write_long(out, (*self - EPOCH).num_days());
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, _: &'static DataType) -> Result<Self, ReadError> {
        let at = r.pos;
        let days = r.read_int()?;
        EPOCH
            .checked_add_signed(chrono::TimeDelta::days(i64::from(days)))
            .ok_or_else(|| ReadError::new(at, format!("{days} days from 1970-01-01 is not a date")))
    }
}

impl AvroField for NaiveTime {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        // Checks the value's sub-second digits against the column's precision.
        text::time_text(self, dt)?;
        let millis = i64::from(self.num_seconds_from_midnight()) * 1000 + i64::from(self.nanosecond() / 1_000_000);
        write_long(out, millis);
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError> {
        let at = r.pos;
        let ms = r.read_int()?;
        let fail = |message: String| ReadError::new(at, message);
        if !(0..86_400_000).contains(&ms) {
            return Err(fail(format!("{ms} ms is not a time of day")));
        }
        let t = NaiveTime::from_num_seconds_from_midnight_opt(ms as u32 / 1000, (ms as u32 % 1000) * 1_000_000)
            .ok_or_else(|| fail(format!("{ms} ms is not a time of day")))?;
        text::time_text(&t, dt).map_err(|e| fail(e.message.clone()))?;
        Ok(t)
    }
}

/// The unit a TIMESTAMP(p) is stored in: 3 → millis, 6 → micros, 9 → nanos.
fn timestamp_unit(dt: &DataType) -> u32 {
    match dt {
        DataType::Timestamp(p) | DataType::TimestampLtz(p) if *p <= 3 => 3,
        DataType::Timestamp(p) | DataType::TimestampLtz(p) if *p <= 6 => 6,
        _ => 9,
    }
}

fn write_instant(out: &mut Vec<u8>, t: &DateTime<Utc>, dt: &'static DataType) -> Result<(), EncodeError> {
    let v = match timestamp_unit(dt) {
        3 => Some(t.timestamp_millis()),
        6 => Some(t.timestamp_micros()),
        _ => t.timestamp_nanos_opt(),
    };
    let v = v.ok_or_else(|| EncodeError::new(format!("{t} is outside what nanoseconds since 1970 can hold in 64 bits")))?;
    write_long(out, v);
    Ok(())
}

fn read_instant(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<DateTime<Utc>, ReadError> {
    let at = r.pos;
    let v = r.read_long()?;
    let t = match timestamp_unit(dt) {
        3 => DateTime::from_timestamp_millis(v),
        6 => DateTime::from_timestamp_micros(v),
        _ => Some(DateTime::from_timestamp_nanos(v)),
    };
    t.ok_or_else(|| ReadError::new(at, format!("{v} is outside the range of a timestamp")))
}

impl AvroField for NaiveDateTime {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        text::timestamp_text(self, dt, crate::config::TimestampStandard::Sql)?;
        write_instant(out, &self.and_utc(), dt)
    }
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError> {
        let at = r.pos;
        let t = read_instant(r, dt)?.naive_utc();
        text::timestamp_text(&t, dt, crate::config::TimestampStandard::Sql).map_err(|e| ReadError::new(at, e.message.clone()))?;
        Ok(t)
    }
}

impl AvroField for DateTime<Utc> {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        text::timestamp_ltz_text(self, dt, crate::config::TimestampStandard::Sql)?;
        write_instant(out, self, dt)
    }
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError> {
        let at = r.pos;
        let t = read_instant(r, dt)?;
        text::timestamp_ltz_text(&t, dt, crate::config::TimestampStandard::Sql).map_err(|e| ReadError::new(at, e.message.clone()))?;
        Ok(t)
    }
}

/// A nullable value: the union `["null", T]`.
impl<T: AvroField> AvroField for Option<T> {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        match self {
            None => {
                out.push(0);
                Ok(())
            }
            Some(v) => {
                out.push(2); // zig-zag 1
                v.write_avro(out, dt)
            }
        }
    }
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError> {
        match r.read_union(2)? {
            0 => Ok(None),
            _ => T::read_avro(r, dt).map(Some),
        }
    }
}

impl<T: AvroField> AvroField for Vec<T> {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        if !self.is_empty() {
            write_long(out, self.len() as i64);
            for (i, v) in self.iter().enumerate() {
                v.write_avro(out, dt.element()).map_err(|e| e.in_field(&format!("[{i}]")))?;
            }
        }
        out.push(0);
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError> {
        let mut out = Vec::new();
        loop {
            let n = r.read_block()?;
            if n == 0 {
                return Ok(out);
            }
            out.reserve(n);
            for _ in 0..n {
                let i = out.len();
                out.push(T::read_avro(r, dt.element()).map_err(|e| e.in_field(&format!("[{i}]")))?);
            }
        }
    }
}

impl<K: MapKey, V: AvroField> AvroField for BTreeMap<K, V> {
    fn write_avro(&self, out: &mut Vec<u8>, dt: &'static DataType) -> Result<(), EncodeError> {
        if !self.is_empty() {
            write_long(out, self.len() as i64);
            let mut key = String::new();
            for (k, v) in self {
                key.clear();
                k.write_key(&mut key, dt.map_key())?;
                write_bytes(out, key.as_bytes());
                v.write_avro(out, dt.element()).map_err(|e| e.in_field(&format!("[{}]", super::echo(&key))))?;
            }
        }
        out.push(0);
        Ok(())
    }
    fn read_avro(r: &mut AvroReader<'_>, dt: &'static DataType) -> Result<Self, ReadError> {
        let mut out = BTreeMap::new();
        loop {
            let n = r.read_block()?;
            if n == 0 {
                return Ok(out);
            }
            for _ in 0..n {
                let at = r.pos;
                let k = r.read_str()?;
                let fail = |message: String| ReadError::new(at, message);
                let key = K::read_key(k, dt.map_key()).map_err(fail)?;
                let v = V::read_avro(r, dt.element()).map_err(|e| e.in_field(&format!("[{}]", super::echo(k))))?;
                if out.insert(key, v).is_some() {
                    return Err(fail(format!("map key `{}` appears twice", super::echo(k))));
                }
            }
        }
    }
}

/// Decodes a whole record, rejecting trailing bytes.
pub fn decode_record<T: AvroField>(data: &[u8]) -> Result<T, DecodeError> {
    let mut r = AvroReader::new(data);
    let v = T::read_avro(&mut r, &DataType::Row).map_err(|e| e.into_decode("avro: column"))?;
    r.finish().map_err(|e| e.into_decode("avro: column"))?;
    Ok(v)
}

/// Encodes a whole record.
pub fn encode_record<T: AvroField>(v: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64);
    v.write_avro(&mut out, &DataType::Row)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long_bytes(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_long(&mut out, v);
        out
    }

    #[test]
    fn longs_are_zigzag_varints_as_the_spec_lists_them() {
        // The examples of the Avro specification.
        for (v, bytes) in [
            (0, vec![0x00]),
            (-1, vec![0x01]),
            (1, vec![0x02]),
            (-2, vec![0x03]),
            (2, vec![0x04]),
            (-64, vec![0x7f]),
            (64, vec![0x80, 0x01]),
        ] {
            assert_eq!(long_bytes(v), bytes, "{v}");
            assert_eq!(AvroReader::new(&bytes).read_long().unwrap(), v);
        }
        for v in [i64::MIN, i64::MAX, i64::from(i32::MIN), 1 << 40] {
            let b = long_bytes(v);
            assert!(b.len() <= 10);
            assert_eq!(AvroReader::new(&b).read_long().unwrap(), v);
        }
    }

    #[test]
    fn overlong_and_truncated_numbers_are_errors() {
        assert!(AvroReader::new(&[0x80; 11]).read_long().unwrap_err().message.contains("64 bits"));
        let mut ten = vec![0xff; 9];
        ten.push(0x02);
        assert!(AvroReader::new(&ten).read_long().is_err());
        assert!(AvroReader::new(&[0x80, 0x80]).read_long().unwrap_err().message.contains("ends inside"));
        assert!(AvroReader::new(&long_bytes(1 << 40)).read_int().unwrap_err().message.contains("int"));
    }

    #[test]
    fn lengths_and_counts_past_the_end_are_refused_before_allocating() {
        let mut b = long_bytes(1 << 50);
        b.extend_from_slice(b"abc");
        let e = AvroReader::new(&b).read_bytes().unwrap_err();
        assert!(e.message.contains("runs past the end"), "{e:?}");
        assert!(AvroReader::new(&long_bytes(-3)).read_bytes().unwrap_err().message.contains("negative"));
        // An array claiming 2^60 items in a 12-byte datum.
        let mut a = long_bytes(1 << 60);
        a.extend_from_slice(&[2; 10]);
        let e = <Vec<i64>>::read_avro(&mut AvroReader::new(&a), &DataType::Array(&DataType::BigInt)).unwrap_err();
        assert!(e.message.contains("cannot fit"), "{e:?}");
        // A negative count (a block with its byte size) of i64::MIN.
        let mut m = long_bytes(i64::MIN);
        m.extend_from_slice(&long_bytes(1));
        assert!(AvroReader::new(&m).read_block().is_err());
    }

    static DEC: DataType = DataType::Decimal { precision: 10, scale: 2 };
    static ARR: DataType = DataType::Array(&DataType::Int);
    static MAP: DataType = DataType::Map(&DataType::String, &DataType::BigInt);

    #[test]
    fn values_round_trip_in_flinks_encoding() {
        use std::str::FromStr;
        let d = BigDecimal::from_str("-123.45").unwrap();
        let mut out = Vec::new();
        d.write_avro(&mut out, &DEC).unwrap();
        // -12345 as big-endian two's complement: 0xCF 0xC7.
        assert_eq!(out, [0x04, 0xcf, 0xc7]);
        assert_eq!(BigDecimal::read_avro(&mut AvroReader::new(&out), &DEC).unwrap(), d);

        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let ts = date.and_hms_micro_opt(12, 34, 56, 789_000).unwrap();
        let mut out = Vec::new();
        date.write_avro(&mut out, &DataType::Date).unwrap();
        ts.write_avro(&mut out, &DataType::Timestamp(3)).unwrap();
        ts.write_avro(&mut out, &DataType::Timestamp(6)).unwrap();
        Some(vec![1i32, -2, 3]).write_avro(&mut out, &ARR).unwrap();
        None::<String>.write_avro(&mut out, &DataType::String).unwrap();
        BTreeMap::from([("a".to_string(), 1i64), ("b".into(), -1)]).write_avro(&mut out, &MAP).unwrap();
        let mut r = AvroReader::new(&out);
        assert_eq!(NaiveDate::read_avro(&mut r, &DataType::Date).unwrap(), date);
        assert_eq!(NaiveDateTime::read_avro(&mut r, &DataType::Timestamp(3)).unwrap(), ts);
        assert_eq!(NaiveDateTime::read_avro(&mut r, &DataType::Timestamp(6)).unwrap(), ts);
        assert_eq!(<Option<Vec<i32>>>::read_avro(&mut r, &ARR).unwrap(), Some(vec![1, -2, 3]));
        assert_eq!(<Option<String>>::read_avro(&mut r, &DataType::String).unwrap(), None);
        assert_eq!(<BTreeMap<String, i64>>::read_avro(&mut r, &MAP).unwrap().len(), 2);
        r.finish().unwrap();
        // The date is 19,782 days after the epoch; millis are a plain long.
        assert_eq!(&out[..3], long_bytes(19_782).as_slice());
    }

    #[test]
    fn values_that_do_not_fit_their_column_are_errors_naming_why() {
        // 12345678901 (unscaled) has 11 digits: too many for DECIMAL(10, 2).
        let mut b = Vec::new();
        write_bytes(&mut b, &BigInt::from(12_345_678_901i64).to_signed_bytes_be());
        let e = BigDecimal::read_avro(&mut AvroReader::new(&b), &DEC).unwrap_err();
        assert!(e.message.contains("DECIMAL(10, 2)"), "{e:?}");
        let mut b = Vec::new();
        write_bytes(&mut b, &[0x7f; 40]);
        assert!(BigDecimal::read_avro(&mut AvroReader::new(&b), &DEC).unwrap_err().message.contains("40-byte"));
        assert!(AvroReader::new(&[7]).read_bool().is_err());
        assert!(<Option<i32>>::read_avro(&mut AvroReader::new(&[4, 2]), &DataType::Int).unwrap_err().message.contains("union branch 2"));
        assert!(i8::read_avro(&mut AvroReader::new(&long_bytes(200)), &DataType::TinyInt).is_err());
        let mut b = Vec::new();
        write_bytes(&mut b, "abcdef".as_bytes());
        assert!(String::read_avro(&mut AvroReader::new(&b), &DataType::Varchar(3)).unwrap_err().message.contains("VARCHAR(3)"));
        let mut b = Vec::new();
        write_bytes(&mut b, &[0xff, 0xfe]);
        assert!(String::read_avro(&mut AvroReader::new(&b), &DataType::String).unwrap_err().message.contains("UTF-8"));
        // 1 µs in a TIMESTAMP(3) column has more digits than it holds.
        let ts = DateTime::from_timestamp_micros(1).unwrap().naive_utc();
        assert!(ts.write_avro(&mut Vec::new(), &DataType::Timestamp(3)).is_err());
        assert!(NaiveDateTime::read_avro(&mut AvroReader::new(&long_bytes(1)), &DataType::Timestamp(4)).is_err());
        assert!(NaiveTime::read_avro(&mut AvroReader::new(&long_bytes(86_400_000)), &DataType::Time(3)).is_err());
        let mut b = Vec::new();
        BTreeMap::from([("k".to_string(), 1i64)]).write_avro(&mut b, &MAP).unwrap();
        // The same key twice in one block.
        let dup = [&[4u8][..], &b[1..b.len() - 1], &b[1..]].concat();
        assert!(<BTreeMap<String, i64>>::read_avro(&mut AvroReader::new(&dup), &MAP).unwrap_err().message.contains("twice"));
    }

    #[test]
    fn errors_name_the_column_and_the_offset() {
        #[derive(Debug)]
        struct Row {
            _a: i64,
            _b: Option<Vec<String>>,
        }
        impl AvroField for Row {
            fn write_avro(&self, _: &mut Vec<u8>, _: &'static DataType) -> Result<(), EncodeError> {
                unreachable!()
            }
            fn read_avro(r: &mut AvroReader<'_>, _: &'static DataType) -> Result<Self, ReadError> {
                static B: DataType = DataType::Array(&DataType::String);
                Ok(Row { _a: r.field("a", &DataType::BigInt)?, _b: r.field("b", &B)? })
            }
        }
        // a = 1, b = Some([ "x", <truncated string> ])
        let bytes = [2, 2, 4, 2, b'x', 10, b'y'];
        let e = decode_record::<Row>(&bytes).unwrap_err();
        assert_eq!(e.message, "avro: column `b.[1]`: a length of 5 bytes runs past the end of the datum (1 left) (at byte 5)");
        let e = decode_record::<i64>(&[2, 0]).unwrap_err();
        assert!(e.message.contains("1 bytes after the end"), "{e}");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        static ROWISH: DataType = DataType::Array(&DataType::Map(&DataType::String, &DataType::Decimal { precision: 38, scale: 4 }));
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let n = rng.usize(0..64);
            let bytes: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            let _ = decode_record::<Option<Vec<Option<BTreeMap<String, Option<BigDecimal>>>>>>(&bytes);
            let mut r = AvroReader::new(&bytes);
            let _ = <Vec<BTreeMap<String, BigDecimal>>>::read_avro(&mut r, &ROWISH);
            let _ = <Option<NaiveDateTime>>::read_avro(&mut AvroReader::new(&bytes), &DataType::Timestamp(9));
            let _ = <Option<NaiveTime>>::read_avro(&mut AvroReader::new(&bytes), &DataType::Time(3));
            let _ = <Option<NaiveDate>>::read_avro(&mut AvroReader::new(&bytes), &DataType::Date);
        }
    }
}
