//! A JSON reader for generated decoders: a cursor over one record's bytes
//! that reads exactly the value the column's type expects, borrows strings
//! without escapes from the input, and skips unknown fields while still
//! checking their syntax. No recursion on input nesting (unknown values are
//! skipped with a bounded bit stack), no allocation sized by the input.

use std::borrow::Cow;

use crate::codec::ReadError;

/// The deepest nesting an unknown value may have (serde_json's limit too).
pub const MAX_DEPTH: usize = 128;

/// A field name read by [`JsonReader::next_field_of`].
#[derive(Debug)]
pub enum Field<'a> {
    /// The column at this index.
    Known(usize),
    /// A name the table does not have.
    Other(Cow<'a, [u8]>),
}

/// A cursor over one JSON document.
#[derive(Debug)]
pub struct JsonReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// The eight bytes of a word all set to `b`.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// Whether any byte of `w` is `"`, `\` or below 0x20 (the bytes that end a
/// plain run inside a string).
#[inline]
pub(crate) fn has_special(w: u64) -> bool {
    const LO: u64 = splat(0x01);
    const HI: u64 = splat(0x80);
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let below_space = w.wrapping_sub(splat(0x20)) & !w & HI;
    (zero(w ^ splat(b'"')) | zero(w ^ splat(b'\\')) | below_space) != 0
}

