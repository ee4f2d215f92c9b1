//! The Flink SQL type grammar, parsed into the [`crate::ir`] type model.
//! Column definitions: `BIGINT NOT NULL`, `ROW<a INT, b ARRAY<STRING>>`,
//! `TIMESTAMP(3) METADATA FROM 'timestamp' VIRTUAL`, and so on.

use crate::ir::{ColumnDef, Field, Metadata, RowField, SqlType};

/// A parse error at a byte range of the definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeError {
    pub start: usize,
    pub len: usize,
    pub message: String,
    pub help: Option<String>,
}

pub const TYPE_NAMES: &[&str] = &[
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INT",
    "INTEGER",
    "BIGINT",
    "FLOAT",
    "REAL",
    "DOUBLE",
    "DECIMAL",
    "DEC",
    "NUMERIC",
    "STRING",
    "VARCHAR",
    "CHAR",
    "BYTES",
    "VARBINARY",
    "BINARY",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP_LTZ",
    "ARRAY",
    "MAP",
    "ROW",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Num(u64),
    Quoted(String),
    Ident(String),
    Punct(char),
    End,
}

struct Lexer {
    toks: Vec<(Tok, usize, usize)>,
    pos: usize,
}

fn lex(src: &str) -> Result<Vec<(Tok, usize, usize)>, TypeError> {
    let bytes: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let (at, c) = bytes[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut j = i;
            while j < bytes.len() && (bytes[j].1.is_ascii_alphanumeric() || bytes[j].1 == '_') {
                j += 1;
            }
            let end = bytes.get(j).map_or(src.len(), |b| b.0);
            out.push((Tok::Word(src[at..end].to_string()), at, end - at));
            i = j;
        } else if c.is_ascii_digit() {
            let mut j = i;
            while j < bytes.len() && bytes[j].1.is_ascii_digit() {
                j += 1;
            }
            let end = bytes.get(j).map_or(src.len(), |b| b.0);
            let n = src[at..end].parse::<u64>().map_err(|_| TypeError {
                start: at,
                len: end - at,
                message: "number too large".into(),
                help: None,
            })?;
            out.push((Tok::Num(n), at, end - at));
            i = j;
        } else if c == '\'' || c == '`' {
            let mut j = i + 1;
            let mut text = String::new();
            loop {
                match bytes.get(j) {
                    None => return Err(TypeError { start: at, len: src.len() - at, message: format!("unterminated {c}"), help: None }),
                    Some(&(_, d)) if d == c => {
                        if bytes.get(j + 1).map(|b| b.1) == Some(c) {
                            text.push(c);
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    Some(&(_, d)) => {
                        text.push(d);
                        j += 1;
                    }
                }
            }
            let end = bytes.get(j + 1).map_or(src.len(), |b| b.0);
            out.push((if c == '\'' { Tok::Quoted(text) } else { Tok::Ident(text) }, at, end - at));
            i = j + 1;
        } else if "(),<>".contains(c) {
            out.push((Tok::Punct(c), at, c.len_utf8()));
            i += 1;
        } else {
            return Err(TypeError { start: at, len: c.len_utf8(), message: format!("unexpected character `{c}`"), help: None });
        }
    }
    out.push((Tok::End, src.len(), 0));
    Ok(out)
}

impl Lexer {
    fn peek(&self) -> &(Tok, usize, usize) {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }
    fn next(&mut self) -> (Tok, usize, usize) {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().0, Tok::Word(x) if x.eq_ignore_ascii_case(w))
    }
    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_punct(&mut self, p: char) -> bool {
        if self.peek().0 == Tok::Punct(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn err_here(&self, message: impl Into<String>) -> TypeError {
        let (_, start, len) = self.peek();
        TypeError { start: *start, len: (*len).max(1), message: message.into(), help: None }
    }
    fn expect_punct(&mut self, p: char) -> Result<(), TypeError> {
        if self.eat_punct(p) { Ok(()) } else { Err(self.err_here(format!("expected `{p}`, found {}", describe(&self.peek().0)))) }
    }
    fn expect_word(&mut self, w: &str) -> Result<(), TypeError> {
        if self.eat_word(w) { Ok(()) } else { Err(self.err_here(format!("expected `{w}`, found {}", describe(&self.peek().0)))) }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("`{w}`"),
        Tok::Num(n) => format!("`{n}`"),
        Tok::Quoted(q) => format!("'{q}'"),
        Tok::Ident(i) => format!("`{i}`"),
        Tok::Punct(p) => format!("`{p}`"),
        Tok::End => "the end of the definition".into(),
    }
}

/// Parses a whole column definition.
pub fn parse_column(src: &str) -> Result<ColumnDef, TypeError> {
    let mut lx = Lexer { toks: lex(src)?, pos: 0 };
    let start = lx.peek().1;
    let ty = parse_type(&mut lx)?;
    let end = lx.toks[lx.pos.saturating_sub(1)].1 + lx.toks[lx.pos.saturating_sub(1)].2;
    let nullable = parse_nullability(&mut lx)?;
    let mut metadata = None;
    if lx.is_word("METADATA") {
        let (_, m_at, m_len) = lx.next();
        let mut key = None;
        let mut range = (m_at, m_len);
        if lx.eat_word("FROM") {
            match lx.next() {
                (Tok::Quoted(k), at, len) => {
                    key = Some(k);
                    range = (at, len);
                }
                (t, at, len) => {
                    return Err(TypeError {
                        start: at,
                        len: len.max(1),
                        message: format!("expected a quoted metadata key such as 'timestamp', found {}", describe(&t)),
                        help: None,
                    });
                }
            }
        }
        let is_virtual = lx.eat_word("VIRTUAL");
        metadata = Some(Metadata { key, range, is_virtual });
    }
    if lx.peek().0 != Tok::End {
        let mut e = lx.err_here(format!("unexpected {} after the column type", describe(&lx.peek().0)));
        if lx.is_word("PRIMARY") || lx.is_word("COMMENT") {
            e.help = Some("constraints and comments are not part of a kinesis-tables column definition".into());
        }
        return Err(e);
    }
    Ok(ColumnDef { ty, nullable, metadata, ty_range: (start, end - start) })
}

fn parse_nullability(lx: &mut Lexer) -> Result<bool, TypeError> {
    if lx.eat_word("NOT") {
        lx.expect_word("NULL")?;
        Ok(false)
    } else {
        lx.eat_word("NULL");
        Ok(true)
    }
}

/// Parameters with their byte ranges, plus the range of the whole list.
type Params = (Vec<(u64, usize, usize)>, usize, usize);

fn params(lx: &mut Lexer, max: usize) -> Result<Params, TypeError> {
    let mut out = Vec::new();
    let open = lx.peek().1;
    if !lx.eat_punct('(') {
        return Ok((out, open, 0));
    }
    loop {
        match lx.next() {
            (Tok::Num(n), at, len) => out.push((n, at, len)),
            (t, at, len) => {
                return Err(TypeError {
                    start: at,
                    len: len.max(1),
                    message: format!("expected a number, found {}", describe(&t)),
                    help: None,
                });
            }
        }
        if lx.eat_punct(')') {
            break;
        }
        if out.len() >= max {
            return Err(lx.err_here(format!("expected `)`: this type takes at most {max} parameter{}", if max == 1 { "" } else { "s" })));
        }
        lx.expect_punct(',')?;
    }
    let close = lx.toks[lx.pos - 1].1 + 1;
    Ok((out, open, close - open))
}

fn length(lx: &mut Lexer, name: &str, default: u32) -> Result<u32, TypeError> {
    let (p, ..) = params(lx, 1)?;
    match p.first() {
        None => Ok(default),
        Some(&(n, at, len)) => {
            if n == 0 || n > i32::MAX as u64 {
                Err(TypeError { start: at, len, message: format!("{name} length must be from 1 to 2147483647, found {n}"), help: None })
            } else {
                Ok(n as u32)
            }
        }
    }
}

fn precision(lx: &mut Lexer, name: &str, default: u8) -> Result<u8, TypeError> {
    let (p, ..) = params(lx, 1)?;
    match p.first() {
        None => Ok(default),
        Some(&(n, at, len)) if n > 9 => Err(TypeError {
            start: at,
            len,
            message: format!("{name} precision must be from 0 to 9, found {n}"),
            help: Some(format!("{name}(3) is milliseconds, {name}(6) microseconds, {name}(9) nanoseconds")),
        }),
        Some(&(n, ..)) => Ok(n as u8),
    }
}

fn parse_type(lx: &mut Lexer) -> Result<SqlType, TypeError> {
    let (tok, at, len) = lx.next();
    let word = match tok {
        Tok::Word(w) => w,
        t => return Err(TypeError { start: at, len: len.max(1), message: format!("expected a type, found {}", describe(&t)), help: None }),
    };
    let upper = word.to_ascii_uppercase();
    Ok(match upper.as_str() {
        "BOOLEAN" | "BOOL" => SqlType::Boolean,
        "TINYINT" => SqlType::TinyInt,
        "SMALLINT" => SqlType::SmallInt,
        "INT" | "INTEGER" => SqlType::Int,
        "BIGINT" => SqlType::BigInt,
        "FLOAT" | "REAL" => SqlType::Float,
        "DOUBLE" => {
            lx.eat_word("PRECISION");
            SqlType::Double
        }
        "DECIMAL" | "DEC" | "NUMERIC" => decimal(lx)?,
        "STRING" => SqlType::String,
        "VARCHAR" => SqlType::Varchar(length(lx, "VARCHAR", 1)?),
        "CHAR" | "CHARACTER" => {
            if lx.eat_word("VARYING") {
                SqlType::Varchar(length(lx, "VARCHAR", 1)?)
            } else {
                SqlType::Char(length(lx, "CHAR", 1)?)
            }
        }
        "BYTES" => SqlType::Bytes,
        "VARBINARY" => SqlType::Varbinary(length(lx, "VARBINARY", 1)?),
        "BINARY" => SqlType::Binary(length(lx, "BINARY", 1)?),
        "DATE" => SqlType::Date,
        "TIME" => time(lx)?,
        "TIMESTAMP" => timestamp(lx)?,
        "TIMESTAMP_LTZ" => SqlType::TimestampLtz(precision(lx, "TIMESTAMP_LTZ", 6)?),
        "ARRAY" => array(lx)?,
        "MAP" => map(lx)?,
        "ROW" => row(lx)?,
        _ => return Err(unknown_type(&word, &upper, at, len)),
    })
}

fn decimal(lx: &mut Lexer) -> Result<SqlType, TypeError> {
    let (p, ..) = params(lx, 2)?;
    let precision = p.first().map_or(10, |x| x.0);
    let scale = p.get(1).map_or(0, |x| x.0);
    if !(1..=38).contains(&precision) {
        let (_, s, l) = p[0];
        return Err(TypeError {
            start: s,
            len: l,
            message: format!("DECIMAL precision must be from 1 to 38, found {precision}"),
            help: None,
        });
    }
    if scale > precision {
        let (_, s, l) = p[1];
        return Err(TypeError {
            start: s,
            len: l,
            message: format!("DECIMAL scale {scale} is larger than its precision {precision}"),
            help: Some("the scale counts digits after the point and cannot exceed the precision".into()),
        });
    }
    Ok(SqlType::Decimal { precision: precision as u8, scale: scale as u8 })
}

/// `WITHOUT TIME ZONE`, when written.
fn without_time_zone(lx: &mut Lexer) -> Result<(), TypeError> {
    if lx.eat_word("WITHOUT") {
        lx.expect_word("TIME")?;
        lx.expect_word("ZONE")?;
    }
    Ok(())
}

fn time(lx: &mut Lexer) -> Result<SqlType, TypeError> {
    let p = precision(lx, "TIME", 0)?;
    without_time_zone(lx)?;
    Ok(SqlType::Time(p))
}

fn timestamp(lx: &mut Lexer) -> Result<SqlType, TypeError> {
    let p = precision(lx, "TIMESTAMP", 6)?;
    if !lx.eat_word("WITH") {
        without_time_zone(lx)?;
        return Ok(SqlType::Timestamp(p));
    }
    if !lx.eat_word("LOCAL") {
        return Err(lx
            .err_here("`TIMESTAMP WITH TIME ZONE` is not supported")
            .with_help("use `TIMESTAMP_LTZ(p)` or `TIMESTAMP(p) WITH LOCAL TIME ZONE`"));
    }
    lx.expect_word("TIME")?;
    lx.expect_word("ZONE")?;
    Ok(SqlType::TimestampLtz(p))
}

fn array(lx: &mut Lexer) -> Result<SqlType, TypeError> {
    lx.expect_punct('<')?;
    let ty = parse_type(lx)?;
    let nullable = parse_nullability(lx)?;
    lx.expect_punct('>')?;
    Ok(SqlType::Array(Box::new(Field { ty, nullable })))
}

fn map(lx: &mut Lexer) -> Result<SqlType, TypeError> {
    lx.expect_punct('<')?;
    let key = parse_type(lx)?;
    if lx.eat_word("NOT") {
        lx.expect_word("NULL")?;
    } else if lx.is_word("NULL") {
        return Err(lx.err_here("map keys cannot be null").with_help("remove `NULL`; keys are always NOT NULL"));
    }
    lx.expect_punct(',')?;
    let ty = parse_type(lx)?;
    let nullable = parse_nullability(lx)?;
    lx.expect_punct('>')?;
    Ok(SqlType::Map(Box::new(key), Box::new(Field { ty, nullable })))
}

fn row(lx: &mut Lexer) -> Result<SqlType, TypeError> {
    let close = if lx.eat_punct('<') {
        '>'
    } else if lx.eat_punct('(') {
        ')'
    } else {
        return Err(lx.err_here("expected `<` after ROW").with_help("write ROW<name TYPE, …>"));
    };
    let mut fields: Vec<RowField> = Vec::new();
    loop {
        let (t, fat, flen) = lx.next();
        let name = match t {
            Tok::Word(w) | Tok::Ident(w) => w,
            t => {
                return Err(TypeError {
                    start: fat,
                    len: flen.max(1),
                    message: format!("expected a field name, found {}", describe(&t)),
                    help: None,
                });
            }
        };
        if fields.iter().any(|f| f.name == name) {
            return Err(TypeError { start: fat, len: flen, message: format!("duplicate ROW field `{name}`"), help: None });
        }
        let ty = parse_type(lx)?;
        let nullable = parse_nullability(lx)?;
        fields.push(RowField { name, ty, nullable });
        if lx.eat_punct(close) {
            break;
        }
        lx.expect_punct(',')?;
    }
    Ok(SqlType::Row(fields))
}

fn unknown_type(word: &str, upper: &str, at: usize, len: usize) -> TypeError {
    let mut e = TypeError { start: at, len, message: format!("unknown type `{word}`"), help: None };
    if let Some(s) = crate::suggest::closest(upper, TYPE_NAMES.iter().copied()) {
        e.help = Some(format!("did you mean `{s}`?"));
    } else {
        e.help = Some("supported types: BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p,s), STRING, VARCHAR(n), CHAR(n), BYTES, VARBINARY(n), BINARY(n), DATE, TIME(p), TIMESTAMP(p), TIMESTAMP_LTZ(p), ARRAY<T>, MAP<K,V>, ROW<…>".into());
    }
    e
}

/// Parses a type and, when written, its nullability: the derive's
/// `sql = "DECIMAL(10, 2)"`, whose metadata comes from the field's attributes.
/// `Some(false)` for `NOT NULL`, `Some(true)` for `NULL`.
pub fn parse_sql_type(src: &str) -> Result<(SqlType, Option<bool>), TypeError> {
    let mut lx = Lexer { toks: lex(src)?, pos: 0 };
    let ty = parse_type(&mut lx)?;
    let written = if lx.is_word("NOT") || lx.is_word("NULL") { Some(parse_nullability(&mut lx)?) } else { None };
    if lx.peek().0 != Tok::End {
        return Err(lx.err_here(format!("unexpected {} after the column type", describe(&lx.peek().0))));
    }
    Ok((ty, written))
}

impl TypeError {
    fn with_help(mut self, h: &str) -> Self {
        self.help = Some(h.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_columns() {
        let c = parse_column("TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL").unwrap();
        assert_eq!(c.ty, SqlType::TimestampLtz(3));
        assert!(c.nullable);
        assert_eq!(c.metadata.as_ref().unwrap().key.as_deref(), Some("timestamp"));
        assert!(c.metadata.unwrap().is_virtual);
        let c = parse_column("VARCHAR(128) NOT NULL METADATA FROM 'shard-id' VIRTUAL").unwrap();
        assert_eq!((c.ty, c.nullable), (SqlType::Varchar(128), false));
        let c = parse_column("TIMESTAMP(3) WITH LOCAL TIME ZONE").unwrap();
        assert_eq!(c.ty, SqlType::TimestampLtz(3));
        let c = parse_column("ROW<a INT NOT NULL, `b c` ARRAY<MAP<STRING, DECIMAL(10, 2)>>>").unwrap();
        assert!(matches!(c.ty, SqlType::Row(ref f) if f.len() == 2 && f[1].name == "b c"));
    }

    #[test]
    fn rejects_bad_types() {
        let e = parse_column("BIGIN").unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `BIGINT`?"));
        assert!(parse_column("DECIMAL(39, 2)").unwrap_err().message.contains("1 to 38"));
        assert!(parse_column("DECIMAL(5, 6)").unwrap_err().message.contains("larger than"));
        let e = parse_column("TIMESTAMP(10)").unwrap_err();
        assert_eq!((e.start, e.len), (10, 2));
        assert!(parse_column("INT NOT").is_err());
        assert!(parse_column("ARRAY<INT").is_err());
        assert!(parse_column("INT PRIMARY KEY").is_err());
    }

    #[test]
    fn a_type_alone() {
        assert_eq!(parse_sql_type("DECIMAL(10, 2)").unwrap(), (SqlType::Decimal { precision: 10, scale: 2 }, None));
        assert_eq!(parse_sql_type("INT NOT NULL").unwrap(), (SqlType::Int, Some(false)));
        assert_eq!(parse_sql_type("INT NULL").unwrap(), (SqlType::Int, Some(true)));
        assert!(parse_sql_type("DECIMAL(40, 2)").unwrap_err().message.contains("1 to 38"));
        assert!(parse_sql_type("INT METADATA").unwrap_err().message.contains("after the column type"));
    }
}
