//! Encoding and decoding of typed records: the value types, the errors, and
//! one module per format. Generated code calls into these.

pub mod csv;
pub mod json;
pub mod key;
pub mod raw;
mod text;

use std::fmt;

/// The SQL type of a column, as generated code passes it to the codecs so
/// that lengths, precisions and scales are enforced on every value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal { precision: u8, scale: u8 },
    String,
    Varchar(u32),
    Char(u32),
    Bytes,
    Varbinary(u32),
    Binary(u32),
    Date,
    Time(u8),
    Timestamp(u8),
    TimestampLtz(u8),
    Array(&'static DataType),
    Map(&'static DataType, &'static DataType),
    Row,
}

impl DataType {
    /// The element type of an array (or the value type of a map).
    pub fn element(&self) -> &'static DataType {
        match self {
            DataType::Array(e) => e,
            DataType::Map(_, v) => v,
            _ => &DataType::Row,
        }
    }
    pub fn map_key(&self) -> &'static DataType {
        match self {
            DataType::Map(k, _) => k,
            _ => &DataType::String,
        }
    }
}

/// How many characters of a value error messages and log lines echo.
pub const ECHO_CHARS: usize = 64;

/// A value as error messages and log lines show it: whole when it has at
/// most [`ECHO_CHARS`] characters, else its first [`ECHO_CHARS`] characters,
/// an ellipsis and its full length. Never splits a character.
pub fn echo(s: &str) -> Echo<'_> {
    Echo(s)
}

/// See [`echo`].
#[derive(Debug, Clone, Copy)]
pub struct Echo<'a>(&'a str);

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(ECHO_CHARS) {
            None => f.write_str(self.0),
            Some((cut, _)) => write!(f, "{}… ({} bytes in all)", &self.0[..cut], self.0.len()),
        }
    }
}

/// A record could not be encoded. Nothing was written.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeError {
    /// The column path, outermost first.
    pub path: Vec<String>,
    pub message: String,
}

impl EncodeError {
    pub fn new(message: impl Into<String>) -> Self {
        EncodeError { path: Vec::new(), message: message.into() }
    }
    /// Prefixes the column this error happened in.
    pub fn in_field(mut self, column: &str) -> Self {
        self.path.insert(0, column.to_string());
        self
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { write!(f, "{}", self.message) } else { write!(f, "column `{}`: {}", self.path.join("."), self.message) }
    }
}

impl std::error::Error for EncodeError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The bytes are not a valid record of this table.
    Invalid,
    /// A CSV comment line, skipped because `csv.allow-comments` is on.
    Comment,
}

/// A record could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub kind: DecodeErrorKind,
    pub message: String,
}

impl DecodeError {
    pub fn invalid(message: impl Into<String>) -> Self {
        DecodeError { kind: DecodeErrorKind::Invalid, message: message.into() }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DecodeErrorKind::Invalid => write!(f, "invalid record: {}", self.message),
            DecodeErrorKind::Comment => write!(f, "comment record (skipped by csv.allow-comments)"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<serde_json::Error> for DecodeError {
    fn from(e: serde_json::Error) -> Self {
        DecodeError::invalid(e.to_string())
    }
}
