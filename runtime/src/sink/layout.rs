//! The stream's shard layout as the sink packs by it: the open shards' hash
//! key ranges (each record goes to the shard whose range holds the MD5 of its
//! partition key) and the ranges of every shard listed, to judge where
//! records landed. After a reshard the core reads the layout again and packs
//! the records that were bound for a closed shard by their hash key into its
//! children (nothing is bound to a shard while it waits: packing looks the
//! shard up each time).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One shard as ListShards returned it.
#[derive(Debug, Clone)]
pub(crate) struct ListedShard {
    pub(crate) id: Arc<str>,
    pub(crate) start: u128,
    pub(crate) end: u128,
    pub(crate) open: bool,
    pub(crate) parents: Vec<String>,
}

/// The open shards' hash key ranges, and the ranges of every shard listed.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// `(starting hash key, ending hash key, shard id)`, sorted by start.
    pub(crate) open: Vec<(u128, u128, Arc<str>)>,
    /// Every shard ListShards returned, open or closed.
    pub(crate) all: HashMap<Arc<str>, (u128, u128)>,
}

impl Layout {
    /// Builds the layout from ListShards' shards. An open shard whose child
    /// is also listed as open (the moment of a split or merge) is left out.
    pub(crate) fn new(shards: Vec<ListedShard>) -> Layout {
        let parents: HashSet<&str> = shards.iter().filter(|s| s.open).flat_map(|s| s.parents.iter().map(String::as_str)).collect();
        let mut open: Vec<(u128, u128, Arc<str>)> =
            shards.iter().filter(|s| s.open && !parents.contains(&*s.id)).map(|s| (s.start, s.end, s.id.clone())).collect();
        open.sort_by_key(|s| s.0);
        let all = shards.iter().map(|s| (s.id.clone(), (s.start, s.end))).collect();
        Layout { open, all }
    }

    /// The index in `open` of the shard whose range holds `hash`.
    pub(crate) fn shard_of(&self, hash: u128) -> Option<usize> {
        let i = self.open.partition_point(|s| s.0 <= hash).checked_sub(1)?;
        (hash <= self.open[i].1).then_some(i)
    }

    /// The id of open shard `i`.
    pub(crate) fn id(&self, i: usize) -> Arc<str> {
        self.open[i].2.clone()
    }

    /// How many of `hashes` lie outside shard `landed`'s range (all of them
    /// when the layout does not know that shard).
    pub(crate) fn outside(&self, landed: &str, hashes: &[u128]) -> usize {
        match self.all.get(landed) {
            Some(&(start, end)) => hashes.iter().filter(|h| **h < start || **h > end).count(),
            None => hashes.len(),
        }
    }
}

/// Whether a failed PutRecords entry says the shard it went to is closed or
/// gone (then the layout is read again).
pub(crate) fn names_a_gone_shard(code: &str, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    code == "ResourceNotFoundException"
        || (m.contains("shard") && (m.contains("closed") || m.contains("not found") || m.contains("does not exist")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, start: u128, end: u128, open: bool, parents: &[&str]) -> ListedShard {
        ListedShard { id: id.into(), start, end, open, parents: parents.iter().map(|p| p.to_string()).collect() }
    }

    #[test]
    fn a_split_shard_gives_way_to_its_children_by_hash_key() {
        let half = u128::MAX / 2;
        let before = Layout::new(vec![shard("p", 0, u128::MAX, true, &[])]);
        assert_eq!(before.shard_of(7).map(|i| before.id(i)), Some("p".into()));
        // The moment of the split: the parent is still listed as open.
        let after = Layout::new(vec![
            shard("p", 0, u128::MAX, true, &[]),
            shard("a", 0, half, true, &["p"]),
            shard("b", half + 1, u128::MAX, true, &["p"]),
        ]);
        assert_eq!(after.open.len(), 2);
        assert_eq!(after.shard_of(7).map(|i| after.id(i)), Some("a".into()));
        assert_eq!(after.shard_of(u128::MAX).map(|i| after.id(i)), Some("b".into()));
        assert_eq!(after.outside("a", &[1, half + 5]), 1);
        assert_eq!(after.outside("gone", &[1, 2]), 2);
    }

    #[test]
    fn a_hole_in_the_ranges_has_no_shard() {
        let l = Layout::new(vec![shard("a", 10, 20, true, &[]), shard("b", 30, 40, true, &[])]);
        assert_eq!(l.shard_of(5), None);
        assert_eq!(l.shard_of(25), None);
        assert_eq!(l.shard_of(30), Some(1));
    }
}
