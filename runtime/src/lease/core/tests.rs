use super::*;
use crate::lease::row::{LATEST, SHARD_END};

const FAILOVER: Duration = Duration::from_secs(10);

fn lease(key: &str, owner: Option<&str>, counter: u64) -> Lease {
    Lease { key: key.into(), owner: owner.map(Into::into), counter, checkpoint: Some("1".into()), ..Lease::default() }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn a_lease_expires_when_its_counter_stands_still_for_the_failover_time() {
    let mut e = Expiry::default();
    let leases = vec![lease("a", Some("w1"), 3), lease("b", None, 0)];
    e.observe(&leases, secs(100));
    assert!(!e.expired("a", secs(100), FAILOVER), "first seen owned: renewed now");
    assert!(e.expired("b", secs(100), FAILOVER), "first seen unowned: expired at once");
    e.observe(&leases, secs(109));
    assert!(!e.expired("a", secs(109), FAILOVER));
    e.observe(&leases, secs(110));
    assert!(e.expired("a", secs(110), FAILOVER), "unchanged for the failover time");
    let moved = vec![lease("a", Some("w1"), 4)];
    e.observe(&moved, secs(111));
    assert!(!e.expired("a", secs(120), FAILOVER), "the counter moved at 111");
    assert!(e.expired("a", secs(121), FAILOVER));
    assert!(e.expired("gone", secs(0), FAILOVER), "unknown leases are expired");
}

#[test]
fn a_held_lease_is_usable_only_until_the_failover_time_minus_the_margin() {
    let renewed = secs(50);
    let margin = fence_margin(FAILOVER);
    assert_eq!(margin, secs(1));
    assert!(usable(renewed, renewed, FAILOVER));
    assert!(usable(renewed, renewed + FAILOVER - margin - Duration::from_millis(1), FAILOVER));
    assert!(!usable(renewed, renewed + FAILOVER - margin, FAILOVER));
    assert!(!usable(renewed, renewed + FAILOVER, FAILOVER));
    assert_eq!(fence_deadline(renewed, FAILOVER), renewed + FAILOVER - margin);
    // A clock that went backwards (it cannot with CLOCK_BOOTTIME) does not make a lease unusable.
    assert!(usable(renewed, secs(10), FAILOVER));
    assert_eq!(fence_margin(Duration::from_millis(60)), Duration::from_millis(30), "never more than half");
}

/// One simulated worker.
struct Worker {
    id: String,
    held: BTreeSet<String>,
    expiry: Expiry,
    alive: bool,
}

/// Workers renewing and taking on one in-memory table, in a seeded order,
/// every `step` seconds; returns the owner changes per round.
struct Sim {
    table: BTreeMap<String, Lease>,
    workers: Vec<Worker>,
    now: Duration,
    rng: fastrand::Rng,
    max_steal: u32,
    max_per_worker: Option<u32>,
}

impl Sim {
    fn new(leases: usize, workers: usize, seed: u64) -> Self {
        let table = (0..leases).map(|i| (format!("shardId-{i:012}"), lease(&format!("shardId-{i:012}"), None, 0))).collect();
        let workers =
            (0..workers).map(|i| Worker { id: format!("w{i}"), held: BTreeSet::new(), expiry: Expiry::default(), alive: true }).collect();
        Sim { table, workers, now: secs(1_000), rng: fastrand::Rng::with_seed(seed), max_steal: 1, max_per_worker: None }
    }

    /// One take interval: every live worker renews, then takes, in a random order.
    fn round(&mut self) -> usize {
        self.now += secs(5);
        let mut order: Vec<usize> = (0..self.workers.len()).collect();
        self.rng.shuffle(&mut order);
        for &w in &order {
            let worker = &mut self.workers[w];
            if !worker.alive {
                continue;
            }
            // Renew: a lease someone else moved is lost.
            let mut lost = Vec::new();
            for k in &worker.held {
                let l = self.table.get_mut(k).unwrap();
                if l.owner.as_deref() == Some(worker.id.as_str()) {
                    l.counter += 1;
                } else {
                    lost.push(k.clone());
                }
            }
            for k in lost {
                worker.held.remove(&k);
            }
        }
        let mut changes = 0;
        for &w in &order {
            if !self.workers[w].alive {
                continue;
            }
            let leases: Vec<Lease> = self.table.values().cloned().collect();
            let seed = self.rng.u64(..);
            let worker = &mut self.workers[w];
            worker.expiry.observe(&leases, self.now);
            let p = plan(TakeInput {
                me: &worker.id,
                leases: &leases,
                held: &worker.held,
                expiry: &worker.expiry,
                now: self.now,
                failover: FAILOVER,
                max_steal: self.max_steal,
                max_per_worker: self.max_per_worker,
                seed,
            });
            assert!(p.steal.len() <= self.max_steal as usize, "stole {} at once", p.steal.len());
            if !p.steal.is_empty() {
                assert!(p.take.is_empty(), "steals only when nothing is available");
            }
            for k in p.take.iter().chain(&p.steal) {
                let observed = leases.iter().find(|l| &l.key == k).unwrap().counter;
                let l = self.table.get_mut(k).unwrap();
                if l.counter == observed {
                    l.counter += 1;
                    l.owner = Some(worker.id.clone());
                    worker.held.insert(k.clone());
                    changes += 1;
                }
            }
        }
        changes
    }

    fn loads(&self) -> Vec<usize> {
        self.workers.iter().filter(|w| w.alive).map(|w| w.held.len()).collect()
    }

    fn balanced(&self) -> bool {
        let l = self.loads();
        l.iter().max().unwrap() - l.iter().min().unwrap() <= 1 && l.iter().sum::<usize>() == self.table.len()
    }
}

#[test]
fn seeded_schedules_balance_within_one_lease_and_then_stand_still() {
    for seed in 0..40 {
        for (leases, workers) in [(4, 2), (4, 3), (12, 3), (12, 5), (7, 7), (3, 5), (16, 4)] {
            let mut sim = Sim::new(leases, workers, seed);
            let rounds = leases.div_ceil(workers) + 2 + leases;
            for _ in 0..rounds {
                sim.round();
            }
            assert!(sim.balanced(), "seed {seed}, {leases} leases on {workers} workers: {:?}", sim.loads());
            for _ in 0..10 {
                assert_eq!(sim.round(), 0, "seed {seed}, {leases}/{workers}: owners change in a steady state");
            }
        }
    }
}

#[test]
fn a_worker_that_stops_renewing_loses_its_leases_after_the_failover_time() {
    for seed in 0..20 {
        let mut sim = Sim::new(12, 3, seed);
        for _ in 0..20 {
            sim.round();
        }
        assert!(sim.balanced());
        sim.workers[0].alive = false;
        let orphaned = sim.workers[0].held.clone();
        // Not before the failover time (two rounds of 5 s).
        sim.round();
        assert!(orphaned.iter().all(|k| sim.table[k].owner.as_deref() == Some("w0")), "seed {seed}: taken before expiry");
        for _ in 0..12 {
            sim.round();
        }
        assert!(sim.balanced(), "seed {seed}: {:?}", sim.loads());
        assert!(orphaned.iter().all(|k| sim.table[k].owner.as_deref() != Some("w0")));
    }
}

#[test]
fn a_joining_worker_steals_at_most_the_limit_per_take_and_only_from_the_most_loaded() {
    let mut e = Expiry::default();
    let mut leases = Vec::new();
    for i in 0..6 {
        leases.push(lease(&format!("a{i}"), Some("big"), 1));
    }
    for i in 0..3 {
        leases.push(lease(&format!("b{i}"), Some("mid"), 1));
    }
    e.observe(&leases, secs(1));
    let held = BTreeSet::new();
    let input = TakeInput {
        me: "new",
        leases: &leases,
        held: &held,
        expiry: &e,
        now: secs(2),
        failover: FAILOVER,
        max_steal: 2,
        max_per_worker: None,
        seed: 7,
    };
    let p = plan(input);
    assert!(p.take.is_empty());
    assert_eq!(p.steal.len(), 2, "target 3, big is 3 over, the limit is 2: {p:?}");
    assert!(p.steal.iter().all(|k| k.starts_with('a')), "from the most loaded: {p:?}");
    // At target: nothing to steal, nothing to take.
    // 14 leases on 3 workers: target 5, and `new` holds 5.
    let at_target: BTreeSet<String> = ["x0", "x1", "x2", "x3", "x4"].map(String::from).into();
    let mut with_mine = leases.clone();
    with_mine.extend(at_target.iter().map(|k| lease(k, Some("new"), 1)));
    let p = plan(TakeInput { leases: &with_mine, held: &at_target, ..input });
    assert_eq!(p, Plan::default(), "at target: {p:?}");
}

#[test]
fn a_steal_never_leaves_the_victim_below_the_thief() {
    // 2 leases, 2 workers, one holds both: steal one (1-1). 3 leases: a 2-1 split stays.
    let mut e = Expiry::default();
    let two = vec![lease("a", Some("o"), 1), lease("b", Some("o"), 1)];
    e.observe(&two, secs(1));
    let none = BTreeSet::new();
    let base = TakeInput {
        me: "me",
        leases: &two,
        held: &none,
        expiry: &e,
        now: secs(2),
        failover: FAILOVER,
        max_steal: 5,
        max_per_worker: None,
        seed: 1,
    };
    assert_eq!(plan(base).steal.len(), 1);
    let three = vec![lease("a", Some("o"), 1), lease("b", Some("o"), 1), lease("c", Some("me"), 1)];
    let mut e3 = Expiry::default();
    e3.observe(&three, secs(1));
    let mine: BTreeSet<String> = ["c".to_owned()].into();
    assert_eq!(plan(TakeInput { leases: &three, held: &mine, expiry: &e3, ..base }), Plan::default(), "2-1 is balanced");
    // 4 leases on 3 workers at 2-2-0: target 2, nobody is over it, yet the
    // idle worker steals one (as the KCL does), making 2-1-1.
    let four = vec![lease("a", Some("x"), 1), lease("b", Some("x"), 1), lease("c", Some("y"), 1), lease("d", Some("y"), 1)];
    let mut e4 = Expiry::default();
    e4.observe(&four, secs(1));
    assert_eq!(plan(TakeInput { leases: &four, expiry: &e4, ..base }).steal.len(), 1, "2-2-0 becomes 2-1-1");
    // 3-2 on 2 workers with 5 leases is balanced: no steal, whatever the limit.
    let five = vec![
        lease("a", Some("o"), 1),
        lease("b", Some("o"), 1),
        lease("c", Some("o"), 1),
        lease("d", Some("me"), 1),
        lease("e", Some("me"), 1),
    ];
    let mut e5 = Expiry::default();
    e5.observe(&five, secs(1));
    let mine2: BTreeSet<String> = ["d".to_owned(), "e".to_owned()].into();
    assert_eq!(plan(TakeInput { leases: &five, held: &mine2, expiry: &e5, ..base }), Plan::default(), "3-2 is balanced");
}

#[test]
fn max_leases_per_worker_caps_what_a_worker_takes() {
    let leases: Vec<Lease> = (0..10).map(|i| lease(&format!("s{i}"), None, 0)).collect();
    let e = Expiry::default();
    let none = BTreeSet::new();
    let p = plan(TakeInput {
        me: "me",
        leases: &leases,
        held: &none,
        expiry: &e,
        now: secs(1),
        failover: FAILOVER,
        max_steal: 1,
        max_per_worker: Some(3),
        seed: 3,
    });
    assert_eq!(p.take.len(), 3);
    let mut sim = Sim::new(10, 2, 5);
    sim.max_per_worker = Some(4);
    for _ in 0..10 {
        sim.round();
    }
    assert_eq!(sim.loads(), [4, 4]);
}

#[test]
fn leases_unrenewed_for_three_failover_times_are_taken_first() {
    let leases = vec![lease("fresh", Some("x"), 1), lease("old", Some("y"), 1)];
    let mut e = Expiry::default();
    e.observe(&leases, secs(0));
    let mut moved = leases.clone();
    moved[0].counter = 2;
    e.observe(&moved, secs(15));
    // At 35 s: both expired; `old` unrenewed for 35 s (> 30), `fresh` for 20 s.
    let none = BTreeSet::new();
    for seed in 0..20 {
        let p = plan(TakeInput {
            me: "me",
            leases: &moved,
            held: &none,
            expiry: &e,
            now: secs(35),
            failover: FAILOVER,
            max_steal: 1,
            max_per_worker: Some(1),
            seed,
        });
        assert_eq!(p.take, ["old"], "seed {seed}");
    }
}

fn shard(id: &str, parents: &[&str]) -> ListedShard {
    ListedShard { id: id.into(), parents: parents.iter().map(|p| (*p).into()).collect(), range: Some((0, 10)) }
}

#[test]
fn a_child_is_read_only_after_every_parent_lease_is_finished_or_gone() {
    let mut child = lease("c", None, 0);
    child.parents = ["p1", "p2"].map(String::from).into();
    let mut p1 = lease("p1", Some("x"), 1);
    let p2 = lease("p2", Some("y"), 1);
    let by_key: HashMap<&str, &Lease> = [("p1", &p1), ("p2", &p2)].into();
    assert!(!parents_done(&child, &by_key));
    p1.checkpoint = Some(SHARD_END.into());
    let by_key: HashMap<&str, &Lease> = [("p1", &p1), ("p2", &p2)].into();
    assert!(!parents_done(&child, &by_key), "p2 is not finished");
    let by_key: HashMap<&str, &Lease> = [("p1", &p1)].into();
    assert!(parents_done(&child, &by_key), "p1 at SHARD_END, p2 gone");
}

#[test]
fn leases_are_created_parents_first_and_merges_only_with_both_or_neither_parent() {
    let ext = Ext::default();
    // A split: the parent gets its lease, the children wait for it.
    let listed = vec![shard("shardId-0", &[]), shard("shardId-1", &["shardId-0"]), shard("shardId-2", &["shardId-0"])];
    let created = leases_to_create(&listed, &[], LATEST, &ext);
    assert_eq!(created.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), ["shardId-0"]);
    assert_eq!(created[0].checkpoint.as_deref(), Some(LATEST));
    let created = leases_to_create(&listed, &created, LATEST, &ext);
    assert_eq!(created.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), ["shardId-1", "shardId-2"]);
    assert!(created.iter().all(|l| l.checkpoint.as_deref() == Some(TRIM_HORIZON)), "children start at TRIM_HORIZON");
    assert_eq!(created[0].parents.iter().collect::<Vec<_>>(), ["shardId-0"]);
    assert_eq!(created[0].starting_hash_key.as_deref(), Some("0"));
    // A merge with one parent's lease missing (that parent is listed): wait.
    let merge = vec![shard("shardId-3", &[]), shard("shardId-4", &[]), shard("shardId-5", &["shardId-3", "shardId-4"])];
    let only3 = vec![lease("shardId-3", None, 0)];
    let created = leases_to_create(&merge, &only3, LATEST, &ext);
    assert_eq!(created.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), ["shardId-4"]);
    let both = vec![lease("shardId-3", None, 0), lease("shardId-4", None, 0)];
    assert_eq!(leases_to_create(&merge, &both, LATEST, &ext).len(), 1, "both parents: the child");
    // Neither parent is left (trimmed): the child is a root at the initial position.
    let orphan = vec![shard("shardId-5", &["shardId-3", "shardId-4"])];
    let created = leases_to_create(&orphan, &[], LATEST, &ext);
    assert_eq!(created[0].checkpoint.as_deref(), Some(LATEST));
    // A parent finished and deleted earlier (its child has a lease) is never recreated.
    let child_leased = vec![lease("shardId-1", None, 0), lease("shardId-2", None, 0)];
    assert!(leases_to_create(&listed, &child_leased, LATEST, &ext).is_empty());
}

