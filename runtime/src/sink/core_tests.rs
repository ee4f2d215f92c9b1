//! The sink core without Kinesis: requests and answers are made up, the
//! clock is a number. Milliseconds each.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Core;
use crate::kpl;
use crate::retry::Class;
use crate::sink::layout::{Layout, ListedShard};
use crate::sink::request::{AggLimits, Entry, Limits, Reply, Request, UnitResult};
use crate::sink::stats::Counters;

fn limits(aggregation: Option<AggLimits>) -> Limits {
    Limits {
        batch_records: 4,
        batch_bytes: 5 << 20,
        flush_bytes: 5 << 20,
        flush_timeout: Duration::from_millis(10),
        max_inflight: 3,
        max_buffered: 10_000,
        fail_on_error: false,
        aggregation,
    }
}

fn core(aggregation: Option<AggLimits>) -> Core<()> {
    Core::new(limits(aggregation), Arc::new(Counters::default()), "test")
}

fn entry(seq: u64, key: &str, at: Instant) -> Entry<()> {
    let data = format!("{key}-{seq}").into_bytes();
    Entry {
        seq,
        size: data.len() + key.len(),
        data,
        key: key.into(),
        hash: kpl::hash_key(key),
        origin: None,
        attempts: 0,
        not_before: None,
        enqueued: at,
        _permit: (),
    }
}

fn two_shards() -> Layout {
    let half = u128::MAX / 2;
    Layout::new(vec![
        ListedShard { id: "s0".into(), start: 0, end: half, open: true, parents: vec![] },
        ListedShard { id: "s1".into(), start: half + 1, end: u128::MAX, open: true, parents: vec![] },
    ])
}

/// The keys of a request, each once per unit.
fn keys_of(req: &Request<()>) -> Vec<Arc<str>> {
    let mut keys: Vec<Arc<str>> = Vec::new();
    for u in &req.units {
        let mut seen = HashSet::new();
        for e in &u.entries {
            if seen.insert(e.key.clone()) {
                keys.push(e.key.clone());
            }
        }
    }
    keys
}

/// One made-up answer, drawn from every failure pattern.
fn answer(rng: &mut fastrand::Rng, req: &Request<()>) -> Reply {
    let n = req.units.len();
    match rng.u8(0..10) {
        0 => Reply::Failed { reason: "503".into(), class: Class::Transient },
        1 => Reply::Failed { reason: "throttled".into(), class: Class::Throttled },
        2 => Reply::Failed { reason: "by name".into(), class: Class::Retarget },
        3 => Reply::Answered(vec![UnitResult::ok("s0"); n.saturating_sub(1)]),
        4..=6 => Reply::Answered(
            req.units
                .iter()
                .map(|u| match rng.u8(0..3) {
                    0 => UnitResult::failed("ProvisionedThroughputExceededException", "slow down"),
                    1 => UnitResult::failed("InternalFailure", "oops"),
                    _ => UnitResult::ok(u.shard.as_deref().unwrap_or("s0")),
                })
                .collect(),
        ),
        _ => Reply::Answered(req.units.iter().map(|u| UnitResult::ok(u.shard.as_deref().unwrap_or("s0"))).collect()),
    }
}

