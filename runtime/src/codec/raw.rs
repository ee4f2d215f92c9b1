//! The `raw` format: the record is the value of its one physical column.
//! A null value is an empty record; a non-null value that would encode to
//! no bytes is an error, so null and empty are never confused.

use super::{DataType, EncodeError};
use crate::config::{Charset, Endianness, RawOptions};

#[derive(Debug, Clone, Copy)]
pub struct RawCx {
    pub charset: Charset,
    pub endianness: Endianness,
}

impl RawCx {
    pub const fn from_options(o: &RawOptions) -> Self {
        RawCx { charset: o.charset, endianness: o.endianness }
    }
}

pub trait RawField: Sized {
    fn write_raw(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &RawCx) -> Result<(), EncodeError>;
    fn read_raw(data: &[u8], dt: &'static DataType, cx: &RawCx) -> Result<Self, String>;
}

macro_rules! num_raw {
    ($($t:ty),*) => {$(
        impl RawField for $t {
            fn write_raw(&self, out: &mut Vec<u8>, _: &'static DataType, cx: &RawCx) -> Result<(), EncodeError> {
                match cx.endianness {
                    Endianness::Big => out.extend_from_slice(&self.to_be_bytes()),
                    Endianness::Little => out.extend_from_slice(&self.to_le_bytes()),
                }
                Ok(())
            }
            fn read_raw(data: &[u8], _: &'static DataType, cx: &RawCx) -> Result<Self, String> {
                let arr: [u8; std::mem::size_of::<$t>()] = data.try_into().map_err(|_| format!("expected {} bytes for {}, found {}", std::mem::size_of::<$t>(), stringify!($t), data.len()))?;
                Ok(match cx.endianness {
                    Endianness::Big => <$t>::from_be_bytes(arr),
                    Endianness::Little => <$t>::from_le_bytes(arr),
                })
            }
        }
    )*};
}
num_raw!(i8, i16, i32, i64, f32, f64);

impl RawField for bool {
    fn write_raw(&self, out: &mut Vec<u8>, _: &'static DataType, _: &RawCx) -> Result<(), EncodeError> {
        out.push(*self as u8);
        Ok(())
    }
    fn read_raw(data: &[u8], _: &'static DataType, _: &RawCx) -> Result<Self, String> {
        match data {
            [0] => Ok(false),
            [1] => Ok(true),
            [b] => Err(format!("expected one byte 0 or 1 for BOOLEAN, found {b}")),
            _ => Err(format!("expected one byte 0 or 1 for BOOLEAN, found {} bytes", data.len())),
        }
    }
}

impl RawField for String {
    fn write_raw(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &RawCx) -> Result<(), EncodeError> {
        super::text::check_str(self, dt).map_err(EncodeError::new)?;
        match cx.charset {
            Charset::Utf8 => out.extend_from_slice(self.as_bytes()),
            Charset::UsAscii => {
                if !self.is_ascii() {
                    return Err(EncodeError::new("the text has characters outside US-ASCII"));
                }
                out.extend_from_slice(self.as_bytes());
            }
            Charset::Iso8859_1 => {
                for c in self.chars() {
                    let n = c as u32;
                    if n > 0xff {
                        return Err(EncodeError::new(format!("`{c}` is outside ISO-8859-1")));
                    }
                    out.push(n as u8);
                }
            }
        }
        Ok(())
    }
    fn read_raw(data: &[u8], dt: &'static DataType, cx: &RawCx) -> Result<Self, String> {
        let s = match cx.charset {
            Charset::Utf8 => String::from_utf8(data.to_vec()).map_err(|e| format!("not UTF-8: {e}"))?,
            Charset::UsAscii => {
                if !data.is_ascii() {
                    return Err("bytes outside US-ASCII".into());
                }
                String::from_utf8(data.to_vec()).map_err(|e| e.to_string())?
            }
            Charset::Iso8859_1 => data.iter().map(|&b| b as char).collect(),
        };
        super::text::check_str(&s, dt)?;
        Ok(s)
    }
}

impl RawField for Vec<u8> {
    fn write_raw(&self, out: &mut Vec<u8>, dt: &'static DataType, _: &RawCx) -> Result<(), EncodeError> {
        super::text::check_bytes(self, dt).map_err(EncodeError::new)?;
        out.extend_from_slice(self);
        Ok(())
    }
    fn read_raw(data: &[u8], dt: &'static DataType, _: &RawCx) -> Result<Self, String> {
        super::text::check_bytes(data, dt)?;
        Ok(data.to_vec())
    }
}

impl<T: RawField> RawField for Option<T> {
    fn write_raw(&self, out: &mut Vec<u8>, dt: &'static DataType, cx: &RawCx) -> Result<(), EncodeError> {
        match self {
            None => Ok(()),
            Some(v) => {
                let before = out.len();
                v.write_raw(out, dt, cx)?;
                if out.len() == before {
                    return Err(EncodeError::new("an empty value cannot be told apart from null in format raw"));
                }
                Ok(())
            }
        }
    }
    fn read_raw(data: &[u8], dt: &'static DataType, cx: &RawCx) -> Result<Self, String> {
        if data.is_empty() { Ok(None) } else { T::read_raw(data, dt, cx).map(Some) }
    }
}