#[test]
fn finished_leases_are_deleted_once_every_child_is_past_its_start_and_the_parents_are_gone() {
    let mut parent = lease("p", Some("me"), 3);
    parent.checkpoint = Some(SHARD_END.into());
    parent.children = ["c1", "c2"].map(String::from).into();
    let mut c1 = lease("c1", None, 0);
    let mut c2 = lease("c2", None, 0);
    c2.checkpoint = Some(TRIM_HORIZON.into());
    assert!(!deletable(&parent, &[("c1", &c1), ("c2", &c2)].into(), &[]), "c2 still at its start");
    c2.checkpoint = Some("99".into());
    assert!(deletable(&parent, &[("c1", &c1), ("c2", &c2)].into(), &[]));
    assert!(!deletable(&parent, &[("c1", &c1)].into(), &[]), "c2 has no lease");
    let grand = lease("g", None, 0);
    parent.parents = ["g".to_owned()].into();
    assert!(!deletable(&parent, &[("c1", &c1), ("c2", &c2), ("g", &grand)].into(), &[]), "its own parent is still there");
    c1.checkpoint = Some(SHARD_END.into());
    let mut open = c1.clone();
    open.checkpoint = Some("5".into());
    assert!(!deletable(&open, &HashMap::new(), &[]), "not at SHARD_END");
    let mut lonely = parent.clone();
    lonely.children.clear();
    lonely.parents.clear();
    assert!(!deletable(&lonely, &HashMap::new(), &[]), "no known children");
    assert!(!deletable(&lonely, &HashMap::new(), &["c9"]), "a listed child without a lease");
}

