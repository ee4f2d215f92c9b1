//! The `csv` format: one record is one line of delimited fields, in column
//! order, without a header. Null is the null literal (by default an empty
//! unquoted field); an empty string is written quoted, so the two never mix.
//!
//! A Kinesis record holds exactly one line, so this module parses it itself:
//! it needs to know whether an empty field was quoted, which general CSV
//! readers do not report.

use base64::Engine as _;
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::text;
use super::{DataType, DecodeError, DecodeErrorKind, EncodeError};
use crate::config::{CsvOptions, TimestampStandard};

#[derive(Debug, Clone, Copy)]
pub struct CsvCx {
    pub delimiter: char,
    pub quote: Option<char>,
    pub escape: Option<char>,
    pub array_delimiter: &'static str,
    pub null_literal: Option<&'static str>,
    pub decimal_scientific: bool,
    pub allow_comments: bool,
}

impl CsvCx {
    fn null_text(&self) -> &'static str {
        self.null_literal.unwrap_or("")
    }
}

/// Builds a [`CsvCx`] from options whose strings are `'static` (generated constants).
pub const fn cx(o: &CsvOptions, array_delimiter: &'static str, null_literal: Option<&'static str>) -> CsvCx {
    CsvCx {
        delimiter: o.field_delimiter,
        quote: o.quote_character,
        escape: o.escape_character,
        array_delimiter,
        null_literal,
        decimal_scientific: o.decimal_scientific,
        allow_comments: o.allow_comments,
    }
}

/// A value that can be one CSV field.
pub trait CsvField: Sized {
    /// Appends the text of the value; returns `false` (appending nothing) for null.
    fn csv_text(&self, out: &mut String, dt: &'static DataType, cx: &CsvCx) -> Result<bool, EncodeError>;
    fn from_csv(text: &str, dt: &'static DataType, cx: &CsvCx) -> Result<Self, String>;
    /// The value of a null field, if this type can be null.
    fn csv_null() -> Option<Self> {
        None
    }
}

pub struct CsvWriter<'a> {
    cx: &'a CsvCx,
    out: String,
    buf: String,
    first: bool,
}

impl<'a> CsvWriter<'a> {
    pub fn new(cx: &'a CsvCx) -> Self {
        CsvWriter { cx, out: String::with_capacity(128), buf: String::new(), first: true }
    }

