//! `pipeline::fallible`: a transform that fails a record stops the run with
//! an error naming the record and the expression (`--on-data-loss fail`),
//! or skips and counts it (`continue`); infallible closures are unchanged
//! (`pipelines::datagen::a_bounded_source_ends_the_pipeline`).

use kinesis_tables::pipeline::{self, PipelineError, PipelineOptions};
use kinesis_tables::policy::OnDataLoss;
use kinesis_tables::sql::{self, At, RecordError};
use kinesis_tables_tests::generated::{GenAll, GenDiscard};

/// Generated-code style: row `seq = 7` goes through
/// `CAST(seq_text AS TINYINT)`, and its seq_text "100012" does not fit a
/// TINYINT; every other row passes through.
fn transform(r: GenAll) -> Result<Option<GenDiscard>, RecordError> {
    if r.seq == 7 {
        let narrowed = sql::cast::str_to_i8(&r.seq_text).at("CAST(seq_text AS TINYINT)")?;
        return Ok(Some(GenDiscard { seq: i64::from(narrowed) }));
    }
    Ok(Some(GenDiscard { seq: r.seq }))
}

fn options(on_data_loss: OnDataLoss) -> PipelineOptions {
    let dir = std::env::temp_dir().join(format!("kt-sql-fallible-{}", fastrand::u64(..)));
    PipelineOptions { checkpoint_dir: dir, on_data_loss, ..PipelineOptions::default() }
}

#[tokio::test]
async fn a_failing_record_stops_the_pipeline_naming_it_and_the_expression() {
    let t = pipeline::fallible::<GenAll, GenDiscard, _, _, _>(transform);
    let err = pipeline::run::<GenAll, GenDiscard, _>("gen_fallible", &options(OnDataLoss::Fail), t).await.unwrap_err();
    let PipelineError::TransformFailed { origin, reason } = &err else { panic!("{err}") };
    // seq starts at -5: seq 7 is row 12 of the first batch (generated rows
    // have no shard; Kinesis records name shard and sequence number, as
    // the sink's refusals do: pipelines::process::refused_record).
    assert!(origin.contains("generated row"), "{origin}");
    assert_eq!(reason, "cannot cast '100012' to TINYINT: out of range in `CAST(seq_text AS TINYINT)`");
    let text = err.to_string();
    assert!(text.contains("--on-data-loss continue"), "{text}");
}

#[tokio::test]
async fn a_failing_record_is_skipped_and_counted_with_continue() {
    let t = pipeline::fallible::<GenAll, GenDiscard, _, _, _>(transform);
    let report = pipeline::run::<GenAll, GenDiscard, _>("gen_fallible", &options(OnDataLoss::Continue), t).await.unwrap();
    assert_eq!((report.records_in, report.records_out, report.records_skipped), (2000, 1999, 1));
    assert!(report.summary("gen_fallible").contains(", 1 skipped, stopped by done"), "{}", report.summary("gen_fallible"));
}
