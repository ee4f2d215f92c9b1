//! LIKE, SIMILAR TO and Java regular expressions (REGEXP, REGEXP_EXTRACT,
//! REGEXP_REPLACE). A literal pattern is checked by the compiler at build
//! time with these same constructors and held by the generated code in a
//! static; a pattern from a column is built per record.

use regex::Regex;

use crate::error::SqlError;

/// Flink's escape character for LIKE and SIMILAR TO without an `ESCAPE`
/// clause.
pub const DEFAULT_ESCAPE: Option<char> = Some('\\');

/// One unit of a LIKE segment: a literal character or `_`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Char(char),
    Any,
}

/// A compiled `LIKE` pattern: `%` any run of characters, `_` one
/// character, the escape character makes the next one literal. Matching is
/// case-sensitive and covers the whole string, without a regex: the
/// pattern is split at `%` into segments matched leftmost in turn.
#[derive(Debug, Clone)]
pub struct Like {
    /// The segments between `%`s.
    segments: Vec<Vec<Unit>>,
    /// Whether the pattern has a `%` at all (else one segment, exact).
    has_percent: bool,
}

impl Like {
    /// Compiles `pattern`; `escape` is the ESCAPE character (use
    /// [`DEFAULT_ESCAPE`] when the SQL has none). An escape character at
    /// the end or before anything but `%`, `_` or itself fails.
    pub fn new(pattern: &str, escape: Option<char>) -> Result<Like, SqlError> {
        let mut segments = vec![Vec::new()];
        let mut has_percent = false;
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let unit = if Some(c) == escape {
                match chars.next() {
                    Some(n) if n == '%' || n == '_' || Some(n) == escape => Unit::Char(n),
                    Some(n) => {
                        return Err(SqlError::invalid_pattern(
                            "LIKE pattern",
                            pattern,
                            format_args!("the escape character {c:?} must be followed by '%', '_' or itself, not {n:?}"),
                        ));
                    }
                    None => return Err(SqlError::invalid_pattern("LIKE pattern", pattern, "it ends with the escape character")),
                }
            } else if c == '%' {
                has_percent = true;
                segments.push(Vec::new());
                continue;
            } else if c == '_' {
                Unit::Any
            } else {
                Unit::Char(c)
            };
            if let Some(last) = segments.last_mut() {
                last.push(unit);
            }
        }
        Ok(Like { segments, has_percent })
    }

    /// Whether `s` matches the whole pattern.
    pub fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.segments.split_first() {
            Some(split) => split,
            None => return s.is_empty(),
        };
        if !self.has_percent {
            return match_at(first, s) == Some(s.len());
        }
        let Some(mut at) = match_at(first, s) else { return false };
        let (last, middle) = match rest.split_last() {
            Some(split) => split,
            None => return true,
        };
        for segment in middle {
            match find(segment, &s[at..]) {
                Some(end) => at += end,
                None => return false,
            }
        }
        // The last segment must match a suffix that starts at or after `at`.
        let count = last.len();
        let Some(start) = suffix_start(&s[at..], count) else { return false };
        match_at(last, &s[at + start..]) == Some(s.len() - at - start)
    }
}

/// The byte length `segment` matches at the start of `s`, if it does.
fn match_at(segment: &[Unit], s: &str) -> Option<usize> {
    let mut chars = s.char_indices();
    for unit in segment {
        let (_, c) = chars.next()?;
        if matches!(unit, Unit::Char(want) if *want != c) {
            return None;
        }
    }
    Some(chars.next().map_or(s.len(), |(i, _)| i))
}

/// The byte offset just past the leftmost match of `segment` in `s`.
fn find(segment: &[Unit], s: &str) -> Option<usize> {
    s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len())).find_map(|start| match_at(segment, &s[start..]).map(|len| start + len))
}

/// The byte offset in `s` where its last `count` characters start.
fn suffix_start(s: &str, count: usize) -> Option<usize> {
    if count == 0 {
        return Some(s.len());
    }
    s.char_indices().rev().nth(count - 1).map(|(i, _)| i)
}

/// A compiled `SIMILAR TO` pattern: SQL's regular expressions (`%`, `_`,
/// `|`, `*`, `+`, `?`, `{m,n}`, `( )`, `[ ]`) matching the whole string.
#[derive(Debug, Clone)]
pub struct Similar {
    regex: Regex,
}

