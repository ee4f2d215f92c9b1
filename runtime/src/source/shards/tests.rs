use super::*;

fn info(id: &str, parents: &[&str]) -> ShardInfo {
    ShardInfo { id: id.into(), parents: parents.iter().map(|p| (*p).to_owned()).collect(), range: None }
}

fn all(list: &[ShardInfo]) -> HashSet<String> {
    list.iter().map(|i| i.id.clone()).collect()
}

fn pos(seq: &str) -> Option<Pos> {
    Some(Pos { sequence_number: seq.into(), sub: None, arrival_millis: None })
}

fn after(seq: &str) -> Option<ShardPosition> {
    Some(ShardPosition::After { sequence_number: seq.into(), sub_sequence_number: None, arrival_millis: None })
}

/// A source that listed `list` (all assigned) in its first listing.
fn listed(list: &[ShardInfo]) -> Shards {
    let mut s = Shards::new(Checkpoint { stream: "s".into(), ..Checkpoint::default() });
    s.listed(list, &all(list), false);
    s
}

fn committed(s: &Shards, id: &str) -> Option<ShardPosition> {
    s.checkpoint().shards.get(id).cloned()
}

/// Starts every ready shard, as the source does.
fn start_ready(s: &mut Shards) -> Vec<String> {
    let ready = s.ready();
    for id in &ready {
        s.starting(id);
        s.positioned(id);
    }
    ready
}

#[test]
fn out_of_order_acks_commit_only_the_acknowledged_prefix() {
    let mut s = listed(&[info("a", &[])]);
    let b: Vec<u64> = ["10", "20", "30"].iter().map(|q| s.delivered("a", pos(q)).unwrap()).collect();
    assert!(!s.ack("a", b[2]), "a later batch alone moves nothing");
    assert_eq!(committed(&s, "a"), None);
    assert!(s.ack("a", b[0]));
    assert_eq!(committed(&s, "a"), after("10"));
    assert!(s.ack("a", b[1]), "the gap closes: the watermark jumps over the acknowledged batches");
    assert_eq!(committed(&s, "a"), after("30"));
    assert!(!s.ack("a", b[1]), "a repeated acknowledgement changes nothing");
    assert!(!s.ack("a", 99), "an unknown batch changes nothing");
    assert!(!s.ack("nope", 0), "an unknown shard changes nothing");
}

#[test]
fn a_position_inside_an_aggregated_record_keeps_its_sub_sequence_number() {
    let mut s = listed(&[info("a", &[])]);
    let inside = Pos { sequence_number: "5".into(), sub: Some(3), arrival_millis: Some(7) };
    let b0 = s.delivered("a", Some(inside)).unwrap();
    let b1 = s.delivered("a", pos("5")).unwrap();
    s.ack("a", b0);
    let expected = ShardPosition::After { sequence_number: "5".into(), sub_sequence_number: Some(3), arrival_millis: Some(7) };
    assert_eq!(committed(&s, "a"), Some(expected));
    s.ack("a", b1);
    assert_eq!(committed(&s, "a"), after("5"), "the whole record is done");
}

#[test]
fn a_batch_without_a_position_moves_nothing_but_does_not_block() {
    let mut s = listed(&[info("a", &[])]);
    let b0 = s.delivered("a", None).unwrap();
    let b1 = s.delivered("a", pos("9")).unwrap();
    assert!(!s.ack("a", b0));
    assert_eq!(committed(&s, "a"), None);
    s.ack("a", b1);
    assert_eq!(committed(&s, "a"), after("9"));
}

