//! What SQL expressions are resolved against: the source's columns (and
//! the UNNEST element), the WHERE clause's not-null facts, and where each
//! expression was written (sqlparser's spans, widened where partial).

use std::collections::BTreeSet;

use sqlparser::ast::{Expr, Spanned};

use super::expr::{Node, TExpr};
use super::source::SqlSource;
use crate::diag::{Diag, Diags};
use crate::ir::{SqlType, TableIr};
use crate::span::Span;

/// A column the query can read.
pub(crate) struct Col {
    pub(crate) name: String,
    pub(crate) local: String,
    pub(crate) field: String,
    pub(crate) ty: SqlType,
    pub(crate) nullable: bool,
}

/// What expressions are resolved against.
pub(crate) struct Scope<'a> {
    pub(crate) src: &'a SqlSource,
    /// The source table's columns, then the UNNEST element (last, when there is one).
    pub(crate) cols: Vec<Col>,
    /// Names that qualify a source column (`orders.amount`, `o.amount`).
    pub(crate) qualifiers: Vec<String>,
    /// The UNNEST alias (`t.x`).
    pub(crate) unnest_alias: Option<String>,
    /// Columns the WHERE clause proves not null.
    pub(crate) not_null: BTreeSet<String>,
    /// Locals read, in first-read order.
    pub(crate) used: Vec<String>,
    /// The pipeline's `table.local-time-zone`.
    pub(crate) time_zone: String,
    /// The offset in the SQL text of the name of the function call being checked.
    pub(crate) call_at: Option<usize>,
}

