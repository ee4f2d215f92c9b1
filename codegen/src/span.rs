//! Where a diagnostic points: a byte range of a spec, or a token of the
//! derive's input, narrowed into the text it covers when that can be expressed.

/// A span that can be narrowed to part of the text it covers.
pub(crate) trait SpanLike: Clone {
    /// The span of bytes `start..start+len` of the text this span covers,
    /// when that can be expressed; otherwise the span itself.
    fn narrow(&self, start: usize, len: usize) -> Self;
}

impl SpanLike for () {
    fn narrow(&self, _: usize, _: usize) -> Self {}
}

impl SpanLike for proc_macro2::Span {
    /// A literal's span cannot be narrowed on stable Rust; the whole literal is marked.
    fn narrow(&self, _: usize, _: usize) -> Self {
        *self
    }
}

/// A byte range of a spec file. `content` is where the scalar's text starts
/// (after an opening quote), so spans can be narrowed into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// Byte offset where the scalar's text starts (after an opening quote).
    pub content: usize,
}

impl SpanLike for Span {
    fn narrow(&self, start: usize, len: usize) -> Self {
        let s = self.content + start;
        if s + len <= self.start + self.len.max(1) + 1 { Span { start: s, len: len.max(1), content: s } } else { *self }
    }
}
