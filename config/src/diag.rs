//! Diagnostics, collected rather than returned one at a time, so that a user
//! sees every problem in one build. Generic over the span type: a YAML
//! location on the spec path, a `proc_macro2::Span` on the derive path, and
//! `()` when the runtime resolves `${ENV}` values.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

#[derive(Debug, Clone)]
pub struct Diag<S> {
    pub level: Level,
    pub message: String,
    pub span: S,
    /// Text under the caret.
    pub label: Option<String>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl<S> Diag<S> {
    pub fn error(span: S, message: impl Into<String>) -> Self {
        Diag { level: Level::Error, message: message.into(), span, label: None, notes: Vec::new(), help: None }
    }
    pub fn warning(span: S, message: impl Into<String>) -> Self {
        Diag { level: Level::Warning, ..Diag::error(span, message) }
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }
    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

/// One line per diagnostic, without source context (used by the runtime).
impl<S> fmt::Display for Diag<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(f, "{level}: {}", self.message)?;
        for n in &self.notes {
            write!(f, "; note: {n}")?;
        }
        if let Some(h) = &self.help {
            write!(f, "; help: {h}")?;
        }
        Ok(())
    }
}

/// The collector every check writes into.
#[derive(Debug)]
pub struct Diags<S> {
    pub items: Vec<Diag<S>>,
}

impl<S> Default for Diags<S> {
    fn default() -> Self {
        Diags { items: Vec::new() }
    }
}

impl<S> Diags<S> {
    pub fn push(&mut self, d: Diag<S>) {
        self.items.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diag::is_error)
    }
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }
}
