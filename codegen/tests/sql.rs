//! SQL pipelines in the compiler: carets on the SQL token in block and
//! quoted scalars, every error in one run, and the generated code of a few
//! queries (snapshot). The generated code's behaviour is tested in
//! `tests/tests/emulators/pipelines/sql.rs`, which compiles tests/specs/sql.yaml.

use kinesis_tables_codegen::check_source;

const TABLES: &str = "tables:
  orders:
    columns:
      order_id: BIGINT NOT NULL
      customer: STRING
      amount: DECIMAL(10, 2) NOT NULL
      qty: INT NOT NULL
      tags: ARRAY<STRING NOT NULL>
    with:
      connector: datagen
  out:
    columns:
      order_id: BIGINT NOT NULL
      customer: STRING NOT NULL
      qty: BIGINT
    with:
      connector: blackhole
";

/// `line:col` of the first `needle` at or after `after` in `src`.
fn at(src: &str, after: &str, needle: &str) -> String {
    let from = src.find(after).unwrap();
    let i = from + src[from..].find(needle).unwrap();
    let line = src[..i].matches('\n').count() + 1;
    let col = src[..i].rfind('\n').map_or(i, |n| i - n - 1) + 1;
    format!("{line}:{col}")
}

/// The `path:line:col` of each rendered diagnostic, in order.
fn locations(rendered: &str) -> Vec<String> {
    rendered.lines().filter_map(|l| l.trim_start().strip_prefix("--> x.yaml:")).map(str::to_string).collect()
}

#[test]
fn carets_land_on_the_sql_token_in_block_and_quoted_scalars() {
    let src = format!(
        "{TABLES}pipelines:
  block:
    sql: |
      INSERT INTO out
        SELECT order_id, COALESCE(custmer, ''), qty
      FROM orders
  folded:
    sql: >-
      INSERT INTO out SELECT order_id, 'c', qty
      FROM orders WHERE qtty > 1
  quoted:
    sql: \"INSERT INTO out SELECT order_id, \\\"x\\\", CAST(amount AS DATE) FROM orders\"
  single:
    sql: 'INSERT INTO out SELECT order_id, ''it''''s'', qty FROM orders WHERE UPPR(customer) = ''A'''
"
    );
    let checked = check_source("x.yaml", &src);
    let rendered = checked.render(false);
    let want = vec![
        at(&src, "block:", "custmer"),
        at(&src, "folded:", "qtty"),
        at(&src, "quoted:", "\\\"x\\\""),
        at(&src, "quoted:", "DATE"),
        at(&src, "single:", "UPPR"),
    ];
    assert_eq!(locations(&rendered), want, "{rendered}");
}

#[test]
fn every_sql_error_is_reported_at_once() {
    let src = format!(
        "{TABLES}pipelines:
  a:
    sql: INSERT INTO out SELECT order_id, nme, FOO(qty) FROM orders WHERE amount > 'x'
  b:
    sql: INSERT INTO out SELECT order_id, customer, amount FROM orders GROUP BY order_id
"
    );
    let checked = check_source("x.yaml", &src);
    // a: unknown column, unknown function, type mismatch; b: GROUP BY.
    assert_eq!(checked.error_count(), 4, "{}", checked.render(false));
}

#[test]
fn from_and_to_come_from_the_statement() {
    let src = format!(
        "{TABLES}pipelines:
  p:
    sql: INSERT INTO out SELECT order_id, COALESCE(customer, 'none'), qty FROM orders
  q:
    from: orders
    to: out
    sql: INSERT INTO out SELECT order_id, COALESCE(customer, 'none'), qty FROM orders
"
    );
    let checked = check_source("x.yaml", &src);
    assert_eq!(checked.error_count(), 0, "{}", checked.render(false));
    let p = &checked.pipelines[0];
    assert_eq!((p.from.as_str(), p.to.as_str()), ("orders", "out"));
}

#[test]
fn generated_code_for_sql_queries() {
    let src = format!(
        "{TABLES}pipelines:
  filtered:
    sql: |
      INSERT INTO out
      SELECT order_id, UPPER(customer), CASE WHEN qty > 10 THEN qty * 2 ELSE NULL END
      FROM orders
      WHERE customer IS NOT NULL AND customer LIKE 'a%'
  unnested:
    sql: |
      INSERT INTO out (order_id, customer)
      SELECT order_id, tag FROM orders CROSS JOIN UNNEST(tags) AS t (tag)
"
    );
    let checked = check_source("x.yaml", &src);
    assert_eq!(checked.error_count(), 0, "{}", checked.render(false));
    let code = kinesis_tables_codegen::generate(&[checked]);
    let pipelines = &code[code.find("pub mod pipelines").unwrap()..];
    insta::assert_snapshot!(pipelines);
}

#[test]
fn star_expands_every_source_column_metadata_included_and_matches_non_virtual_sink_columns() {
    let kinesis = |name: &str| {
        format!(
            "    with:\n      connector: kinesis\n      stream.arn: arn:aws:kinesis:us-east-1:000000000000:stream/{name}\n      aws.region: us-east-1\n      format: json\n"
        )
    };
    let src = format!(
        "tables:
  src:
    columns:
      a: BIGINT NOT NULL
      b: STRING
      shard: VARCHAR(128) NOT NULL METADATA FROM 'shard-id' VIRTUAL
{}  dst:
    columns:
      a: BIGINT NOT NULL
      b: STRING
      from_shard: STRING NOT NULL
      seq: VARCHAR(128) NOT NULL METADATA FROM 'sequence-number' VIRTUAL
{}  narrow:
    columns:
      a: BIGINT NOT NULL
      b: STRING
{}pipelines:
  all:
    sql: INSERT INTO dst SELECT * FROM src
  too_many:
    sql: INSERT INTO narrow SELECT * FROM src
",
        kinesis("src"),
        kinesis("dst"),
        kinesis("narrow")
    );
    let checked = check_source("x.yaml", &src);
    let rendered = checked.render(false);
    assert_eq!(checked.error_count(), 1, "{rendered}");
    assert!(rendered.contains("the SELECT gives 3 column(s) but `narrow` takes 2"), "{rendered}");
}

#[test]
fn no_statement_near_a_valid_one_panics_the_compiler() {
    let sql = "INSERT INTO out SELECT order_id, COALESCE(UPPER(customer), 'x'), CAST(amount * 2 AS BIGINT) FROM orders \
               CROSS JOIN UNNEST(tags) AS t (tag) WHERE tag LIKE 'a%' AND qty BETWEEN 1 AND 3 OR customer IN ('a', 'b')";
    let chars: Vec<char> = sql.chars().collect();
    for i in 0..chars.len() {
        // Each character deleted, and each replaced by a quote, a parenthesis, a comma and a two-byte letter.
        for edit in [None, Some('\''), Some('('), Some(','), Some('é')] {
            let mut c = chars.clone();
            match edit {
                None => {
                    c.remove(i);
                }
                Some(x) => c[i] = x,
            }
            let text: String = c.into_iter().collect();
            let src = format!("{TABLES}pipelines:\n  p:\n    sql: \"{}\"\n", text.replace('\\', "\\\\").replace('"', "\\\""));
            let checked = check_source("x.yaml", &src);
            let _ = checked.render(false);
        }
    }
}