#[test]
fn split_children_are_read_after_the_parent_ends_and_committed_after_it_finishes() {
    let list = [info("p", &[]), info("c1", &["p"]), info("c2", &["p"])];
    let mut s = listed(&list);
    assert_eq!(start_ready(&mut s), ["p"], "children wait for their parent");
    let p0 = s.delivered("p", pos("1")).unwrap();
    let p1 = s.delivered("p", pos("2")).unwrap();
    s.ack("p", p0);
    assert!(s.ready().is_empty(), "the parent is not read to its end");
    s.ended("p");
    assert_eq!(s.status("p"), Some(Status::Ended), "a batch is unacknowledged");
    assert_eq!(start_ready(&mut s), ["c1", "c2"], "read to its end: the children may be read");
    let c = s.delivered("c1", pos("100")).unwrap();
    s.ack("c1", c);
    assert_eq!(committed(&s, "c1"), None, "no child position before the parent is committed finished");
    assert_eq!(committed(&s, "p"), after("1"));
    assert!(s.ack("p", p1));
    assert_eq!(s.status("p"), Some(Status::Finished));
    assert_eq!(committed(&s, "c1"), after("100"), "released with the parent's finished mark");
    assert_eq!(committed(&s, "p"), Some(ShardPosition::Finished), "c2 has no checkpoint yet: the parent stays");
}

#[test]
fn a_merged_child_waits_for_both_parents() {
    let list = [info("a", &[]), info("b", &[]), info("m", &["a", "b"])];
    let mut s = listed(&list);
    assert_eq!(start_ready(&mut s), ["a", "b"]);
    s.ended("a");
    assert!(s.ready().is_empty(), "one parent of two is read to its end");
    let b0 = s.delivered("b", pos("7")).unwrap();
    s.ended("b");
    assert_eq!(start_ready(&mut s), ["m"]);
    let m0 = s.delivered("m", pos("50")).unwrap();
    s.ack("m", m0);
    assert_eq!(committed(&s, "a"), Some(ShardPosition::Finished));
    assert_eq!(committed(&s, "m"), None, "parent b is not committed finished");
    s.ack("b", b0);
    assert_eq!(committed(&s, "m"), after("50"));
    assert_eq!(committed(&s, "a"), None, "both parents pruned: their only child has a checkpoint");
    assert_eq!(committed(&s, "b"), None);
    let mut pruned = s.take_pruned();
    pruned.sort();
    assert_eq!(pruned, ["a", "b"]);
}

#[test]
fn nested_splits_commit_generation_by_generation() {
    let list = [info("p", &[]), info("c", &["p"]), info("g", &["c"])];
    let mut s = listed(&list);
    assert_eq!(start_ready(&mut s), ["p"]);
    let p0 = s.delivered("p", pos("1")).unwrap();
    s.ended("p");
    assert_eq!(start_ready(&mut s), ["c"]);
    s.ended("c");
    assert_eq!(s.status("c"), Some(Status::Finished), "an empty child finishes at once");
    assert_eq!(start_ready(&mut s), ["g"]);
    let g0 = s.delivered("g", pos("300")).unwrap();
    s.ack("g", g0);
    assert_eq!(committed(&s, "c"), None, "an empty child's finished mark waits for its parent");
    assert_eq!(committed(&s, "g"), None, "a grandchild waits for its grandparent");
    s.ack("p", p0);
    assert_eq!(committed(&s, "g"), after("300"));
    assert_eq!(committed(&s, "c"), None, "c pruned: its child has a checkpoint");
    assert_eq!(committed(&s, "p"), None, "p pruned: its child is committed");
}

#[test]
fn a_finished_shard_is_pruned_only_once_every_child_has_a_checkpoint() {
    let list = [info("p", &[]), info("c1", &["p"]), info("c2", &["p"])];
    let mut s = listed(&list);
    start_ready(&mut s);
    s.ended("p");
    assert_eq!(committed(&s, "p"), Some(ShardPosition::Finished));
    start_ready(&mut s);
    let c1 = s.delivered("c1", pos("10")).unwrap();
    s.ack("c1", c1);
    assert_eq!(committed(&s, "p"), Some(ShardPosition::Finished), "c2 has no checkpoint");
    assert!(s.take_pruned().is_empty());
    let c2 = s.delivered("c2", pos("20")).unwrap();
    s.ack("c2", c2);
    assert_eq!(committed(&s, "p"), None);
    assert_eq!(s.take_pruned(), ["p"]);
    assert_eq!(s.status("p"), None);
    s.listed(&list, &all(&list), true);
    assert_eq!(s.status("p"), None, "a pruned shard listed again is not read again");
}