impl Similar {
    /// Compiles `pattern` with the ESCAPE character `escape` (use
    /// [`DEFAULT_ESCAPE`] when the SQL has none).
    pub fn new(pattern: &str, escape: Option<char>) -> Result<Similar, SqlError> {
        let mut out = String::from("^(?:");
        let mut chars = pattern.chars();
        let mut in_class = false;
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                let Some(n) = chars.next() else {
                    return Err(SqlError::invalid_pattern("SIMILAR TO pattern", pattern, "it ends with the escape character"));
                };
                out.push_str(&regex::escape(&n.to_string()));
                continue;
            }
            match c {
                '[' => in_class = true,
                ']' => in_class = false,
                _ => {}
            }
            match c {
                '%' if !in_class => out.push_str(".*"),
                '_' if !in_class => out.push('.'),
                '|' | '*' | '+' | '?' | '{' | '}' | '(' | ')' | '[' | ']' | ',' | '^' | '-' => out.push(c),
                '0'..='9' => out.push(c),
                _ => out.push_str(&regex::escape(&c.to_string())),
            }
        }
        out.push_str(")$");
        let regex = regex::RegexBuilder::new(&out)
            .dot_matches_new_line(true)
            .build()
            .map_err(|e| SqlError::invalid_pattern("SIMILAR TO pattern", pattern, first_line(&e.to_string())))?;
        Ok(Similar { regex })
    }

    /// Whether `s` matches the whole pattern.
    pub fn matches(&self, s: &str) -> bool {
        self.regex.is_match(s)
    }
}

/// Compiles a Java regular expression (Flink's REGEXP, REGEXP_EXTRACT,
/// REGEXP_REPLACE) with Rust's `regex`, refusing with a reason what it
/// cannot do: backreferences (`\1`, `\k<name>`), look-around (`(?=`,
/// `(?!`, `(?<=`, `(?<!`), atomic groups (`(?>`) and possessive
/// quantifiers (`*+`, `++`, `?+`, `}+`). Matching is linear-time.
pub fn java_regex(pattern: &str) -> Result<Regex, SqlError> {
    if let Some(reason) = unsupported_java(pattern) {
        return Err(SqlError::invalid_pattern("regular expression", pattern, reason));
    }
    Regex::new(pattern).map_err(|e| SqlError::invalid_pattern("regular expression", pattern, first_line(&e.to_string())))
}

