//! The spec language's JSON Schema: the committed file is what
//! `kinesis-tables schema --spec` prints, every template validates against
//! it and points at it, and it refuses what the compiler refuses by key and
//! value kind.

use std::path::{Path, PathBuf};

use kinesis_tables_codegen::schema::spec::{COMMITTED_PATH, spec_schema};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

#[test]
fn the_committed_schema_is_current() {
    let committed = std::fs::read_to_string(root().join(COMMITTED_PATH)).unwrap_or_default();
    assert!(
        committed == pretty(&spec_schema()),
        "{COMMITTED_PATH} is stale; run `cargo run --bin kinesis-tables -- schema --spec > {COMMITTED_PATH}`"
    );
}

struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new() -> Self {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let url = "file:///kinesis-tables.schema.json";
        compiler.add_resource(url, spec_schema()).unwrap();
        let index = compiler.compile(url, &mut schemas).unwrap_or_else(|e| panic!("the schema does not compile: {e:#}"));
        Validator { schemas, index }
    }
    fn check(&self, yaml: &str) -> Result<(), String> {
        let doc: Value = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        self.schemas.validate(&doc, self.index).map_err(|e| format!("{e:#}"))
    }
}

fn templates() -> Vec<PathBuf> {
    let mut out = vec![root().join("templates/pipeline-crate/specs/pipeline.yaml")];
    for dir in ["templates/specs", "tests/specs"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn every_template_validates_and_points_at_the_schema() {
    let v = Validator::new();
    for p in templates() {
        // The crate template's placeholders, filled as `kinesis-tables new` fills them.
        let src = std::fs::read_to_string(&p).unwrap().replace("{{pipeline}}", "clicks_pipeline").replace("{{name}}", "clicks-pipeline");
        v.check(&src).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if p.starts_with(root().join("templates")) {
            let first = src.lines().next().unwrap_or_default();
            let rel = first.strip_prefix("# yaml-language-server: $schema=").unwrap_or_else(|| panic!("{}: no schema line", p.display()));
            let target = p.parent().unwrap().join(rel);
            assert!(target.canonicalize().unwrap() == root().join(COMMITTED_PATH).canonicalize().unwrap(), "{}: {rel}", p.display());
        }
    }
    // The reference spec lists every option (commented out) and is valid too.
    v.check(&kinesis_tables_codegen::reference::reference_yaml()).unwrap();
}

const BASE: &str = "tables:\n  t:\n    columns:\n      a: INT\n    with:\n      connector: kinesis\n      stream.arn: arn:aws:kinesis:us-east-1:012345678901:stream/s\n      aws.region: us-east-1\n";

#[test]
fn what_the_compiler_accepts_and_refuses_by_key_and_kind() {
    let v = Validator::new();
    let with = |extra: &str| format!("{BASE}{extra}");
    for ok in [
        "      format: avro\n      avro.encoding: json\n      avro.timestamp_mapping.legacy: \"false\"\n",
        "      format: json\n      sink.batch.max-size: \"250\"\n      sink.fail-on-error: TRUE\n",
        "      format: csv\n      csv.field-delimiter: \"|\"\n      aws.endpoint: ${KT_ENDPOINT}\n",
        "      format: json\n      aws.credentials.provider: ASSUME_ROLE\n      aws.credentials.role.arn: arn:aws:iam::012345678901:role/r\n      aws.credentials.role.sessionName: s\n      aws.credentials.role.provider.basic.secretkey: ${SECRET}\n",
    ] {
        v.check(&with(ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
        let checked = kinesis_tables_codegen::check_source("t.yaml", &with(ok));
        assert!(checked.error_count() == 0 || ok.contains("credentials"), "{ok}: {}", checked.render(false));
    }
    for bad in [
        "      format: avro\n      avro.codec: snappy\n",
        "      format: avro-confluent\n",
        "      format: avro\n      json.ignore-parse-errors: true\n",
        "      format: json\n      sink.batch.max-size: 501\n",
        "      format: json\n      sink.batch.max-size: lots\n",
        "      format: json\n      no.such.option: 1\n",
        "      format: json\n      aws.credentials.basic.secretkey: literal\n",
        "      format: json\n      fields.a.kind: random\n",
        "      format: avro\n      avro.encoding: ${ENCODING}\n",
    ] {
        assert!(v.check(&with(bad)).is_err(), "the schema accepts:\n{bad}");
        assert!(kinesis_tables_codegen::check_source("t.yaml", &with(bad)).error_count() > 0, "the compiler accepts:\n{bad}");
    }
    // Local connectors take no `${ENV}` references; datagen takes per-column keys.
    let datagen = "tables:\n  g:\n    columns:\n      a: INT\n    with:\n      connector: datagen\n      fields.a.min: 1\n";
    v.check(datagen).unwrap();
    assert!(v.check(&datagen.replace("fields.a.min: 1", "number-of-rows: ${N}")).is_err());
    assert!(v.check("tables:\n  t:\n    columns:\n      a: INT\n").is_err(), "a table needs `with`");
    assert!(v.check(&format!("{BASE}      format: json\npipelines:\n  p:\n    from: t\n")).is_err(), "a pipeline needs `to`");
}

#[test]
fn a_tables_json_schema_accepts_its_records_and_refuses_others() {
    let src = std::fs::read_to_string(root().join("tests/specs/all_types.yaml")).unwrap();
    let checked = kinesis_tables_codegen::check_source("all_types.yaml", &src);
    let t = checked.tables.iter().find(|t| t.name == "everything").unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("file:///everything.json", kinesis_tables_codegen::schema::json::table_schema(&t.name, &t.columns)).unwrap();
    let index = compiler.compile("file:///everything.json", &mut schemas).unwrap();
    // A record as the json codec writes it (see tests/tests/emulators/codec.rs).
    let mut record: Value = serde_json::from_str(
        r#"{"b":true,"t":-7,"s":1234,"i":-42,"i2":null,"big":-9223372036854775808,"f":1.5,"r":null,"d":"NaN",
            "price":12.3,"huge":12345678901234567890.123456789012345678,"name":"n","code":"abc","fixed":"xyz",
            "blob":"AAEC/w==","vb":null,"bin":null,"day":"2024-02-29","at":"23:59:58.123","ts":"2024-01-31 12:00:00.125",
            "ts9":"1999-12-31 23:59:59.123456789","ltz":null,"ltz2":"1970-01-01 00:00:00.001Z","tags":["a",null,""],
            "scores":[1,-2,3],"attrs":{"x":1,"y":null},"nested":{"street":"Main St","zip":12345,"geo":{"lat":52.5,"lon":null}},
            "history":[{"at":"2024-01-01 00:00:00.001","what":"signup"},null],"type":"keyword","user-id":42,"weird \"name\"":"w"}"#,
    )
    .unwrap();
    schemas.validate(&record, index).unwrap_or_else(|e| panic!("{e:#}"));
    for (key, bad) in
        [("t", Value::from(300)), ("code", Value::from("too long for eight")), ("scores", Value::Null), ("nested", Value::from(1))]
    {
        let keep = record[key].clone();
        record[key] = bad;
        assert!(schemas.validate(&record, index).is_err(), "{key}");
        record[key] = keep;
    }
    record.as_object_mut().unwrap().remove("i");
    assert!(schemas.validate(&record, index).is_err(), "a NOT NULL column is required");
}