#[test]
fn a_table_of_another_stream_is_refused() {
    let listed = vec![shard("shardId-000000000000", &[]), shard("shardId-000000000001", &[])];
    let mut ok = lease("shardId-000000000001", Some("w"), 1);
    ok.starting_hash_key = Some("0".into());
    ok.ending_hash_key = Some("10".into());
    assert!(check_table(std::slice::from_ref(&ok), &listed, "s").is_ok());
    let multi = lease("123456789012:orders:1700000000:shardId-000000000000", None, 0);
    let e = check_table(&[multi], &listed, "s").unwrap_err();
    assert_eq!(e.kind(), LeaseErrorKind::Foreign);
    assert!(e.message().contains("multi-stream"), "{e}");
    let mut other_range = ok.clone();
    other_range.ending_hash_key = Some("11".into());
    let e = check_table(&[other_range], &listed, "s").unwrap_err();
    assert!(e.message().contains("hash range"), "{e}");
    let beyond = lease("shardId-000000000007", None, 0);
    assert_eq!(check_table(&[beyond], &listed, "s").unwrap_err().kind(), LeaseErrorKind::Foreign);
    let odd = lease("partition-3", None, 0);
    assert_eq!(check_table(&[odd], &listed, "s").unwrap_err().kind(), LeaseErrorKind::Foreign);
    let mut other_stream = ok.clone();
    other_stream.ext.stream = Some("t".into());
    assert_eq!(check_table(&[other_stream], &listed, "s").unwrap_err().kind(), LeaseErrorKind::Foreign);
    // A finished, trimmed shard of this stream (lower index, not listed) is fine.
    let trimmed = lease("shardId-000000000000", None, 0);
    assert!(check_table(&[trimmed], &listed[1..], "s").is_ok());
}
