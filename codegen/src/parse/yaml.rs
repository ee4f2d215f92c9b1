//! The one module that knows about the YAML library. It turns a spec into a
//! tree of nodes that each carry the byte span they were written at.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::span::Span;
use crate::value::RawValue;

#[derive(Debug, Clone)]
pub enum Node {
    Scalar(RawValue),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    pub span: Span,
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(RawValue::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(RawValue::Int(v as i128)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(RawValue::Int(v as i128)))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Scalar(RawValue::Int(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(RawValue::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(RawValue::Str(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(RawValue::Str(v)))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(RawValue::Null))
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(RawValue::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element()? {
            v.push(x);
        }
        Ok(Node::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = map.next_key::<Spanned<KeyText>>()? {
            let val = map.next_value()?;
            v.push((Spanned { value: k.value.0, referenced: k.referenced, defined: k.defined }, val));
        }
        Ok(Node::Map(v))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// A mapping key of any scalar type, as text (`500: x` has key `500`).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Node::deserialize(d)? {
            Node::Scalar(v) => Ok(KeyText(v.text().unwrap_or_default())),
            _ => Err(serde::de::Error::custom("a mapping key must be a scalar")),
        }
    }
}

/// A parsed document: a tree of located nodes.
#[derive(Debug, Clone)]
pub enum Tree {
    Scalar(RawValue),
    Seq(Vec<Located<Tree>>),
    Map(Vec<(Located<String>, Located<Tree>)>),
}

fn span_of(src: &str, loc: &serde_saphyr::Location) -> Span {
    let sp = loc.span();
    let start = sp.byte_offset().map(|b| b as usize).unwrap_or_else(|| line_col_to_offset(src, loc.line() as usize, loc.column() as usize));
    let len = sp.byte_len().map(|b| b as usize).unwrap_or(sp.len() as usize);
    let start = start.min(src.len());
    let content = match src.as_bytes().get(start) {
        Some(b'"') | Some(b'\'') => start + 1,
        _ => start,
    };
    Span { start, len, content }
}

fn line_col_to_offset(src: &str, line: usize, col: usize) -> usize {
    let mut off = 0;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return off + l.char_indices().nth(col.saturating_sub(1)).map_or(l.len(), |(b, _)| b);
        }
        off += l.len();
    }
    src.len()
}

fn convert(src: &str, n: Spanned<Node>) -> Located<Tree> {
    let mut span = span_of(src, &n.referenced);
    let value = match n.value {
        Node::Scalar(v) => {
            // Widen a scalar's span to its written text, quotes included.
            if span.len == 0 {
                span.len = scalar_len(src, span.start);
            }
            Tree::Scalar(v)
        }
        Node::Seq(items) => Tree::Seq(items.into_iter().map(|i| convert(src, i)).collect()),
        Node::Map(entries) => Tree::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let mut ks = span_of(src, &k.referenced);
                    if ks.len == 0 {
                        ks.len = k.value.len().max(1);
                    }
                    (Located { value: k.value, span: ks }, convert(src, v))
                })
                .collect(),
        ),
    };
    Located { value, span }
}

fn scalar_len(src: &str, start: usize) -> usize {
    let rest = &src[start.min(src.len())..];
    let line = rest.split('\n').next().unwrap_or("");
    let line = line.split(" #").next().unwrap_or(line);
    line.trim_end().len().max(1)
}

/// Parses a YAML document. A syntax error comes back with its location.
pub fn parse(src: &str) -> Result<Located<Tree>, (String, Span)> {
    let opts = serde_saphyr::options! { strict_booleans: true, with_snippet: false };
    match serde_saphyr::from_str_with_options::<Spanned<Node>>(src, opts) {
        Ok(n) => Ok(convert(src, n)),
        Err(e) => {
            let span = e.location().map(|l| span_of(src, &l)).unwrap_or(Span { start: 0, len: 1, content: 0 });
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid YAML").to_string();
            // Drop the library's own "error: line L column C:" prefix; the renderer prints the location.
            let first = match first.find(": ") {
                Some(i) if first.starts_with("error: line") => first[i + 2..].to_string(),
                _ => first,
            };
            // Keep the library's message, without advice about its own options or a repeated location.
            let mut first = first.split(", set DuplicateKeyPolicy").next().unwrap_or(&first).to_string();
            if let Some(i) = first.find(" at line ") {
                first.truncate(i);
            }
            if let Some(key) = first.strip_prefix("duplicate mapping key: ") {
                first = format!("key `{key}` is given twice");
            }
            Err((first, Span { len: span.len.max(1), ..span }))
        }
    }
}