/// Drives a core over a seeded schedule: records arrive in bursts, answers
/// come back in random order with every failure pattern, the clock jumps.
/// Checks that a key is never in two units in flight, and returns each
/// key's records in the order they were first written.
fn run_schedule(seed: u64, aggregation: Option<AggLimits>) -> (HashMap<Arc<str>, Vec<u64>>, u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut core = core(aggregation);
    if aggregation.is_some() {
        core.install_layout(two_shards());
    }
    let keys = ["a", "b", "c", "d", "e", "f"];
    let total = 120u64;
    let mut now = Instant::now();
    let mut sent = 0u64;
    let mut inflight: Vec<Request<()>> = Vec::new();
    let mut flying: HashSet<Arc<str>> = HashSet::new();
    let mut written: HashMap<Arc<str>, Vec<u64>> = HashMap::new();
    let mut done: HashSet<u64> = HashSet::new();
    let mut order: HashMap<Arc<str>, Vec<u64>> = HashMap::new();
    for _ in 0..20_000 {
        if sent < total {
            for _ in 0..rng.usize(0..6) {
                if sent < total {
                    let k = keys[rng.usize(0..keys.len())];
                    order.entry(Arc::from(k)).or_default().push(sent);
                    core.receive(entry(sent, k, now));
                    sent += 1;
                }
            }
        }
        core.set_flushing(sent == total);
        core.check_invariants();
        for req in core.take_requests(now) {
            for k in keys_of(&req) {
                assert!(flying.insert(k.clone()), "seed {seed}: key {k} has two units in flight");
            }
            inflight.push(req);
        }
        // Liveness: with nothing in flight, records held mean a timer.
        assert!(
            !inflight.is_empty() || core.is_idle() || core.next_wake(now).is_some(),
            "seed {seed}: records held with nothing in flight and no timer"
        );
        if !inflight.is_empty() && rng.u8(0..3) > 0 {
            let req = inflight.swap_remove(rng.usize(0..inflight.len()));
            for k in keys_of(&req) {
                flying.remove(&k);
            }
            let reply = answer(&mut rng, &req);
            if let Reply::Answered(results) = &reply
                && results.len() == req.units.len()
            {
                for (u, r) in req.units.iter().zip(results) {
                    if r.error.is_none() {
                        for e in &u.entries {
                            if done.insert(e.seq) {
                                let w = written.entry(e.key.clone()).or_default();
                                // The key's next record in send order, and no other.
                                assert_eq!(order[&e.key].get(w.len()), Some(&e.seq), "seed {seed}: key {} written out of order", e.key);
                                w.push(e.seq);
                            }
                        }
                    }
                }
            }
            core.complete(req, reply, now);
            core.check_invariants();
        }
        now += Duration::from_millis(rng.u64(0..400));
        if sent == total && inflight.is_empty() && core.is_idle() {
            break;
        }
    }
    assert!(core.is_idle(), "seed {seed}: the schedule did not finish");
    assert_eq!(core.acknowledged_through(), total, "seed {seed}");
    (written, total)
}

fn assert_in_send_order(written: &HashMap<Arc<str>, Vec<u64>>, total: u64, seed: u64) {
    let mut all = 0;
    for (k, seqs) in written {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seed {seed}: key {k} was written out of order: {seqs:?}");
        all += seqs.len() as u64;
    }
    assert_eq!(all, total, "seed {seed}: every record written once");
}

#[test]
fn per_key_order_holds_under_every_failure_pattern() {
    for seed in 0..200 {
        let (written, total) = run_schedule(seed, None);
        assert_in_send_order(&written, total, seed);
    }
}

#[test]
fn per_key_order_holds_with_aggregation_under_every_failure_pattern() {
    for seed in 0..200 {
        let (written, total) = run_schedule(seed, Some(AggLimits { max_bytes: 300, max_records: 5 }));
        assert_in_send_order(&written, total, seed);
    }
}

#[test]
fn a_request_takes_the_oldest_ready_keys_once_each() {
    let mut c = core(None);
    let t = Instant::now();
    for (i, k) in ["a", "a", "b", "c", "a", "d", "e"].iter().enumerate() {
        c.receive(entry(i as u64, k, t));
    }
    // 7 buffered ≥ the batch of 4: a request goes without waiting.
    let reqs = c.take_requests(t);
    let seqs: Vec<Vec<u64>> = reqs.iter().map(|r| r.units.iter().map(|u| u.entries[0].seq).collect()).collect();
    // a's second and third records wait for its first; `e` waits: 3
    // buffered records make no full batch and none is due.
    assert_eq!(seqs, vec![vec![0, 2, 3, 5]]);
    c.set_flushing(true);
    let seqs: Vec<u64> = c.take_requests(t).iter().flat_map(|r| r.units.iter().map(|u| u.entries[0].seq)).collect();
    assert_eq!(seqs, vec![6]);
}

#[test]
fn a_failed_request_comes_back_first_after_its_backoff() {
    let mut c = core(None);
    let t = Instant::now();
    for i in 0..3 {
        c.receive(entry(i, "k", t));
    }
    c.set_flushing(true);
    let mut reqs = c.take_requests(t);
    assert_eq!(reqs.len(), 1);
    let req = reqs.remove(0);
    assert_eq!(req.units[0].entries[0].seq, 0);
    c.complete(req, Reply::Failed { reason: "503".into(), class: Class::Transient }, t);
    // Backing off: nothing goes, and the core says when to look again.
    assert!(c.take_requests(t).is_empty());
    let wake = c.next_wake(t).expect("a backoff end");
    assert!(wake > t);
    let again = c.take_requests(wake);
    assert_eq!(again[0].units[0].entries[0].seq, 0);
    assert_eq!(again[0].units[0].entries[0].attempts, 1);
    assert_eq!(c.acknowledged_through(), 0);
}

