//! Typed-tree helpers shared by the checker and the functions: NULL
//! literals typed by their context, widening to a common type, AND/OR/NOT.

use proc_macro2::TokenStream;
use quote::quote;

use super::expr::{Node, TExpr};
use super::types;
use crate::ir::SqlType;

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
