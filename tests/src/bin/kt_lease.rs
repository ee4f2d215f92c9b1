//! `lease_copy` of tests/specs/lease.yaml as its generated `main` builds it:
//! the binary the scale-out tests start several of. Configured by its
//! command line, the AWS environment (Kinesis) and `KT_LEASE_TABLE`,
//! `KT_LEASE_ENDPOINT`, `KT_WORKER_ID` (the spec's `checkpoints:` block).

fn main() -> std::process::ExitCode {
    kinesis_tables_tests::generated::pipelines::main_lease_copy()
}