#[test]
fn without_a_flush_condition_records_wait_for_the_timeout() {
    let mut c = core(None);
    let t = Instant::now();
    c.receive(entry(0, "k", t));
    assert!(c.take_requests(t).is_empty());
    let wake = c.next_wake(t).expect("the flush timeout");
    assert_eq!(wake, t + Duration::from_millis(10));
    assert_eq!(c.take_requests(wake).len(), 1);
    // Every request slot taken: no timer (an answer wakes the worker).
    assert_eq!(c.next_wake(wake), None);
}

#[test]
fn packing_never_mixes_shards_and_keeps_limits_and_key_order() {
    let a = AggLimits { max_bytes: 200, max_records: 4 };
    let mut c = core(Some(a));
    let layout = two_shards();
    c.install_layout(two_shards());
    let t = Instant::now();
    let keys: Vec<String> = (0..12).map(|i| format!("key-{i}")).collect();
    for seq in 0..60u64 {
        c.receive(entry(seq, &keys[(seq as usize * 7) % keys.len()], t));
    }
    c.set_flushing(true);
    let reqs = c.take_requests(t);
    assert!(!reqs.is_empty());
    let mut keys_seen = HashSet::new();
    for req in &reqs {
        assert!(req.units.len() <= 4);
        for u in &req.units {
            let shard = u.shard.as_deref().expect("packed for a shard");
            let si = layout.open.iter().position(|s| &*s.2 == shard).expect("a known shard");
            assert!(u.entries.len() <= a.max_records);
            if u.is_aggregate {
                assert!(u.data().len() <= a.max_bytes, "{} bytes", u.data().len());
            }
            let mut last: BTreeMap<&str, u64> = BTreeMap::new();
            for e in &u.entries {
                assert_eq!(layout.shard_of(e.hash), Some(si), "an aggregate mixes shards");
                if let Some(prev) = last.insert(&e.key, e.seq) {
                    assert!(prev < e.seq, "key order inside an aggregate");
                }
            }
            // A key is in one unit of all the requests in flight.
            for k in u.entries.iter().map(|e| e.key.clone()).collect::<HashSet<_>>() {
                assert!(keys_seen.insert(k), "a key in two units in flight");
            }
        }
    }
}

#[test]
fn partly_filled_aggregates_wait_until_full_or_due() {
    let a = AggLimits { max_bytes: 100_000, max_records: 1000 };
    let mut c = core(Some(a));
    c.install_layout(two_shards());
    let t = Instant::now();
    for seq in 0..10 {
        c.receive(entry(seq, &format!("k{}", seq % 3), t));
    }
    // Not full, not due, nothing fresh enough: held back, nothing lost.
    assert!(c.take_requests(t).is_empty());
    let due = t + Duration::from_millis(10);
    let reqs = c.take_requests(due);
    let n: usize = reqs.iter().map(Request::records).sum();
    assert_eq!(n, 10);
}

#[test]
fn a_reshard_moves_queued_records_to_the_children_by_hash_key() {
    let a = AggLimits { max_bytes: 100_000, max_records: 1000 };
    let mut c = core(Some(a));
    c.install_layout(Layout::new(vec![ListedShard { id: "p".into(), start: 0, end: u128::MAX, open: true, parents: vec![] }]));
    let t = Instant::now();
    let keys: Vec<String> = (0..8).map(|i| format!("key-{i}")).collect();
    for seq in 0..32u64 {
        c.receive(entry(seq, &keys[seq as usize % keys.len()], t));
    }
    c.set_flushing(true);
    let mut reqs = c.take_requests(t);
    assert_eq!(reqs.len(), 1);
    let req = reqs.remove(0);
    assert!(req.units.iter().all(|u| u.shard.as_deref() == Some("p")));
    let closed = req.units.iter().map(|_| UnitResult::failed("InvalidArgumentException", "shard p is closed")).collect();
    c.complete(req, Reply::Answered(closed), t);
    // The layout is stale: nothing is packed until it is read again.
    assert!(c.awaiting_layout());
    assert!(c.take_requests(t + Duration::from_secs(10)).is_empty());
    let half = u128::MAX / 2;
    c.install_layout(Layout::new(vec![
        ListedShard { id: "p".into(), start: 0, end: u128::MAX, open: false, parents: vec![] },
        ListedShard { id: "a".into(), start: 0, end: half, open: true, parents: vec!["p".into()] },
        ListedShard { id: "b".into(), start: half + 1, end: u128::MAX, open: true, parents: vec!["p".into()] },
    ]));
    let later = t + Duration::from_secs(10);
    let reqs = c.take_requests(later);
    let mut by_key: HashMap<Arc<str>, Vec<u64>> = HashMap::new();
    let mut n = 0;
    for u in reqs.iter().flat_map(|r| &r.units) {
        let child = u.shard.as_deref().expect("packed for a child");
        for e in &u.entries {
            n += 1;
            let want = if e.hash <= half { "a" } else { "b" };
            assert_eq!(child, want, "record {} went to the wrong child", e.seq);
            by_key.entry(e.key.clone()).or_default().push(e.seq);
        }
    }
    assert_eq!(n, 32);
    for (k, seqs) in by_key {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{k}: {seqs:?}");
    }
}

