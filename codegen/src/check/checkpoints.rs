//! A pipeline's `checkpoints:` block: the keys, values and timing rules are
//! the config crate's (`kinesis_tables_config::checkpoints`, the same rules
//! the generated code runs on `${ENV}` values at startup); here what needs
//! the pipeline's tables: a lease table needs a source with shards.

use kinesis_tables_config::checkpoints::{self, CheckpointStoreConfig};
use kinesis_tables_config::model::ConnectorKind;

use crate::diag::{Diag, Diags};
use crate::input::PipelineInput;
use crate::ir::TableIr;
use crate::span::Span;

/// What the check of a `checkpoints:` block found.
pub(crate) enum Checked {
    /// No block: the file store.
    Absent,
    /// A valid block, as written (key, value text), for the generated code.
    Block(Vec<(String, String)>),
    /// The block has errors (reported).
    Invalid,
}

/// Checks the block of pipeline `p`; `from` is its source table when that
/// passed its checks (the block's own errors are reported either way).
pub(crate) fn check(p: &PipelineInput, from: Option<&TableIr>, diags: &mut Diags<Span>) -> Checked {
    let Some((span, inputs)) = &p.checkpoints else { return Checked::Absent };
    let Some(store) = checkpoints::resolve(inputs, span, diags) else { return Checked::Invalid };
    if let (CheckpointStoreConfig::DynamoDb(_), Some(from)) = (&store, from)
        && !check_source_has_shards(inputs, *span, from, diags)
    {
        return Checked::Invalid;
    }
    Checked::Block(inputs.iter().map(|i| (i.key.clone(), i.value.text().unwrap_or_default())).collect())
}

/// A lease table shares a stream's shards among instances: the source must be a stream.
fn check_source_has_shards(
    inputs: &[kinesis_tables_config::OptionInput<Span>],
    whole: Span,
    from: &TableIr,
    diags: &mut Diags<Span>,
) -> bool {
    let connector = from.resolved.config.connector;
    if matches!(connector, ConnectorKind::Kinesis | ConnectorKind::KinesisLegacy) {
        return true;
    }
    let at = inputs.iter().find(|i| i.key == "store").map_or(whole, |i| i.value_span);
    diags.push(
        Diag::error(at, format!("a lease table on table `{}`, which uses `connector: {}`", from.name, connector.name()))
            .label("nothing to lease")
            .help("leases share a Kinesis stream's shards among instances: use `store: file` (the default) for a local source"),
    );
    false
}

#[cfg(test)]
mod tests {
    const SPEC: &str = "
tables:
  orders:
    columns:
      id: BIGINT NOT NULL
    with:
      connector: kinesis
      stream.arn: arn:aws:kinesis:us-east-1:000000000000:stream/orders
      aws.region: us-east-1
      format: json
  out:
    columns:
      id: BIGINT NOT NULL
    with:
      connector: blackhole
pipelines:
  leased:
    from: orders
    to: out
    checkpoints:
      store: dynamodb
      table: ${KT_TABLE}
      failover: 3 s
  local:
    from: orders
    to: out
";

    #[test]
    fn a_valid_block_sets_the_runs_checkpoint_store_and_no_block_leaves_it() {
        let checked = crate::check_source("x.yaml", SPEC);
        assert_eq!(checked.error_count(), 0, "{}", checked.render(false));
        let code = crate::generate(&[checked]);
        let leased = code.find("pub async fn leased").expect("leased");
        let end = code.find("pub fn main_leased").expect("main_leased");
        let store = code.find("::kinesis_tables::pipeline::checkpoint_store").expect("the lease pipeline sets its store");
        assert!(leased < store && store < end, "{code}");
        assert!(code.contains(r#"("table", "${KT_TABLE}")"#) && code.contains(r#"("failover", "3 s")"#), "{code}");
        assert_eq!(code.matches("::kinesis_tables::pipeline::checkpoint_store").count(), 1, "only the pipeline with a block");
    }
}
