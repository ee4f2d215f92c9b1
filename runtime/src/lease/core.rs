//! The lease protocol without I/O: which leases are expired, which to take
//! and steal, whether a held lease may still be used (fencing), whether a
//! child may be read, which leases to create after a listing and which
//! finished leases to delete. Time is an explicit argument, read from a
//! [`Clock`](super::Clock) by the caller.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use super::error::{LeaseError, LeaseErrorKind};
use super::row::{Ext, Lease, TRIM_HORIZON};

/// How long before the failover time a worker stops using a lease it could
/// not renew: a tenth of the failover time, at least 50 ms. Renewal time is
/// taken when the renewal was *sent*, which is no later than any other
/// worker's first sight of the new counter; the margin covers clock-rate
/// differences and the time between a check and the use it allows.
pub fn fence_margin(failover: Duration) -> Duration {
    (failover / 10).max(Duration::from_millis(50)).min(failover / 2)
}

/// Whether a lease last renewed (request sent) at `renewed` may still be used at `now`.
pub fn usable(renewed: Duration, now: Duration, failover: Duration) -> bool {
    now.saturating_sub(renewed) < failover - fence_margin(failover)
}

/// When a lease last renewed at `renewed` stops being usable.
pub fn fence_deadline(renewed: Duration, failover: Duration) -> Duration {
    renewed + failover - fence_margin(failover)
}

/// What one worker has seen of each lease: the counter, and when (on its
/// own clock) it saw the counter change. A lease is expired when its counter
/// has not moved for the failover time.
#[derive(Debug, Default, Clone)]
pub struct Expiry {
    seen: HashMap<String, Seen>,
}

#[derive(Debug, Clone)]
struct Seen {
    counter: u64,
    /// `None`: never seen moving and unowned at first sight (as the KCL: expired at once).
    since: Option<Duration>,
}

impl Expiry {
    /// Takes in a scan made at `now`. A lease first seen owned counts as
    /// renewed now; one first seen unowned, as long expired.
    pub fn observe(&mut self, leases: &[Lease], now: Duration) {
        let mut next = HashMap::with_capacity(leases.len());
        for l in leases {
            let since = match self.seen.get(&l.key) {
                Some(s) if s.counter == l.counter => s.since,
                Some(_) => Some(now),
                None if l.owner.is_some() => Some(now),
                None => None,
            };
            next.insert(l.key.clone(), Seen { counter: l.counter, since });
        }
        self.seen = next;
    }

    /// Records a write of ours that moved the counter to `counter` at `now`.
    pub fn wrote(&mut self, key: &str, counter: u64, now: Duration) {
        self.seen.insert(key.to_owned(), Seen { counter, since: Some(now) });
    }

    /// Whether the lease's counter has not moved for `failover` (or was never seen moving).
    pub fn expired(&self, key: &str, now: Duration, failover: Duration) -> bool {
        match self.seen.get(key) {
            Some(Seen { since: Some(t), .. }) => now.saturating_sub(*t) >= failover,
            _ => true,
        }
    }

    /// Unrenewed for three failover times: taken first, as the KCL does.
    fn very_old(&self, key: &str, now: Duration, failover: Duration) -> bool {
        match self.seen.get(key) {
            Some(Seen { since: Some(t), .. }) => now.saturating_sub(*t) >= failover * 3,
            _ => true,
        }
    }
}

/// What the taker decides on.
#[derive(Debug, Clone, Copy)]
pub struct TakeInput<'a> {
    pub me: &'a str,
    pub leases: &'a [Lease],
    /// The leases this worker holds (their counters are its own).
    pub held: &'a BTreeSet<String>,
    pub expiry: &'a Expiry,
    pub now: Duration,
    pub failover: Duration,
    pub max_steal: u32,
    pub max_per_worker: Option<u32>,
    /// Seeds the choice among equal candidates.
    pub seed: u64,
}

/// The leases to take (available: unowned or expired) and to steal (from
/// the most loaded worker).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub take: Vec<String>,
    pub steal: Vec<String>,
}

