//! Where a token of the SQL text was written in the YAML file: the SQL is a
//! block scalar (indentation removed) or a quoted string (escapes decoded),
//! so each byte of the decoded text is mapped back to the file.

use sqlparser::tokenizer::Location;

use crate::span::Span;

/// The SQL text of a pipeline and, for each of its bytes, the file offset it was written at.
pub(crate) struct SqlSource {
    /// The decoded SQL text.
    pub(crate) text: String,
    /// File offset of each byte of `text`, plus one for the end.
    offsets: Vec<usize>,
    /// File offset just past the written character of each byte of `text`.
    ends: Vec<usize>,
    /// The file, to keep spans on character boundaries.
    file: String,
    /// The scalar's span: the fallback.
    whole: Span,
    /// Byte offset in `text` where each line starts.
    lines: Vec<usize>,
    /// The SQL as written (`text` has JSON_VALUE's clauses blanked), for messages.
    pub(crate) written: String,
    /// JSON_VALUE clauses blanked out of `text`, by the offset of the call's name.
    pub(crate) json: std::collections::BTreeMap<usize, super::json::Clauses>,
}

impl SqlSource {
    /// Maps `text`, the decoded value of the scalar at `span` in `file`.
    pub(crate) fn new(file: &str, span: Span, text: &str) -> SqlSource {
        let (offsets, ends) = align(file, span, text);
        let mut lines = vec![0];
        lines.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let json = Default::default();
        let written = text.to_string();
        let mut src = SqlSource { text: text.to_string(), written, offsets, ends, file: file.to_string(), whole: span, lines, json };
        let (text, json) = super::json::extract(&src);
        (src.text, src.json) = (text, json);
        src
    }

    /// The file span of bytes `start..end` of the SQL text.
    pub(crate) fn span(&self, start: usize, end: usize) -> Span {
        let Some(&s) = self.offsets.get(start) else { return self.whole };
        let e = if end > start { self.ends.get(end - 1).copied().unwrap_or(s) } else { s };
        // At least the one character written at `s`, whole.
        let one = self.file.get(s..).and_then(|r| r.chars().next()).map_or(1, char::len_utf8);
        let len = if e > s { e - s } else { one };
        Span { start: s, len, content: s }
    }

    /// The byte offset in the SQL text of a sqlparser location (1-based line and character column).
    pub(crate) fn offset(&self, loc: Location) -> Option<usize> {
        if loc.line == 0 || loc.column == 0 {
            return None;
        }
        let line_start = *self.lines.get(usize::try_from(loc.line - 1).ok()?)?;
        let col = usize::try_from(loc.column - 1).ok()?;
        let rest = &self.text[line_start..];
        let within = rest.char_indices().nth(col).map_or(rest.len(), |(b, _)| b);
        Some(line_start + within)
    }

    /// The file span of a sqlparser span; the whole scalar when it is empty.
    pub(crate) fn sp(&self, s: sqlparser::tokenizer::Span) -> Span {
        match (self.offset(s.start), self.offset(s.end)) {
            (Some(a), Some(b)) if b > a => self.span(a, b),
            (Some(a), _) => self.span(a, a + self.token_len(a)),
            _ => self.whole,
        }
    }

    /// The length of the word or symbol at byte `at` of the text.
    pub(crate) fn token_len(&self, at: usize) -> usize {
        let rest = self.text.get(at..).unwrap_or("");
        let word = rest.char_indices().find(|(_, c)| !(c.is_alphanumeric() || *c == '_')).map_or(rest.len(), |(i, _)| i);
        if word > 0 { word } else { rest.chars().next().map_or(1, char::len_utf8) }
    }

    /// The SQL text of a sqlparser span (for error messages and run-time errors).
    pub(crate) fn slice(&self, s: sqlparser::tokenizer::Span) -> Option<&str> {
        let (a, b) = (self.offset(s.start)?, self.offset(s.end)?);
        self.written.get(a..b)
    }