impl<'a> Scope<'a> {
    pub(crate) fn new(src: &'a SqlSource, table: &TableIr, qualifiers: Vec<String>, time_zone: String) -> Scope<'a> {
        let cols = table
            .columns
            .iter()
            .map(|c| Col {
                name: c.name.clone(),
                local: format!("c_{}", c.ident.trim_start_matches("r#")),
                field: c.ident.clone(),
                ty: c.ty.clone(),
                nullable: c.nullable,
            })
            .collect();
        Scope { src, cols, qualifiers, unnest_alias: None, not_null: BTreeSet::new(), used: Vec::new(), time_zone, call_at: None }
    }

    pub(crate) fn at(&self, e: &impl Spanned) -> Span {
        self.src.sp(e.span())
    }

    /// Where an expression was written, as a file span: sqlparser's span, widened where it is partial.
    pub(crate) fn at_expr(&self, e: &Expr) -> Span {
        match self.range(e) {
            Some((a, b)) => self.src.span(a, b),
            None => self.at(e),
        }
    }

    /// The byte range of `e` in the SQL text. sqlparser's span of a CAST covers
    /// only its operand: the keyword before it and the closing parenthesis are found here.
    fn range(&self, e: &Expr) -> Option<(usize, usize)> {
        let own = || Some((self.src.offset(e.span().start)?, self.src.offset(e.span().end)?));
        match e {
            Expr::Cast { expr, .. } => {
                let (a, b) = self.range(expr)?;
                let upper = self.src.text[..a].to_ascii_uppercase();
                let open = upper.trim_end().strip_suffix('(')?.trim_end().len();
                let kw = upper[..open].rfind("CAST")?;
                let kw = if upper[..kw].ends_with("TRY_") { kw - 4 } else { kw };
                let close = self.closing_paren(kw).unwrap_or(b).max(b);
                Some((kw, close))
            }
            Expr::BinaryOp { left, right, .. } => {
                let (l, r) = (self.range(left)?, self.range(right)?);
                Some((l.0.min(r.0), l.1.max(r.1)))
            }
            Expr::UnaryOp { expr, op } => {
                // sqlparser's span of `-x` is x's: the operator is found before it.
                let (a, b) = self.range(expr)?;
                let before = self.src.text[..a].trim_end();
                let op = op.to_string();
                let a = if before.to_ascii_uppercase().ends_with(&op.to_ascii_uppercase()) { before.len() - op.len() } else { a };
                Some((a, b))
            }
            Expr::TypedString(t) => {
                // The span covers the string: the type keyword before it is found here.
                let (a, b) = own()?;
                let upper = self.src.text[..a].to_ascii_uppercase();
                let kw = t.data_type.to_string().to_ascii_uppercase();
                let before = upper.trim_end();
                Some((if before.ends_with(&kw) { before.len() - kw.len() } else { a }, b))
            }
            Expr::Nested(inner) => {
                let (a, b) = self.range(inner)?;
                let before = self.src.text[..a].trim_end();
                let after = &self.src.text[b..];
                match (before.strip_suffix('('), after.trim_start().strip_prefix(')')) {
                    (Some(open), Some(close)) => Some((open.len(), self.src.text.len() - close.len())),
                    _ => Some((a, b)),
                }
            }
            Expr::Function(_)
            | Expr::Extract { .. }
            | Expr::Substring { .. }
            | Expr::Trim { .. }
            | Expr::Ceil { .. }
            | Expr::Floor { .. }
            | Expr::Position { .. } => {
                // A call's span ends at its last argument (and for EXTRACT and the like starts
                // there): the keyword before it and the closing parenthesis are found here.
                let (a, b) = own()?;
                let kw = match e {
                    Expr::Function(f) => f.name.to_string(),
                    Expr::Extract { .. } => "EXTRACT".into(),
                    Expr::Substring { .. } => "SUBSTRING".into(),
                    Expr::Trim { .. } => "TRIM".into(),
                    Expr::Ceil { .. } => "CEIL".into(),
                    Expr::Floor { .. } => "FLOOR".into(),
                    _ => "POSITION".into(),
                };
                let upper = self.src.text.to_ascii_uppercase();
                let kw = kw.to_ascii_uppercase();
                let start = if upper[a..].starts_with(&kw) { a } else { upper[..a].rfind(&kw).unwrap_or(a) };
                Some((start, self.closing_paren(start).unwrap_or(b).max(b)))
            }
            _ => own(),
        }
    }

    /// The offset just past the parenthesis that closes the first one at or after `from` (quotes skipped).
    fn closing_paren(&self, from: usize) -> Option<usize> {
        let text = self.src.text.get(from..)?;
        let open = text.find('(')?;
        let (mut depth, mut quoted) = (0usize, false);
        for (i, c) in text[open..].char_indices() {
            match c {
                '\'' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(from + open + i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The SQL text of `e`, for run-time errors.
    pub(crate) fn text(&self, e: &Expr) -> String {
        match self.range(e) {
            Some((a, b)) => self.src.written.get(a..b).unwrap_or_default().to_string(),
            None => self.src.slice(e.span()).map(str::to_string).unwrap_or_default(),
        }
    }

    /// The column `name`, of the side `qualifier` names (the source's or the UNNEST's, whose columns read no field).
    /// `Err(true)`: unqualified and both sides have it; `Err(false)`: unknown.
    pub(crate) fn resolve(&self, qualifier: Option<&str>, name: &str) -> Result<&Col, bool> {
        let side = match qualifier {
            Some(q) if self.qualifiers.iter().any(|x| x == q) => Some(true),
            Some(q) if self.unnest_alias.as_deref() == Some(q) => Some(false),
            _ => None,
        };
        let mut found = self.cols.iter().filter(|c| c.name == name && side.is_none_or(|src| src != c.field.is_empty()));
        match (found.next(), found.next()) {
            (Some(c), None) => Ok(c),
            (Some(_), Some(_)) => Err(true),
            (None, _) => Err(false),
        }
    }

    /// An unqualified column.
    pub(crate) fn column(&mut self, name: &str, span: Span, diags: &mut Diags<Span>) -> Option<TExpr> {
        self.column_of(None, name, span, diags)
    }

    /// A column, qualified by a table or UNNEST alias or not.
    pub(crate) fn column_of(&mut self, qualifier: Option<&str>, name: &str, span: Span, diags: &mut Diags<Span>) -> Option<TExpr> {
        if matches!(self.resolve(qualifier, name), Err(true)) {
            let alias = self.unnest_alias.clone().unwrap_or_else(|| "t".to_string());
            let source = self.qualifiers.first().cloned().unwrap_or_default();
            diags.push(
                Diag::error(span, format!("column `{name}` is ambiguous: the source and the UNNEST both have it"))
                    .label("ambiguous")
                    .help(format!("qualify it: `{source}.{name}` or `{alias}.{name}`, or rename the UNNEST column")),
            );
            return None;
        }
        let Ok(c) = self.resolve(qualifier, name) else {
            let d = Diag::error(span, format!("unknown column `{name}`")).label("not a column of the source");
            let names: Vec<&str> = self.cols.iter().map(|c| c.name.as_str()).collect();
            diags.push(match crate::suggest::closest(name, names.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("columns here: {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))),
            });
            return None;
        };
        let nullable = c.nullable && !self.not_null.contains(&c.local);
        let (local, ty) = (c.local.clone(), c.ty.clone());
        if !self.used.contains(&local) {
            self.used.push(local.clone());
        }
        Some(TExpr::new(ty, nullable, Node::Column(local)))
    }
}