    pub fn field<T: CsvField>(&mut self, name: &str, v: &T, dt: &'static DataType) -> Result<(), EncodeError> {
        if !self.first {
            self.out.push(self.cx.delimiter);
        }
        let first = std::mem::replace(&mut self.first, false);
        self.buf.clear();
        let present = v.csv_text(&mut self.buf, dt, self.cx).map_err(|e| e.in_field(name))?;
        if !present {
            self.out.push_str(self.cx.null_text());
            return Ok(());
        }
        let t = &self.buf;
        let cx = self.cx;
        let special = |c: char| c == cx.delimiter || Some(c) == cx.quote || Some(c) == cx.escape || c == '\n' || c == '\r';
        let needs_quote =
            t.is_empty() || t == cx.null_text() || t.chars().any(special) || (first && cx.allow_comments && t.starts_with('#'));
        if !needs_quote {
            self.out.push_str(t);
            return Ok(());
        }
        match (cx.quote, cx.escape) {
            (Some(q), esc) => {
                self.out.push(q);
                for c in t.chars() {
                    if c == q || Some(c) == esc {
                        self.out.push(esc.unwrap_or(q));
                    }
                    self.out.push(c);
                }
                self.out.push(q);
                Ok(())
            }
            (None, Some(e)) if !t.is_empty() && t != cx.null_text() => {
                for c in t.chars() {
                    if special(c) {
                        self.out.push(e);
                    }
                    self.out.push(c);
                }
                Ok(())
            }
            _ => Err(EncodeError::new("the value needs quoting, but quoting is disabled (csv.disable-quote-character)").in_field(name)),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

/// The fields of one record: text and whether it was quoted.
pub struct CsvRecord {
    fields: Vec<(String, bool)>,
}

impl CsvRecord {
    pub fn parse(data: &[u8], cx: &CsvCx, expected: usize) -> Result<Self, DecodeError> {
        let line = std::str::from_utf8(data).map_err(|e| DecodeError::invalid(format!("not UTF-8: {e}")))?;
        let line = line.strip_suffix("\r\n").or_else(|| line.strip_suffix('\n')).unwrap_or(line);
        if cx.allow_comments && line.starts_with('#') {
            return Err(DecodeError { kind: DecodeErrorKind::Comment, message: String::new() });
        }
        let mut fields = Vec::with_capacity(expected);
        let mut cur = String::new();
        let mut quoted = false;
        let mut in_quotes = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_quotes {
                if Some(c) == cx.escape && cx.escape != cx.quote {
                    match chars.next() {
                        Some(n) => cur.push(n),
                        None => return Err(DecodeError::invalid("the record ends after an escape character")),
                    }
                } else if Some(c) == cx.quote {
                    if chars.peek() == Some(&c) {
                        chars.next();
                        cur.push(c);
                    } else {
                        in_quotes = false;
                    }
                } else {
                    cur.push(c);
                }
            } else if c == cx.delimiter {
                fields.push((std::mem::take(&mut cur), quoted));
                quoted = false;
            } else if Some(c) == cx.quote && cur.is_empty() && !quoted {
                in_quotes = true;
                quoted = true;
            } else if Some(c) == cx.escape {
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => return Err(DecodeError::invalid("the record ends after an escape character")),
                }
            } else if quoted {
                return Err(DecodeError::invalid(format!("unexpected `{c}` after a closing quote")));
            } else {
                cur.push(c);
            }
        }
        if in_quotes {
            return Err(DecodeError::invalid("unterminated quoted field"));
        }
        fields.push((cur, quoted));
        if fields.len() != expected {
            return Err(DecodeError::invalid(format!("expected {expected} fields, found {}", fields.len())));
        }
        Ok(CsvRecord { fields })
    }

    pub fn get<T: CsvField>(&self, idx: usize, name: &str, dt: &'static DataType, cx: &CsvCx) -> Result<T, DecodeError> {
        let (text, quoted) = &self.fields[idx];
        if !quoted && text == cx.null_text() {
            return T::csv_null().ok_or_else(|| DecodeError::invalid(format!("column `{name}`: null for a NOT NULL column")));
        }
        T::from_csv(text, dt, cx).map_err(|e| DecodeError::invalid(format!("column `{name}`: {e}")))
    }
}

macro_rules! simple_csv {
    ($($t:ty),*) => {$(
        impl CsvField for $t {
            fn csv_text(&self, out: &mut String, _: &'static DataType, _: &CsvCx) -> Result<bool, EncodeError> {
                use std::fmt::Write;
                let _ = write!(out, "{}", self);
                Ok(true)
            }
            fn from_csv(text: &str, _: &'static DataType, _: &CsvCx) -> Result<Self, String> {
                text.trim().parse().map_err(|_| format!("`{}` is not a {}", super::echo(text), stringify!($t)))
            }
        }
    )*};
}
simple_csv!(bool, i8, i16, i32, i64);

impl CsvField for f64 {
    fn csv_text(&self, out: &mut String, _: &'static DataType, _: &CsvCx) -> Result<bool, EncodeError> {
        text::float_text(*self, out);
        Ok(true)
    }
    fn from_csv(t: &str, _: &'static DataType, _: &CsvCx) -> Result<Self, String> {
        text::parse_float(t)
    }
}

impl CsvField for f32 {
    fn csv_text(&self, out: &mut String, _: &'static DataType, _: &CsvCx) -> Result<bool, EncodeError> {
        if self.is_finite() {
            out.push_str(zmij::Buffer::new().format_finite(*self));
        } else {
            text::float_text(*self as f64, out);
        }
        Ok(true)
    }
    fn from_csv(t: &str, _: &'static DataType, _: &CsvCx) -> Result<Self, String> {
        match t {
            "NaN" | "Infinity" | "-Infinity" => text::parse_float(t).map(|f| f as f32),
            _ => t.trim().parse::<f32>().map_err(|_| format!("`{}` is not a number", super::echo(t))),
        }
    }
}

impl CsvField for String {
    fn csv_text(&self, out: &mut String, dt: &'static DataType, _: &CsvCx) -> Result<bool, EncodeError> {
        text::check_str(self, dt).map_err(EncodeError::new)?;
        out.push_str(self);
        Ok(true)
    }
    fn from_csv(t: &str, dt: &'static DataType, _: &CsvCx) -> Result<Self, String> {
        text::check_str(t, dt)?;
        Ok(t.to_string())
    }
}

impl CsvField for Vec<u8> {
    fn csv_text(&self, out: &mut String, dt: &'static DataType, _: &CsvCx) -> Result<bool, EncodeError> {
        text::check_bytes(self, dt).map_err(EncodeError::new)?;
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(self));
        Ok(true)
    }
    fn from_csv(t: &str, dt: &'static DataType, _: &CsvCx) -> Result<Self, String> {
        let b = base64::engine::general_purpose::STANDARD.decode(t.trim()).map_err(|e| format!("bytes are not base64: {e}"))?;
        text::check_bytes(&b, dt)?;
        Ok(b)
    }
}

impl CsvField for BigDecimal {
    fn csv_text(&self, out: &mut String, dt: &'static DataType, cx: &CsvCx) -> Result<bool, EncodeError> {
        out.push_str(&text::decimal_text(self, dt, cx.decimal_scientific)?);
        Ok(true)
    }
    fn from_csv(t: &str, dt: &'static DataType, _: &CsvCx) -> Result<Self, String> {
        text::parse_decimal(t, dt)
    }
}

impl CsvField for NaiveDate {
    fn csv_text(&self, out: &mut String, _: &'static DataType, _: &CsvCx) -> Result<bool, EncodeError> {
        out.push_str(&text::date_text(self));
        Ok(true)
    }
    fn from_csv(t: &str, _: &'static DataType, _: &CsvCx) -> Result<Self, String> {
        text::parse_date(t)
    }
}

impl CsvField for NaiveTime {
    fn csv_text(&self, out: &mut String, dt: &'static DataType, _: &CsvCx) -> Result<bool, EncodeError> {
        out.push_str(&text::time_text(self, dt)?);
        Ok(true)
    }
    fn from_csv(t: &str, dt: &'static DataType, _: &CsvCx) -> Result<Self, String> {
        text::parse_time(t, dt)
    }
}

impl CsvField for NaiveDateTime {
    fn csv_text(&self, out: &mut String, dt: &'static DataType, _: &CsvCx) -> Result<bool, EncodeError> {
        out.push_str(&text::timestamp_text(self, dt, TimestampStandard::Sql)?);
        Ok(true)
    }
    fn from_csv(t: &str, dt: &'static DataType, _: &CsvCx) -> Result<Self, String> {
        text::parse_timestamp(t, dt)
    }
}

impl CsvField for DateTime<Utc> {
    fn csv_text(&self, out: &mut String, dt: &'static DataType, _: &CsvCx) -> Result<bool, EncodeError> {
        out.push_str(&text::timestamp_ltz_text(self, dt, TimestampStandard::Sql)?);
        Ok(true)
    }
    fn from_csv(t: &str, dt: &'static DataType, _: &CsvCx) -> Result<Self, String> {
        text::parse_timestamp_ltz(t, dt)
    }
}

impl<T: CsvField> CsvField for Option<T> {
    fn csv_text(&self, out: &mut String, dt: &'static DataType, cx: &CsvCx) -> Result<bool, EncodeError> {
        match self {
            Some(v) => v.csv_text(out, dt, cx),
            None => Ok(false),
        }
    }
    fn from_csv(t: &str, dt: &'static DataType, cx: &CsvCx) -> Result<Self, String> {
        T::from_csv(t, dt, cx).map(Some)
    }
    fn csv_null() -> Option<Self> {
        Some(None)
    }
}

impl<T: CsvField> CsvField for Vec<T> {
    fn csv_text(&self, out: &mut String, dt: &'static DataType, cx: &CsvCx) -> Result<bool, EncodeError> {
        let mut el = String::new();
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(cx.array_delimiter);
            }
            el.clear();
            let present = v.csv_text(&mut el, dt.element(), cx).map_err(|e| e.in_field(&format!("[{i}]")))?;
            let text = if present { el.as_str() } else { cx.null_text() };
            if present && (el.is_empty() || el == cx.null_text()) && (T::csv_null().is_some() || self.len() == 1) {
                return Err(EncodeError::new("this array element cannot be told apart from null or from an empty array in csv")
                    .in_field(&format!("[{i}]")));
            }
            if text.contains(cx.array_delimiter) {
                return Err(EncodeError::new(format!("the element contains the array delimiter `{}`", cx.array_delimiter))
                    .in_field(&format!("[{i}]")));
            }
            out.push_str(text);
        }
        Ok(true)
    }
    fn from_csv(t: &str, dt: &'static DataType, cx: &CsvCx) -> Result<Self, String> {
        if t.is_empty() {
            return Ok(Vec::new());
        }
        t.split(cx.array_delimiter)
            .enumerate()
            .map(|(i, el)| {
                if el == cx.null_text()
                    && let Some(n) = T::csv_null()
                {
                    return Ok(n);
                }
                T::from_csv(el, dt.element(), cx).map_err(|e| format!("element {i}: {e}"))
            })
            .collect()
    }
}