/// Why Rust's `regex` cannot run `pattern` as Java would, if it cannot.
fn unsupported_java(pattern: &str) -> Option<String> {
    let b = pattern.as_bytes();
    let mut i = 0;
    let mut in_class = false;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                match b.get(i + 1) {
                    Some(d @ b'1'..=b'9') if !in_class => {
                        return Some(format!("backreferences (\\{}) are not supported: Rust's regex engine has none", *d as char));
                    }
                    Some(b'k') if b.get(i + 2) == Some(&b'<') => {
                        return Some("named backreferences (\\k<name>) are not supported: Rust's regex engine has none".into());
                    }
                    _ => {}
                }
                i += 2;
                continue;
            }
            b'[' => in_class = true,
            b']' => in_class = false,
            b'(' if !in_class && b.get(i + 1) == Some(&b'?') => {
                let rest = &pattern[i + 2..];
                for (prefix, what) in
                    [("<=", "look-behind"), ("<!", "look-behind"), ("=", "look-ahead"), ("!", "look-ahead"), (">", "atomic groups")]
                {
                    if rest.starts_with(prefix) {
                        return Some(format!("{what} ((?{prefix}…) is not supported: Rust's regex engine runs in linear time without it"));
                    }
                }
            }
            b'+' if !in_class && i > 0 && matches!(b[i - 1], b'*' | b'+' | b'?' | b'}') && !escaped(b, i - 1) => {
                return Some("possessive quantifiers (*+, ++, ?+) are not supported".into());
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether the byte at `i` is escaped by an odd run of backslashes.
fn escaped(b: &[u8], i: usize) -> bool {
    b[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1
}

fn first_line(message: &str) -> String {
    message.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(message).trim().to_string()
}

/// REGEXP(s, regex): whether the regex matches anywhere in `s` (Java's
/// `find`, as Flink).
pub fn regexp(s: &str, regex: &Regex) -> bool {
    regex.is_match(s)
}

/// REGEXP_EXTRACT(s, regex, group): group `group` (0 = the whole match;
/// Flink's default when the index is omitted is 0) of the first match;
/// NULL when nothing matches or the group did not take part. A group index
/// past the pattern's groups fails (Flink logs and gives NULL). Flink:
/// `REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', 2)` is `'bar'`.
pub fn regexp_extract(s: &str, regex: &Regex, group: i32) -> Result<Option<String>, SqlError> {
    let index = usize::try_from(group).ok().filter(|g| *g < regex.captures_len()).ok_or_else(|| {
        SqlError::invalid_argument(
            "REGEXP_EXTRACT",
            format_args!("group {group} is not in a pattern with {} groups", regex.captures_len() - 1),
        )
    })?;
    if index == 0 {
        return Ok(regex.find(s).map(|m| m.as_str().to_string()));
    }
    Ok(regex.captures(s).and_then(|c| c.get(index)).map(|m| m.as_str().to_string()))
}

/// A Java replacement string (`Matcher.replaceAll`): `$n` a group (digits
/// taken while the number is a group, as Java), `${name}` a named group,
/// `\c` the character `c`; anything else literal.
#[derive(Debug, Clone)]
pub struct Replacement {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Group(usize),
    Named(String),
}

impl Replacement {
    /// Parses `replacement` against `regex`'s groups; a trailing `\`, a `$`
    /// not followed by a group, or a group that does not exist fails (as
    /// Java).
    pub fn new(replacement: &str, regex: &Regex) -> Result<Replacement, SqlError> {
        let fail = |why: String| SqlError::invalid_pattern("REGEXP_REPLACE replacement", replacement, why);
        let groups = regex.captures_len() - 1;
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => text.push(chars.next().ok_or_else(|| fail("it ends with '\\'".into()))?),
                '$' => {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                    if chars.peek() == Some(&'{') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                        if regex.capture_names().flatten().all(|n| n != name) {
                            return Err(fail(format!("there is no group named {name:?}")));
                        }
                        parts.push(Part::Named(name));
                        continue;
                    }
                    let first = chars
                        .next()
                        .and_then(|d| d.to_digit(10))
                        .ok_or_else(|| fail("'$' must be followed by a group number or {name}".into()))?;
                    let mut number = first as usize;
                    if number > groups {
                        return Err(fail(format!("there is no group {number} (the pattern has {groups})")));
                    }
                    while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                        let next = number * 10 + d as usize;
                        if next > groups {
                            break;
                        }
                        number = next;
                        chars.next();
                    }
                    parts.push(Part::Group(number));
                }
                _ => text.push(c),
            }
        }
        parts.push(Part::Text(text));
        parts.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
        Ok(Replacement { parts })
    }
}

