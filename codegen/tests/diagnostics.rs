//! Every rule has an invalid spec under `tests/invalid/`; its rendered
//! diagnostics are snapshot-tested, so a change of wording, location or
//! suggestion shows up in review. Compiler only: no runtime, no AWS SDK.

use kinesis_tables_codegen::check_source;

#[test]
fn invalid_specs_render_located_diagnostics() {
    insta::glob!("invalid", "*.yaml", |path| {
        let src = std::fs::read_to_string(path).unwrap();
        let name = format!("tests/invalid/{}", path.file_name().unwrap().to_string_lossy());
        let checked = check_source(&name, &src);
        assert!(checked.error_count() > 0, "{name} should be rejected");
        assert!(checked.tables.is_empty(), "no code is generated for an invalid spec");
        let rendered = checked.render(false);
        // Every diagnostic points at path:line:col.
        for line in rendered.lines().filter(|l| l.trim_start().starts_with("-->")) {
            let loc = line.rsplit(' ').next().unwrap();
            let mut parts = loc.rsplitn(3, ':');
            let col: usize = parts.next().unwrap().parse().unwrap();
            let row: usize = parts.next().unwrap().parse().unwrap();
            assert!(row >= 1 && col >= 1, "{line}");
        }
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn the_reference_examples_are_accepted() {
    for name in ["user_behavior.yaml", "user_behavior_legacy.yaml"] {
        let path = format!("{}/../templates/specs/{name}", env!("CARGO_MANIFEST_DIR"));
        let checked = check_source(name, &std::fs::read_to_string(path).unwrap());
        assert_eq!(checked.error_count(), 0, "{}", checked.render(false));
        assert_eq!(checked.tables.len(), 1);
    }
}

#[test]
fn every_error_is_reported_at_once() {
    let src = std::fs::read_to_string(format!("{}/tests/invalid/20_bad_types.yaml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert_eq!(check_source("x.yaml", &src).error_count(), 6);
}

#[test]
fn reference_yaml_is_generated_from_the_catalogue_and_compiles() {
    let expected = kinesis_tables_codegen::reference::reference_yaml();
    let path = format!("{}/../templates/reference.yaml", env!("CARGO_MANIFEST_DIR"));
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "templates/reference.yaml is stale; run `cargo run --bin kinesis-tables -- reference > templates/reference.yaml`"
    );
    let checked = check_source("templates/reference.yaml", &actual);
    assert_eq!(checked.error_count(), 0, "{}", checked.render(false));
    for o in kinesis_tables_config::catalog::OPTIONS {
        assert!(actual.contains(&format!("{}:", o.key)), "{} is missing from the reference", o.key);
        if let Some(d) = o.default {
            assert!(actual.contains(d), "default of {} is missing", o.key);
        }
    }
}

/// Uncommenting an option in the reference spec with its default value keeps it valid.
#[test]
fn every_default_is_accepted_as_written() {
    use kinesis_tables_config::catalog::{self, Reader};
    for o in catalog::OPTIONS.iter().filter(|o| o.default.is_some() && o.rejected.is_none() && o.key != "connector") {
        let legacy = o.connectors == catalog::LEGACY;
        let (conn, stream) = if legacy {
            ("kinesis-legacy", "stream: s")
        } else {
            ("kinesis", "stream.arn: arn:aws:kinesis:us-east-1:012345678901:stream/s")
        };
        let format = o.section.format().unwrap_or("json");
        let mut extra = String::new();
        if o.reader == Reader::Efo {
            extra = if legacy {
                "      scan.stream.recordpublisher: EFO\n      scan.stream.efo.consumername: app\n".into()
            } else {
                "      source.reader.type: EFO\n      source.efo.consumer.name: app\n".into()
            };
        }
        if o.key == "aws.credentials.role.provider" {
            continue; // only with ASSUME_ROLE; covered by the from_env table
        }
        if o.key == "sink.partitioner-field-delimiter" {
            continue; // needs partitioned_by; covered by the all-types spec
        }
        if o.key == "source.init.timestamp.format" || o.key == "scan.stream.initpos-timestamp-format" {
            continue; // only with AT_TIMESTAMP; covered by rule tests
        }
        let value = o.default.unwrap().replace('\'', "''");
        if o.connectors & catalog::BOTH == 0 {
            // datagen, print and blackhole options: a table of that connector.
            let conn = catalog::connector_names(o.connectors & catalog::LOCAL).next().unwrap();
            let key = o.key.replace('#', "id");
            let ty = if key.ends_with("max-past") { "TIMESTAMP(3)" } else { "STRING" };
            let src = format!("tables:\n  t:\n    columns:\n      id: {ty}\n    with:\n      connector: {conn}\n      {key}: '{value}'\n");
            let checked = check_source("default.yaml", &src);
            assert_eq!(checked.error_count(), 0, "default of {key}:\n{}", checked.render(false));
            continue;
        }
        let key = o.key;
        let src = format!(
            "tables:\n  t:\n    columns:\n      id: STRING\n    with:\n      connector: {conn}\n      {stream}\n      aws.region: us-east-1\n      format: {format}\n{extra}      {key}: '{value}'\n"
        );
        let checked = check_source("default.yaml", &src);
        assert_eq!(checked.error_count(), 0, "default of {key}:\n{}", checked.render(false));
    }
}
