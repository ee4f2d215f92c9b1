fn main() -> Result<(), Box<dyn std::error::Error>> {
    kinesis_tables_codegen::compile(&[
        "specs/all_types.yaml",
        "specs/runtime.yaml",
        "specs/avro.yaml",
        "specs/bench.yaml",
        "specs/sql_bench.yaml",
        "specs/lease.yaml",
        "specs/sql.yaml",
        "../templates/specs/orders.yaml",
        "../templates/specs/user_behavior.yaml",
        "../templates/specs/user_behavior_legacy.yaml",
        "specs/sql_diff.yaml",
        "specs/sql_users.yaml",
    ])?;
    Ok(())
}
