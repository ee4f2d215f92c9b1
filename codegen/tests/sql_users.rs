//! The Flink-user queries of tests/specs/sql_users.yaml compile without a
//! diagnostic (their rows are checked in the emulator binary's
//! `pipelines::sql_users`), and the ones Flink users write that this
//! project refuses get a located error saying why.

use kinesis_tables_codegen::check_source;

const SPEC: &str = include_str!("../../tests/specs/sql_users.yaml");

#[test]
fn flink_user_queries_compile() {
    let checked = check_source("sql_users.yaml", SPEC);
    let rendered = checked.render(false);
    assert_eq!(checked.error_count(), 0, "{rendered}");
}
