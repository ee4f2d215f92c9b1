//! What a format contributes to a table's `Record` implementation.

use proc_macro2::TokenStream;

/// The codec parts of one table, from `json`, `csv` or `raw`.
pub(crate) struct Codec {
    /// The `const CX` context item.
    pub(crate) cx_item: TokenStream,
    /// The body of `Record::encode`.
    pub(crate) encode: TokenStream,
    /// The body of `Record::decode`.
    pub(crate) decode: TokenStream,
    /// Items beside the impl (json's `JsonField` for the struct).
    pub(crate) extra: TokenStream,
}
