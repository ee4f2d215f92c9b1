//! `kinesis-tables schema`: the Avro schema Flink derives for a table, a
//! JSON Schema of a table's json records, or the JSON Schema of the spec
//! language.

use std::process::ExitCode;

use kinesis_tables_codegen::schema;
use kinesis_tables_config::model::FormatConfig;

/// What `schema` prints.
pub enum What {
    Avro,
    JsonSchema,
}

/// Prints a table's schema; exit status 1 when the spec has errors or the
/// table cannot be found, 2 when the spec cannot be read.
pub fn table(spec: &std::path::Path, table: &str, what: What, color: bool) -> ExitCode {
    let src = match std::fs::read_to_string(spec) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", spec.display());
            return ExitCode::from(2);
        }
    };
    let checked = kinesis_tables_codegen::check_source(&spec.display().to_string(), &src);
    if checked.error_count() > 0 {
        anstream::eprint!("{}", checked.render(color));
        return ExitCode::from(1);
    }
    let Some(t) = checked.tables.iter().find(|t| t.name == table) else {
        let names: Vec<&str> = checked.tables.iter().map(|t| t.name.as_str()).collect();
        eprintln!("error: `{}` has no table `{table}` (its tables: {})", spec.display(), names.join(", "));
        return ExitCode::from(1);
    };
    let value = match what {
        What::JsonSchema => schema::json::table_schema(&t.name, &t.columns),
        What::Avro => {
            let legacy = match &t.resolved.config.format {
                FormatConfig::Avro(a) => a.legacy_timestamp_mapping,
                _ => true,
            };
            match schema::avro::table_schema(&t.columns, legacy) {
                Ok(v) => v,
                Err(r) => {
                    eprintln!("error: table `{table}` has no Avro schema: column `{}`: {}", r.path.join("."), r.message);
                    return ExitCode::from(1);
                }
            }
        }
    };
    super::print(&pretty(&value))
}

/// Pretty JSON with a final newline.
pub fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
