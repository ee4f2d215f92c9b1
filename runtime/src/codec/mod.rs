//! Encoding and decoding of typed records: the value types, the errors, and
//! one module per format. Generated code calls into these.

pub mod avro;
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

/// A failure inside a record being read by a generated decoder: what went
/// wrong, at which byte, and in which column. Boxed, so that the `Result`s of
/// the hot decode path stay one word wide.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadError(Box<ReadErrorAt>);

/// The parts of a [`ReadError`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReadErrorAt {
    /// The column path, outermost first.
    pub path: Vec<String>,
    /// The byte offset in the record.
    pub offset: usize,
    pub message: String,
}

impl std::ops::Deref for ReadError {
    type Target = ReadErrorAt;
    fn deref(&self) -> &ReadErrorAt {
        &self.0
    }
}

impl ReadError {
    #[cold]
    pub fn new(offset: usize, message: impl Into<String>) -> Self {
        ReadError(Box::new(ReadErrorAt { path: Vec::new(), offset, message: message.into() }))
    }
    /// Prefixes the column this error happened in.
    #[cold]
    pub fn in_field(mut self, column: &str) -> Self {
        self.0.path.insert(0, column.to_string());
        self
    }
    /// The decode error, with the column path after `what` (`avro: column`,
    /// `field`).
    pub fn into_decode(self, what: &str) -> DecodeError {
        let e = *self.0;
        if e.path.is_empty() {
            DecodeError::invalid(format!("{} (at byte {})", e.message, e.offset))
        } else {
            DecodeError::invalid(format!("{what} `{}`: {} (at byte {})", e.path.join("."), e.message, e.offset))
        }
    }
}

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
    /// An invalid record. A message over [`MAX_MESSAGE_BYTES`] (a value
    /// echoed whole by serde_json, say) keeps only its head and tail.
    pub fn invalid(message: impl Into<String>) -> Self {
        DecodeError { kind: DecodeErrorKind::Invalid, message: cap_message(message.into()) }
    }
}

/// The longest decode error message kept whole.
pub const MAX_MESSAGE_BYTES: usize = 256;

/// Shortens a message over [`MAX_MESSAGE_BYTES`] to about its first 150
/// and last 80 bytes (the end is where serde_json says what it expected, and
/// where), never splitting a character.
fn cap_message(m: String) -> String {
    if m.len() <= MAX_MESSAGE_BYTES {
        return m;
    }
    let mut head = 150;
    while !m.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = m.len() - 80;
    while !m.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}… ({} bytes cut) …{}", &m[..head], tail - head, &m[tail..])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_caps_values_on_character_boundaries() {
        assert_eq!(echo("short").to_string(), "short");
        let exact = "é".repeat(ECHO_CHARS);
        assert_eq!(echo(&exact).to_string(), exact);
        let long = format!("{exact}🔑tail");
        assert_eq!(echo(&long).to_string(), format!("{exact}… ({} bytes in all)", long.len()));
        assert_eq!(echo(&"🔑".repeat(1 << 18)).to_string(), format!("{}… (1048576 bytes in all)", "🔑".repeat(ECHO_CHARS)));
    }

    #[test]
    fn decode_errors_do_not_echo_a_whole_value() {
        use crate::codec::csv::{CsvCx, CsvField};
        use crate::codec::json::{self, JsonCx};
        use crate::config::TimestampStandard;

        let mib = |c: &str| c.repeat((1 << 20) / c.len());
        let cx = JsonCx {
            timestamp_standard: TimestampStandard::Sql,
            decimal_as_plain_number: false,
            ignore_null_fields: false,
            fail_on_missing_field: false,
        };
        let quoted = |v: &str| format!("\"{v}\"").into_bytes();
        let csv = CsvCx {
            delimiter: ',',
            quote: Some('"'),
            escape: None,
            array_delimiter: ";",
            null_literal: None,
            decimal_scientific: false,
            allow_comments: false,
        };
        let mut errors: Vec<(&str, String)> = vec![
            // serde_json echoes a string it cannot take whole; the cap keeps
            // what it expected and where.
            ("json string for INT", json::decode_record::<i32>(&quoted(&mib("é")), &cx).unwrap_err().to_string()),
            ("json string for DOUBLE", json::decode_record::<f64>(&quoted(&mib("x")), &cx).unwrap_err().to_string()),
            ("json decimal", json::decode_record::<bigdecimal::BigDecimal>(&quoted(&mib("9x")), &cx).unwrap_err().to_string()),
            ("csv INT", <i32 as CsvField>::from_csv(&mib("z"), &DataType::Int, &csv).unwrap_err()),
            ("csv DATE", <chrono::NaiveDate as CsvField>::from_csv(&mib("z"), &DataType::Date, &csv).unwrap_err()),
            ("csv TIMESTAMP", <chrono::NaiveDateTime as CsvField>::from_csv(&mib("z"), &DataType::Timestamp(3), &csv).unwrap_err()),
            (
                "csv DECIMAL",
                <bigdecimal::BigDecimal as CsvField>::from_csv(&mib("12"), &DataType::Decimal { precision: 10, scale: 2 }, &csv)
                    .unwrap_err(),
            ),
            ("any message", DecodeError::invalid(mib("m")).to_string()),
        ];
        let e = json::decode_record::<i32>(&quoted(&mib("é")), &cx).unwrap_err().to_string();
        assert_eq!(e, "invalid record: expected an integer, found a string (at byte 0)");
        errors.push((
            "bad UTF-8 csv record",
            crate::codec::csv::CsvRecord::parse(&[b'a'; 1 << 20].iter().copied().chain([0xff]).collect::<Vec<_>>(), &csv, 1)
                .err()
                .unwrap()
                .to_string(),
        ));
        for (what, e) in errors {
            assert!(e.len() < 400, "{what}: {} bytes: {}", e.len(), e.chars().take(300).collect::<String>());
        }
    }
}
