//! `lease_copy` of tests/specs/lease.yaml as its generated `main` builds it:
//! the binary the scale-out tests start several of. Configured by its
//! command line, the AWS environment (Kinesis) and `KT_LEASE_TABLE`,
//! `KT_LEASE_ENDPOINT`, `KT_WORKER_ID` (the spec's `checkpoints:` block).
//! With `KT_LEASE_STORE=file` it runs `lease_copy_file` instead, the same
//! copy on the file store (the throughput baseline).

fn main() -> std::process::ExitCode {
    use kinesis_tables_tests::generated::pipelines;
    match std::env::var("KT_LEASE_STORE").as_deref() {
        Ok("file") => pipelines::main_lease_copy_file(),
        _ => pipelines::main_lease_copy(),
    }
}