impl<'a> JsonReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        JsonReader { buf, pos: 0 }
    }

    /// The byte offset of the cursor.
    #[inline]
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// An error at the current position.
    pub fn error(&self, message: impl Into<String>) -> ReadError {
        ReadError::new(self.pos, message)
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.buf.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next significant byte, after whitespace.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.buf.get(self.pos).copied()
    }

    /// What is at the cursor, for "expected …, found …" messages.
    fn found(&mut self) -> String {
        match self.peek() {
            None => "the end of the record".into(),
            Some(b'"') => "a string".into(),
            Some(b'{') => "an object".into(),
            Some(b'[') => "an array".into(),
            Some(b't' | b'f') => "a boolean".into(),
            Some(b'n') => "null".into(),
            Some(b'-' | b'0'..=b'9') => "a number".into(),
            Some(b) if b.is_ascii_graphic() => format!("`{}`", b as char),
            Some(b) => format!("byte 0x{b:02x}"),
        }
    }

    /// An "expected X, found Y" error at the cursor.
    pub fn expected(&mut self, what: &str) -> ReadError {
        let found = self.found();
        self.error(format!("expected {what}, found {found}"))
    }

    #[inline]
    fn eat(&mut self, b: u8, what: &str) -> Result<(), ReadError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Result<(), ReadError> {
        if self.buf[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("not a JSON value"))
        }
    }

    /// Consumes `null` if it is next.
    #[inline]
    pub fn null(&mut self) -> Result<bool, ReadError> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
    }

    #[inline]
    pub fn read_bool(&mut self) -> Result<bool, ReadError> {
        match self.peek() {
            Some(b't') => self.literal(b"true").map(|_| true),
            Some(b'f') => self.literal(b"false").map(|_| false),
            _ => Err(self.expected("a boolean")),
        }
    }

    /// The text of a number, checked against JSON's grammar.
    #[inline]
    pub fn number_text(&mut self) -> Result<&'a str, ReadError> {
        self.ws();
        let start = self.pos;
        let b = self.buf;
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = b.get(i) {
                    i += 1;
                }
            }
            _ => return Err(self.expected("a number")),
        }
        if b.get(i) == Some(&b'.') {
            i = self.digits(i + 1, "a number without digits after its point")?;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            i = self.digits(i, "a number without digits in its exponent")?;
        }
        self.pos = i;
        // Only ASCII digits, signs, points and exponents were accepted.
        Ok(std::str::from_utf8(&b[start..i]).unwrap_or_default())
    }

    /// The end of the run of digits from `i`, which must not be empty.
    #[inline]
    fn digits(&mut self, mut i: usize, empty: &str) -> Result<usize, ReadError> {
        let start = i;
        while let Some(b'0'..=b'9') = self.buf.get(i) {
            i += 1;
        }
        if i == start {
            self.pos = i;
            return Err(self.error(empty));
        }
        Ok(i)
    }

    /// An integer in `i64`; a fraction or exponent is an error, as is a
    /// value out of range.
    #[inline]
    pub fn read_i64(&mut self) -> Result<i64, ReadError> {
        self.ws();
        let start = self.pos;
        let b = self.buf;
        let mut i = start;
        let neg = b.get(i) == Some(&b'-');
        if neg {
            i += 1;
        }
        let first = i;
        let mut v: u64 = 0;
        let mut overflow = false;
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            if i > first && b[first] == b'0' {
                break;
            }
            match v.checked_mul(10).and_then(|v| v.checked_add(u64::from(d - b'0'))) {
                Some(n) => v = n,
                None => overflow = true,
            }
            i += 1;
        }
        if i == first || matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
            let t = self.number_text().map_err(|_| {
                self.pos = start;
                self.expected("an integer")
            })?;
            return Err(ReadError::new(start, format!("expected an integer, found {}", super::super::echo(t))));
        }
        self.pos = i;
        let text = || std::str::from_utf8(&b[start..i]).unwrap_or_default().to_string();
        if overflow {
            return Err(ReadError::new(start, format!("{} is out of range", super::super::echo(&text()))));
        }
        if neg {
            if v > i64::MIN.unsigned_abs() {
                return Err(ReadError::new(start, format!("{} is out of range", text())));
            }
            Ok((v as i64).wrapping_neg())
        } else {
            i64::try_from(v).map_err(|_| ReadError::new(start, format!("{} is out of range", text())))
        }
    }

    /// A string, borrowed when it has no escapes.
    #[inline]
    pub fn read_str(&mut self) -> Result<Cow<'a, str>, ReadError> {
        if self.peek() != Some(b'"') {
            return Err(self.expected("a string"));
        }
        let start = self.pos;
        self.pos += 1;
        let (run, ascii) = self.plain_run();
        match self.buf.get(self.pos) {
            Some(b'"') => {
                let bytes = &self.buf[run..self.pos];
                self.pos += 1;
                if ascii {
                    // SAFETY: every byte of `bytes` is below 0x80 (`plain_run`
                    // ORed them all and saw no high bit), and ASCII is UTF-8.
                    return Ok(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) }));
                }
                let s = std::str::from_utf8(bytes).map_err(|_| ReadError::new(start, "a string that is not UTF-8"))?;
                Ok(Cow::Borrowed(s))
            }
            _ => self.escaped(start, run).map(Cow::Owned),
        }
    }

    /// Moves past the `,` before a member of an object (none before the
    /// first) to its name's opening quote; false after the closing `}`.
    #[inline]
    fn member(&mut self, first: &mut bool) -> Result<bool, ReadError> {
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(false);
            }
            Some(b',') if !*first => self.pos += 1,
            _ if *first => {}
            _ => return Err(self.expected("`,` or `}`")),
        }
        *first = false;
        if self.peek() != Some(b'"') {
            return Err(self.expected("a field name"));
        }
        Ok(true)
    }

    /// A string at the cursor as its bytes, unescaped (UTF-8 unchecked).
    #[inline]
    fn raw_string(&mut self) -> Result<Cow<'a, [u8]>, ReadError> {
        let start = self.pos;
        self.pos += 1;
        let (run, _) = self.plain_run();
        Ok(match self.buf.get(self.pos) {
            Some(b'"') => {
                self.pos += 1;
                Cow::Borrowed(&self.buf[run..self.pos - 1])
            }
            _ => Cow::Owned(self.escaped(start, run)?.into_bytes()),
        })
    }

    /// The next field of an object whose column names are `names` (raw) and
    /// `texts` (the same names as a JSON writer escapes them, without
    /// quotes): `Field::Known(i)` for a column, `Field::Other(name)` for any
    /// other field, `None` after the closing `}`. `hint` is the column
    /// expected next (the one after the last read): when the input holds
    /// exactly its text, no name is decoded or searched for, which is the
    /// case for records written in column order.
    #[inline]
    pub fn next_field_of(
        &mut self,
        first: &mut bool,
        names: &[&[u8]],
        texts: &[&[u8]],
        hint: usize,
    ) -> Result<Option<Field<'a>>, ReadError> {
        if !self.member(first)? {
            return Ok(None);
        }
        if let Some(text) = texts.get(hint) {
            let rest = &self.buf[self.pos + 1..];
            // Compared byte by byte: names are short, and a call into libc's
            // memcmp costs more than the comparison.
            if rest.len() > text.len() && rest.iter().zip(text.iter()).all(|(a, b)| a == b) && rest[text.len()] == b'"' {
                self.pos += text.len() + 2;
                self.eat(b':', "`:`")?;
                return Ok(Some(Field::Known(hint)));
            }
        }
        let name = self.raw_string()?;
        self.eat(b':', "`:`")?;
        Ok(Some(match names.iter().position(|n| **n == *name) {
            Some(i) => Field::Known(i),
            None => Field::Other(name),
        }))
    }

    /// Skips the value of a field the decoder does not know, after checking
    /// that its name is UTF-8.
    pub fn skip_unknown(&mut self, name: &[u8]) -> Result<(), ReadError> {
        if std::str::from_utf8(name).is_err() {
            return Err(self.error("a field name that is not UTF-8"));
        }
        self.skip_value()
    }

    /// Advances over bytes that need no attention in a string; returns where
    /// the run started.
    #[inline]
    fn plain_run(&mut self) -> (usize, bool) {
        let start = self.pos;
        let b = self.buf;
        let mut i = start;
        // The OR of every byte passed: its high bit says whether any was not ASCII.
        let mut seen = 0u64;
        while let Some(word) = b.get(i..).and_then(|r| r.first_chunk::<8>()) {
            let w = u64::from_ne_bytes(*word);
            if has_special(w) {
                break;
            }
            seen |= w;
            i += 8;
        }
        while let Some(&c) = b.get(i) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                break;
            }
            seen |= u64::from(c);
            i += 1;
        }
        self.pos = i;
        (start, seen & splat(0x80) == 0)
    }

    /// The rest of a string that has escapes (or is broken), from `run`.
    fn escaped(&mut self, start: usize, run: usize) -> Result<String, ReadError> {
        let mut out: Vec<u8> = Vec::with_capacity(self.pos - run + 16);
        out.extend_from_slice(&self.buf[run..self.pos]);
        loop {
            match self.buf.get(self.pos) {
                None => return Err(ReadError::new(start, "a string that does not end")),
                Some(b'"') => {
                    self.pos += 1;
                    return String::from_utf8(out).map_err(|_| ReadError::new(start, "a string that is not UTF-8"));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(&c) if c < 0x20 => return Err(self.error(format!("a control character (0x{c:02x}) inside a string"))),
                Some(_) => {
                    let (run, _) = self.plain_run();
                    out.extend_from_slice(&self.buf[run..self.pos]);
                }
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), ReadError> {
        let Some(&c) = self.buf.get(self.pos) else { return Err(self.error("a string that ends inside an escape")) };
        self.pos += 1;
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let ch = self.unicode_escape()?;
                let mut tmp = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                return Ok(());
            }
            _ => {
                self.pos -= 1;
                return Err(self.error("an unknown escape in a string"));
            }
        };
        out.push(simple);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u16, ReadError> {
        let Some(h) = self.buf.get(self.pos..self.pos + 4) else { return Err(self.error("a string that ends inside a \\u escape")) };
        let mut v = 0u16;
        for &d in h {
            let n = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.error("a \\u escape that is not four hex digits")),
            };
            v = v << 4 | u16::from(n);
        }
        self.pos += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, ReadError> {
        let hi = self.hex4()?;
        let code = match hi {
            0xd800..=0xdbff => {
                if self.buf.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(self.error("a lone surrogate in a \\u escape"));
                }
                self.pos += 2;
                let lo = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&lo) {
                    return Err(self.error("a lone surrogate in a \\u escape"));
                }
                0x10000 + ((u32::from(hi) - 0xd800) << 10) + (u32::from(lo) - 0xdc00)
            }
            0xdc00..=0xdfff => return Err(self.error("a lone surrogate in a \\u escape")),
            _ => u32::from(hi),
        };
        char::from_u32(code).ok_or_else(|| self.error("an invalid \\u escape"))
    }

    /// Starts an object. Follow with [`JsonReader::next_key`].
    #[inline]
    pub fn begin_object(&mut self) -> Result<(), ReadError> {
        self.eat(b'{', "an object")
    }

    /// The next key of an object and its `:`; `None` after the closing `}`.
    /// `first` is true before the first key (the caller keeps it).
    #[inline]
    pub fn next_key(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>, ReadError> {
        if !self.member(first)? {
            return Ok(None);
        }
        let key = self.read_str()?;
        self.eat(b':', "`:`")?;
        Ok(Some(key))
    }

    /// Starts an array. Follow with [`JsonReader::next_item`].
    #[inline]
    pub fn begin_array(&mut self) -> Result<(), ReadError> {
        self.eat(b'[', "an array")
    }

    /// Whether another item follows (the cursor is then at it); false after
    /// the closing `]`.
    #[inline]
    pub fn next_item(&mut self, first: &mut bool) -> Result<bool, ReadError> {
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                return Ok(false);
            }
            Some(b',') if !*first => self.pos += 1,
            _ if *first => {}
            _ => return Err(self.expected("`,` or `]`")),
        }
        *first = false;
        Ok(true)
    }

    /// Skips one value of any shape, checking its syntax. Nesting deeper
    /// than [`MAX_DEPTH`] is an error; nothing is allocated.
    pub fn skip_value(&mut self) -> Result<(), ReadError> {
        // Bit `d` of `objects` says whether nesting level `d` is an object.
        let mut objects: u128 = 0;
        let mut depth = 0usize;
        loop {
            // A value is expected here.
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    if depth == MAX_DEPTH {
                        return Err(self.error(format!("values nested deeper than {MAX_DEPTH} levels")));
                    }
                    self.pos += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else {
                        objects = (objects & !(1 << depth)) | (u128::from(open == b'{') << depth);
                        depth += 1;
                        if open == b'{' {
                            self.key_colon()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => {
                    self.read_str()?;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => {
                    self.number_text()?;
                }
                _ => return Err(self.expected("a value")),
            }
            // After a value: close what ends here, or go on to the next one.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let object = objects >> (depth - 1) & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if object {
                            self.key_colon()?;
                        }
                        break;
                    }
                    Some(b'}') if object => self.pos += 1,
                    Some(b']') if !object => self.pos += 1,
                    _ => return Err(self.expected(if object { "`,` or `}`" } else { "`,` or `]`" })),
                }
                depth -= 1;
            }
        }
    }

    fn key_colon(&mut self) -> Result<(), ReadError> {
        if self.peek() != Some(b'"') {
            return Err(self.expected("a field name"));
        }
        self.read_str()?;
        self.eat(b':', "`:`")
    }

    /// Checks that only whitespace follows.
    #[inline]
    pub fn end(&mut self) -> Result<(), ReadError> {
        if self.peek().is_some() {
            return Err(self.error("trailing characters after the record"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(s: &[u8]) -> Result<(), ReadError> {
        let mut r = JsonReader::new(s);
        r.skip_value()?;
        r.end()
    }

    #[test]
    fn strings_borrow_when_plain_and_unescape_otherwise() {
        let mut r = JsonReader::new(br#" "plain text, long enough for words" "a\"b\\c\/\n\u00e9\ud83d\ude00" "#);
        assert!(matches!(r.read_str().unwrap(), Cow::Borrowed("plain text, long enough for words")));
        assert_eq!(r.read_str().unwrap(), "a\"b\\c/\né😀");
        r.end().unwrap();
        for bad in [&br#""\ud83d""#[..], br#""\ude00x""#, br#""\x""#, b"\"a\x01b\"", b"\"abc", br#""\u12""#, b"\"\xff\xfe\""] {
            assert!(JsonReader::new(bad).read_str().is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_word_scan_finds_every_special_byte_at_every_position() {
        for special in [b'"', b'\\', 0x00, 0x1f] {
            for at in 0..17 {
                let mut s = vec![b'"'];
                s.extend(std::iter::repeat_n(b'x', at));
                s.push(special);
                s.extend_from_slice(b"yy\"");
                let r = JsonReader::new(&s).read_str();
                match special {
                    b'"' => assert_eq!(r.unwrap().len(), at, "{at}"),
                    b'\\' => assert!(r.is_err(), "`\\y` is no escape"),
                    _ => assert!(r.unwrap_err().message.contains("control character"), "{special} at {at}"),
                }
            }
        }
        // Bytes ≥ 0x80 (UTF-8) and 0x20..0x7f pass through.
        let s = "\"é ~ \u{7f} ünïcödé text\"";
        assert_eq!(JsonReader::new(s.as_bytes()).read_str().unwrap(), &s[1..s.len() - 1]);
    }

    #[test]
    fn integers_are_exact_and_checked() {
        let ok = [("0", 0), ("-0", 0), ("42", 42), ("-9223372036854775808", i64::MIN), ("9223372036854775807", i64::MAX)];
        for (t, v) in ok {
            assert_eq!(JsonReader::new(t.as_bytes()).read_i64().unwrap(), v, "{t}");
        }
        for t in ["9223372036854775808", "-9223372036854775809", "99999999999999999999999", "1.0", "1e3", "-", "\"1\"", "01"] {
            let mut r = JsonReader::new(t.as_bytes());
            let v = r.read_i64().and_then(|_| r.end());
            assert!(v.is_err(), "{t}");
        }
    }

    #[test]
    fn numbers_follow_the_grammar() {
        for t in ["0", "-1.5", "2e10", "1E-3", "0.0e+0"] {
            let mut r = JsonReader::new(t.as_bytes());
            assert_eq!(r.number_text().unwrap(), t);
        }
        for t in ["1.", ".5", "1e", "-", "+1", "1.e3"] {
            let mut r = JsonReader::new(t.as_bytes());
            assert!(r.number_text().and_then(|_| r.end()).is_err(), "{t}");
        }
    }

    #[test]
    fn objects_and_arrays_walk_with_their_separators() {
        let mut r = JsonReader::new(br#"{"a": [1, 2], "b": {}, "c": null}"#);
        r.begin_object().unwrap();
        let mut first = true;
        let mut seen = Vec::new();
        while let Some(k) = r.next_key(&mut first).unwrap() {
            seen.push(k.into_owned());
            if seen.len() == 1 {
                r.begin_array().unwrap();
                let mut f = true;
                let mut items = Vec::new();
                while r.next_item(&mut f).unwrap() {
                    items.push(r.read_i64().unwrap());
                }
                assert_eq!(items, [1, 2]);
            } else {
                r.skip_value().unwrap();
            }
        }
        r.end().unwrap();
        assert_eq!(seen, ["a", "b", "c"]);
        for bad in [&br#"{"a":1 "b":2}"#[..], br#"{,"a":1}"#, br#"{"a":1,}"#, br#"{"a" 1}"#, b"{1:2}"] {
            let mut r = JsonReader::new(bad);
            let mut first = true;
            let res = r.begin_object().and_then(|_| {
                while r.next_key(&mut first)?.is_some() {
                    r.skip_value()?;
                }
                r.end()
            });
            assert!(res.is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn skipping_checks_syntax_and_bounds_depth() {
        skip_all(br#"{"a":[1,{"b":[true,false,null,"x\n"]},[]],"c":{},"d":-1.5e3}"#).unwrap();
        for bad in [&b"[1,]"[..], b"[1 2]", b"{\"a\":}", b"[}", b"{\"a\":1]", b"[", b"tru", b"{\"a\"}", b"\"\\q\""] {
            assert!(skip_all(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        skip_all(deep_ok.as_bytes()).unwrap();
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(skip_all(too_deep.as_bytes()).unwrap_err().message.contains("deeper"));
        // A million nested arrays: an error, no stack overflow.
        assert!(skip_all("[".repeat(1 << 20).as_bytes()).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let alphabet = b"{}[],:\"\\ntrufalse0123456789-+.eE \xc3\xa9u";
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..50_000 {
            let n = rng.usize(0..40);
            let s: Vec<u8> = (0..n).map(|_| if rng.u8(..) < 16 { rng.u8(..) } else { alphabet[rng.usize(..alphabet.len())] }).collect();
            let _ = skip_all(&s);
            let _ = JsonReader::new(&s).read_str();
            let _ = JsonReader::new(&s).read_i64();
        }
    }
}