/// REGEXP_REPLACE(s, regex, replacement): every match replaced. Flink:
/// `REGEXP_REPLACE('foobar', 'oo|ar', '')` is `'fb'`.
pub fn regexp_replace(s: &str, regex: &Regex, replacement: &Replacement) -> String {
    regex
        .replace_all(s, |caps: &regex::Captures<'_>| {
            let mut out = String::new();
            for part in &replacement.parts {
                match part {
                    Part::Text(t) => out.push_str(t),
                    Part::Group(g) => out.push_str(caps.get(*g).map_or("", |m| m.as_str())),
                    Part::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
                }
            }
            out
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlErrorKind;

    fn like(p: &str, s: &str) -> bool {
        Like::new(p, DEFAULT_ESCAPE).unwrap().matches(s)
    }

    #[test]
    fn like_wildcards() {
        assert!(like("abc", "abc"));
        assert!(!like("abc", "abcd"));
        assert!(like("a%", "abc"));
        assert!(like("%c", "abc"));
        assert!(like("%b%", "abc"));
        assert!(like("a_c", "abc"));
        assert!(like("a_c", "aéc"));
        assert!(!like("a_c", "ac"));
        assert!(like("%", ""));
        assert!(like("", ""));
        assert!(!like("", "a"));
        assert!(like("a%b%c", "aXbYbZc"));
        assert!(!like("a%b%c", "acb"));
        // The last segment must not overlap the ones before it.
        assert!(!like("%ab%ba", "aba"));
        assert!(like("%ab%ba", "abba"));
        assert!(like("%a_", "xay"));
        assert!(!like("ABC", "abc"));
    }

    #[test]
    fn like_escapes() {
        assert!(like("100\\%", "100%"));
        assert!(!like("100\\%", "1000"));
        assert!(Like::new("a!_b", Some('!')).unwrap().matches("a_b"));
        assert!(!Like::new("a!_b", Some('!')).unwrap().matches("axb"));
        assert!(Like::new("a\\b", None).unwrap().matches("a\\b"));
        let e = Like::new("a\\", DEFAULT_ESCAPE).unwrap_err();
        assert_eq!(e.kind(), SqlErrorKind::InvalidPattern);
        assert!(Like::new("a\\x", DEFAULT_ESCAPE).is_err());
    }

    #[test]
    fn similar_to() {
        let s = |p: &str, v: &str| Similar::new(p, DEFAULT_ESCAPE).unwrap().matches(v);
        assert!(s("(a|b)%", "bcd"));
        assert!(!s("(a|b)%", "cd"));
        assert!(s("a_c", "abc"));
        assert!(s("[0-9]+", "123"));
        assert!(!s("[0-9]+", "12a"));
        assert!(s("a.c", "a.c"));
        assert!(!s("a.c", "abc"));
        assert!(Similar::new("(a", DEFAULT_ESCAPE).is_err());
    }

    #[test]
    fn java_regex_refuses_what_rust_cannot_run() {
        for (p, why) in [
            ("(a)\\1", "backreferences"),
            ("(?<n>a)\\k<n>", "named backreferences"),
            ("a(?=b)", "look-ahead"),
            ("a(?!b)", "look-ahead"),
            ("(?<=a)b", "look-behind"),
            ("(?<!a)b", "look-behind"),
            ("(?>a)", "atomic"),
            ("a*+", "possessive"),
        ] {
            let e = java_regex(p).unwrap_err();
            assert_eq!(e.kind(), SqlErrorKind::InvalidPattern);
            assert!(e.message().contains(why), "{p}: {e}");
        }
        assert!(java_regex("a\\*+").is_ok());
        assert!(java_regex("(?<name>a+)b").is_ok());
        assert!(java_regex("(").is_err());
    }

    #[test]
    fn extract_and_replace() {
        let r = java_regex("foo(.*?)(bar)").unwrap();
        // Flink: REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', 2) returns 'bar'.
        assert_eq!(regexp_extract("foothebar", &r, 2).unwrap().as_deref(), Some("bar"));
        assert_eq!(regexp_extract("foothebar", &r, 1).unwrap().as_deref(), Some("the"));
        assert_eq!(regexp_extract("foothebar", &r, 0).unwrap().as_deref(), Some("foothebar"));
        assert_eq!(regexp_extract("nothing", &r, 1).unwrap(), None);
        assert!(regexp_extract("foothebar", &r, 3).is_err());
        assert!(regexp_extract("foothebar", &r, -1).is_err());
        let opt = java_regex("a(x)?b").unwrap();
        assert_eq!(regexp_extract("ab", &opt, 1).unwrap(), None);
        // Flink: REGEXP_REPLACE('foobar', 'oo|ar', '') returns 'fb'.
        let r = java_regex("oo|ar").unwrap();
        assert_eq!(regexp_replace("foobar", &r, &Replacement::new("", &r).unwrap()), "fb");
        let r = java_regex("(\\w+) (\\w+)").unwrap();
        assert_eq!(regexp_replace("hello world", &r, &Replacement::new("$2 $1", &r).unwrap()), "world hello");
        // `$1a` is group 1 then 'a' (Rust's own syntax would read group "1a").
        assert_eq!(regexp_replace("hello world", &r, &Replacement::new("$1a", &r).unwrap()), "helloa");
        // `$12` is group 1 then '2' when there is no group 12.
        assert_eq!(regexp_replace("hello world", &r, &Replacement::new("$12", &r).unwrap()), "hello2");
        assert_eq!(regexp_replace("a b", &r, &Replacement::new("\\$1", &r).unwrap()), "$1");
        assert!(Replacement::new("$3", &r).is_err());
        assert!(Replacement::new("x\\", &r).is_err());
        assert!(Replacement::new("$x", &r).is_err());
        assert!(regexp("abc", &java_regex("b").unwrap()));
    }
}
