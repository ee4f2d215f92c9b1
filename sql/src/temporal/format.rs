//! DATE_FORMAT, TO_TIMESTAMP and TO_DATE with Java date-time patterns
//! (Flink formats and parses with `java.time.DateTimeFormatter`), each
//! pattern translated once into chrono's items.

use chrono::format::{Item, Parsed, StrftimeItems, parse};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::error::SqlError;
use crate::text;

/// A translated Java date-time pattern. Letters: `y`/`u` year (`yy` two
/// digits), `M`/`L` month (`M`, `MM`, `MMM` short name, `MMMM` full name),
/// `d` day, `D` day of year, `H` hour 0-23, `h` hour 1-12, `a` AM/PM, `m`
/// minute, `s` second, `S` fraction (`SSS`, `SSSSSS` or `SSSSSSSSS`), `E`
/// day name (`EEE` short, `EEEE` full); `'text'` literal, `''` a quote; any
/// other non-letter literal. Other letters (time zones among them: a
/// TIMESTAMP has none) are refused with the letter named.
#[derive(Debug, Clone)]
pub struct DateFormat {
    items: Vec<Item<'static>>,
}

impl DateFormat {
    /// Translates `pattern`; the compiler calls this at build time for a
    /// literal pattern and the generated code holds the result in a static.
    pub fn new(pattern: &str) -> Result<DateFormat, SqlError> {
        let strftime = translate(pattern).map_err(|why| SqlError::invalid_pattern("date format", pattern, why))?;
        let items = StrftimeItems::new(&strftime).parse_to_owned().map_err(|e| SqlError::invalid_pattern("date format", pattern, e))?;
        Ok(DateFormat { items })
    }

    /// DATE_FORMAT(timestamp, pattern). Flink:
    /// `DATE_FORMAT(TIMESTAMP '2024-01-02 03:04:05.123', 'yyyy-MM-dd HH:mm:ss.SSS')`
    /// is `'2024-01-02 03:04:05.123'`.
    pub fn format(&self, ts: &NaiveDateTime) -> String {
        ts.format_with_items(self.items.iter()).to_string()
    }

    /// DATE_FORMAT(date, pattern): the date at midnight.
    pub fn format_date(&self, date: NaiveDate) -> String {
        self.format(&date.and_time(NaiveTime::MIN))
    }

    /// Parses `text` with the pattern; fields the pattern lacks default as
    /// in Flink (year 1970, month and day 1, time 00:00:00). None when
    /// `text` does not match.
    pub fn parse(&self, text: &str) -> Option<NaiveDateTime> {
        let mut parsed = Parsed::new();
        parse(&mut parsed, text, self.items.iter()).ok()?;
        if parsed.year().is_none() && parsed.year_mod_100().is_none() {
            parsed.set_year(1970).ok()?;
        }
        if parsed.ordinal().is_none() {
            if parsed.month().is_none() {
                parsed.set_month(1).ok()?;
            }
            if parsed.day().is_none() {
                parsed.set_day(1).ok()?;
            }
        }
        if parsed.hour_div_12().is_none() {
            let twelve = parsed.hour_mod_12().is_some();
            // `hh` without `a` is a morning hour.
            if twelve { parsed.set_ampm(false).ok()? } else { parsed.set_hour(0).ok()? }
        }
        if parsed.minute().is_none() {
            parsed.set_minute(0).ok()?;
        }
        let date = parsed.to_naive_date().ok()?;
        let time = parsed.to_naive_time().ok()?;
        Some(date.and_time(time))
    }
}

/// The strftime form of a Java pattern, or why it has none.
fn translate(pattern: &str) -> Result<String, String> {
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        if c == '\'' {
            i += 1;
            if chars.get(i) == Some(&'\'') {
                out.push('\'');
                i += 1;
                continue;
            }
            // A quoted literal; `''` inside it is a quote.
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (None, _) => return Err("a quoted literal is not closed".into()),
                    (Some('\''), Some('\'')) => {
                        out.push('\'');
                        i += 2;
                    }
                    (Some('\''), _) => break,
                    (Some(&d), _) => {
                        push_literal(&mut out, d);
                        i += 1;
                    }
                }
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        out.push_str(field(c, run)?);
        i += run;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// The strftime specifier of `count` repetitions of the letter `c`.
fn field(c: char, count: usize) -> Result<&'static str, String> {
    let spec = match (c, count) {
        ('y' | 'u', 2) => "%y",
        ('y' | 'u', _) => "%Y",
        ('M' | 'L', 1) => "%-m",
        ('M' | 'L', 2) => "%m",
        ('M' | 'L', 3) => "%b",
        ('M' | 'L', 4) => "%B",
        ('d', 1) => "%-d",
        ('d', 2) => "%d",
        ('D', 1 | 2) => "%-j",
        ('D', 3) => "%j",
        ('H', 1) => "%-H",
        ('H', 2) => "%H",
        ('h', 1) => "%-I",
        ('h', 2) => "%I",
        ('m', 1) => "%-M",
        ('m', 2) => "%M",
        ('s', 1) => "%-S",
        ('s', 2) => "%S",
        ('S', 3) => "%3f",
        ('S', 6) => "%6f",
        ('S', 9) => "%9f",
        ('a', 1) => "%p",
        ('E', 1..=3) => "%a",
        ('E', 4) => "%A",
        ('S', n) => return Err(format!("a fraction of {n} digits (S × {n}) is not supported: use SSS, SSSSSS or SSSSSSSSS")),
        ('z' | 'Z' | 'X' | 'x' | 'O' | 'V' | 'v', _) => {
            return Err(format!("'{c}' is a time zone field, and a TIMESTAMP has no time zone"));
        }
        _ => return Err(format!("the pattern letter '{c}' (× {count}) is not supported")),
    };
    Ok(spec)
}

/// TO_TIMESTAMP(text): Flink's default form `yyyy-MM-dd HH:mm:ss` (also a
/// fraction, a `T`, or a date alone); NULL when `text` does not parse.
pub fn to_timestamp(text: &str) -> Option<NaiveDateTime> {
    text::parse_timestamp(text.trim()).ok()
}

/// TO_TIMESTAMP(text, format); NULL when `text` does not match.
pub fn to_timestamp_with(text: &str, format: &DateFormat) -> Option<NaiveDateTime> {
    format.parse(text)
}

/// TO_DATE(text): `yyyy-MM-dd`; NULL when `text` does not parse. Flink:
/// `TO_DATE('2024-01-02')` is `DATE '2024-01-02'`.
pub fn to_date(text: &str) -> Option<NaiveDate> {
    text::parse_date(text.trim()).ok()
}

/// TO_DATE(text, format); NULL when `text` does not match.
pub fn to_date_with(text: &str, format: &DateFormat) -> Option<NaiveDate> {
    format.parse(text).map(|ts| ts.date())
}
