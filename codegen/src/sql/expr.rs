//! The typed expression tree the checker builds and the emitter walks: every
//! node has its Flink type and nullability; operators strict in their
//! arguments carry the Rust code of their body over bound argument values.

use proc_macro2::TokenStream;

use crate::ir::SqlType;

/// A checked expression.
#[derive(Debug, Clone)]
pub(crate) struct TExpr {
    pub(crate) ty: SqlType,
    pub(crate) nullable: bool,
    pub(crate) node: Node,
}

/// What an expression computes.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A source column (or the UNNEST element), bound to a local of this name.
    Column(String),
    /// A non-null literal's Rust code.
    Lit(TokenStream),
    /// An integer literal, emitted as a constant of the node's type (a DECIMAL one held in a static).
    Int(i64),
    /// A string literal: a `&'static str` where borrowed, a `String` where owned.
    Str(String),
    /// A DECIMAL literal (its text), of the node's DECIMAL type, held in a static.
    Dec(String),
    /// `NULL` (of the node's type).
    Null,
    /// Null in, null out: the arguments are bound to `__a0`, `__a1`, … (their
    /// non-null values) and `body` computes the result from them.
    Strict {
        args: Vec<TExpr>,
        body: TokenStream,
        /// The body gives `Result<T, SqlError>`; the SQL text names the expression in the record's error.
        fallible: Option<String>,
        /// The body gives `Option<T>` (it can be null on non-null arguments).
        option: bool,
        /// The arguments are bound by reference (the body only borrows them): columns are not moved or cloned.
        by_ref: bool,
    },
    /// `AND`, with three-valued logic.
    And(Box<TExpr>, Box<TExpr>),
    /// `OR`, with three-valued logic.
    Or(Box<TExpr>, Box<TExpr>),
    /// `IS NULL` (`negated`: `IS NOT NULL`).
    IsNull(Box<TExpr>, bool),
    /// `IS [NOT] TRUE/FALSE`: whether the value is `Some(value)`; `negated` inverts.
    IsBool(Box<TExpr>, bool, bool),
    /// `IS DISTINCT FROM` (`negated`: `IS NOT DISTINCT FROM`); both sides of one type.
    Distinct(Box<TExpr>, Box<TExpr>, bool),
    /// `CASE WHEN … THEN … [ELSE …] END`; branches already of the result type.
    Case { whens: Vec<(TExpr, TExpr)>, otherwise: Option<Box<TExpr>> },
    /// `COALESCE(…)`: the first non-null, evaluated lazily; arguments already of the result type.
    Coalesce(Vec<TExpr>),
}

impl TExpr {
    pub(crate) fn new(ty: SqlType, nullable: bool, node: Node) -> TExpr {
        TExpr { ty, nullable, node }
    }

    /// A strict node over `args`: nullable when an argument is (or the body can give null).
    pub(crate) fn strict(ty: SqlType, args: Vec<TExpr>, body: TokenStream, fallible: Option<String>, option: bool) -> TExpr {
        let nullable = option || args.iter().any(|a| a.nullable);
        // A body that only ever borrows its arguments (`&__a0`) gets them by reference.
        let by_ref = !args.is_empty() && only_borrowed(&body, args.len());
        TExpr { ty, nullable, node: Node::Strict { args, body, fallible, option, by_ref } }
    }

    /// This strict node with its arguments bound by reference.
    pub(crate) fn borrowing(mut self) -> TExpr {
        if let Node::Strict { by_ref, .. } = &mut self.node {
            *by_ref = true;
        }
        self
    }

    /// Whether this is a literal or a column known not to be null (`IS NULL` on it is a constant).
    pub(crate) fn is_plain(&self) -> bool {
        !self.nullable && matches!(self.node, Node::Column(_) | Node::Lit(_) | Node::Int(_) | Node::Str(_) | Node::Dec(_))
    }

    /// Visits every column this expression reads, saying whether the read only borrows it.
    pub(crate) fn columns(&self, f: &mut impl FnMut(&str, bool)) {
        match &self.node {
            Node::Column(c) => f(c, false),
            Node::Lit(_) | Node::Null | Node::Int(_) | Node::Str(_) | Node::Dec(_) => {}
            Node::Strict { args, by_ref: true, .. } => {
                for a in args {
                    match &a.node {
                        Node::Column(c) => f(c, true),
                        _ => a.columns(f),
                    }
                }
            }
            Node::Strict { args, .. } | Node::Coalesce(args) => args.iter().for_each(|a| a.columns(f)),
            Node::And(a, b) | Node::Or(a, b) | Node::Distinct(a, b, _) => {
                a.columns(f);
                b.columns(f);
            }
            Node::IsNull(a, _) if a.is_plain() => {}
            Node::IsNull(a, _) | Node::IsBool(a, _, _) => a.columns(f),
            Node::Case { whens, otherwise } => {
                for (c, v) in whens {
                    c.columns(f);
                    v.columns(f);
                }
                if let Some(o) = otherwise {
                    o.columns(f);
                }
            }
        }
    }
}

/// Whether every use of `__a0` … `__a{n-1}` in `body` is right after a `&`.
fn only_borrowed(body: &TokenStream, n: usize) -> bool {
    fn walk(ts: &TokenStream, n: usize, seen: &mut [bool]) -> bool {
        let mut after_amp = false;
        for t in ts.clone() {
            match &t {
                proc_macro2::TokenTree::Ident(i) => {
                    let k = i.to_string().strip_prefix("__a").and_then(|k| k.parse::<usize>().ok());
                    if let Some(k) = k.filter(|k| *k < n) {
                        seen[k] = true;
                        if !after_amp {
                            return false;
                        }
                    }
                    after_amp = false;
                }
                proc_macro2::TokenTree::Punct(p) => after_amp = p.as_char() == '&',
                proc_macro2::TokenTree::Group(g) => {
                    if !walk(&g.stream(), n, seen) {
                        return false;
                    }
                    after_amp = false;
                }
                proc_macro2::TokenTree::Literal(_) => after_amp = false,
            }
        }
        true
    }
    let mut seen = vec![false; n];
    walk(body, n, &mut seen) && seen.iter().all(|s| *s)
}
