//! The SQL pipeline `sq_orders` of tests/specs/sql.yaml as a binary, as
//! `kinesis-tables build` makes one: its command line is the pipeline's
//! (`--checkpoint-dir`, `--stop-when-idle`, `--on-data-loss`, …).

fn main() -> std::process::ExitCode {
    kinesis_tables_tests::generated::pipelines::main_sq_orders()
}
