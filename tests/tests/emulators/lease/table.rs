//! dynalite's support for what the lease table uses, and the table layer's
//! conditional writes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use kinesis_tables::checkpoint::ShardPosition;
use kinesis_tables::lease::LeaseTable;
use kinesis_tables::lease::row::{CheckpointValue, Ext, Lease, SHARD_END, TRIM_HORIZON};
use kinesis_tables::lease::table::Outcome;
use kinesis_tables_tests::dynalite::Dynalite;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Every expression feature the table layer uses, straight through the SDK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynalite_supports_every_expression_the_lease_table_uses() {
    let d = Dynalite::start().await.unwrap();
    let c = d.client();
    // CreateTable PAY_PER_REQUEST, CREATING then ACTIVE.
    LeaseTable::new(c.clone(), "caps", "w").ensure(true).await.unwrap();
    let put = |key: &str| {
        c.put_item()
            .table_name("caps")
            .item("leaseKey", s(key))
            .item("leaseCounter", n(0))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", "leaseKey")
    };
    put("a").send().await.unwrap();
    let again = put("a").send().await.unwrap_err();
    assert_eq!(
        again.as_service_error().and_then(|e| aws_sdk_dynamodb::error::ProvideErrorMetadata::code(e)),
        Some("ConditionalCheckFailedException")
    );
    // SET with a + :n, ADD, string sets, `=`, `<>`, AND, REMOVE.
    let out = c
        .update_item()
        .table_name("caps")
        .key("leaseKey", s("a"))
        .update_expression("SET #c = #c + :one, #o = :me, #p = :ss ADD #s :one")
        .condition_expression("#c = :zero AND (attribute_not_exists(#o) OR #o <> :me)")
        .expression_attribute_names("#c", "leaseCounter")
        .expression_attribute_names("#o", "leaseOwner")
        .expression_attribute_names("#p", "parentShardId")
        .expression_attribute_names("#s", "ownerSwitchesSinceCheckpoint")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":me", s("w"))
        .expression_attribute_values(":ss", AttributeValue::Ss(vec!["x".into(), "y".into()]))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let item = out.attributes().unwrap();
    assert_eq!(item.get("leaseCounter"), Some(&n(1)));
    assert_eq!(item.get("ownerSwitchesSinceCheckpoint"), Some(&n(1)));
    assert!(matches!(item.get("parentShardId"), Some(AttributeValue::Ss(v)) if v.len() == 2));
    let out = c
        .update_item()
        .table_name("caps")
        .key("leaseKey", s("a"))
        .update_expression("REMOVE #o")
        .condition_expression("#o = :me")
        .expression_attribute_names("#o", "leaseOwner")
        .expression_attribute_values(":me", s("w"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    assert!(!out.attributes().unwrap().contains_key("leaseOwner"));
    // Conditional delete: refused, then done.
    let del = |counter: u64| {
        c.delete_item()
            .table_name("caps")
            .key("leaseKey", s("a"))
            .condition_expression("#c = :c")
            .expression_attribute_names("#c", "leaseCounter")
            .expression_attribute_values(":c", n(counter))
    };
    assert!(del(7).send().await.is_err());
    del(1).send().await.unwrap();
    // Scan pages.
    for i in 0..7 {
        put(&format!("k{i}")).send().await.unwrap();
    }
    let (mut pages, mut items, mut start) = (0, 0, None::<HashMap<String, AttributeValue>>);
    loop {
        let out = c.scan().table_name("caps").consistent_read(true).limit(3).set_exclusive_start_key(start.take()).send().await.unwrap();
        pages += 1;
        items += out.items().len();
        match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    assert_eq!(items, 7);
    assert!(pages >= 3, "{pages} pages");
}

fn row(key: &str, owner: Option<&str>, counter: u64) -> Lease {
    let mut l = Lease::new(key, TRIM_HORIZON);
    l.owner = owner.map(Into::into);
    l.counter = counter;
    l
}

/// Take, renew, checkpoint, release and delete are each conditional on the
/// counter (and the owner), and keep attributes the table layer does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_is_conditional_and_keeps_foreign_attributes() {
    let d = Dynalite::start().await.unwrap();
    let a = LeaseTable::new(d.client(), "tbl", "a");
    let b = LeaseTable::new(d.client(), "tbl", "b");
    a.ensure(true).await.unwrap();
    b.ensure(false).await.unwrap();
    assert_eq!(a.create(&row("shardId-0", None, 0)).await.unwrap(), Outcome::Applied);
    assert_eq!(b.create(&row("shardId-0", None, 0)).await.unwrap(), Outcome::Lost, "exists");
    // A KCL 3.x attribute the table layer does not know.
    d.client()
        .update_item()
        .table_name("tbl")
        .key("leaseKey", s("shardId-0"))
        .update_expression("SET throughputKBps = :t")
        .expression_attribute_values(":t", n(42))
        .send()
        .await
        .unwrap();
    assert_eq!(a.take("shardId-0", 0, None).await.unwrap(), Outcome::Applied);
    assert_eq!(b.take("shardId-0", 0, None).await.unwrap(), Outcome::Lost, "the counter moved");
    assert_eq!(a.renew("shardId-0", 1).await.unwrap(), Outcome::Applied);
    assert_eq!(b.renew("shardId-0", 2).await.unwrap(), Outcome::Lost, "not the owner");
    assert_eq!(a.renew("shardId-0", 1).await.unwrap(), Outcome::Lost, "a stale counter");
    let pos = ShardPosition::After { sequence_number: "49590".into(), sub_sequence_number: Some(4), arrival_millis: Some(7) };
    let ext = Ext { stream: Some("s".into()), stream_created_millis: Some(5), pinned_start_millis: Some(6), ..Ext::default() };
    assert_eq!(b.checkpoint("shardId-0", 2, &CheckpointValue::of(&pos), &ext, &[]).await.unwrap(), Outcome::Lost);
    assert_eq!(a.checkpoint("shardId-0", 2, &CheckpointValue::of(&pos), &ext, &[]).await.unwrap(), Outcome::Applied);
    let l = a.get("shardId-0").await.unwrap().unwrap();
    assert_eq!((l.counter, l.owner.as_deref(), l.owner_switches, l.sub_sequence), (3, Some("a"), 0, 4));
    assert_eq!(l.position(), Some(pos));
    assert_eq!(l.ext.stream_created_millis, Some(5));
    // b steals: one more owner switch.
    assert_eq!(b.take("shardId-0", 3, Some("a")).await.unwrap(), Outcome::Applied);
    let l = b.get("shardId-0").await.unwrap().unwrap();
    assert_eq!((l.counter, l.owner.as_deref(), l.owner_switches), (4, Some("b"), 1));
    assert_eq!(a.release("shardId-0").await.unwrap(), Outcome::Lost, "a no longer owns it");
    let end = CheckpointValue::of(&ShardPosition::Finished);
    assert_eq!(b.checkpoint("shardId-0", 4, &end, &ext, &["shardId-1".into()]).await.unwrap(), Outcome::Applied);
    let l = b.get("shardId-0").await.unwrap().unwrap();
    assert_eq!(l.checkpoint.as_deref(), Some(SHARD_END));
    assert_eq!(l.children.iter().collect::<Vec<_>>(), ["shardId-1"]);
    assert_eq!(b.release("shardId-0").await.unwrap(), Outcome::Applied);
    let l = b.get("shardId-0").await.unwrap().unwrap();
    assert_eq!((l.owner.as_deref(), l.counter), (None, 6));
    let raw = d.client().get_item().table_name("tbl").key("leaseKey", s("shardId-0")).send().await.unwrap();
    assert_eq!(raw.item().unwrap().get("throughputKBps"), Some(&n(42)), "kept through every write");
    assert_eq!(a.take("shardId-0", 6, None).await.unwrap(), Outcome::Applied);
    assert_eq!(a.delete("shardId-0", 6).await.unwrap(), Outcome::Lost, "a stale counter");
    assert_eq!(a.delete("shardId-0", 7).await.unwrap(), Outcome::Applied);
    assert_eq!(a.get("shardId-0").await.unwrap(), None);
    // A scan over more than one page (1 MB) of rows reads them all.
    for i in 0..12 {
        let mut big = row(&format!("shardId-{i:03}"), None, 0);
        big.parents = (0..2_000).map(|p| format!("parent-{p:04}-{}", "x".repeat(40))).collect();
        assert_eq!(a.create(&big).await.unwrap(), Outcome::Applied);
    }
    assert_eq!(a.scan().await.unwrap().len(), 12);
    assert_eq!(
        LeaseTable::new(d.client(), "missing", "a").ensure(false).await.unwrap_err().kind(),
        kinesis_tables::lease::LeaseErrorKind::Table
    );
}
