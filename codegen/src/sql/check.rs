//! Resolves and types one expression against the source table: columns,
//! literals, operators with Flink's result types and three-valued logic.
//! Functions and casts are in `funcs`/`calls`/`temporal`/`cast`; every error
//! is located in the YAML.

use quote::quote;
use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};

use super::expr::{Node, TExpr};
use super::ops::{logic, not, retype_null, unify, widen_to};
use super::scope::Scope;
use super::types::{self, Arith};
use crate::diag::{Diag, Diags};
use crate::ir::SqlType;
use crate::span::Span;

impl Scope<'_> {
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
                Some(TExpr::new(
                    SqlType::Boolean,
                    false,
                    Node::Distinct(Box::new(l), Box::new(r), matches!(e, Expr::IsNotDistinctFrom(..))),
                ))
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
            Expr::TypedString(t) => self.typed_literal(e, t, diags),
            Expr::Cast { kind, expr, data_type, .. } => super::funcs::cast_expr(self, e, kind, expr, data_type, diags),
            Expr::Case { operand, conditions, else_result, .. } => {
                super::funcs::case(self, operand.as_deref(), conditions, else_result.as_deref(), diags)
            }
            Expr::Function(f) => super::funcs::call(self, e, f, diags),
            Expr::Substring { .. }
            | Expr::Trim { .. }
            | Expr::Extract { .. }
            | Expr::Ceil { .. }
            | Expr::Floor { .. }
            | Expr::Position { .. } => super::funcs::special(self, e, diags),
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
        let (qualifier, col, fields) = match (qualified, rest.split_first()) {
            (true, Some((c, f))) => (Some(first.value.as_str()), c, f),
            _ => (None, first, rest),
        };
        let mut e = self.column_of(qualifier, &col.value, self.src.sp(col.span), diags)?;
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

    /// `DATE '2024-01-02'`, `TIME '…'`, `TIMESTAMP '…'`: checked at build time with the run-time parser, built once.
    fn typed_literal(&mut self, whole: &Expr, t: &sqlparser::ast::TypedString, diags: &mut Diags<Span>) -> Option<TExpr> {
        use kinesis_tables_sql::cast as c;
        let Value::SingleQuotedString(text) = &t.value.value else { return None };
        let kind = t.data_type.to_string().to_ascii_uppercase();
        let sql = quote!(::kinesis_tables::sql);
        let (ty, ok, rt, parse) = match kind.as_str() {
            "DATE" => (SqlType::Date, c::str_to_date(text).map(|_| ()), quote!(::kinesis_tables::types::NaiveDate), quote!(str_to_date)),
            "TIME" => (SqlType::Time(0), c::str_to_time(text).map(|_| ()), quote!(::kinesis_tables::types::NaiveTime), quote!(str_to_time)),
            k if k.starts_with("TIMESTAMP") && !k.contains("LOCAL") => (
                SqlType::Timestamp(3),
                c::str_to_timestamp(text).map(|_| ()),
                quote!(::kinesis_tables::types::NaiveDateTime),
                quote!(str_to_timestamp),
            ),
            _ => {
                diags.push(
                    Diag::error(self.at_expr(whole), format!("`{kind} '…'` literals are not supported"))
                        .label("not supported")
                        .help("write DATE, TIME or TIMESTAMP literals, or CAST a string"),
                );
                return None;
            }
        };
        if let Err(e) = ok {
            diags.push(Diag::error(self.at_expr(whole), format!("invalid {kind} literal: {e}")).label("invalid literal"));
            return None;
        }
        let once = super::args::once(rt, quote!(#sql::cast::#parse(#text)));
        Some(TExpr::strict(ty, Vec::new(), quote!(#once.copied()), Some(self.text(whole)), false))
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
            diags.push(
                Diag::error(self.at_expr(e), format!("expected a number, found {}", t.ty))
                    .label("not a number")
                    .help("CAST it to a numeric type"),
            );
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
                    (SqlType::Varchar(a) | SqlType::Char(a), SqlType::Varchar(b) | SqlType::Char(b)) => {
                        SqlType::Varchar(a.saturating_add(*b))
                    }
                    _ => SqlType::String,
                };
                Some(TExpr::strict(
                    ty,
                    vec![l, r],
                    quote!({
                        let mut s = __a0;
                        s.push_str(&__a1);
                        s
                    }),
                    None,
                    false,
                ))
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
                Diag::error(self.at_expr(e), format!("expected a string, found {}", t.ty)).label("not a string").help("CAST it to STRING"),
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
    if !s.contains('.')
        && let Ok(v) = s.parse::<i64>()
    {
        let ty = if i32::try_from(v).is_ok() { SqlType::Int } else { SqlType::BigInt };
        return Some(TExpr::new(ty, false, Node::Int(v)));
    }
    let digits = s.trim_start_matches('-');
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let (p, sc) = (int.len() + frac.len(), frac.len());
    if p > 38 || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        diags.push(
            Diag::error(span, format!("`{s}` does not fit DECIMAL(38)")).label("too many digits").help("Flink's DECIMAL holds 38 digits"),
        );
        return None;
    }
    let ty = SqlType::Decimal { precision: p.max(1) as u8, scale: sc as u8 };
    // Checked here with the run-time parser; built once, at run time, into a static.
    if let Err(e) = kinesis_tables_sql::decimal::from_str(s, p.max(1) as u32, sc as i32) {
        diags.push(Diag::error(span, format!("`{s}` is not a DECIMAL literal: {e}")).label("bad number"));
        return None;
    }
    Some(TExpr::new(ty, false, Node::Dec(s.to_string())))
}