#[test]
fn records_that_land_outside_their_shard_are_counted_after_a_new_read() {
    let counters = Arc::new(Counters::default());
    let mut c: Core<()> = Core::new(limits(Some(AggLimits { max_bytes: 100_000, max_records: 1000 })), counters.clone(), "test");
    c.install_layout(Layout::new(vec![ListedShard { id: "p".into(), start: 0, end: u128::MAX, open: true, parents: vec![] }]));
    let t = Instant::now();
    // Two keys, one in each half of the range.
    let (low, high) = ("key-1", "key-0");
    assert!(kpl::hash_key(low) <= u128::MAX / 2 && kpl::hash_key(high) > u128::MAX / 2);
    c.receive(entry(0, low, t));
    c.receive(entry(1, high, t));
    c.set_flushing(true);
    let req = c.take_requests(t).remove(0);
    let landed = req.units.iter().map(|_| UnitResult::ok("a")).collect();
    c.complete(req, Reply::Answered(landed), t);
    assert!(c.awaiting_layout());
    let half = u128::MAX / 2;
    c.install_layout(Layout::new(vec![
        ListedShard { id: "a".into(), start: 0, end: half, open: true, parents: vec!["p".into()] },
        ListedShard { id: "b".into(), start: half + 1, end: u128::MAX, open: true, parents: vec!["p".into()] },
    ]));
    let s = counters.snapshot();
    assert_eq!((s.layout_refreshes, s.out_of_range_records, s.acknowledged), (1, 1, 2));
}

#[test]
fn a_kms_error_fails_the_core_and_counts_what_it_gives_up() {
    let counters = Arc::new(Counters::default());
    let mut c: Core<()> = Core::new(limits(None), counters.clone(), "test");
    let t = Instant::now();
    for i in 0..6 {
        c.receive(entry(i, &format!("k{i}"), t));
    }
    c.set_flushing(true);
    let mut reqs = c.take_requests(t);
    let first = reqs.remove(0);
    let n = first.units.len();
    c.complete(first, Reply::Answered(vec![UnitResult::failed("KMSDisabledException", "disabled"); n]), t);
    assert!(c.failure().is_some_and(|f| f.contains("KMSDisabledException")));
    // The other request's records come back and are given up on too; so is a late record.
    let second = reqs.remove(0);
    let m = second.units.len();
    c.complete(second, Reply::Answered(vec![UnitResult::ok("s0"); m]), t);
    c.receive(entry(6, "late", t));
    let s = counters.snapshot();
    assert_eq!(s.given_up + s.acknowledged, 7);
    assert!(c.take_requests(t).is_empty());
}

#[test]
fn acknowledgements_per_origin_are_prefixes_of_what_each_shard_sent() {
    let mut c = core(None);
    let t = Instant::now();
    for (i, (k, o)) in [("a", "s1"), ("b", "s2"), ("a", "s1"), ("c", "s1")].iter().enumerate() {
        let mut e = entry(i as u64, k, t);
        e.origin = Some((Arc::from(*o), 0));
        c.receive(e);
    }
    c.set_flushing(true);
    let req = c.take_requests(t).remove(0);
    // a#0 (s1) fails, b (s2) and c (s1) are written.
    let results =
        req.units.iter().map(|u| if &*u.key == "a" { UnitResult::failed("InternalFailure", "x") } else { UnitResult::ok("s0") }).collect();
    c.complete(req, Reply::Answered(results), t);
    let by: BTreeMap<Arc<str>, u64> = c.acknowledged_by_origin().into_iter().collect();
    assert_eq!(by.get("s1"), Some(&0));
    assert_eq!(by.get("s2"), Some(&1));
}

fn four_shards() -> Layout {
    let q = u128::MAX / 4;
    Layout::new(
        (0..4u128)
            .map(|i| ListedShard {
                id: format!("s{i}").into(),
                start: i * q + i.min(1) * (i > 0) as u128,
                end: if i == 3 { u128::MAX } else { (i + 1) * q },
                open: true,
                parents: vec![],
            })
            .collect(),
    )
}

