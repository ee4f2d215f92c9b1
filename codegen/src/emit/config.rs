//! The table's configuration as a constant expression of the runtime's
//! `::kinesis_tables::config` types (the config crate's model).

use proc_macro2::TokenStream;
use quote::quote;

use kinesis_tables_config::model::*;

/// `Cow::Borrowed("…")`.
pub(crate) fn s(v: &str) -> TokenStream {
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

fn opt<T: quote::ToTokens>(v: Option<T>) -> TokenStream {
    match v {
        Some(x) => quote!(::core::option::Option::Some(#x)),
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
pub(crate) fn config_tokens(c: &TableConfig) -> TokenStream {
    let m = quote!(::kinesis_tables::config);
    let connector = connector(c.connector);
    let local = match &c.local {
        None => quote!(::core::option::Option::None),
        Some(LocalConfig::Print(p)) => {
            let (id, se) = (opt_s(&p.identifier), p.standard_error);
            quote!(::core::option::Option::Some(#m::LocalConfig::Print(#m::PrintConfig { identifier: #id, standard_error: #se })))
        }
        Some(LocalConfig::Datagen(d)) => datagen(d),
    };
    let stream = stream(&c.stream);
    let (region, endpoint, trust, creds) =
        (opt_s(&c.aws.region), opt_s(&c.aws.endpoint), c.aws.trust_all_certificates, credentials(&c.aws.credentials));
    let (source, sink, format) = (source(&c.source), sink(&c.sink), format(&c.format));
    quote! {
        #m::TableConfig {
            connector: #connector,
            local: #local,
            stream: #stream,
            aws: #m::AwsConfig { region: #region, endpoint: #endpoint, trust_all_certificates: #trust, credentials: #creds },
            source: #source,
            sink: #sink,
            format: #format,
        }
    }
}

fn connector(c: ConnectorKind) -> TokenStream {
    let m = quote!(::kinesis_tables::config);
    match c {
        ConnectorKind::Kinesis => quote!(#m::ConnectorKind::Kinesis),
        ConnectorKind::KinesisLegacy => quote!(#m::ConnectorKind::KinesisLegacy),
        ConnectorKind::Datagen => quote!(#m::ConnectorKind::Datagen),
        ConnectorKind::Print => quote!(#m::ConnectorKind::Print),
        ConnectorKind::Blackhole => quote!(#m::ConnectorKind::Blackhole),
    }
}

fn datagen(d: &DatagenConfig) -> TokenStream {
    let m = quote!(::kinesis_tables::config);
    let rps = d.rows_per_second;
    let rows = opt(d.number_of_rows);
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
                let (mn, mx, mp, len) = (num(min), num(max), dur(max_past), opt(*length));
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

fn stream(r: &StreamRef) -> TokenStream {
    let m = quote!(::kinesis_tables::config);
    match r {
        StreamRef::Arn { arn, region, account, name } => {
            let (a, r, ac, n) = (s(arn), s(region), s(account), s(name));
            quote!(#m::StreamRef::Arn { arn: #a, region: #r, account: #ac, name: #n })
        }
        StreamRef::Name(n) => {
            let n = s(n);
            quote!(#m::StreamRef::Name(#n))
        }
    }
}

fn source(src: &SourceConfig) -> TokenStream {
    let m = quote!(::kinesis_tables::config);
    let start = match src.start {
        StartPosition::Latest => quote!(#m::StartPosition::Latest),
        StartPosition::TrimHorizon => quote!(#m::StartPosition::TrimHorizon),
        StartPosition::AtTimestamp { epoch_millis } => quote!(#m::StartPosition::AtTimestamp { epoch_millis: #epoch_millis }),
    };
    let reader = if src.reader == ReaderType::Efo { quote!(#m::ReaderType::Efo) } else { quote!(#m::ReaderType::Polling) };
    let p = &src.polling;
    let (max_records, interval, adaptive, gr, gi) =
        (p.max_records, dur(&p.interval), p.adaptive_reads, backoff(&p.get_records_retry), backoff(&p.get_iterator_retry));
    let efo = efo(&src.efo);
    let (disc, ls, ds) = (dur(&src.shard_discovery_interval), backoff(&src.list_shards_retry), backoff(&src.describe_stream_retry));
    quote! {
        #m::SourceConfig {
            start: #start,
            shard_discovery_interval: #disc,
            reader: #reader,
            polling: #m::PollingConfig { max_records: #max_records, interval: #interval, adaptive_reads: #adaptive, get_records_retry: #gr, get_iterator_retry: #gi },
            efo: #efo,
            list_shards_retry: #ls,
            describe_stream_retry: #ds,
        }
    }
}

fn efo(e: &EfoConfig) -> TokenStream {
    let m = quote!(::kinesis_tables::config);
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
    quote! {
        #m::EfoConfig {
            consumer_name: #cname, consumer_arn: #carn, lifecycle: #lifecycle, subscription_timeout: #st, register_timeout: #rt,
            deregister_timeout: #dt, describe_retry: #dr, register_retry: #rr, deregister_retry: #der, subscribe_retry: #sr, http_max_concurrency: #conc,
        }
    }
}

fn sink(k: &SinkConfig) -> TokenStream {
    let m = quote!(::kinesis_tables::config);
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
    quote! {
        #m::SinkConfig {
            partitioner: #partitioner, batch_max_size: #bms, max_inflight: #mi, max_buffered: #mb, flush_buffer_size: #fbs,
            flush_buffer_timeout: #fbt, fail_on_error: #foe, http_max_concurrency: #hmc, http_read_timeout: #hrt, http_protocol: #proto,
            aggregation: #aggregation,
        }
    }
}

fn format(f: &FormatConfig) -> TokenStream {
    let m = quote!(::kinesis_tables::config);
    match f {
        FormatConfig::Json(j) => {
            let std = timestamp_standard(j.timestamp_standard);
            let (a, b, d, e2) = (j.fail_on_missing_field, j.ignore_parse_errors, j.decimal_as_plain_number, j.ignore_null_fields);
            quote!(#m::FormatConfig::Json(#m::JsonOptions { fail_on_missing_field: #a, ignore_parse_errors: #b, timestamp_standard: #std, decimal_as_plain_number: #d, ignore_null_fields: #e2 }))
        }
        FormatConfig::Csv(o) => {
            let (fd, q, esc) = (o.field_delimiter, opt(o.quote_character), opt(o.escape_character));
            let (ac, ipe, ad, nl, sci) =
                (o.allow_comments, o.ignore_parse_errors, s(&o.array_element_delimiter), opt_s(&o.null_literal), o.decimal_scientific);
            quote!(#m::FormatConfig::Csv(#m::CsvOptions { field_delimiter: #fd, quote_character: #q, allow_comments: #ac, ignore_parse_errors: #ipe, array_element_delimiter: #ad, escape_character: #esc, null_literal: #nl, decimal_scientific: #sci }))
        }
        FormatConfig::Raw(r) => {
            let (cs, en) = (charset(r.charset), endianness(r.endianness));
            quote!(#m::FormatConfig::Raw(#m::RawOptions { charset: #cs, endianness: #en }))
        }
        FormatConfig::Avro(a) => {
            let enc = match a.encoding {
                kinesis_tables_config::model::AvroEncoding::Binary => quote!(#m::AvroEncoding::Binary),
                kinesis_tables_config::model::AvroEncoding::Json => quote!(#m::AvroEncoding::Json),
            };
            let legacy = a.legacy_timestamp_mapping;
            quote!(#m::FormatConfig::Avro(#m::AvroOptions { encoding: #enc, legacy_timestamp_mapping: #legacy }))
        }
    }
}

/// `::kinesis_tables::config::TimestampStandard::…`.
pub(crate) fn timestamp_standard(t: TimestampStandard) -> TokenStream {
    match t {
        TimestampStandard::Iso8601 => quote!(::kinesis_tables::config::TimestampStandard::Iso8601),
        TimestampStandard::Sql => quote!(::kinesis_tables::config::TimestampStandard::Sql),
    }
}

/// `::kinesis_tables::config::Charset::…`.
pub(crate) fn charset(c: Charset) -> TokenStream {
    match c {
        Charset::Utf8 => quote!(::kinesis_tables::config::Charset::Utf8),
        Charset::UsAscii => quote!(::kinesis_tables::config::Charset::UsAscii),
        Charset::Iso8859_1 => quote!(::kinesis_tables::config::Charset::Iso8859_1),
    }
}

/// `::kinesis_tables::config::Endianness::…`.
pub(crate) fn endianness(e: Endianness) -> TokenStream {
    match e {
        Endianness::Little => quote!(::kinesis_tables::config::Endianness::Little),
        Endianness::Big => quote!(::kinesis_tables::config::Endianness::Big),
    }
}

/// `Some('c')` or `None`, for the codec contexts.
pub(crate) fn opt_char(c: Option<char>) -> TokenStream {
    opt(c)
}
