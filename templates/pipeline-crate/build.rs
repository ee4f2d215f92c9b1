// Compiles the spec into typed tables and pipeline entry points
// ($OUT_DIR/kinesis_tables.rs). Spec errors fail the build with their location.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    kinesis_tables_codegen::compile(&["specs/pipeline.yaml"])?;
    Ok(())
}