/// A worker's loop against a server that answers everything: records come
/// while fewer than `max-buffered` are open (the permits), answers in random
/// order, and the clock only moves to the core's next timer. The core must
/// never hold records with nothing in flight and no timer.
fn never_stuck(seed: u64, aggregation: Option<AggLimits>, max_buffered: usize, keys: usize, total: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut l = limits(aggregation);
    l.max_buffered = max_buffered;
    l.batch_records = 500;
    l.max_inflight = 16;
    l.flush_timeout = Duration::from_millis(50);
    let mut core: Core<()> = Core::new(l, Arc::new(Counters::default()), "test");
    core.install_layout(four_shards());
    let mut now = Instant::now();
    let (mut sent, mut acked) = (0u64, 0u64);
    let mut inflight: Vec<Request<()>> = Vec::new();
    while acked < total {
        while sent < total && (sent - acked) < max_buffered as u64 && rng.u8(0..8) > 0 {
            let k = format!("key-{}", (sent as usize * 7919) % keys);
            core.receive(entry(sent, &k, now));
            sent += 1;
        }
        inflight.extend(core.take_requests(now));
        core.check_invariants();
        if !inflight.is_empty() && rng.bool() {
            let req = inflight.swap_remove(rng.usize(0..inflight.len()));
            acked += req.records() as u64;
            let ok = req.units.iter().map(|u| UnitResult::ok(u.shard.as_deref().unwrap_or("s0"))).collect();
            core.complete(req, Reply::Answered(ok), now);
            core.check_invariants();
            continue;
        }
        if inflight.is_empty() && !(sent < total && (sent - acked) < max_buffered as u64) {
            let wake = core.next_wake(now);
            assert!(wake.is_some() || core.is_idle(), "seed {seed}: stuck with {} open, nothing in flight, no timer", sent - acked);
            now = wake.unwrap_or(now);
        }
    }
}

#[test]
fn the_core_never_holds_records_without_a_request_or_a_timer() {
    for seed in 0..8 {
        never_stuck(seed, Some(AggLimits { max_bytes: 51_200, max_records: 1000 }), 2_000, 200, 6_000);
        never_stuck(seed, Some(AggLimits { max_bytes: 2_000, max_records: 20 }), 300, 50, 3_000);
        never_stuck(seed, None, 2_000, 200, 6_000);
        never_stuck(seed, None, 25, 300, 3_000);
    }
}

/// A fenced source shard (its lease lost): no new request carries its
/// records, a request already in flight finishes, and the watermark moves
/// past the dropped records once the others are written.
#[test]
fn records_of_a_fenced_source_shard_are_never_sent_and_leave_the_watermark() {
    let mut core = core(None);
    let now = Instant::now();
    let later = now + Duration::from_millis(20);
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let l = lost.clone();
    *core.fence.lock().unwrap() = Some(Arc::new(move |o: &str| !(o == "s1" && l.load(std::sync::atomic::Ordering::SeqCst))));
    let from = |seq: u64, key: &str, origin: &str| Entry { origin: Some((Arc::from(origin), 0)), ..entry(seq, key, now) };
    // Key a: an s1 record goes out first; then s1 and s2 records queue behind it.
    core.receive(from(0, "a", "s1"));
    let first = core.take_requests(later);
    assert_eq!(first.len(), 1);
    for (seq, key, origin) in [(1, "a", "s1"), (2, "a", "s2"), (3, "b", "s1"), (4, "b", "s2")] {
        core.receive(from(seq, key, origin));
    }
    lost.store(true, std::sync::atomic::Ordering::SeqCst);
    core.receive(from(5, "c", "s1"));
    let reqs = core.take_requests(later);
    core.check_invariants();
    let sent: Vec<u64> = reqs.iter().flat_map(|r| r.units.iter().flat_map(|u| u.entries.iter().map(|e| e.seq))).collect();
    assert_eq!(sent, [4], "only b's s2 record goes (a's key is still in flight)");
    assert_eq!(core.counters.fenced.load(std::sync::atomic::Ordering::Relaxed), 3, "records 1, 3 and 5");
    // The request in flight finishes; a's s2 record follows.
    for r in first.into_iter().chain(reqs) {
        let n = r.units.len();
        core.complete(r, Reply::Answered(vec![UnitResult::ok("s0"); n]), now);
    }
    let next = core.take_requests(later);
    let sent: Vec<u64> = next.iter().flat_map(|r| r.units.iter().flat_map(|u| u.entries.iter().map(|e| e.seq))).collect();
    assert_eq!(sent, [2]);
    for r in next {
        let n = r.units.len();
        core.complete(r, Reply::Answered(vec![UnitResult::ok("s0"); n]), now);
    }
    core.check_invariants();
    assert_eq!(core.acknowledged_through(), 6, "the watermark passes the fenced records");
    assert!(core.is_idle());
}