#[test]
fn a_restart_skips_shards_finished_and_pruned_by_an_earlier_run() {
    let mut cp = Checkpoint { stream: "s".into(), ..Checkpoint::default() };
    cp.shards.insert("g".into(), after("5").unwrap());
    let mut s = Shards::new(cp);
    let list = [info("p", &[]), info("c", &["p"]), info("g", &["c"]), info("other", &[])];
    s.listed(&list, &all(&list), false);
    assert_eq!(s.status("p"), None, "a descendant is in the checkpoint");
    assert_eq!(s.status("c"), None);
    assert_eq!(start_ready(&mut s), ["g", "other"]);
    assert!(!s.parent_resumed("g"), "g resumes from its own position");
}

#[test]
fn a_checkpointed_finished_shard_stays_finished_and_releases_its_children() {
    let mut cp = Checkpoint { stream: "s".into(), ..Checkpoint::default() };
    cp.shards.insert("p".into(), ShardPosition::Finished);
    let mut s = Shards::new(cp);
    let list = [info("p", &[]), info("c", &["p"])];
    s.listed(&list, &all(&list), false);
    assert_eq!(s.status("p"), Some(Status::Finished));
    assert_eq!(start_ready(&mut s), ["c"]);
    assert!(s.parent_resumed("c"), "the child continues a parent read by an earlier run");
    assert!(!s.is_late("c"));
}

#[test]
fn only_assigned_shards_are_read() {
    let list = [info("a", &[]), info("b", &[])];
    let mut s = Shards::new(Checkpoint::default());
    s.listed(&list, &["b".to_owned()].into_iter().collect(), false);
    assert_eq!(s.status("a"), None);
    assert_eq!(start_ready(&mut s), ["b"]);
}

#[test]
fn shards_listed_after_the_first_listing_are_late() {
    let mut s = listed(&[info("a", &[])]);
    let more = [info("a", &[]), info("b", &[])];
    s.listed(&more, &all(&more), true);
    assert!(s.is_late("b") && !s.is_late("a"));
}

#[test]
fn a_vanished_unfinished_shard_is_reported_and_can_be_forgotten() {
    let mut cp = Checkpoint { stream: "s".into(), ..Checkpoint::default() };
    cp.shards.insert("gone".into(), after("3").unwrap());
    cp.shards.insert("done".into(), ShardPosition::Finished);
    cp.shards.insert("here".into(), after("4").unwrap());
    let mut s = Shards::new(cp);
    let listed: HashSet<&str> = ["here"].into_iter().collect();
    assert_eq!(s.vanished(&listed), [("gone".to_owned(), after("3").unwrap())]);
    s.forget("gone");
    assert!(s.vanished(&listed).is_empty());
}

#[test]
fn the_tip_refreshes_a_quiet_position_at_most_once_a_minute() {
    let mut s = listed(&[info("a", &[])]);
    let b = s.delivered("a", pos("1")).unwrap();
    assert!(!s.tip("a", 1_000_000), "nothing committed yet");
    s.ack("a", b);
    assert!(s.tip("a", 1_000_000));
    let at = |s: &Shards| match committed(s, "a") {
        Some(ShardPosition::After { arrival_millis, .. }) => arrival_millis,
        _ => None,
    };
    assert_eq!(at(&s), Some(1_000_000));
    assert!(!s.tip("a", 1_030_000), "within a minute");
    assert!(s.tip("a", 1_070_000));
    assert_eq!(at(&s), Some(1_070_000));
    s.delivered("a", pos("2"));
    assert!(!s.tip("a", 2_000_000), "a batch waits for acknowledgement");
}

#[test]
fn statuses_have_their_reported_names() {
    let names: Vec<&str> =
        [Status::Waiting, Status::Starting, Status::Reading, Status::Ended, Status::Finished].iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["waiting", "starting", "reading", "ended", "finished"]);
}
