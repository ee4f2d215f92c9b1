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

const TABLES: &str = "tables:
  o:
    columns:
      id: BIGINT NOT NULL
      qty: INT
      payload: STRING
      items: ARRAY<ROW<sku STRING, qty INT>>
      ship: ROW<city STRING>
    with:
      connector: kinesis
      stream.arn: arn:aws:kinesis:us-east-1:000000000000:stream/o
      aws.region: us-east-1
      format: json
  out:
    columns:
      id: BIGINT NOT NULL
      s: STRING
      n: BIGINT
      ship: ROW<town STRING>
    with:
      connector: blackhole
";

/// The rendered diagnostics of `pipelines`, and `line:col` of each.
fn errors(pipelines: &str) -> (String, Vec<String>) {
    let src = format!("{TABLES}pipelines:\n{pipelines}");
    let rendered = check_source("x.yaml", &src).render(false);
    let at = rendered.lines().filter_map(|l| l.trim_start().strip_prefix("--> x.yaml:")).map(str::to_string).collect();
    (rendered, at)
}

/// `line:col` of `needle` in the full spec built from `pipelines`.
fn at(pipelines: &str, needle: &str) -> String {
    let src = format!("{TABLES}pipelines:\n{pipelines}");
    let i = src.find(needle).unwrap();
    let line = src[..i].matches('\n').count() + 1;
    let col = i - src[..i].rfind('\n').map_or(0, |n| n + 1) + 1;
    format!("{line}:{col}")
}

#[test]
fn refusals_a_flink_user_meets_are_located_and_say_why() {
    let cases = [
        // A column both the source and the UNNEST have: Flink says ambiguous too.
        (
            "  p:\n    sql: INSERT INTO out (id, n) SELECT id, qty FROM o CROSS JOIN UNNEST(items) AS t (sku, qty)\n",
            "qty FROM",
            "ambiguous",
        ),
        // The alias list must name every field of the ROW element.
        ("  p:\n    sql: INSERT INTO out (id, s) SELECT id, a FROM o CROSS JOIN UNNEST(items) AS t (a, b, c)\n", "b, c)", "2 fields"),
        // JSON_VALUE returns scalars this project converts; a DATE is refused with the way out.
        (
            "  p:\n    sql: INSERT INTO out (id, s) SELECT id, CAST(JSON_VALUE(payload, '$.d' RETURNING DATE) AS STRING) FROM o\n",
            "DATE)",
            "cannot return DATE",
        ),
        // A DEFAULT that does not convert to the RETURNING type, caught at build time.
        (
            "  p:\n    sql: INSERT INTO out (id, n) SELECT id, JSON_VALUE(payload, '$.n' RETURNING BIGINT DEFAULT 'x' ON EMPTY) FROM o\n",
            "'x'",
            "is not a BIGINT",
        ),
        // A computed DEFAULT: COALESCE says it.
        (
            "  p:\n    sql: INSERT INTO out (id, n) SELECT id, JSON_VALUE(payload, '$.n' RETURNING BIGINT DEFAULT id ON EMPTY) FROM o\n",
            "id ON",
            "must be a literal",
        ),
        // A ROW into another table's ROW column of another ROW type (field names differ).
        ("  p:\n    sql: INSERT INTO out (id, ship) SELECT id, ship FROM o\n", "ship FROM", "not the ROW type of column `ship`"),
        // ` #` in a plain YAML value starts a comment: the SQL is cut there, and the help says so.
        ("  p:\n    sql: INSERT INTO out (id, s) SELECT id, 'Order #1' FROM o\n", "'Order", "` #` starts a comment"),
        // A region id in the wrong case (Java's ZoneId is case-sensitive too).
        ("  p:\n    table.local-time-zone: europe/paris\n    sql: INSERT INTO out (id) SELECT id FROM o\n", "europe/paris", "region id"),
    ];
    for (p, needle, why) in cases {
        let (rendered, locations) = errors(p);
        assert_eq!(locations, vec![at(p, needle)], "{rendered}");
        assert!(rendered.contains(why), "{why}: {rendered}");
    }
}

#[test]
fn qualified_columns_pick_their_side_of_an_unnest() {
    let ok = "  p:\n    sql: INSERT INTO out (id, n, s) SELECT id, o.qty + t.qty, t.sku FROM o CROSS JOIN UNNEST(items) AS t (sku, qty) WHERE t.qty IS NOT NULL\n";
    let (rendered, locations) = errors(ok);
    assert!(locations.is_empty(), "{rendered}");
}
