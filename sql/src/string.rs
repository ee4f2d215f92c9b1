//! String functions with Flink's semantics. Arguments are non-null (the
//! compiler propagates NULL) except where noted; lengths and positions are
//! in characters, not bytes. Results are owned `String`s.

use md5::Digest as _;

use crate::error::SqlError;

/// The longest string `LPAD`/`RPAD` build, in characters: a length from a
/// record must not size an allocation without bound.
pub const MAX_PAD_CHARS: i32 = 1 << 20;

/// UPPER(s) (Unicode upper case, as Java's `toUpperCase`).
pub fn upper(s: &str) -> String {
    s.to_uppercase()
}

/// LOWER(s) (Unicode lower case).
pub fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// TRIM([BOTH] chars FROM s): removes any of `chars` from both ends
/// (Flink's default `chars` is a single space, not all whitespace).
pub fn trim_both(s: &str, chars: &str) -> String {
    s.trim_matches(|c| chars.contains(c)).to_string()
}

/// TRIM(LEADING chars FROM s) and LTRIM(s) (`chars` = `" "`).
pub fn trim_leading(s: &str, chars: &str) -> String {
    s.trim_start_matches(|c| chars.contains(c)).to_string()
}

/// TRIM(TRAILING chars FROM s) and RTRIM(s) (`chars` = `" "`).
pub fn trim_trailing(s: &str, chars: &str) -> String {
    s.trim_end_matches(|c| chars.contains(c)).to_string()
}

/// LTRIM(s): leading spaces removed. Flink: `LTRIM(' This is a test String.')`
/// is `'This is a test String.'`.
pub fn ltrim(s: &str) -> String {
    trim_leading(s, " ")
}

/// RTRIM(s): trailing spaces removed. Flink: `RTRIM('This is a test String. ')`
/// is `'This is a test String.'`.
pub fn rtrim(s: &str) -> String {
    trim_trailing(s, " ")
}

/// SUBSTRING(s FROM start [FOR length]) / SUBSTR: 1-based; a start of 0
/// is 1; a negative start counts from the end (-1 is the last character;
/// before the first one gives ''); past the end gives ''. `length` None
/// means to the end; a negative length gives NULL (as Flink).
pub fn substring(s: &str, start: i32, length: Option<i32>) -> Option<String> {
    if length.is_some_and(|l| l < 0) {
        return None;
    }
    let chars = s.chars().count() as i64;
    let first = match i64::from(start) {
        p if p > 0 => p - 1,
        p if p < 0 => chars + p,
        _ => 0,
    };
    if first < 0 || first >= chars {
        return Some(String::new());
    }
    let take = length.map_or(chars - first, |l| i64::from(l).min(chars - first));
    Some(s.chars().skip(first as usize).take(take as usize).collect())
}

/// CONCAT(s1, s2, …) and `||` (NULL if any is NULL: the compiler's part).
pub fn concat(parts: &[&str]) -> String {
    parts.concat()
}

/// CONCAT_WS(separator, s1, s2, …): the non-NULL strings joined by the
/// separator; NULL arguments are skipped (Flink). A NULL separator gives
/// NULL (the compiler's part). Flink:
/// `CONCAT_WS('~', 'AA', NULL, 'BB', '', 'CC')` is `'AA~BB~~CC'`.
pub fn concat_ws(separator: &str, parts: &[Option<&str>]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().flatten().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(part);
    }
    out
}

/// CHAR_LENGTH(s) / CHARACTER_LENGTH: the number of characters.
pub fn char_length(s: &str) -> i32 {
    // A string of more than 2^31 characters cannot be in a record.
    i32::try_from(s.chars().count()).unwrap_or(i32::MAX)
}

/// POSITION(needle IN haystack): the 1-based character position of the
/// first `needle` in `haystack`, 0 when there is none (Flink; an empty
/// needle is at 1).
pub fn position(needle: &str, haystack: &str) -> i32 {
    match haystack.find(needle) {
        // A string of more than 2^31 characters cannot be in a record.
        Some(b) => i32::try_from(haystack[..b].chars().count() + 1).unwrap_or(i32::MAX),
        None => 0,
    }
}

/// REPLACE(s, search, replacement): every occurrence of `search` replaced
/// (Java's `String.replace`: an empty `search` inserts the replacement
/// between characters, as Flink).
pub fn replace(s: &str, search: &str, replacement: &str) -> String {
    s.replace(search, replacement)
}

