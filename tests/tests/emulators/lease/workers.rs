//! Workers sharing leases through one table: a split of 4 shards, a clean
//! hand-over, a take-over after a crash, and fencing.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use kinesis_tables::checkpoint::ShardPosition;
use kinesis_tables::lease::{BootClock, Clock, LeaseTable, SkewedClock};
use kinesis_tables_tests::dynalite::Dynalite;

use super::{eventually, shards, worker};

fn pos(seq: &str) -> ShardPosition {
    ShardPosition::After { sequence_number: seq.into(), sub_sequence_number: None, arrival_millis: None }
}

/// Two workers split 4 shards 2-2. A clean stop releases its leases (no
/// owner, counter bumped), so the other takes them without waiting for the
/// failover time; a worker gone without a stop keeps its leases in the table
/// until they expire, then the other takes them over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_split_four_shards_and_take_over_after_a_stop_or_a_crash() {
    let d = Dynalite::start().await.unwrap();
    let boot: Arc<dyn Clock> = Arc::new(BootClock);
    let w1 = worker(&d, "split", "w1", boot.clone()).await;
    let w2 = worker(&d, "split", "w2", boot.clone()).await;
    w1.set_listing(shards(4)).await.unwrap();
    w2.set_listing(shards(4)).await.unwrap();
    eventually(30, "a 2-2 split", async || w1.held().len() == 2 && w2.held().len() == 2).await;
    assert!(w1.held().is_disjoint(&w2.held()));
    assert!(w1.health().started && w1.health().last_error.is_none());

    // A clean stop: released at once.
    let gone = w1.held();
    assert_eq!(w1.stop().await.unwrap(), 2);
    let table = LeaseTable::new(d.client(), "split", "reader");
    for l in table.scan().await.unwrap() {
        if gone.contains(&l.key) {
            assert_eq!(l.owner, None, "released: no owner");
        }
    }
    eventually(30, "w2 takes the released leases", async || w2.held().len() == 4).await;

    // A third worker joins, then goes away without a stop (a crash).
    let w3 = worker(&d, "split", "w3", boot.clone()).await;
    w3.set_listing(shards(4)).await.unwrap();
    eventually(30, "w3 steals its share", async || w3.held().len() == 2 && w2.held().len() == 2).await;
    // A shared EFO consumer stays while another worker holds a lease.
    assert!(w3.others_hold_leases().await.unwrap() && w2.others_hold_leases().await.unwrap());
    let orphaned = w3.held();
    drop(w3);
    for l in table.scan().await.unwrap() {
        if orphaned.contains(&l.key) {
            assert_eq!(l.owner.as_deref(), Some("w3"), "a crashed worker's leases stay its own until they expire");
        }
    }
    eventually(30, "w2 takes over the orphaned leases after the failover time", async || w2.held().len() == 4).await;
    for l in table.scan().await.unwrap() {
        assert_eq!(l.owner.as_deref(), Some("w2"));
        assert!(l.owner_switches >= 1, "{l:?}");
    }
    assert!(!w2.others_hold_leases().await.unwrap(), "w2 is the last worker: it may deregister a shared consumer");
    w2.stop().await.unwrap();
}

/// A worker whose clock passed the fence deadline (as after a SIGSTOP or a
/// suspended machine) writes no checkpoint; neither does one whose lease
/// counter another writer moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_worker_writes_no_checkpoint() {
    let d = Dynalite::start().await.unwrap();
    let clock = SkewedClock::new();
    let w = worker(&d, "fence", "w", Arc::new(clock.clone())).await;
    w.set_listing(shards(2)).await.unwrap();
    eventually(30, "both leases held", async || w.held().len() == 2).await;
    let table = LeaseTable::new(d.client(), "fence", "reader");
    // Checkpoints and renewals of one lease go through one owner of its
    // counter: back-to-back checkpoints, with renewals in between, all land.
    for (i, seq) in ["90", "95", "100"].iter().enumerate() {
        assert!(w.checkpoint("shardId-000000000000", pos(seq)).await.unwrap(), "checkpoint {i} of a usable lease");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let before = table.get("shardId-000000000000").await.unwrap().unwrap();
    assert_eq!(before.checkpoint.as_deref(), Some("100"));

    // The clock jumps past the failover time: the lease is unusable, the checkpoint not written.
    clock.jump(Duration::from_secs(2));
    assert!(!w.usable("shardId-000000000000"));
    assert!(!w.checkpoint("shardId-000000000000", pos("200")).await.unwrap(), "fenced: not written");
    let after = table.get("shardId-000000000000").await.unwrap().unwrap();
    assert_eq!(after.checkpoint.as_deref(), Some("100"), "the row keeps the last checkpoint");
    assert!(!w.held().contains("shardId-000000000000"), "a fenced lease is dropped");

    // Another writer moves the counter of a lease the worker holds.
    let other = "shardId-000000000001";
    eventually(30, "the worker takes the lease back", async || w.held().len() == 2).await;
    d.client()
        .update_item()
        .table_name("fence")
        .key("leaseKey", AttributeValue::S(other.into()))
        .update_expression("SET leaseCounter = leaseCounter + :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let counter_before = table.get(other).await.unwrap().unwrap().counter;
    // Either the next renewal or this checkpoint finds the counter moved; nothing is written.
    assert!(!w.checkpoint(other, pos("300")).await.unwrap(), "the counter moved: not written");
    let row = table.get(other).await.unwrap().unwrap();
    assert_ne!(row.checkpoint.as_deref(), Some("300"), "no checkpoint over a moved counter");
    assert!(row.counter >= counter_before);
    w.stop().await.unwrap();
}
