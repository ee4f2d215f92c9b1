//! Documents generated from the catalogue: the option list of
//! `kinesis-tables options` and `templates/reference.yaml`.

use crate::catalog::{BLACKHOLE, DATAGEN, KINESIS, Kind, LEGACY, OPTIONS, PRINT, Section, connector_names};
use kinesis_tables_config::model::ConnectorKind;

fn kind_name(k: &Kind) -> String {
    match k {
        Kind::Str | Kind::AnyStr | Kind::Path => "string".into(),
        Kind::Int { min, max } | Kind::Long { min, max } => {
            if *max >= i32::MAX as i64 {
                format!("integer >= {min}")
            } else {
                format!("integer {min}..={max}")
            }
        }
        Kind::Bool => "boolean".into(),
        Kind::Double { min, max } => format!("number {min}..={max}"),
        Kind::Duration { .. } => "duration".into(),
        Kind::Enum(v) => v.join(" | "),
        Kind::StreamArn => "stream ARN".into(),
        Kind::StreamName => "stream name".into(),
        Kind::Region => "AWS region".into(),
        Kind::Endpoint => "URL".into(),
        Kind::RoleArn => "role ARN".into(),
        Kind::ConsumerArn => "consumer ARN".into(),
        Kind::ConsumerName => "consumer name".into(),
        Kind::SessionName => "session name".into(),
        Kind::RustPath => "Rust type path".into(),
        Kind::DatePattern => "Java date pattern".into(),
        Kind::Timestamp => "timestamp".into(),
        Kind::Char => "character".into(),
        Kind::Charset => "charset".into(),
        Kind::Partitioner => "random | fixed | Rust type path".into(),
        Kind::Number => "number".into(),
    }
}

fn connectors(c: u8) -> String {
    connector_names(c).collect::<Vec<_>>().join(", ")
}

/// The option table printed by `kinesis-tables options`.
pub fn options_text(filter: Option<&str>) -> String {
    let mut out = String::new();
    let mut section: Option<Section> = None;
    for o in OPTIONS {
        if let Some(f) = filter {
            let want = ConnectorKind::from_name(f).map_or(0, ConnectorKind::bit);
            if o.connectors & want == 0 {
                continue;
            }
        }
        if section != Some(o.section) {
            section = Some(o.section);
            out.push_str(&format!("\n{}\n", o.section.title()));
        }
        let mut flags = Vec::new();
        if o.required == o.connectors {
            flags.push("required".to_string());
        } else if o.required != 0 {
            flags.push(format!("required for {}", connectors(o.required)));
        }
        if o.secret {
            flags.push("secret: ${ENV} only".to_string());
        }
        match o.reader {
            crate::catalog::Reader::Efo => flags.push("EFO only".into()),
            crate::catalog::Reader::Polling => flags.push("POLLING only".into()),
            crate::catalog::Reader::Any => {}
        }
        if let Some(eq) = o.equivalent {
            flags.push(format!("same as `{eq}`"));
        }
        out.push_str(&format!("  {}\n", o.key));
        out.push_str(&format!(
            "      type: {}; default: {}; connectors: {}{}\n",
            kind_name(&o.kind),
            o.default.unwrap_or("(none)"),
            connectors(o.connectors),
            if flags.is_empty() { String::new() } else { format!("; {}", flags.join("; ")) }
        ));
        match o.rejected {
            Some(r) => out.push_str(&format!("      REJECTED: {r}\n")),
            None => out.push_str(&format!("      {}\n", o.doc)),
        }
    }
    out
}

fn yaml_value(v: &str) -> String {
    let plain = !v.is_empty()
        && !v.contains(": ")
        && !v.contains(" #")
        && !v.starts_with(|c: char| "!&*{}[]|>'\"%@`#,?:-".contains(c))
        && !matches!(v, "true" | "false" | "null" | "~")
        && v.parse::<f64>().is_err();
    if plain { v.to_string() } else { format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")) }
}

/// `templates/reference.yaml`: every option with its default, as comments,
/// around two tables that compile.
pub fn reference_yaml() -> String {
    let mut out = String::from(
        "# kinesis-tables reference spec. GENERATED from the option catalogue by\n\
         # `kinesis-tables reference > templates/reference.yaml`; a test keeps it current.\n\
         #\n\
         # Every option is listed with its default. Lines starting with `#` are\n\
         # commented out; uncomment and edit what you need. Options marked\n\
         # REJECTED are recognised but cannot take effect, so setting them is an error.\n\n\
         tables:\n",
    );
    for (table, conn, stream_line) in [
        (
            "reference_kinesis",
            KINESIS,
            "      stream.arn: arn:aws:kinesis:us-east-1:012345678901:stream/reference\n      aws.region: us-east-1\n      format: json\n",
        ),
        ("reference_legacy", LEGACY, "      stream: reference\n      aws.region: us-east-1\n      format: json\n"),
        (
            "reference_datagen",
            DATAGEN,
            "      number-of-rows: 1000\n      fields.id.kind: sequence\n      fields.id.start: 1\n      fields.id.end: 1000\n      fields.payload.length: 20\n",
        ),
        ("reference_print", PRINT, "      print-identifier: reference\n"),
        ("reference_blackhole", BLACKHOLE, ""),
    ] {
        out.push_str(&format!(
            "  {table}:\n    columns:\n      id: BIGINT NOT NULL\n      payload: STRING\n    with:\n      connector: {}\n{stream_line}",
            connectors(conn)
        ));
        let mut section = None;
        for o in OPTIONS.iter().filter(|o| o.applies_to(conn)) {
            if matches!(o.key, "connector" | "stream.arn" | "stream" | "aws.region" | "format") {
                continue;
            }
            if section != Some(o.section) {
                section = Some(o.section);
                out.push_str(&format!("      # --- {}\n", o.section.title()));
            }
            out.push_str(&format!("      # {} ({})\n", o.doc, kind_name(&o.kind)));
            if let Some(r) = o.rejected {
                out.push_str(&format!("      # REJECTED: {r}\n"));
            }
            let v = match o.default {
                Some(d) => yaml_value(d),
                None if o.secret => "\"${ENV_VAR}\"".into(),
                None => "\"\"  # no default".into(),
            };
            out.push_str(&format!("      # {}: {v}\n", o.key));
        }
        out.push('\n');
    }
    out
}
