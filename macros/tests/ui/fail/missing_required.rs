#[derive(kinesis_tables::Table)]
#[kinesis(with("connector" = "kinesis", "format" = "json"))]
struct T {
    id: i64,
}

fn main() {}