/// SPLIT_INDEX(s, delimiter, index): the `index`-th (0-based) piece of `s`
/// split by the whole `delimiter`, empty pieces kept; NULL when `index` is
/// negative or past the last piece, or `s` is empty. An empty delimiter
/// splits at whitespace (Flink, via commons-lang).
pub fn split_index(s: &str, delimiter: &str, index: i32) -> Option<String> {
    let index = usize::try_from(index).ok()?;
    if s.is_empty() {
        return None;
    }
    let piece = if delimiter.is_empty() { s.split(char::is_whitespace).nth(index) } else { s.split(delimiter).nth(index) };
    piece.map(str::to_string)
}

/// LPAD(s, length, pad): `s` left-padded with repetitions of `pad` to
/// `length` characters, or cut to its first `length` characters. NULL when
/// `length` is negative or `pad` empty (Flink). Flink:
/// `LPAD('hi', 4, '??')` is `'??hi'`, `LPAD('hi', 1, '??')` is `'h'`.
/// Fails beyond [`MAX_PAD_CHARS`].
pub fn lpad(s: &str, length: i32, pad: &str) -> Result<Option<String>, SqlError> {
    pad_with(s, length, pad, true)
}

/// RPAD(s, length, pad): as [`lpad`], padded on the right. Flink:
/// `RPAD('hi', 4, '??')` is `'hi??'`, `RPAD('hi', 1, '??')` is `'h'`.
pub fn rpad(s: &str, length: i32, pad: &str) -> Result<Option<String>, SqlError> {
    pad_with(s, length, pad, false)
}

fn pad_with(s: &str, length: i32, pad: &str, left: bool) -> Result<Option<String>, SqlError> {
    if length < 0 || pad.is_empty() {
        return Ok(None);
    }
    if length > MAX_PAD_CHARS {
        let function = if left { "LPAD" } else { "RPAD" };
        return Err(SqlError::invalid_argument(
            function,
            format_args!("a length of {length} is over the limit of {MAX_PAD_CHARS} characters"),
        ));
    }
    let length = length as usize;
    let have = s.chars().count();
    if have >= length {
        return Ok(Some(s.chars().take(length).collect()));
    }
    let padding: String = pad.chars().cycle().take(length - have).collect();
    Ok(Some(if left { padding + s } else { format!("{s}{padding}") }))
}

/// INITCAP(s): the first character of each word upper case, the rest lower
/// case, a word being a run of ASCII letters and digits (Flink's, via
/// Calcite: other characters are left as they are).
pub fn initcap(s: &str) -> String {
    let mut start = true;
    s.chars()
        .map(|c| {
            let alnum = c.is_ascii_alphanumeric();
            let out = match (start, alnum) {
                (true, true) => c.to_ascii_uppercase(),
                (false, true) => c.to_ascii_lowercase(),
                _ => c,
            };
            start = !alnum;
            out
        })
        .collect()
}

/// MD5(s): the MD5 digest of the UTF-8 bytes, 32 lower-case hex digits.
pub fn md5(s: &str) -> String {
    hex(&md5::Md5::digest(s.as_bytes()))
}