/// The KCL 2.x taker (`DynamoDBLeaseTaker.computeLeasesToTake`): workers
/// are the owners of unexpired leases plus this one; target =
/// ceil(leases / workers), capped by `max_per_worker`; take available leases
/// (unrenewed for three failover times first) up to the target; only when
/// none is available, steal from the most loaded worker, at most
/// `max_steal`, and only leases above that worker's target — except, as the
/// KCL, one lease when this worker needs more than one and that worker is
/// exactly at target (4 leases on 3 workers must become 2-1-1, not 2-2-0). A
/// steal never leaves the victim with fewer leases than this worker then has.
pub fn plan(i: TakeInput<'_>) -> Plan {
    let mut rng = fastrand::Rng::with_seed(i.seed);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    counts.insert(i.me, 0);
    let mut available = Vec::new();
    let mut owned_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in i.leases {
        if i.held.contains(&l.key) {
            *counts.entry(i.me).or_default() += 1;
            continue;
        }
        match l.owner.as_deref() {
            Some(o) if o != i.me && !i.expiry.expired(&l.key, i.now, i.failover) => {
                *counts.entry(o).or_default() += 1;
                owned_by.entry(o).or_default().push(&l.key);
            }
            _ => available.push(l),
        }
    }
    let n = i.leases.len();
    if n == 0 {
        return Plan::default();
    }
    let workers = counts.len();
    let mut target = if workers >= n { 1 } else { n.div_ceil(workers) };
    if let Some(max) = i.max_per_worker {
        target = target.min(max as usize);
    }
    let mine = counts.get(i.me).copied().unwrap_or(0);
    let needed = target.saturating_sub(mine);
    if needed == 0 {
        return Plan::default();
    }
    if !available.is_empty() {
        rng.shuffle(&mut available);
        available.sort_by_key(|l| !i.expiry.very_old(&l.key, i.now, i.failover));
        return Plan { take: available.into_iter().take(needed).map(|l| l.key.clone()).collect(), steal: Vec::new() };
    }
    // The most loaded other worker (ties: the smallest id, for determinism).
    let Some((victim, &load)) = counts.iter().filter(|(w, _)| **w != i.me).max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else {
        return Plan::default();
    };
    if load < target {
        return Plan::default();
    }
    let over = load - target;
    let mut steal = needed.min(over);
    if needed > 1 && over == 0 {
        steal = 1;
    }
    steal = steal.min(i.max_steal as usize);
    // Never leave the victim below this worker: that would only move the imbalance.
    while steal > 0 && load - steal < mine + steal {
        steal -= 1;
    }
    let mut candidates = owned_by.remove(victim).unwrap_or_default();
    rng.shuffle(&mut candidates);
    Plan { take: Vec::new(), steal: candidates.into_iter().take(steal).map(str::to_owned).collect() }
}

/// Whether a child's lease may be read: every parent lease is at
/// `SHARD_END` or gone from the table.
pub fn parents_done(lease: &Lease, by_key: &HashMap<&str, &Lease>) -> bool {
    lease.parents.iter().all(|p| by_key.get(p.as_str()).is_none_or(|pl| pl.is_shard_end()))
}

/// A shard as listed, for lease creation and the table check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedShard {
    pub id: String,
    pub parents: Vec<String>,
    pub range: Option<(u128, u128)>,
}

