fn main() -> Result<(), Box<dyn std::error::Error>> {
    kinesis_tables_codegen::compile(&["../../templates/specs/orders.yaml"])?;
    Ok(())
}