/// SHA256(s): the SHA-256 digest of the UTF-8 bytes, 64 lower-case hex
/// digits.
pub fn sha256(s: &str) -> String {
    hex(&sha2::Sha256::digest(s.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_characters_from_one() {
        // Flink's docs: POSITION(string1 IN string2) is 0 when string1 is not in string2.
        assert_eq!(position("@", "ann@x.com"), 4);
        assert_eq!(position("x", "prénom-x"), 8);
        assert_eq!(position("z", "abc"), 0);
        assert_eq!(position("", "abc"), 1);
    }

    #[test]
    fn case_and_trim() {
        assert_eq!(upper("straße"), "STRASSE");
        assert_eq!(lower("ÀB"), "àb");
        // Flink: TRIM(BOTH 'x' FROM 'xxabcxx')… and the space default.
        assert_eq!(trim_both("  a b  ", " "), "a b");
        assert_eq!(trim_both("xyabcyx", "xy"), "abc");
        assert_eq!(trim_both("\ta\t", " "), "\ta\t");
        assert_eq!(ltrim(" This is a test String."), "This is a test String.");
        assert_eq!(rtrim("This is a test String. "), "This is a test String.");
        assert_eq!(trim_leading("xxa", "x"), "a");
        assert_eq!(trim_trailing("axx", "x"), "a");
    }

    #[test]
    fn substring_positions() {
        // Flink: SUBSTRING('Hello World' FROM 7) is 'World'... via SUBSTR('Hello World', 7).
        assert_eq!(substring("Hello World", 7, None).as_deref(), Some("World"));
        assert_eq!(substring("Hello World", 1, Some(5)).as_deref(), Some("Hello"));
        assert_eq!(substring("Hello", 0, Some(2)).as_deref(), Some("He"));
        assert_eq!(substring("Hello", -3, None).as_deref(), Some("llo"));
        assert_eq!(substring("Hello", -3, Some(2)).as_deref(), Some("ll"));
        assert_eq!(substring("Hello", -9, Some(2)).as_deref(), Some(""));
        assert_eq!(substring("Hello", 9, None).as_deref(), Some(""));
        assert_eq!(substring("Hello", 2, Some(100)).as_deref(), Some("ello"));
        assert_eq!(substring("Hello", 2, Some(-1)), None);
        assert_eq!(substring("héllo", 2, Some(2)).as_deref(), Some("él"));
    }

    #[test]
    fn concat_and_lengths() {
        assert_eq!(concat(&["AA", "BB", "CC"]), "AABBCC");
        // Flink: CONCAT_WS('~', 'AA', Null(STRING), 'BB', '', 'CC') returns 'AA~BB~~CC'.
        assert_eq!(concat_ws("~", &[Some("AA"), None, Some("BB"), Some(""), Some("CC")]), "AA~BB~~CC");
        assert_eq!(concat_ws("~", &[None, None]), "");
        assert_eq!(char_length("héllo"), 5);
        assert_eq!(char_length(""), 0);
        // Flink: REPLACE('hello world', 'world', 'flink') returns 'hello flink'.
        assert_eq!(replace("hello world", "world", "flink"), "hello flink");
        assert_eq!(replace("ababab", "abab", "x"), "xab");
    }

    #[test]
    fn split_index_pieces() {
        // Flink: SPLIT_INDEX('Jack,John,Mary', ',', 2) returns 'Mary'.
        assert_eq!(split_index("Jack,John,Mary", ",", 2).as_deref(), Some("Mary"));
        assert_eq!(split_index("a,,b", ",", 1).as_deref(), Some(""));
        assert_eq!(split_index("a::b", "::", 1).as_deref(), Some("b"));
        assert_eq!(split_index("a,b", ",", 2), None);
        assert_eq!(split_index("a,b", ",", -1), None);
        assert_eq!(split_index("", ",", 0), None);
    }

    #[test]
    fn padding() {
        // Flink: LPAD('hi', 4, '??') returns '??hi'; LPAD('hi', 1, '??') returns 'h'.
        assert_eq!(lpad("hi", 4, "??").unwrap().as_deref(), Some("??hi"));
        assert_eq!(lpad("hi", 1, "??").unwrap().as_deref(), Some("h"));
        // Flink: RPAD('hi', 4, '??') returns 'hi??'; RPAD('hi', 1, '??') returns 'h'.
        assert_eq!(rpad("hi", 4, "??").unwrap().as_deref(), Some("hi??"));
        assert_eq!(rpad("hi", 1, "??").unwrap().as_deref(), Some("h"));
        assert_eq!(lpad("hi", 5, "ab").unwrap().as_deref(), Some("abahi"));
        assert_eq!(lpad("hi", -1, "?").unwrap(), None);
        assert_eq!(lpad("hi", 4, "").unwrap(), None);
        assert_eq!(lpad("hi", 0, "?").unwrap().as_deref(), Some(""));
        let e = rpad("hi", i32::MAX, "?").unwrap_err();
        assert_eq!(e.kind(), crate::SqlErrorKind::InvalidArgument);
    }

    #[test]
    fn initcap_and_digests() {
        // Flink: INITCAP: first character of each word upper case, the rest lower.
        assert_eq!(initcap("hello WORLD-foo bar9x"), "Hello World-Foo Bar9x");
        assert_eq!(initcap("  éa"), "  éA");
        // Flink: MD5('') / SHA256('') are the digests of the empty string.
        assert_eq!(md5(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5("hello"), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