/// The leases to create after a listing, as the KCL's
/// `HierarchicalShardSyncer` does: one per listed shard without a lease,
/// except shards finished and cleaned up before (a descendant has a lease),
/// and a child only once no parent is still waiting for its own lease
/// (a merge: both parents' leases exist, or neither parent is left). A
/// child starts at `TRIM_HORIZON`; a shard without a leased parent at
/// `initial`.
pub fn leases_to_create(listed: &[ListedShard], leases: &[Lease], initial: &str, ext: &Ext) -> Vec<Lease> {
    let leased: HashMap<&str, &Lease> = leases.iter().map(|l| (l.key.as_str(), l)).collect();
    let listed_ids: HashMap<&str, &ListedShard> = listed.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in listed {
        for p in &s.parents {
            children.entry(p.as_str()).or_default().push(s.id.as_str());
        }
    }
    let cleaned = |id: &str| -> bool {
        let mut stack: Vec<&str> = children.get(id).cloned().unwrap_or_default();
        let mut seen = BTreeSet::new();
        while let Some(c) = stack.pop() {
            if !seen.insert(c) {
                continue;
            }
            if leased.contains_key(c) {
                return true;
            }
            stack.extend(children.get(c).into_iter().flatten());
        }
        false
    };
    let mut out = Vec::new();
    for s in listed {
        if leased.contains_key(s.id.as_str()) || cleaned(&s.id) {
            continue;
        }
        // A parent listed without a lease, not cleaned up: its lease comes first.
        let waiting = s.parents.iter().any(|p| !leased.contains_key(p.as_str()) && listed_ids.contains_key(p.as_str()) && !cleaned(p));
        if waiting {
            continue;
        }
        let child = s.parents.iter().any(|p| leased.contains_key(p.as_str()));
        let mut lease = Lease::new(&s.id, if child { TRIM_HORIZON } else { initial });
        lease.parents = s.parents.iter().cloned().collect();
        if let Some((lo, hi)) = s.range {
            lease.starting_hash_key = Some(lo.to_string());
            lease.ending_hash_key = Some(hi.to_string());
        }
        lease.ext = ext.clone();
        out.push(lease);
    }
    out
}

/// Whether a finished lease may be deleted, as the KCL's
/// `LeaseCleanupManager`: it is at `SHARD_END`, it has children, every child
/// has a lease with a checkpoint past its start, and its own parents' leases
/// are gone.
pub fn deletable(lease: &Lease, by_key: &HashMap<&str, &Lease>, listed_children: &[&str]) -> bool {
    if !lease.is_shard_end() {
        return false;
    }
    let kids: BTreeSet<&str> = lease.children.iter().map(String::as_str).chain(listed_children.iter().copied()).collect();
    !kids.is_empty()
        && kids.iter().all(|c| by_key.get(c).is_some_and(|cl| !cl.at_start()))
        && lease.parents.iter().all(|p| !by_key.contains_key(p.as_str()))
}

/// The index of a shard id `shardId-NNN`.
fn shard_index(id: &str) -> Option<u64> {
    id.strip_prefix("shardId-").filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())).and_then(|d| d.parse().ok())
}

/// Refuses a table that is not this stream's: a KCL multi-stream table
/// (`leaseKey` `account:stream:epoch:shard`), a lease of another stream
/// (our stream attribute), a lease whose shard is listed with another hash
/// range, or a lease of a shard this stream never had (not a shard id, or
/// beyond the stream's highest shard index — ids only grow).
pub fn check_table(leases: &[Lease], listed: &[ListedShard], stream: &str) -> Result<(), LeaseError> {
    let foreign = |m: String| Err(LeaseError::new(LeaseErrorKind::Foreign, m));
    let by_id: HashMap<&str, &ListedShard> = listed.iter().map(|s| (s.id.as_str(), s)).collect();
    let max_index = listed.iter().filter_map(|s| shard_index(&s.id)).max();
    for l in leases {
        let key = super::row::truncated(&l.key);
        if l.key.contains(':') {
            return foreign(format!(
                "the lease table holds `{key}`, a KCL multi-stream lease (account:stream:epoch:shard): \
                 a multi-stream table cannot be shared with a single-stream pipeline; use another table"
            ));
        }
        if let Some(s) = &l.ext.stream
            && s != stream
        {
            return foreign(format!(
                "lease `{key}` belongs to stream `{}`, not `{stream}`: two pipelines must not share a lease table",
                super::row::truncated(s)
            ));
        }
        match (by_id.get(l.key.as_str()), l.hash_range()) {
            (Some(s), Some(Ok(range))) if s.range.is_some_and(|r| r != range) => {
                return foreign(format!(
                    "lease `{key}` has hash range {}..{}, but the stream's shard of that id has another: \
                     the table belongs to another stream",
                    range.0, range.1
                ));
            }
            (_, Some(Err(why))) => return Err(LeaseError::unreadable(&l.key, why)),
            (Some(_), _) => {}
            (None, _) => match (shard_index(&l.key), max_index) {
                (Some(i), Some(max)) if i <= max => {}
                _ => {
                    return foreign(format!(
                        "lease `{key}` names a shard stream `{stream}` does not have: the table belongs to another stream"
                    ));
                }
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
