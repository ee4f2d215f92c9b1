//! The generated code for the reference example, snapshot-tested. The same
//! spec is compiled by the build script of `kinesis-tables-tests` (tests/),
//! so the snapshot is code that compiles.

#[test]
fn generated_code_for_the_reference_example() {
    let path = format!("{}/../templates/specs/user_behavior_legacy.yaml", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(path).unwrap();
    let checked = kinesis_tables_codegen::check_source("templates/specs/user_behavior_legacy.yaml", &src);
    assert_eq!(checked.error_count(), 0, "{}", checked.render(false));
    let code = kinesis_tables_codegen::generate(&[checked]);
    assert!(code.starts_with("// @generated"));
    insta::assert_snapshot!(code);
}

#[test]
fn generation_is_deterministic_and_writes_only_on_change() {
    let path = format!("{}/../templates/specs/user_behavior.yaml", env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("kt-codegen-{}", std::process::id()));
    let mut b = kinesis_tables_codegen::Builder::new();
    b.out_dir(&dir).emit_rerun_if_changed(false);
    let out = b.compile(&[&path]).unwrap();
    let first = std::fs::metadata(&out).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    b.compile(&[&path]).unwrap();
    assert_eq!(std::fs::metadata(&out).unwrap().modified().unwrap(), first, "unchanged output is not rewritten");
    let err =
        kinesis_tables_codegen::Builder::new().out_dir(&dir).emit_rerun_if_changed(false).compile(&[dir.join("missing.yaml")]).unwrap_err();
    assert!(err.to_string().contains("cannot read spec"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Every spec in `templates/` (the pipeline crate's included) and the test
/// crate's specs, snapshot-tested
/// so that a redesign of the compiler shows any change in the generated code.
#[test]
fn generated_code_for_every_template() {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    for (name, rel) in [
        ("template_user_behavior", "templates/specs/user_behavior.yaml"),
        ("template_user_behavior_legacy", "templates/specs/user_behavior_legacy.yaml"),
        ("template_orders", "templates/specs/orders.yaml"),
        ("template_pipeline_crate", "templates/pipeline-crate/specs/pipeline.yaml"),
        ("tests_all_types", "tests/specs/all_types.yaml"),
        ("tests_runtime", "tests/specs/runtime.yaml"),
    ] {
        // The pipeline crate's spec names its pipeline after the crate (`kinesis-tables new`).
        let src = std::fs::read_to_string(format!("{root}/{rel}")).unwrap().replace("{{pipeline}}", "enrich_events");
        let checked = kinesis_tables_codegen::check_source(rel, &src);
        assert_eq!(checked.error_count(), 0, "{}", checked.render(false));
        let code = kinesis_tables_codegen::generate(&[checked]);
        insta::assert_snapshot!(name, code);
    }
}