    /// The span of the first occurrence of `word` (case-insensitive, as a whole word) at or after byte `from`.
    pub(crate) fn find_word(&self, from: usize, word: &str) -> Option<Span> {
        let upper = self.text.to_ascii_uppercase();
        let w = word.to_ascii_uppercase();
        let mut i = from.min(upper.len());
        while let Some(p) = upper.get(i..)?.find(&w) {
            let at = i + p;
            let before = upper[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            let after = upper[at + w.len()..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            if before && after {
                return Some(self.span(at, at + w.len()));
            }
            i = at + w.len();
        }
        None
    }

    /// The scalar's whole span.
    pub(crate) fn whole(&self) -> Span {
        self.whole
    }

    /// Whether a YAML comment follows the scalar on its last line (a plain scalar cut at ` #`).
    pub(crate) fn comment_follows(&self) -> bool {
        let end = self.whole.start + self.whole.len;
        let rest = self.file.get(end..).unwrap_or_default();
        let line = rest.split('\n').next().unwrap_or_default();
        line.trim_start().starts_with('#')
    }
}

/// For each byte of `text`, the offset in `file` it was written at: the
/// decoded characters are found in order in the written scalar, skipping
/// indentation, block indicators, quotes and escape backslashes.
fn align(file: &str, span: Span, text: &str) -> (Vec<usize>, Vec<usize>) {
    let mut out = Vec::with_capacity(text.len() + 1);
    let mut ends = Vec::with_capacity(text.len());
    let bytes = file.as_bytes();
    let mut pos = span.content.min(file.len());
    // A block scalar: its text starts on the line after the indicator.
    if matches!(bytes.get(pos), Some(b'|') | Some(b'>')) {
        pos = file[pos..].find('\n').map_or(file.len(), |i| pos + i + 1);
    }
    for c in text.chars() {
        let found = find_char(file, pos, c);
        let at = found.unwrap_or(pos);
        if let Some(f) = found {
            pos = f + file[f..].chars().next().map_or(1, char::len_utf8);
        }
        for _ in 0..c.len_utf8() {
            out.push(at);
            ends.push(pos.max(at));
        }
    }
    out.push(pos);
    (out, ends)
}

/// Where decoded character `c` was written, at or after `pos`: an escape
/// (`\n`, `\t`, `\\`, `\"`, `''`) counts from its first byte; a folded line
/// break matches a written space or newline. Gives up after a line's worth of skipping.
fn find_char(file: &str, pos: usize, c: char) -> Option<usize> {
    let rest = file.get(pos..)?;
    let mut skipped_lines = 0;
    let mut it = rest.char_indices().peekable();
    while let Some((i, d)) = it.next() {
        let here = pos + i;
        if d == c {
            return Some(here);
        }
        if d == '\\' {
            let next = it.peek().map(|(_, n)| *n);
            let decoded = match next {
                Some('n') => Some('\n'),
                Some('t') => Some('\t'),
                Some('\\') => Some('\\'),
                Some('"') => Some('"'),
                _ => None,
            };
            if decoded == Some(c) {
                return Some(here);
            }
        }
        if c == ' ' && d == '\n' {
            return Some(here);
        }
        if d == '\n' {
            skipped_lines += 1;
            if skipped_lines > 2 {
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, src: &SqlSource, needle: &str) -> (usize, usize) {
        let i = src.text.find(needle).unwrap();
        let s = src.span(i, i + needle.len());
        assert_eq!(&file[s.start..s.start + s.len], needle);
        let line = file[..s.start].matches('\n').count() + 1;
        let col = s.start - file[..s.start].rfind('\n').map_or(0, |p| p + 1) + 1;
        (line, col)
    }

    #[test]
    fn block_scalar_offsets_skip_indentation() {
        let file = "p:\n  sql: |\n    SELECT a\n      FROM t\n";
        let start = file.find('|').unwrap();
        let src = SqlSource::new(file, Span { start, len: file.len() - start, content: start }, "SELECT a\n  FROM t\n");
        assert_eq!(at(file, &src, "FROM"), (4, 7));
        assert_eq!(at(file, &src, "a"), (3, 12));
    }

    #[test]
    fn quoted_string_offsets_account_for_escapes() {
        let file = "sql: \"SELECT \\\"a\\\" FROM t\"\n";
        let start = file.find('"').unwrap();
        let src = SqlSource::new(file, Span { start, len: file.len() - start - 1, content: start + 1 }, "SELECT \"a\" FROM t");
        assert_eq!(at(file, &src, "FROM"), (1, 20));
    }
}
