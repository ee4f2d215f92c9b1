//! Renders diagnostics the way rustc does: `path:line:col`, the source line,
//! a caret under the offending text, then notes and help.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::diag::{self, Diag};
use crate::span::Span;

fn floor_char(src: &str, mut i: usize) -> usize {
    while i > 0 && !src.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Renders diagnostics of one file. `color` adds ANSI styling.
pub fn render(path: &str, src: &str, diags: &[Diag<Span>], color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let mut out = String::new();
    for d in diags {
        let start = floor_char(src, d.span.start.min(src.len()));
        let mut end = floor_char(src, (d.span.start + d.span.len.max(1)).min(src.len()));
        if end <= start {
            // One whole character: a caret must not end inside a multi-byte one.
            end = start + src[start..].chars().next().map_or(0, char::len_utf8);
        }
        let level = match d.level {
            diag::Level::Error => Level::ERROR,
            diag::Level::Warning => Level::WARNING,
        };
        let mut ann = AnnotationKind::Primary.span(start..end);
        if let Some(l) = &d.label {
            ann = ann.label(l.as_str());
        }
        let mut group = level.primary_title(d.message.as_str()).element(Snippet::source(src).path(path).annotation(ann));
        for n in &d.notes {
            group = group.element(Level::NOTE.message(n.as_str()));
        }
        if let Some(h) = &d.help {
            group = group.element(Level::HELP.message(h.as_str()));
        }
        let report: &[Group<'_>] = &[group];
        out.push_str(&renderer.render(report));
        out.push_str("\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_on_a_multibyte_character_covers_it_whole() {
        // `é` is two bytes; a one-byte span on it used to end inside it.
        let src = "sql: SELECT é FROM t\n";
        let at = src.find('é').unwrap();
        for len in [0, 1] {
            let d = Diag::error(Span { start: at, len, content: at }, "unknown column `é`").label("here");
            let out = render("p.yaml", src, &[d], false);
            assert!(out.contains("p.yaml:1:13"), "{out}");
            assert!(out.contains("^ here"), "{out}");
        }
    }
}
