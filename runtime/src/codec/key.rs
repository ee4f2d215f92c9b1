//! Values as text keys: map keys, and the parts of a partition key.

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::text;
use super::{DataType, EncodeError};
use crate::config::TimestampStandard;

/// A map key type.
pub trait MapKey: Ord + Sized {
    fn write_key(&self, out: &mut String, dt: &'static DataType) -> Result<(), EncodeError>;
    fn read_key(s: &str, dt: &'static DataType) -> Result<Self, String>;
}

impl MapKey for String {
    fn write_key(&self, out: &mut String, dt: &'static DataType) -> Result<(), EncodeError> {
        text::check_str(self, dt).map_err(EncodeError::new)?;
        out.push_str(self);
        Ok(())
    }
    fn read_key(s: &str, dt: &'static DataType) -> Result<Self, String> {
        text::check_str(s, dt)?;
        Ok(s.to_string())
    }
}

macro_rules! int_key {
    ($($t:ty),*) => {$(
        impl MapKey for $t {
            fn write_key(&self, out: &mut String, _: &'static DataType) -> Result<(), EncodeError> {
                out.push_str(itoa::Buffer::new().format(*self));
                Ok(())
            }
            fn read_key(s: &str, _: &'static DataType) -> Result<Self, String> {
                s.parse().map_err(|_| format!("`{}` is not a {}", super::echo(s), stringify!($t)))
            }
        }
    )*};
}
int_key!(i8, i16, i32, i64);

impl MapKey for bool {
    fn write_key(&self, out: &mut String, _: &'static DataType) -> Result<(), EncodeError> {
        out.push_str(if *self { "true" } else { "false" });
        Ok(())
    }
    fn read_key(s: &str, _: &'static DataType) -> Result<Self, String> {
        s.parse().map_err(|_| format!("`{}` is not a boolean", super::echo(s)))
    }
}

impl MapKey for NaiveDate {
    fn write_key(&self, out: &mut String, _: &'static DataType) -> Result<(), EncodeError> {
        out.push_str(&text::date_text(self));
        Ok(())
    }
    fn read_key(s: &str, _: &'static DataType) -> Result<Self, String> {
        text::parse_date(s)
    }
}

/// A column that can be part of a partition key.
pub trait KeyPart {
    fn write_key_part(&self, out: &mut String, dt: &'static DataType) -> Result<(), EncodeError>;
}

macro_rules! display_key {
    ($($t:ty),*) => {$(
        impl KeyPart for $t {
            fn write_key_part(&self, out: &mut String, _: &'static DataType) -> Result<(), EncodeError> {
                use std::fmt::Write;
                let _ = write!(out, "{}", self);
                Ok(())
            }
        }
    )*};
}
display_key!(bool, i8, i16, i32, i64, f32, f64, String);

impl KeyPart for BigDecimal {
    fn write_key_part(&self, out: &mut String, dt: &'static DataType) -> Result<(), EncodeError> {
        out.push_str(&text::decimal_text(self, dt, false)?);
        Ok(())
    }
}
impl KeyPart for NaiveDate {
    fn write_key_part(&self, out: &mut String, _: &'static DataType) -> Result<(), EncodeError> {
        out.push_str(&text::date_text(self));
        Ok(())
    }
}
impl KeyPart for NaiveTime {
    fn write_key_part(&self, out: &mut String, dt: &'static DataType) -> Result<(), EncodeError> {
        out.push_str(&text::time_text(self, dt)?);
        Ok(())
    }
}
impl KeyPart for NaiveDateTime {
    fn write_key_part(&self, out: &mut String, dt: &'static DataType) -> Result<(), EncodeError> {
        out.push_str(&text::timestamp_text(self, dt, TimestampStandard::Sql)?);
        Ok(())
    }
}
impl KeyPart for DateTime<Utc> {
    fn write_key_part(&self, out: &mut String, dt: &'static DataType) -> Result<(), EncodeError> {
        out.push_str(&text::timestamp_ltz_text(self, dt, TimestampStandard::Sql)?);
        Ok(())
    }
}
impl<T: KeyPart> KeyPart for Option<T> {
    fn write_key_part(&self, out: &mut String, dt: &'static DataType) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.write_key_part(out, dt),
            None => Err(EncodeError::new("a partition key column is null; the record has no partition key")),
        }
    }
}

/// Checks a finished partition key against the Kinesis limits. Never truncates.
pub fn check_partition_key(key: String) -> Result<String, EncodeError> {
    let n = key.chars().count();
    if n == 0 {
        return Err(EncodeError::new("the partition key is empty; Kinesis needs 1 to 256 characters"));
    }
    if n > crate::config_limits::PARTITION_KEY_MAX_CHARS {
        return Err(EncodeError::new(format!("the partition key is {n} characters long; Kinesis allows 256 (it is never truncated)")));
    }
    Ok(key)
}
