//! SQL pipelines: a pipeline's `sql:` (`INSERT INTO sink SELECT … FROM
//! source [CROSS JOIN UNNEST(…)] [WHERE …]`) compiled to a Rust function
//! over the generated structs. Stages: `source` (YAML locations of SQL
//! text), `parse` (the statement's shape, stateful constructs refused),
//! `check`/`funcs`/`calls`/`temporal`/`cast` (resolution and Flink's types,
//! building `expr`'s typed tree), `output` (result columns into the sink),
//! `emit` (Rust).

mod args;
mod calls;
mod cast;
mod check;
mod emit;
mod expr;
mod funcs;
mod json;
mod ops;
mod output;
mod parse;
mod regex;
mod rows;
mod scope;
mod source;
mod temporal;
mod types;

use crate::diag::{Diag, Diags};
use crate::input::PipelineInput;
use crate::ir::{Mapping, SqlTransform, TableIr};
use crate::span::Span;

/// The zone TIMESTAMP_LTZ values are read in when the pipeline names none (Flink's default is the JVM's; here UTC).
pub(crate) const DEFAULT_TIME_ZONE: &str = "UTC";

/// What the SQL says about the pipeline: its tables (with where they were named) and the mapping.
pub(crate) struct SqlPipeline {
    pub(crate) from: (String, Span),
    pub(crate) to: (String, Span),
    pub(crate) parsed: Parsed,
}

/// The parsed statement, checked once the tables are known.
pub(crate) struct Parsed {
    stmt: parse::Stmt,
    src: source::SqlSource,
}

/// Parses a pipeline's `sql:`; checks that `from`/`to`, when also given, agree, and that there is no `transform`.
pub(crate) fn parse(p: &PipelineInput, file: &str, diags: &mut Diags<Span>) -> Option<SqlPipeline> {
    let (text, span) = p.sql.as_ref()?;
    if let Some((_, t)) = &p.transform {
        diags.push(
            Diag::error(*t, format!("pipeline `{}` has both `sql` and `transform`", p.name))
                .label("second transform")
                .help("a pipeline is either a SQL statement or a Rust function: remove one"),
        );
    }
    let src = source::SqlSource::new(file, *span, text);
    let stmt = parse::statement(&src, diags)?;
    let mut ok = p.transform.is_none();
    for (side, given, stated) in [("from", &p.from, &stmt.source), ("to", &p.to, &stmt.sink)] {
        if let Some((name, at)) = given
            && name != &stated.0
        {
            diags.push(
                Diag::error(*at, format!("`{side}: {name}` disagrees with the SQL, which names `{}`", stated.0))
                    .label("disagrees with the SQL")
                    .help(format!("remove `{side}:`: the SQL statement names the tables")),
            );
            ok = false;
        }
    }
    let (from, to) = (stmt.source.clone(), stmt.sink.clone());
    ok.then_some(SqlPipeline { from, to, parsed: Parsed { stmt, src } })
}

/// Types the statement against its tables and emits `transform_<name>`.
pub(crate) fn compile(p: &PipelineInput, parsed: &Parsed, from: &TableIr, to: &TableIr, diags: &mut Diags<Span>) -> Option<Mapping> {
    let time_zone = match &p.local_time_zone {
        Some((zone, at)) => check_zone(zone, *at, diags)?,
        None => DEFAULT_TIME_ZONE.to_string(),
    };
    let plan = output::plan(p, parsed, from, to, time_zone, diags)?;
    let code = emit::transform(&plan);
    Some(Mapping::Sql(SqlTransform { function: plan.fn_name.clone(), unnest: plan.unnest.is_some(), code }))
}

/// `table.local-time-zone`: `UTC`, a fixed offset (`+08:00`, `UTC-5`, `GMT+05:30`) or a region id
/// (`Europe/Paris`), checked here against the time-zone database the run time uses.
fn check_zone(zone: &str, at: Span, diags: &mut Diags<Span>) -> Option<String> {
    let why = match kinesis_tables_sql::temporal::LocalTimeZone::parse(zone) {
        Ok(_) => return Some(zone.to_string()),
        Err(e) => e.to_string(),
    };
    diags.push(
        Diag::error(at, format!("`{zone}` is not a time zone this build knows: {why}")).label("unknown time zone").help(
            "write `UTC`, a fixed offset such as `+08:00` or `GMT+5`, or a region id such as `America/Los_Angeles` or `Europe/Paris`",
        ),
    );
    None
}
