//! Resolves and types one expression against the source table: columns,
//! literals, operators with Flink's result types and three-valued logic.
//! Functions and casts are in `funcs`; every error is located in the YAML.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;
use sqlparser::ast::{BinaryOperator, Expr, Spanned, UnaryOperator, Value};

use super::expr::{Node, TExpr};
use super::source::SqlSource;
use super::types::{self, Arith};
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
        Scope { src, cols, qualifiers, unnest_alias: None, not_null: BTreeSet::new(), used: Vec::new(), time_zone }
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
                let close = self.src.text[b..].find(')').map_or(b, |i| b + i + 1);
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
            Expr::Nested(inner) => {
                let (a, b) = self.range(inner)?;
                let before = self.src.text[..a].trim_end();
                let after = &self.src.text[b..];
                match (before.strip_suffix('('), after.trim_start().strip_prefix(')')) {
                    (Some(open), Some(close)) => Some((open.len(), self.src.text.len() - close.len())),
                    _ => Some((a, b)),
                }
            }
            Expr::Function(_) | Expr::Extract { .. } | Expr::Substring { .. } | Expr::Trim { .. } | Expr::Ceil { .. } | Expr::Floor { .. } | Expr::Position { .. } => {
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
            Some((a, b)) => self.src.text.get(a..b).unwrap_or_default().to_string(),
            None => self.src.slice(e.span()).map(str::to_string).unwrap_or_default(),
        }
    }

    fn column(&mut self, name: &str, span: Span, diags: &mut Diags<Span>) -> Option<TExpr> {
        let Some(c) = self.cols.iter().find(|c| c.name == name) else {
            let d = Diag::error(span, format!("unknown column `{name}`")).label("not a column of the source");
            let names: Vec<&str> = self.cols.iter().map(|c| c.name.as_str()).collect();
            diags.push(match crate::suggest::closest(name, names.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("columns here: {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))),
            });
            return None;
        };
        let nullable = c.nullable && !self.not_null.contains(&c.name);
        let (local, ty) = (c.local.clone(), c.ty.clone());
        if !self.used.contains(&local) {
            self.used.push(local.clone());
        }
        Some(TExpr::new(ty, nullable, Node::Column(local)))
    }

    /// Types an expression.
    pub(crate) fn expr(&mut self, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
        match e {
            Expr::Identifier(i) => self.column(&i.value, self.src.sp(i.span), diags),
            Expr::CompoundIdentifier(parts) => self.compound(parts, diags),
            Expr::CompoundFieldAccess { root, access_chain } => super::funcs::access(self, root, access_chain, diags),
            Expr::Nested(inner) => self.expr(inner, diags),
            Expr::Value(v) => self.literal(&v.value, self.at_expr(e), diags),
            Expr::BinaryOp { left, op, right } => self.binary(e, left, op, right, diags),
            Expr::UnaryOp { op, expr } => self.unary(e, *op, expr, diags),
            Expr::IsNull(a) | Expr::IsNotNull(a) => {
                let a = self.expr(a, diags)?;
                Some(TExpr::new(SqlType::Boolean, false, Node::IsNull(Box::new(a), matches!(e, Expr::IsNotNull(_)))))
            }
            Expr::IsTrue(a) | Expr::IsNotTrue(a) | Expr::IsFalse(a) | Expr::IsNotFalse(a) => {
                let a = self.boolean(a, diags)?;
                let value = matches!(e, Expr::IsTrue(_) | Expr::IsNotTrue(_));
                let negated = matches!(e, Expr::IsNotTrue(_) | Expr::IsNotFalse(_));
                Some(TExpr::new(SqlType::Boolean, false, Node::IsBool(Box::new(a), value, negated)))
            }
            Expr::IsUnknown(a) | Expr::IsNotUnknown(a) => {
                let a = self.boolean(a, diags)?;
                Some(TExpr::new(SqlType::Boolean, false, Node::IsNull(Box::new(a), matches!(e, Expr::IsNotUnknown(_)))))
            }
            Expr::IsDistinctFrom(l, r) | Expr::IsNotDistinctFrom(l, r) => {
                let (l, r) = self.comparable(e, l, r, diags)?;
                Some(TExpr::new(SqlType::Boolean, false, Node::Distinct(Box::new(l), Box::new(r), matches!(e, Expr::IsNotDistinctFrom(..)))))
            }
            Expr::In { expr, target: sqlparser::ast::InTarget::List(list), negated, .. } => {
                let mut acc: Option<TExpr> = None;
                for item in list {
                    let eq = self.compare(e, expr, &BinaryOperator::Eq, item, diags)?;
                    acc = Some(match acc {
                        None => eq,
                        Some(a) => logic(false, a, eq),
                    });
                }
                let acc = acc?;
                Some(if *negated { not(acc) } else { acc })
            }
            Expr::Between { expr, negated, low, high } => {
                let ge = self.compare(e, expr, &BinaryOperator::GtEq, low, diags);
                let le = self.compare(e, expr, &BinaryOperator::LtEq, high, diags);
                let both = logic(true, ge?, le?);
                Some(if *negated { not(both) } else { both })
            }
            Expr::Like { negated, expr, pattern, escape_char, any: false } => {
                super::funcs::like(self, e, expr, pattern, escape_char.as_deref(), *negated, false, diags)
            }
            Expr::SimilarTo { negated, expr, pattern, escape_char } => {
                super::funcs::like(self, e, expr, pattern, escape_char.as_deref(), *negated, true, diags)
            }
            Expr::Cast { kind, expr, data_type, .. } => super::funcs::cast_expr(self, e, kind, expr, data_type, diags),
            Expr::Case { operand, conditions, else_result, .. } => super::funcs::case(self, operand.as_deref(), conditions, else_result.as_deref(), diags),
            Expr::Function(f) => super::funcs::call(self, e, f, diags),
            Expr::Substring { .. } | Expr::Trim { .. } | Expr::Extract { .. } | Expr::Ceil { .. } | Expr::Floor { .. } | Expr::Position { .. } => {
                super::funcs::special(self, e, diags)
            }
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::In { .. } => {
                super::parse::stateful(self.at_expr(e), "a subquery", "a subquery reads other records than the current one", diags);
                None
            }
            other => {
                diags.push(
                    Diag::error(self.at_expr(other), format!("`{other}` is not in the SQL subset pipelines compile"))
                        .label("not supported")
                        .help("see the README's table of the SQL subset, or write the logic as a Rust `transform`"),
                );
                None
            }
        }
    }

    /// `a.b`: a qualified column or a row field.
    fn compound(&mut self, parts: &[sqlparser::ast::Ident], diags: &mut Diags<Span>) -> Option<TExpr> {
        let (first, rest) = parts.split_first()?;
        let qualified = self.qualifiers.contains(&first.value) || self.unnest_alias.as_deref() == Some(first.value.as_str());
        let (col, fields) = match (qualified, rest.split_first()) {
            (true, Some((c, f))) => (c, f),
            _ => (first, rest),
        };
        let mut e = self.column(&col.value, self.src.sp(col.span), diags)?;
        for f in fields {
            e = super::funcs::row_field(self, e, &f.value, self.src.sp(f.span), diags)?;
        }
        Some(e)
    }

    /// A boolean operand: an error for another type.
    pub(crate) fn boolean(&mut self, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
        let t = self.expr(e, diags)?;
        let t = retype_null(t, &SqlType::Boolean);
        if t.ty != SqlType::Boolean {
            diags.push(
                Diag::error(self.at_expr(e), format!("expected a BOOLEAN, found {}", t.ty))
                    .label("not a condition")
                    .help("compare it, for example `x <> 0` or `x IS NOT NULL`"),
            );
            return None;
        }
        Some(t)
    }

    fn literal(&mut self, v: &Value, span: Span, diags: &mut Diags<Span>) -> Option<TExpr> {
        match v {
            Value::Boolean(b) => Some(TExpr::new(SqlType::Boolean, false, Node::Lit(quote!(#b)))),
            Value::Null => Some(TExpr::new(SqlType::Boolean, true, Node::Null)),
            Value::SingleQuotedString(s) => {
                let n = u32::try_from(s.chars().count()).unwrap_or(u32::MAX).max(1);
                Some(TExpr::new(SqlType::Char(n), false, Node::Str(s.clone())))
            }
            Value::Number(s, _) => number(s, span, diags),
            other => {
                diags.push(
                    Diag::error(span, format!("the literal `{other}` is not supported"))
                        .label("unsupported literal")
                        .help("write numbers, 'strings', TRUE, FALSE or NULL"),
                );
                None
            }
        }
    }

    fn unary(&mut self, whole: &Expr, op: UnaryOperator, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
        match op {
            UnaryOperator::Not => Some(not(self.boolean(e, diags)?)),
            UnaryOperator::Plus => self.numeric(e, diags),
            UnaryOperator::Minus => {
                if let Expr::Value(v) = e
                    && let Value::Number(s, _) = &v.value
                {
                    return number(&format!("-{s}"), self.at_expr(whole), diags);
                }
                let a = self.numeric(e, diags)?;
                let sql = quote!(::kinesis_tables::sql);
                let (body, fallible) = match &a.ty {
                    t if types::int_rank(t).is_some() => (quote!(#sql::arith::neg(__a0)), Some(self.text(whole))),
                    SqlType::Decimal { .. } => (quote!(#sql::decimal::neg(&__a0)), None),
                    _ => (quote!((-__a0)), None),
                };
                Some(TExpr::strict(a.ty.clone(), vec![a], body, fallible, false))
            }
            other => {
                diags.push(Diag::error(self.at_expr(whole), format!("the operator `{other}` is not supported")).label("not supported"));
                None
            }
        }
    }

    pub(crate) fn numeric(&mut self, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
        let t = self.expr(e, diags)?;
        if !types::is_numeric(&t.ty) && !matches!(t.node, Node::Null) {
            diags.push(Diag::error(self.at_expr(e), format!("expected a number, found {}", t.ty)).label("not a number").help("CAST it to a numeric type"));
            return None;
        }
        Some(retype_null(t, &SqlType::Int))
    }

    fn binary(&mut self, whole: &Expr, l: &Expr, op: &BinaryOperator, r: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
        use BinaryOperator as B;
        let arith = match op {
            B::Plus => Some(Arith::Add),
            B::Minus => Some(Arith::Sub),
            B::Multiply => Some(Arith::Mul),
            B::Divide => Some(Arith::Div),
            B::Modulo => Some(Arith::Mod),
            _ => None,
        };
        if let Some(a) = arith {
            let (l, r) = (self.numeric(l, diags), self.numeric(r, diags));
            return self.arith(whole, a, l?, r?, diags);
        }
        match op {
            B::And | B::Or => {
                let (l, r) = (self.boolean(l, diags), self.boolean(r, diags));
                Some(logic(matches!(op, B::And), l?, r?))
            }
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => self.compare(whole, l, op, r, diags),
            B::StringConcat => {
                let (l, r) = (self.string(l, diags), self.string(r, diags));
                let (l, r) = (l?, r?);
                let ty = match (&l.ty, &r.ty) {
                    (SqlType::Varchar(a) | SqlType::Char(a), SqlType::Varchar(b) | SqlType::Char(b)) => SqlType::Varchar(a.saturating_add(*b)),
                    _ => SqlType::String,
                };
                Some(TExpr::strict(ty, vec![l, r], quote!({ let mut s = __a0; s.push_str(&__a1); s }), None, false))
            }
            other => {
                diags.push(
                    Diag::error(self.at_expr(whole), format!("the operator `{other}` is not supported"))
                        .label("not supported")
                        .help("see the README's table of the SQL subset"),
                );
                None
            }
        }
    }

    pub(crate) fn string(&mut self, e: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
        let t = self.expr(e, diags)?;
        let t = retype_null(t, &SqlType::String);
        if !types::is_string(&t.ty) {
            diags.push(
                Diag::error(self.at_expr(e), format!("expected a string, found {}", t.ty))
                    .label("not a string")
                    .help("CAST it to STRING"),
            );
            return None;
        }
        Some(t)
    }

    /// An arithmetic operator over two numeric operands.
    pub(crate) fn arith(&mut self, whole: &Expr, op: Arith, l: TExpr, r: TExpr, _diags: &mut Diags<Span>) -> Option<TExpr> {
        let ty = types::arith(op, &l.ty, &r.ty)?;
        let sql = quote!(::kinesis_tables::sql);
        let text = self.text(whole);
        if let SqlType::Decimal { precision, scale } = ty {
            let (p, s) = (u32::from(precision), i32::from(scale));
            let (l, r) = (widen_to(l, &ty), widen_to(r, &ty));
            let f = arith_name(op);
            return Some(TExpr::strict(ty, vec![l, r], quote!(#sql::decimal::#f(&__a0, &__a1, #p, #s)), Some(text), false).borrowing());
        }
        // MOD of integers takes the right operand's type; both are brought to the wider one to compute.
        let work = types::common(&l.ty, &r.ty).unwrap_or(ty.clone());
        let (l, r) = (widen_to(l, &work), widen_to(r, &work));
        if types::int_rank(&ty).is_some() {
            let f = arith_name(op);
            let body = if work == ty {
                quote!(#sql::arith::#f(__a0, __a1))
            } else {
                let (w, t) = (types::rust(&work), types::rust(&ty));
                quote!(#sql::arith::#f(__a0, __a1).and_then(#sql::cast::int_to_int::<#w, #t>))
            };
            return Some(TExpr::strict(ty, vec![l, r], body, Some(text), false));
        }
        let body = match op {
            Arith::Add => quote!((__a0 + __a1)),
            Arith::Sub => quote!((__a0 - __a1)),
            Arith::Mul => quote!((__a0 * __a1)),
            Arith::Div => quote!((__a0 / __a1)),
            Arith::Mod => quote!((__a0 % __a1)),
        };
        Some(TExpr::strict(ty, vec![l, r], body, None, false))
    }

    /// Two operands brought to their common type, or a located type mismatch.
    pub(crate) fn comparable(&mut self, whole: &Expr, l: &Expr, r: &Expr, diags: &mut Diags<Span>) -> Option<(TExpr, TExpr)> {
        let (lt, rt) = (self.expr(l, diags), self.expr(r, diags));
        let (lt, rt) = (lt?, rt?);
        let (lt, rt) = unify(lt, rt);
        let Some(ty) = types::common(&lt.ty, &rt.ty) else {
            diags.push(
                Diag::error(self.at_expr(whole), format!("type mismatch: {} and {} cannot be compared", lt.ty, rt.ty))
                    .label("type mismatch")
                    .help("CAST one side to the other's type"),
            );
            return None;
        };
        Some((widen_to(lt, &ty), widen_to(rt, &ty)))
    }

    /// `l op r` for a comparison operator.
    pub(crate) fn compare(&mut self, whole: &Expr, l: &Expr, op: &BinaryOperator, r: &Expr, diags: &mut Diags<Span>) -> Option<TExpr> {
        let (l, r) = self.comparable(whole, l, r, diags)?;
        let (a, b) = if types::is_string(&l.ty) {
            (quote!(::core::convert::AsRef::<str>::as_ref(__a0)), quote!(::core::convert::AsRef::<str>::as_ref(__a1)))
        } else {
            (quote!(__a0), quote!(__a1))
        };
        let body = match op {
            BinaryOperator::Eq => quote!((#a == #b)),
            BinaryOperator::NotEq => quote!((#a != #b)),
            BinaryOperator::Lt => quote!((#a < #b)),
            BinaryOperator::LtEq => quote!((#a <= #b)),
            BinaryOperator::Gt => quote!((#a > #b)),
            _ => quote!((#a >= #b)),
        };
        Some(TExpr::strict(SqlType::Boolean, vec![l, r], body, None, false).borrowing())
    }
}

fn arith_name(op: Arith) -> proc_macro2::Ident {
    let n = match op {
        Arith::Add => "add",
        Arith::Sub => "sub",
        Arith::Mul => "mul",
        Arith::Div => "div",
        Arith::Mod => "rem",
    };
    quote::format_ident!("{}", n)
}

/// A numeric literal: INT when it fits, else BIGINT, else DECIMAL; DOUBLE with an exponent; DECIMAL(p, s) with a point.
fn number(s: &str, span: Span, diags: &mut Diags<Span>) -> Option<TExpr> {
    if s.contains(['e', 'E']) {
        return match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(TExpr::new(SqlType::Double, false, Node::Lit(quote!(#v)))),
            _ => {
                diags.push(Diag::error(span, format!("`{s}` is not a finite DOUBLE")).label("bad number"));
                None
            }
        };
    }
    if !s.contains('.') {
        if let Ok(v) = s.parse::<i64>() {
            let ty = if i32::try_from(v).is_ok() { SqlType::Int } else { SqlType::BigInt };
            return Some(TExpr::new(ty, false, Node::Int(v)));
        }
    }
    let digits = s.trim_start_matches('-');
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let (p, sc) = (int.len() + frac.len(), frac.len());
    if p > 38 || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        diags.push(Diag::error(span, format!("`{s}` does not fit DECIMAL(38)")).label("too many digits").help("Flink's DECIMAL holds 38 digits"));
        return None;
    }
    let ty = SqlType::Decimal { precision: p.max(1) as u8, scale: sc as u8 };
    let (pp, ss) = (p.max(1) as u32, sc as i32);
    let body = quote!({
        static V: ::std::sync::LazyLock<::core::result::Result<::kinesis_tables::types::Decimal, ::kinesis_tables::sql::SqlError>> =
            ::std::sync::LazyLock::new(|| ::kinesis_tables::sql::decimal::from_str(#s, #pp, #ss));
        V.clone()
    });
    Some(TExpr::strict(ty, Vec::new(), body, Some(s.to_string()), false))
}

/// A NULL literal takes the type its context gives.
pub(crate) fn retype_null(mut t: TExpr, ty: &SqlType) -> TExpr {
    if matches!(t.node, Node::Null) {
        t.ty = ty.clone();
    }
    t
}

/// Gives a NULL literal the other side's type.
pub(crate) fn unify(l: TExpr, r: TExpr) -> (TExpr, TExpr) {
    let (lt, rt) = (l.ty.clone(), r.ty.clone());
    (retype_null(l, &rt), retype_null(r, &lt))
}

/// `e` converted to `ty` (a promotion the checker has allowed).
pub(crate) fn widen_to(e: TExpr, ty: &SqlType) -> TExpr {
    let literal = matches!(e.node, Node::Int(_)) && (types::is_numeric(ty));
    if &e.ty == ty || matches!(e.node, Node::Null) || literal {
        let mut e = e;
        e.ty = ty.clone();
        return e;
    }
    let body: TokenStream = types::widen(quote!(__a0), &e.ty, ty);
    if body.to_string() == "__a0" {
        let mut e = e;
        e.ty = ty.clone();
        return e;
    }
    TExpr::strict(ty.clone(), vec![e], body, None, false)
}

pub(crate) fn logic(and: bool, l: TExpr, r: TExpr) -> TExpr {
    // `x IS NOT NULL` on a column the WHERE clause proves not null is TRUE: `TRUE AND e` is e.
    let always_true = |e: &TExpr| matches!(&e.node, Node::IsNull(x, true) if x.is_plain());
    if and && always_true(&l) {
        return r;
    }
    if and && always_true(&r) {
        return l;
    }
    let nullable = l.nullable || r.nullable;
    let node = if and { Node::And(Box::new(l), Box::new(r)) } else { Node::Or(Box::new(l), Box::new(r)) };
    TExpr::new(SqlType::Boolean, nullable, node)
}

pub(crate) fn not(e: TExpr) -> TExpr {
    TExpr::strict(SqlType::Boolean, vec![e], quote!((!__a0)), None, false)
}
