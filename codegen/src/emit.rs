//! Rust emission: typed record structs and their `Record` implementations.
//! Pure: tables in, tokens out.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::ir::{ColumnIr, MetaKey, TableIr};
use crate::model::*;
use crate::types::SqlType;

/// How to emit a table.
pub struct EmitOptions<'a> {
    /// Emit the struct itself (spec path) or only the impls (derive path).
    pub define_struct: bool,
    /// The span to give user-named types (custom credentials, partitioners),
    /// by option key, so rustc's errors point at the option.
    pub span_of_option: &'a dyn Fn(&str) -> Span,
}

pub(crate) fn ident(name: &str) -> syn::Ident {
    match name.strip_prefix("r#") {
        Some(raw) => syn::Ident::new_raw(raw, Span::call_site()),
        None => syn::Ident::new(name, Span::call_site()),
    }
}

fn s(v: &str) -> TokenStream {
    quote!(::kinesis_tables::__private::Cow::Borrowed(#v))
}

fn opt_s(v: &Option<Str>) -> TokenStream {
    match v {
        Some(x) => {
            let t = s(x);
            quote!(::core::option::Option::Some(#t))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn dur(d: &std::time::Duration) -> TokenStream {
    let ms = d.as_millis() as u64;
    quote!(::kinesis_tables::__private::Duration::from_millis(#ms))
}

fn backoff(b: &Backoff) -> TokenStream {
    let (r, base, max, e) = (b.max_retries, b.base.as_millis() as u64, b.max.as_millis() as u64, b.exponent);
    quote!(::kinesis_tables::config::Backoff::new(#r, #base, #max, #e))
}

fn credentials(c: &Credentials) -> TokenStream {
    let p = quote!(::kinesis_tables::config::Credentials);
    match c {
        Credentials::Auto => quote!(#p::Auto),
        Credentials::EnvVar => quote!(#p::EnvVar),
        Credentials::Basic { .. } => {
            // Secrets are never compiled in: BASIC always comes from ${ENV}, resolved at startup.
            let empty = s("");
            quote!(#p::Basic { access_key_id: ::kinesis_tables::config::Secret(#empty), secret_key: ::kinesis_tables::config::Secret(#empty) })
        }
        Credentials::Profile { path, name } => {
            let (a, b) = (opt_s(path), opt_s(name));
            quote!(#p::Profile { path: #a, name: #b })
        }
        Credentials::AssumeRole { role_arn, session_name, external_id, sts_endpoint, source } => {
            let (a, b, c2, d) = (s(role_arn), s(session_name), opt_s(external_id), opt_s(sts_endpoint));
            let inner = credentials(source);
            quote!(#p::AssumeRole { role_arn: #a, session_name: #b, external_id: #c2, sts_endpoint: #d, source: &#inner })
        }
        Credentials::WebIdentityToken { role_arn, session_name, token_file } => {
            let (a, b, c2) = (opt_s(role_arn), opt_s(session_name), opt_s(token_file));
            quote!(#p::WebIdentityToken { role_arn: #a, session_name: #b, token_file: #c2 })
        }
        Credentials::Custom { type_path } => {
            let t = s(type_path);
            quote!(#p::Custom { type_path: #t })
        }
    }
}

/// The configuration as a constant expression.
pub fn config_tokens(c: &TableConfig) -> TokenStream {
    let m = quote!(::kinesis_tables::config);
    let connector = match c.connector {
        ConnectorKind::Kinesis => quote!(#m::ConnectorKind::Kinesis),
        ConnectorKind::KinesisLegacy => quote!(#m::ConnectorKind::KinesisLegacy),
        ConnectorKind::Datagen => quote!(#m::ConnectorKind::Datagen),
        ConnectorKind::Print => quote!(#m::ConnectorKind::Print),
        ConnectorKind::Blackhole => quote!(#m::ConnectorKind::Blackhole),
    };
    let local = match &c.local {
        None => quote!(::core::option::Option::None),
        Some(LocalConfig::Print(p)) => {
            let (id, se) = (opt_s(&p.identifier), p.standard_error);
            quote!(::core::option::Option::Some(#m::LocalConfig::Print(#m::PrintConfig { identifier: #id, standard_error: #se })))
        }
        Some(LocalConfig::Datagen(d)) => {
            let rps = d.rows_per_second;
            let rows = match d.number_of_rows {
                Some(n) => quote!(::core::option::Option::Some(#n)),
                None => quote!(::core::option::Option::None),
            };
            let num = |n: &Option<GenNum>| match n {
                None => quote!(::core::option::Option::None),
                Some(GenNum::Int(i)) => quote!(::core::option::Option::Some(#m::GenNum::Int(#i))),
                Some(GenNum::Float(f)) => quote!(::core::option::Option::Some(#m::GenNum::Float(#f))),
            };
            let fields = d.fields.iter().map(|f| {
                let col = s(&f.column);
                let nr = f.null_rate;
                let kind = match &f.kind {
                    GenKind::Sequence { start, end } => quote!(#m::GenKind::Sequence { start: #start, end: #end }),
                    GenKind::Random { min, max, length, var_len, max_past } => {
                        let (mn, mx, mp) = (num(min), num(max), dur(max_past));
                        let len = match length {
                            Some(l) => quote!(::core::option::Option::Some(#l)),
                            None => quote!(::core::option::Option::None),
                        };
                        quote!(#m::GenKind::Random { min: #mn, max: #mx, length: #len, var_len: #var_len, max_past: #mp })
                    }
                };
                quote!(#m::FieldGen { column: #col, kind: #kind, null_rate: #nr })
            });
            quote!(::core::option::Option::Some(#m::LocalConfig::Datagen(#m::DatagenConfig {
                rows_per_second: #rps,
                number_of_rows: #rows,
                fields: ::kinesis_tables::__private::Cow::Borrowed(&[#(#fields),*]),
            })))
        }
    };
    let stream = match &c.stream {
        StreamRef::Arn { arn, region, account, name } => {
            let (a, r, ac, n) = (s(arn), s(region), s(account), s(name));
            quote!(#m::StreamRef::Arn { arn: #a, region: #r, account: #ac, name: #n })
        }
        StreamRef::Name(n) => {
            let n = s(n);
            quote!(#m::StreamRef::Name(#n))
        }
    };
    let (region, endpoint, trust, creds) =
        (opt_s(&c.aws.region), opt_s(&c.aws.endpoint), c.aws.trust_all_certificates, credentials(&c.aws.credentials));
    let start = match c.source.start {
        StartPosition::Latest => quote!(#m::StartPosition::Latest),
        StartPosition::TrimHorizon => quote!(#m::StartPosition::TrimHorizon),
        StartPosition::AtTimestamp { epoch_millis } => quote!(#m::StartPosition::AtTimestamp { epoch_millis: #epoch_millis }),
    };
    let src = &c.source;
    let reader = if src.reader == ReaderType::Efo { quote!(#m::ReaderType::Efo) } else { quote!(#m::ReaderType::Polling) };
    let p = &src.polling;
    let (max_records, interval, adaptive, gr, gi) =
        (p.max_records, dur(&p.interval), p.adaptive_reads, backoff(&p.get_records_retry), backoff(&p.get_iterator_retry));
    let e = &src.efo;
    let (cname, carn) = (opt_s(&e.consumer_name), opt_s(&e.consumer_arn));
    let lifecycle =
        if e.lifecycle == EfoLifecycle::SelfManaged { quote!(#m::EfoLifecycle::SelfManaged) } else { quote!(#m::EfoLifecycle::JobManaged) };
    let (st, rt, dt) = (dur(&e.subscription_timeout), dur(&e.register_timeout), dur(&e.deregister_timeout));
    let (dr, rr, der, sr, conc) = (
        backoff(&e.describe_retry),
        backoff(&e.register_retry),
        backoff(&e.deregister_retry),
        backoff(&e.subscribe_retry),
        e.http_max_concurrency,
    );
    let (disc, ls, ds) = (dur(&src.shard_discovery_interval), backoff(&src.list_shards_retry), backoff(&src.describe_stream_retry));
    let k = &c.sink;
    let partitioner = match &k.partitioner {
        Partitioner::Random => quote!(#m::Partitioner::Random),
        Partitioner::Fixed => quote!(#m::Partitioner::Fixed),
        Partitioner::Fields { delimiter } => {
            let d = s(delimiter);
            quote!(#m::Partitioner::Fields { delimiter: #d })
        }
        Partitioner::Custom { type_path } => {
            let t = s(type_path);
            quote!(#m::Partitioner::Custom { type_path: #t })
        }
    };
    let (bms, mi, mb, fbs, fbt, foe, hmc, hrt) = (
        k.batch_max_size,
        k.max_inflight,
        k.max_buffered,
        k.flush_buffer_size,
        dur(&k.flush_buffer_timeout),
        k.fail_on_error,
        k.http_max_concurrency,
        dur(&k.http_read_timeout),
    );
    let proto = if k.http_protocol == HttpProtocol::Http1_1 { quote!(#m::HttpProtocol::Http1_1) } else { quote!(#m::HttpProtocol::Http2) };
    let (agg_on, agg_size, agg_count) = (k.aggregation.enabled, k.aggregation.max_size, k.aggregation.max_count);
    let aggregation = quote!(#m::AggregationConfig { enabled: #agg_on, max_size: #agg_size, max_count: #agg_count });
    let format = match &c.format {
        FormatConfig::Json(j) => {
            let std = if j.timestamp_standard == TimestampStandard::Iso8601 {
                quote!(#m::TimestampStandard::Iso8601)
            } else {
                quote!(#m::TimestampStandard::Sql)
            };
            let (a, b, d, e2) = (j.fail_on_missing_field, j.ignore_parse_errors, j.decimal_as_plain_number, j.ignore_null_fields);
            quote!(#m::FormatConfig::Json(#m::JsonOptions { fail_on_missing_field: #a, ignore_parse_errors: #b, timestamp_standard: #std, decimal_as_plain_number: #d, ignore_null_fields: #e2 }))
        }
        FormatConfig::Csv(o) => {
            let fd = o.field_delimiter;
            let q = match o.quote_character {
                Some(q) => quote!(::core::option::Option::Some(#q)),
                None => quote!(::core::option::Option::None),
            };
            let esc = match o.escape_character {
                Some(q) => quote!(::core::option::Option::Some(#q)),
                None => quote!(::core::option::Option::None),
            };
            let (ac, ipe, ad, nl, sci) =
                (o.allow_comments, o.ignore_parse_errors, s(&o.array_element_delimiter), opt_s(&o.null_literal), o.decimal_scientific);
            quote!(#m::FormatConfig::Csv(#m::CsvOptions { field_delimiter: #fd, quote_character: #q, allow_comments: #ac, ignore_parse_errors: #ipe, array_element_delimiter: #ad, escape_character: #esc, null_literal: #nl, decimal_scientific: #sci }))
        }
        FormatConfig::Raw(r) => {
            let cs = match r.charset {
                Charset::Utf8 => quote!(#m::Charset::Utf8),
                Charset::UsAscii => quote!(#m::Charset::UsAscii),
                Charset::Iso8859_1 => quote!(#m::Charset::Iso8859_1),
            };
            let en = if r.endianness == Endianness::Little { quote!(#m::Endianness::Little) } else { quote!(#m::Endianness::Big) };
            quote!(#m::FormatConfig::Raw(#m::RawOptions { charset: #cs, endianness: #en }))
        }
    };
    quote! {
        #m::TableConfig {
            connector: #connector,
            local: #local,
            stream: #stream,
            aws: #m::AwsConfig { region: #region, endpoint: #endpoint, trust_all_certificates: #trust, credentials: #creds },
            source: #m::SourceConfig {
                start: #start,
                shard_discovery_interval: #disc,
                reader: #reader,
                polling: #m::PollingConfig { max_records: #max_records, interval: #interval, adaptive_reads: #adaptive, get_records_retry: #gr, get_iterator_retry: #gi },
                efo: #m::EfoConfig {
                    consumer_name: #cname, consumer_arn: #carn, lifecycle: #lifecycle, subscription_timeout: #st, register_timeout: #rt,
                    deregister_timeout: #dt, describe_retry: #dr, register_retry: #rr, deregister_retry: #der, subscribe_retry: #sr, http_max_concurrency: #conc,
                },
                list_shards_retry: #ls,
                describe_stream_retry: #ds,
            },
            sink: #m::SinkConfig {
                partitioner: #partitioner, batch_max_size: #bms, max_inflight: #mi, max_buffered: #mb, flush_buffer_size: #fbs,
                flush_buffer_timeout: #fbt, fail_on_error: #foe, http_max_concurrency: #hmc, http_read_timeout: #hrt, http_protocol: #proto,
                aggregation: #aggregation,
            },
            format: #format,
        }
    }
}

/// The `DataType` constant of a SQL type.
pub fn data_type(ty: &SqlType) -> TokenStream {
    let d = quote!(::kinesis_tables::DataType);
    match ty {
        SqlType::Boolean => quote!(#d::Boolean),
        SqlType::TinyInt => quote!(#d::TinyInt),
        SqlType::SmallInt => quote!(#d::SmallInt),
        SqlType::Int => quote!(#d::Int),
        SqlType::BigInt => quote!(#d::BigInt),
        SqlType::Float => quote!(#d::Float),
        SqlType::Double => quote!(#d::Double),
        SqlType::Decimal { precision, scale } => quote!(#d::Decimal { precision: #precision, scale: #scale }),
        SqlType::String => quote!(#d::String),
        SqlType::Varchar(n) => quote!(#d::Varchar(#n)),
        SqlType::Char(n) => quote!(#d::Char(#n)),
        SqlType::Bytes => quote!(#d::Bytes),
        SqlType::Varbinary(n) => quote!(#d::Varbinary(#n)),
        SqlType::Binary(n) => quote!(#d::Binary(#n)),
        SqlType::Date => quote!(#d::Date),
        SqlType::Time(p) => quote!(#d::Time(#p)),
        SqlType::Timestamp(p) => quote!(#d::Timestamp(#p)),
        SqlType::TimestampLtz(p) => quote!(#d::TimestampLtz(#p)),
        SqlType::Array(e) => {
            let e = data_type(&e.ty);
            quote!(#d::Array(&#e))
        }
        SqlType::Map(k, v) => {
            let (k, v) = (data_type(k), data_type(&v.ty));
            quote!(#d::Map(&#k, &#v))
        }
        SqlType::Row(_) => quote!(#d::Row),
    }
}

/// A nested ROW struct to emit.
struct RowStruct {
    name: String,
    fields: Vec<ColumnIr>,
}

/// The Rust type of a SQL type without ROWs (the derive path checks field types against it).
pub fn plain_rust_type(ty: &SqlType, nullable: bool) -> TokenStream {
    rust_type(ty, nullable, "Row", &mut Vec::new())
}

/// The Rust type of a SQL type; nested rows are named and queued.
fn rust_type(ty: &SqlType, nullable: bool, name_hint: &str, rows: &mut Vec<RowStruct>) -> TokenStream {
    let t = quote!(::kinesis_tables::types);
    let inner = match ty {
        SqlType::Boolean => quote!(bool),
        SqlType::TinyInt => quote!(i8),
        SqlType::SmallInt => quote!(i16),
        SqlType::Int => quote!(i32),
        SqlType::BigInt => quote!(i64),
        SqlType::Float => quote!(f32),
        SqlType::Double => quote!(f64),
        SqlType::Decimal { .. } => quote!(#t::Decimal),
        SqlType::String | SqlType::Varchar(_) | SqlType::Char(_) => quote!(::std::string::String),
        SqlType::Bytes | SqlType::Varbinary(_) | SqlType::Binary(_) => quote!(::std::vec::Vec<u8>),
        SqlType::Date => quote!(#t::NaiveDate),
        SqlType::Time(_) => quote!(#t::NaiveTime),
        SqlType::Timestamp(_) => quote!(#t::NaiveDateTime),
        SqlType::TimestampLtz(_) => quote!(#t::DateTime<#t::Utc>),
        SqlType::Array(e) => {
            let e = rust_type(&e.ty, e.nullable, &format!("{name_hint}Item"), rows);
            quote!(::std::vec::Vec<#e>)
        }
        SqlType::Map(k, v) => {
            let k = rust_type(k, false, &format!("{name_hint}Key"), rows);
            let v = rust_type(&v.ty, v.nullable, &format!("{name_hint}Value"), rows);
            quote!(::kinesis_tables::__private::BTreeMap<#k, #v>)
        }
        SqlType::Row(fields) => {
            let name = name_hint.to_string();
            let cols = fields
                .iter()
                .map(|f| ColumnIr {
                    name: f.name.clone(),
                    ident: crate::table::field_name(&f.name),
                    ty: f.ty.clone(),
                    nullable: f.nullable,
                    metadata: None,
                })
                .collect();
            rows.push(RowStruct { name: name.clone(), fields: cols });
            let id = ident(&name);
            quote!(#id)
        }
    };
    if nullable { quote!(::core::option::Option<#inner>) } else { inner }
}

fn json_impl(ty: &syn::Ident, fields: &[ColumnIr]) -> TokenStream {
    let j = quote!(::kinesis_tables::codec::json);
    let de = quote!(::kinesis_tables::__private::serde::de);
    let physical: Vec<&ColumnIr> = fields.iter().filter(|c| c.metadata.is_none()).collect();
    let writes = physical.iter().map(|c| {
        let f = ident(&c.ident);
        let mut prefix = Vec::new();
        push_json_key(&mut prefix, &c.name);
        let key = proc_macro2::Literal::byte_string(&prefix);
        let name = &c.name;
        let dt = data_type(&c.ty);
        quote! {
            if !(cx.ignore_null_fields && #j::JsonField::is_null(&self.#f)) {
                if !first { out.push(b','); }
                first = false;
                out.extend_from_slice(#key);
                #j::JsonField::write_json(&self.#f, out, &#dt, cx).map_err(|e| e.in_field(#name))?;
            }
        }
    });
    let slots: Vec<syn::Ident> = (0..physical.len()).map(|i| format_ident!("__f{}", i)).collect();
    let decls = physical.iter().zip(&slots).map(|(_, s)| quote!(let mut #s = ::core::option::Option::None;));
    let arms = physical.iter().zip(&slots).map(|(c, s)| {
        let name = &c.name;
        let dt = data_type(&c.ty);
        quote! {
            #name => {
                if #s.is_some() { return ::core::result::Result::Err(#j::duplicate_field(#name)); }
                #s = ::core::option::Option::Some(map.next_value_seed(#j::JsonSeed::new(&#dt, self.0)).map_err(|e| #j::field_error(#name, e))?);
            }
        }
    });
    let inits = fields.iter().map(|c| {
        let f = ident(&c.ident);
        match physical.iter().position(|p| p.name == c.name) {
            Some(i) => {
                let s = &slots[i];
                let name = &c.name;
                quote! {
                    #f: match #s {
                        ::core::option::Option::Some(v) => v,
                        ::core::option::Option::None => #j::JsonField::missing(self.0).ok_or_else(|| <A::Error as #de::Error>::missing_field(#name))?,
                    }
                }
            }
            None => quote!(#f: ::core::default::Default::default()),
        }
    });
    let expecting = format!("a JSON object of `{ty}`");
    quote! {
        impl #j::JsonField for #ty {
            fn write_json(&self, out: &mut ::std::vec::Vec<u8>, _: &'static ::kinesis_tables::DataType, cx: &#j::JsonCx) -> ::core::result::Result<(), ::kinesis_tables::EncodeError> {
                out.push(b'{');
                let mut first = true;
                #(#writes)*
                let _ = first;
                out.push(b'}');
                ::core::result::Result::Ok(())
            }
            fn read_json<'de, D: #de::Deserializer<'de>>(de: D, _: &'static ::kinesis_tables::DataType, cx: &#j::JsonCx) -> ::core::result::Result<Self, D::Error> {
                struct V<'a>(&'a #j::JsonCx);
                impl<'de, 'a> #de::Visitor<'de> for V<'a> {
                    type Value = #ty;
                    fn expecting(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<A: #de::MapAccess<'de>>(self, mut map: A) -> ::core::result::Result<#ty, A::Error> {
                        #(#decls)*
                        while let ::core::option::Option::Some(key) = map.next_key::<#j::JsonKey<'de>>()? {
                            match &*key.0 {
                                #(#arms)*
                                _ => { map.next_value::<#de::IgnoredAny>()?; }
                            }
                        }
                        ::core::result::Result::Ok(#ty { #(#inits,)* })
                    }
                }
                de.deserialize_map(V(cx))
            }
        }
    }
}

/// Appends `"name":` as JSON bytes.
pub(crate) fn push_json_key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    for c in name.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.extend_from_slice(b"\":");
}

fn struct_def(name: &syn::Ident, fields: &[ColumnIr], doc: &str, hint: &str, rows: &mut Vec<RowStruct>) -> TokenStream {
    let defs = fields.iter().map(|c| {
        let f = ident(&c.ident);
        let ty = rust_type(&c.ty, c.nullable, &format!("{hint}{}", crate::table::type_name(&c.name)), rows);
        let doc = match c.metadata {
            Some(_) => format!(" `{}` {}{} (VIRTUAL metadata, filled when read)", c.name, c.ty, if c.nullable { "" } else { " NOT NULL" }),
            None => format!(" `{}` {}{}", c.name, c.ty, if c.nullable { "" } else { " NOT NULL" }),
        };
        quote!(#[doc = #doc] pub #f: #ty)
    });
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq)]
        pub struct #name { #(#defs,)* }
    }
}

/// Emits one table.
pub fn table(t: &TableIr, opts: &EmitOptions<'_>) -> TokenStream {
    let name = ident(&t.rust_name);
    let cfg = &t.resolved.config;
    let mut rows = Vec::new();
    let mut items = TokenStream::new();
    if opts.define_struct {
        let doc = match cfg.connector {
            c if c.is_kinesis() => {
                format!(" Table `{}`: connector `{}`, stream `{}`, format `{}`.", t.name, c.name(), cfg.stream.name(), cfg.format.name())
            }
            ConnectorKind::Print => format!(" Table `{}`: connector `print`, format `{}`.", t.name, cfg.format.name()),
            c => format!(" Table `{}`: connector `{}`.", t.name, c.name()),
        };
        items.extend(struct_def(&name, &t.columns, &doc, &t.rust_name, &mut rows));
        // Nested ROW structs (they can queue more rows).
        let mut i = 0;
        while i < rows.len() {
            let r = RowStruct { name: rows[i].name.clone(), fields: rows[i].fields.clone() };
            let rid = ident(&r.name);
            let doc = format!(" A ROW value of table `{}`.", t.name);
            let mut more = Vec::new();
            items.extend(struct_def(&rid, &r.fields, &doc, &r.name, &mut more));
            items.extend(json_impl(&rid, &r.fields));
            rows.extend(more);
            i += 1;
        }
    }
    let physical: Vec<&ColumnIr> = t.columns.iter().filter(|c| c.metadata.is_none()).collect();
    let table_name = &t.name;
    let format = cfg.format.name();
    let config = config_tokens(cfg);
    let raw = t.resolved.raw.iter().map(|(k, v)| quote!((#k, #v)));
    let has_env = !t.resolved.env_refs.is_empty();
    let partitioned = !t.partition_columns.is_empty();
    let codec = quote!(::kinesis_tables::codec);
    let (cx_item, encode, decode, extra) = match &cfg.format {
        FormatConfig::Json(j) => {
            let std = if j.timestamp_standard == TimestampStandard::Iso8601 {
                quote!(::kinesis_tables::config::TimestampStandard::Iso8601)
            } else {
                quote!(::kinesis_tables::config::TimestampStandard::Sql)
            };
            let (a, b, c) = (j.decimal_as_plain_number, j.ignore_null_fields, j.fail_on_missing_field);
            (
                quote!(const CX: #codec::json::JsonCx = #codec::json::JsonCx { timestamp_standard: #std, decimal_as_plain_number: #a, ignore_null_fields: #b, fail_on_missing_field: #c };),
                quote!(#codec::json::encode_record(self, &CX)),
                quote!(#codec::json::decode_record(data, &CX)),
                json_impl(&name, &t.columns),
            )
        }
        FormatConfig::Csv(o) => {
            let fd = o.field_delimiter;
            let q = match o.quote_character {
                Some(q) => quote!(::core::option::Option::Some(#q)),
                None => quote!(::core::option::Option::None),
            };
            let esc = match o.escape_character {
                Some(q) => quote!(::core::option::Option::Some(#q)),
                None => quote!(::core::option::Option::None),
            };
            let ad: &str = &o.array_element_delimiter;
            let nl = match &o.null_literal {
                Some(n) => {
                    let n: &str = n;
                    quote!(::core::option::Option::Some(#n))
                }
                None => quote!(::core::option::Option::None),
            };
            let (sci, ac) = (o.decimal_scientific, o.allow_comments);
            let writes = physical.iter().map(|c| {
                let f = ident(&c.ident);
                let n = &c.name;
                let dt = data_type(&c.ty);
                quote!(w.field(#n, &self.#f, &#dt)?;)
            });
            let count = physical.len();
            let inits = t.columns.iter().map(|c| {
                let f = ident(&c.ident);
                match physical.iter().position(|p| p.name == c.name) {
                    Some(i) => {
                        let n = &c.name;
                        let dt = data_type(&c.ty);
                        quote!(#f: r.get(#i, #n, &#dt, &CX)?)
                    }
                    None => quote!(#f: ::core::default::Default::default()),
                }
            });
            (
                quote!(const CX: #codec::csv::CsvCx = #codec::csv::CsvCx { delimiter: #fd, quote: #q, escape: #esc, array_delimiter: #ad, null_literal: #nl, decimal_scientific: #sci, allow_comments: #ac };),
                quote!({
                    let mut w = #codec::csv::CsvWriter::new(&CX);
                    #(#writes)*
                    ::core::result::Result::Ok(w.finish())
                }),
                quote!({
                    let r = #codec::csv::CsvRecord::parse(data, &CX, #count)?;
                    ::core::result::Result::Ok(Self { #(#inits,)* })
                }),
                TokenStream::new(),
            )
        }
        FormatConfig::Raw(r) => {
            let cs = match r.charset {
                Charset::Utf8 => quote!(::kinesis_tables::config::Charset::Utf8),
                Charset::UsAscii => quote!(::kinesis_tables::config::Charset::UsAscii),
                Charset::Iso8859_1 => quote!(::kinesis_tables::config::Charset::Iso8859_1),
            };
            let en = if r.endianness == Endianness::Little {
                quote!(::kinesis_tables::config::Endianness::Little)
            } else {
                quote!(::kinesis_tables::config::Endianness::Big)
            };
            let c = physical[0];
            let f = ident(&c.ident);
            let n = &c.name;
            let dt = data_type(&c.ty);
            let inits = t.columns.iter().map(|col| {
                let fi = ident(&col.ident);
                if col.name == c.name {
                    quote!(#fi: #codec::raw::RawField::read_raw(data, &#dt, &CX).map_err(|e| ::kinesis_tables::DecodeError::invalid(::std::format!("column `{}`: {}", #n, e)))?)
                } else {
                    quote!(#fi: ::core::default::Default::default())
                }
            });
            (
                quote!(const CX: #codec::raw::RawCx = #codec::raw::RawCx { charset: #cs, endianness: #en };),
                quote!({
                    let mut out = ::std::vec::Vec::new();
                    #codec::raw::RawField::write_raw(&self.#f, &mut out, &#dt, &CX).map_err(|e| e.in_field(#n))?;
                    ::core::result::Result::Ok(out)
                }),
                quote!(::core::result::Result::Ok(Self { #(#inits,)* })),
                TokenStream::new(),
            )
        }
    };
    let partition_key = if partitioned {
        let delim = match &cfg.sink.partitioner {
            Partitioner::Fields { delimiter } => delimiter.to_string(),
            _ => "|".to_string(),
        };
        let parts = t.partition_columns.iter().enumerate().map(|(i, &idx)| {
            let c = &t.columns[idx];
            let f = ident(&c.ident);
            let n = &c.name;
            let dt = data_type(&c.ty);
            let sep = if i > 0 { quote!(k.push_str(#delim);) } else { TokenStream::new() };
            quote! {
                #sep
                #codec::key::KeyPart::write_key_part(&self.#f, &mut k, &#dt).map_err(|e| e.in_field(#n))?;
            }
        });
        quote! {
            let mut k = ::std::string::String::new();
            #(#parts)*
            #codec::key::check_partition_key(k).map(::core::option::Option::Some)
        }
    } else {
        quote!(::core::result::Result::Ok(::core::option::Option::None))
    };
    let meta = t.columns.iter().filter_map(|c| {
        let f = ident(&c.ident);
        let v = match (c.metadata?, &c.ty) {
            (MetaKey::Timestamp, SqlType::Timestamp(_)) => quote!(meta.timestamp.naive_utc()),
            (MetaKey::Timestamp, _) => quote!(meta.timestamp),
            (MetaKey::ShardId, _) => quote!(::std::string::ToString::to_string(meta.shard_id)),
            (MetaKey::SequenceNumber, _) => quote!(::std::string::ToString::to_string(meta.sequence_number)),
            (MetaKey::PartitionKey, _) => quote!(::std::string::ToString::to_string(meta.partition_key)),
            // Always nullable: a plain record has none.
            (MetaKey::SubSequenceNumber, _) => {
                return Some(quote!(self.#f = meta.sub_sequence_number.map(|n| ::core::primitive::i64::try_from(n).unwrap_or(::core::primitive::i64::MAX));));
            }
        };
        Some(if c.nullable { quote!(self.#f = ::core::option::Option::Some(#v);) } else { quote!(self.#f = #v;) })
    });
    // rustc checks user-named types where the option names them.
    let mut hooks = TokenStream::new();
    let mut cred = Some(&cfg.aws.credentials);
    let mut depth = 0;
    while let Some(c) = cred {
        cred = None;
        match c {
            Credentials::Custom { type_path } => {
                let key = format!("aws.credentials.{}custom.class", "role.provider.".repeat(depth));
                let span = (opts.span_of_option)(&key);
                if let Ok(path) = syn::parse_str::<syn::Path>(type_path) {
                    let path = respan(quote!(#path), span);
                    // The bound sits on a local fn spanned at the option's value, so
                    // rustc's "required by a bound" points at the spec, not at us.
                    hooks.extend(quote_spanned! {span=>
                        fn custom_credentials() -> ::core::option::Option<::kinesis_tables::__private::SharedCredentialsProvider> {
                            fn custom_credentials<T: ::kinesis_tables::CustomCredentials>() -> ::kinesis_tables::__private::SharedCredentialsProvider {
                                ::kinesis_tables::__private::custom_credentials::<T>()
                            }
                            ::core::option::Option::Some(custom_credentials::<#path>())
                        }
                    });
                }
            }
            Credentials::AssumeRole { source, .. } => {
                cred = Some(*source);
                depth += 1;
            }
            _ => {}
        }
    }
    if cfg.connector == ConnectorKind::Datagen {
        let inits = t.columns.iter().enumerate().map(|(i, c)| {
            let f = ident(&c.ident);
            let dt = data_type(&c.ty);
            quote!(#f: g.column(#i, &#dt))
        });
        hooks.extend(quote! {
            fn generate(g: &mut ::kinesis_tables::datagen::Generator) -> ::core::option::Option<Self> {
                ::core::option::Option::Some(Self { #(#inits,)* })
            }
        });
    }
    if let Partitioner::Custom { type_path } = &cfg.sink.partitioner {
        let span = (opts.span_of_option)("sink.partitioner");
        if let Ok(path) = syn::parse_str::<syn::Path>(type_path) {
            let path = respan(quote!(#path), span);
            hooks.extend(quote_spanned! {span=>
                fn custom_partitioner() -> ::core::option::Option<::std::boxed::Box<dyn ::kinesis_tables::Partitioner<Self>>> {
                    fn partitioner<P: ::kinesis_tables::Partitioner<#name>>() -> ::std::boxed::Box<dyn ::kinesis_tables::Partitioner<#name>> {
                        ::std::boxed::Box::new(P::create())
                    }
                    ::core::option::Option::Some(partitioner::<#path>())
                }
            });
        }
    }
    let cfg_doc = format!(" The validated configuration of table `{table_name}`.");
    let raw_doc = " The options as written (`${ENV}` references unresolved; secrets are never literal).";
    items.extend(quote! {
        impl #name {
            #[doc = #cfg_doc]
            pub const CONFIG: ::kinesis_tables::TableConfig = #config;
            #[doc = #raw_doc]
            pub const RAW_OPTIONS: &'static [(&'static str, &'static str)] = &[#(#raw),*];
        }
        const _: () = {
            #cx_item
            static CONFIG: ::kinesis_tables::TableConfig = #name::CONFIG;
            #extra
            impl ::kinesis_tables::Record for #name {
                const TABLE_NAME: &'static str = #table_name;
                const FORMAT: &'static str = #format;
                fn config() -> ::core::result::Result<::kinesis_tables::__private::Cow<'static, ::kinesis_tables::TableConfig>, ::kinesis_tables::ConfigError> {
                    ::kinesis_tables::resolve_config(#table_name, &CONFIG, #name::RAW_OPTIONS, #has_env, #partitioned)
                }
                fn encode(&self) -> ::core::result::Result<::std::vec::Vec<u8>, ::kinesis_tables::EncodeError> {
                    #encode
                }
                fn decode(data: &[u8]) -> ::core::result::Result<Self, ::kinesis_tables::DecodeError> {
                    #decode
                }
                fn partition_key(&self) -> ::core::result::Result<::core::option::Option<::std::string::String>, ::kinesis_tables::EncodeError> {
                    #partition_key
                }
                #[allow(unused_variables)]
                fn set_metadata(&mut self, meta: &::kinesis_tables::Metadata<'_>) {
                    #(#meta)*
                }
                #hooks
            }
        };
    });
    items
}

fn respan(ts: TokenStream, span: Span) -> TokenStream {
    ts.into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut ng = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                tt = proc_macro2::TokenTree::Group(ng);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// Emits a whole generated file.
pub fn file(tables: &[TableIr], pipelines: &[crate::ir::PipelineIr], source: &str) -> String {
    let opts = EmitOptions { define_struct: true, span_of_option: &|_| Span::call_site() };
    let mut body: TokenStream = tables.iter().map(|t| table(t, &opts)).collect();
    body.extend(crate::pipeline::emit(pipelines));
    let file: syn::File = match syn::parse2(body.clone()) {
        Ok(f) => f,
        Err(e) => return format!("compile_error!({:?});\n", format!("kinesis-tables emitted unparsable code: {e}")),
    };
    format!(
        "// @generated by kinesis-tables-codegen {} from {source}. Do not edit.\n// Regenerated whenever the spec changes.\n\n{}",
        env!("CARGO_PKG_VERSION"),
        prettyplease::unparse(&file)
    )
}
