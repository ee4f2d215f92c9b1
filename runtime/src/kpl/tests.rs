//! Unit tests of the KPL codec.

use prost::Message;

use super::*;

fn sub(pk: &str, ehk: Option<&str>, data: &[u8]) -> SubRecord {
    SubRecord { partition_key: pk.to_owned(), explicit_hash_key: ehk.map(str::to_owned), data: data.to_vec() }
}

/// Aggregates all of `records` into one record (panics if they do not fit).
fn aggregate_all(records: &[SubRecord]) -> AggregatedOut {
    let mut agg = Aggregator::new(1 << 20, usize::MAX);
    for r in records {
        assert_eq!(agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data), AddOutcome::Added);
    }
    agg.finish().expect("not empty")
}

fn random_records(rng: &mut fastrand::Rng, n: usize) -> Vec<SubRecord> {
    (0..n)
        .map(|_| {
            let distinct = rng.usize(1..200);
            let pk = format!("key-{}", rng.usize(..distinct));
            let bits = rng.u32(0..128);
            let ehk = rng.bool().then(|| rng.u128(..(1 << bits)).to_string());
            let len = match rng.u8(..10) {
                0 => 0,
                1 => rng.usize(100..20_000),
                _ => rng.usize(..130),
            };
            let data: Vec<u8> = std::iter::repeat_with(|| rng.u8(..)).take(len).collect();
            SubRecord { partition_key: pk, explicit_hash_key: ehk, data }
        })
        .collect()
}

/// Re-encodes with a protobuf message built field by field, to check the
/// outer framing independently of the aggregator.
fn frame(message: &pb::AggregatedRecord) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut data = MAGIC.to_vec();
    data.extend_from_slice(&body);
    data.extend_from_slice(&md5(&body));
    data
}

/// The user records of an aggregated record (panics if it is not one).
fn read(data: &[u8]) -> Vec<SubRecord> {
    match deaggregate(data, "outer") {
        Deaggregated::Aggregated(subs) => {
            for s in &subs {
                // The hash computed once per key is the key's hash.
                assert_eq!(s.effective_hash_key(), effective_hash_key(s.partition_key, s.explicit_hash_key));
            }
            subs.to_vec()
        }
        other => panic!("expected an aggregated record, got {other:?}"),
    }
}

fn corrupt_reason(data: &[u8]) -> CorruptReason {
    match deaggregate(data, "outer") {
        Deaggregated::Corrupt(reason) => reason,
        other => panic!("expected a corrupt record, got {other:?}"),
    }
}

#[test]
fn round_trip_with_repeated_and_distinct_keys() {
    let records = vec![
        sub("alpha", None, b"one"),
        sub("beta", Some("12345"), b""),
        sub("alpha", Some("12345"), &[0, 0xff, 0xf3, 0x89, 0x9a, 0xc2]),
        sub("gamma", Some("340282366920938463463374607431768211455"), b"three"),
        sub("beta", None, &[7; 300]),
        sub("", Some("0"), b"empty key"),
        sub("ключ", None, "данные".as_bytes()),
        sub("alpha", Some("0"), b"last"),
    ];
    let out = aggregate_all(&records);
    assert_eq!(out.partition_key, "alpha");
    assert_eq!(out.explicit_hash_key, None);
    assert_eq!(out.record_count, records.len());
    assert!(out.data.starts_with(&MAGIC));
    assert_eq!(read(&out.data), records.clone());

    // Keys are stored once each, in order of first use.
    let body = &out.data[MAGIC.len()..out.data.len() - DIGEST_LEN];
    let message = pb::AggregatedRecord::decode(body).expect("decodes");
    assert_eq!(message.partition_key_table, ["alpha", "beta", "gamma", "", "ключ"]);
    assert_eq!(message.explicit_hash_key_table, ["12345", "340282366920938463463374607431768211455", "0"]);
    let indexes: Vec<_> = message.records.iter().map(|r| (r.partition_key_index.expect("set"), r.explicit_hash_key_index)).collect();
    assert_eq!(indexes, [(0, None), (1, Some(0)), (0, Some(0)), (2, Some(1)), (1, None), (3, Some(2)), (4, None), (0, Some(2))]);
}

#[test]
fn aggregate_takes_first_records_keys() {
    let out = aggregate_all(&[sub("b", Some("99"), b"x"), sub("a", None, b"y")]);
    assert_eq!((out.partition_key.as_str(), out.explicit_hash_key.as_deref()), ("b", Some("99")));
}

#[test]
fn required_fields_are_encoded_even_when_zero_or_empty() {
    let out = aggregate_all(&[sub("k", None, b"")]);
    // 0a 01 'k' | 1a 04 (08 00 1a 00)
    assert_eq!(&out.data[MAGIC.len()..out.data.len() - DIGEST_LEN], &[0x0a, 0x01, b'k', 0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00]);
    assert_eq!(&out.data[out.data.len() - DIGEST_LEN..], &md5(&out.data[MAGIC.len()..out.data.len() - DIGEST_LEN]));
}

#[test]
fn random_round_trips_and_exact_sizes() {
    let mut rng = fastrand::Rng::with_seed(0x6b706c);
    // How often each path was taken, over all rounds.
    let (mut fulls, mut too_larges, mut multi) = (0, 0, 0);
    for round in 0..60 {
        let max_bytes = rng.usize(40..60_000);
        let max_records = if rng.bool() { rng.usize(1..50) } else { usize::MAX };
        let n = rng.usize(1..400);
        let records = random_records(&mut rng, n);
        let mut agg = Aggregator::new(max_bytes, max_records);
        let mut outs = Vec::new();
        let mut expected = Vec::new();
        let mut too_large = 0;
        for r in &records {
            let before = agg.size_bytes();
            match agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data) {
                AddOutcome::Added => {}
                AddOutcome::Full => {
                    assert_eq!(agg.size_bytes(), before, "a refused record changes nothing");
                    assert!(!agg.is_empty(), "an empty aggregator takes any record that is not too large");
                    let size = agg.size_bytes();
                    let out = agg.finish().expect("not empty");
                    assert_eq!(out.data.len(), size, "round {round}: size_bytes is exact");
                    outs.push(out);
                    fulls += 1;
                    assert_eq!(agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data), AddOutcome::Added);
                }
                AddOutcome::TooLarge { size } => {
                    assert!(size > max_bytes);
                    // Exactly the size it would have alone.
                    assert_eq!(aggregate_all(std::slice::from_ref(r)).data.len(), size);
                    too_large += 1;
                    too_larges += 1;
                    continue;
                }
            }
            expected.push(r.clone());
            assert!(agg.size_bytes() <= max_bytes);
            assert!(agg.len() <= max_records);
        }
        let size = agg.size_bytes();
        if let Some(out) = agg.finish() {
            assert_eq!(out.data.len(), size);
            outs.push(out);
        }
        assert!(agg.is_empty() && agg.size_bytes() == 0 && agg.finish().is_none());
        assert_eq!(expected.len() + too_large, records.len());

        let mut got = Vec::new();
        for out in &outs {
            assert!(out.data.len() <= max_bytes, "round {round}: {} > {max_bytes}", out.data.len());
            assert!(out.record_count <= max_records);
            let Deaggregated::Aggregated(subs) = deaggregate(&out.data, &out.partition_key) else {
                panic!("round {round}: not an aggregated record");
            };
            let subs = subs.to_vec();
            assert_eq!(subs.len(), out.record_count);
            assert_eq!(out.partition_key, subs[0].partition_key);
            assert_eq!(out.explicit_hash_key, subs[0].explicit_hash_key);
            got.extend(subs);
        }
        assert_eq!(got, expected, "round {round}");
        multi += usize::from(outs.iter().any(|o| o.record_count > 1));
    }
    assert!(fulls > 100 && too_larges > 10 && multi > 30, "{fulls} full, {too_larges} too large, {multi} rounds aggregated");
}

#[test]
fn full_records_are_packed_to_the_byte() {
    // Records that fill max_bytes exactly are accepted; one byte more is not.
    let one = aggregate_all(&[sub("k", None, b"0123456789")]).data.len();
    let mut agg = Aggregator::new(one, 10);
    assert_eq!(agg.add("k", None, b"0123456789"), AddOutcome::Added);
    assert_eq!(agg.size_bytes(), one);
    assert_eq!(agg.add("k", None, b""), AddOutcome::Full);
    let mut agg = Aggregator::new(one - 1, 10);
    assert_eq!(agg.add("k", None, b"0123456789"), AddOutcome::TooLarge { size: one });
    assert!(agg.is_empty());
}

#[test]
fn max_records_is_respected() {
    let mut agg = Aggregator::new(1 << 20, 3);
    for i in 0..3 {
        assert_eq!(agg.add("k", None, &[i]), AddOutcome::Added);
    }
    assert_eq!(agg.len(), 3);
    assert_eq!(agg.add("k", None, b"x"), AddOutcome::Full);
    assert_eq!(agg.finish().map(|o| o.record_count), Some(3));
    assert_eq!(agg.add("k", None, b"x"), AddOutcome::Added);
    assert_eq!(agg.len(), 1);

    let mut agg = Aggregator::new(1 << 20, 0);
    assert_eq!(agg.max_records(), 1);
    assert_eq!(agg.add("k", None, b"x"), AddOutcome::Added);
    assert_eq!(agg.add("k", None, b"x"), AddOutcome::Full);
}

#[test]
fn varint_boundaries_in_size_accounting() {
    // Indexes and lengths around 127/128 and 16383/16384 change varint widths.
    for n in [127, 128, 129, 300] {
        let records: Vec<_> = (0..n).map(|i| sub(&format!("k{i}"), Some(&i.to_string()), &vec![1; i])).collect();
        let mut agg = Aggregator::new(usize::MAX, usize::MAX);
        for r in &records {
            let _ = agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data);
        }
        let size = agg.size_bytes();
        let out = agg.finish().expect("not empty");
        assert_eq!(out.data.len(), size);
        assert_eq!(read(&out.data), records);
    }
    for len in [16_383 - 8, 16_383 - 5, 16_383 - 4, 16_383, 16_384, 2_097_151 - 6, 2_097_152] {
        let mut agg = Aggregator::new(usize::MAX, usize::MAX);
        let _ = agg.add("key", None, &vec![9; len]);
        let size = agg.size_bytes();
        assert_eq!(agg.finish().map(|o| o.data.len()), Some(size), "data length {len}");
    }
}

#[test]
fn finish_or_single() {
    let mut agg = Aggregator::new(1 << 20, 100);
    assert_eq!(agg.finish_or_single(), None);
    assert_eq!(agg.add("k", Some("42"), b"data"), AddOutcome::Added);
    assert_eq!(agg.finish_or_single(), Some(Flushed::Single(sub("k", Some("42"), b"data"))));
    assert!(agg.is_empty());

    // The aggregator is reset: keys start again at index 0.
    assert_eq!(agg.add("k", None, b"a"), AddOutcome::Added);
    assert_eq!(agg.add("j", None, b"b"), AddOutcome::Added);
    let Some(Flushed::Aggregated(out)) = agg.finish_or_single() else { panic!("two records are aggregated") };
    assert_eq!(read(&out.data), vec![sub("k", None, b"a"), sub("j", None, b"b")]);

    // Data that looks aggregated is never sent plain.
    let inner = aggregate_all(&[sub("x", None, b"y")]).data;
    assert_eq!(agg.add("k", None, &inner), AddOutcome::Added);
    let Some(Flushed::Aggregated(out)) = agg.finish_or_single() else { panic!("magic data stays wrapped") };
    assert_eq!(read(&out.data), vec![sub("k", None, &inner)]);
}

#[test]
fn plain_records() {
    for data in [&b""[..], b"{\"a\":1}", &MAGIC[..3], &[0xF3, 0x89, 0x9A, 0xC3, 0, 0, 0]] {
        assert_eq!(deaggregate(data, "pk"), Deaggregated::Plain);
        assert!(!is_aggregated(data));
    }
}

#[test]
fn corrupt_records_are_reported_not_panicked_on() {
    let good = aggregate_all(&[sub("a", Some("1"), b"x"), sub("b", None, b"yz")]).data;
    assert!(matches!(deaggregate(&good, "a"), Deaggregated::Aggregated(_)));

    // Bad MD5.
    let mut bad = good.clone();
    *bad.last_mut().expect("not empty") ^= 1;
    assert_eq!(corrupt_reason(&bad), CorruptReason::DigestMismatch);
    // A changed protobuf byte also fails the digest.
    let mut bad = good.clone();
    bad[MAGIC.len() + 2] ^= 0x20;
    assert_eq!(corrupt_reason(&bad), CorruptReason::DigestMismatch);

    // Truncated at every length.
    for len in MAGIC.len()..good.len() {
        let reason = corrupt_reason(&good[..len]);
        if len <= MAGIC.len() + DIGEST_LEN {
            assert_eq!(reason, CorruptReason::TooShort { len });
        } else {
            assert_eq!(reason, CorruptReason::DigestMismatch, "length {len}");
        }
    }
    // Magic and the digest of an empty message: nothing in it.
    assert_eq!(corrupt_reason(&frame(&pb::AggregatedRecord::default())[..]), CorruptReason::TooShort { len: 20 });
    // A message with key tables but no record.
    let keys_only = pb::AggregatedRecord { partition_key_table: vec!["a".into()], ..Default::default() };
    assert_eq!(corrupt_reason(&frame(&keys_only)), CorruptReason::NoRecords);

    // Indexes out of range.
    let record = |pk: u64, ehk: Option<u64>| pb::Record {
        partition_key_index: Some(pk),
        explicit_hash_key_index: ehk,
        data: Some(b"d".to_vec()),
        tags: Vec::new(),
    };
    let message = |records| pb::AggregatedRecord {
        partition_key_table: vec!["a".into(), "b".into()],
        explicit_hash_key_table: vec!["7".into()],
        records,
    };
    assert_eq!(
        corrupt_reason(&frame(&message(vec![record(1, Some(0)), record(2, None)]))),
        CorruptReason::PartitionKeyIndexOutOfRange { record: 1, index: 2, table_len: 2 }
    );
    assert_eq!(
        corrupt_reason(&frame(&message(vec![record(u64::MAX, None)]))),
        CorruptReason::PartitionKeyIndexOutOfRange { record: 0, index: u64::MAX, table_len: 2 }
    );
    assert_eq!(
        corrupt_reason(&frame(&message(vec![record(0, Some(1))]))),
        CorruptReason::ExplicitHashKeyIndexOutOfRange { record: 0, index: 1, table_len: 1 }
    );
    // Tags are read and dropped.
    let mut tagged = record(1, Some(0));
    tagged.tags = vec![pb::Tag { key: Some("t".into()), value: Some("v".into()) }, pb::Tag { key: Some("u".into()), value: None }];
    assert_eq!(read(&frame(&message(vec![tagged]))), vec![sub("b", Some("7"), b"d")]);

    // Garbage after the magic, with a matching digest: not protobuf.
    for body in [&[0xff_u8; 8][..], &[0x0a, 0x05, b'a'], &[0x0a, 0x02, 0xc3, 0x28], &[0x1a, 0x80], &[0x0f]] {
        let mut data = MAGIC.to_vec();
        data.extend_from_slice(body);
        data.extend_from_slice(&md5(body));
        let reason = corrupt_reason(&data);
        assert!(matches!(reason, CorruptReason::Protobuf(_)), "{body:?}: {reason:?}");
        assert_eq!(reason.kind(), "protobuf");
        assert!(reason.to_string().starts_with("the protobuf message cannot be decoded"));
    }
    // Random garbage after the magic never panics.
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..2000 {
        let mut data = MAGIC.to_vec();
        let len = rng.usize(..64);
        let body: Vec<u8> = std::iter::repeat_with(|| rng.u8(..)).take(len).collect();
        data.extend_from_slice(&body);
        if rng.bool() {
            data.extend_from_slice(&md5(&body));
        }
        let _ = deaggregate(&data, "pk");
    }
}

#[test]
fn hash_keys() {
    // Python: int.from_bytes(hashlib.md5(b"key").digest(), "big")
    assert_eq!(hash_key("key"), 80325066489831061459460196859901989661);
    // Python: int.from_bytes(hashlib.md5("ключ".encode()).digest(), "big")
    assert_eq!(hash_key("ключ"), 259726384039714788407059515981389908711);
    // Python: int.from_bytes(hashlib.md5(b"").digest(), "big")
    assert_eq!(hash_key(""), 281949768489412648962353822266799178366);

    assert_eq!(parse_hash_key("0"), Some(0));
    assert_eq!(parse_hash_key("42"), Some(42));
    assert_eq!(parse_hash_key("340282366920938463463374607431768211455"), Some(u128::MAX));
    for bad in ["", "340282366920938463463374607431768211456", "-1", "+1", "01", "1 ", "0x10", "１"] {
        assert_eq!(parse_hash_key(bad), None, "{bad:?}");
    }
    assert_eq!(effective_hash_key("key", None), Some(80325066489831061459460196859901989661));
    assert_eq!(effective_hash_key("key", Some("5")), Some(5));
    assert_eq!(sub("key", Some("nope"), b"").effective_hash_key(), None);
}

/// Frames a hand-written protobuf body (magic, body, its MD5).
fn frame_raw(body: &[u8]) -> Vec<u8> {
    [&MAGIC[..], body, &md5(body)].concat()
}

/// The encoded size of the smallest valid user record entry in
/// `AggregatedRecord.records`: key and length, then `partition_key_index`
/// (key and one varint byte) and `data` (key and a zero length).
const MIN_RECORD_ENTRY: usize = 6;

/// An aggregated record of `n` user records with empty data, all under
/// one partition key of `key_len` bytes.
fn shared_key_record(key_len: usize, n: usize) -> Vec<u8> {
    let message = pb::AggregatedRecord {
        partition_key_table: vec!["k".repeat(key_len)],
        explicit_hash_key_table: Vec::new(),
        records: (0..n)
            .map(|_| pb::Record { partition_key_index: Some(0), explicit_hash_key_index: None, data: Some(Vec::new()), tags: Vec::new() })
            .collect(),
    };
    frame(&message)
}

#[test]
fn deaggregation_memory_is_bounded_by_the_input() {
    // (name, data, user records in it, whether it is valid). A key over
    // 256 characters makes a record corrupt; the bound holds either way.
    let most = (1 << 20) / (MIN_RECORD_ENTRY + 1);
    let mut cases = vec![
        // The reported case: 107,560 bytes, a 64 KiB key, 7,000 empty user records.
        ("64 KiB key x 7,000", shared_key_record(64 * 1024, 7_000), 7_000, false),
        // 1 MiB variants: a longer key, and as many user records as fit.
        ("900 KiB key x 20,000", shared_key_record(900 * 1024, 20_000), 20_000, false),
        ("256-char key x 1 MiB of user records", shared_key_record(256, most), most, true),
    ];
    // Many distinct keys, each used once.
    let many_keys = pb::AggregatedRecord {
        partition_key_table: (0..40_000).map(|i| format!("{i:x}")).collect(),
        explicit_hash_key_table: (0..40_000).map(|i| i.to_string()).collect(),
        records: (0..40_000)
            .map(|i| pb::Record {
                partition_key_index: Some(i),
                explicit_hash_key_index: Some(i),
                data: Some(Vec::new()),
                tags: Vec::new(),
            })
            .collect(),
    };
    cases.push(("40,000 distinct keys", frame(&many_keys), 40_000, true));
    assert_eq!(cases[0].1.len(), 107_560);
    for (name, data, n, valid) in &cases {
        let (seen, peak) = counting::peak(|| {
            let d = deaggregate(data, "outer");
            // Reading every user record (keys, data, hash keys) allocates nothing.
            match &d {
                Deaggregated::Aggregated(subs) => Some(
                    subs.iter().map(|s| s.partition_key.len() + s.data.len() + s.effective_hash_key().is_some() as usize).sum::<usize>(),
                ),
                Deaggregated::Corrupt(CorruptReason::PartitionKeyTooLong { record: 0, .. }) => None,
                other => panic!("{name}: {other:?}"),
            }
        });
        // About 10x the input, plus a fixed cost per user record.
        let bound = 10 * data.len() + 64 * n;
        eprintln!(
            "{name}: {} bytes in, peak {peak} bytes = {:.2}x the input ({:.2}x the bound)",
            data.len(),
            peak as f64 / data.len() as f64,
            peak as f64 / bound as f64
        );
        assert!(peak <= bound, "{name}: {} bytes of input and {n} user records took {peak} bytes (bound {bound})", data.len());
        assert_eq!(seen.is_some(), *valid, "{name}");
    }
}

#[test]
fn crafted_tables_and_tags_cost_memory_linear_in_the_input() {
    // Entries of two bytes each that prost materializes: a key table
    // entry is a 24-byte `String`, a tag 48 bytes (and its vector grows by
    // doubling); a user record entry is 80 bytes (vector sized exactly).
    // Whatever the input, the memory stays a fixed multiple of it.
    let entries = |prefix: &[u8], entry: &[u8], n: usize, suffix: &[u8]| {
        let mut body = prefix.to_vec();
        body.extend(std::iter::repeat_n(entry, n).flatten());
        body.extend_from_slice(suffix);
        frame_raw(&body)
    };
    let n = 100_000;
    // One user record (key 0, empty data) followed by `n` tags of 2 or 4 bytes.
    let tagged = |tag: &[u8]| {
        let len = 4 + n * tag.len();
        let mut prefix = vec![0x0a, 0x00, 0x1a];
        prost::encoding::encode_varint(len as u64, &mut prefix);
        prefix.extend_from_slice(&[0x08, 0x00, 0x1a, 0x00]);
        entries(&prefix, tag, n, &[])
    };
    let cases = [
        ("empty partition keys", entries(&[], &[0x0a, 0x00], n, &[0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00]), true),
        ("empty explicit hash keys", entries(&[0x0a, 0x00], &[0x12, 0x00], n, &[0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00]), true),
        ("tags with empty keys", tagged(&[0x22, 0x02, 0x0a, 0x00]), true),
        ("tags without keys", tagged(&[0x22, 0x00]), false),
        ("empty user records", entries(&[0x0a, 0x00], &[0x1a, 0x00], n, &[]), false),
    ];
    for (name, data, valid) in &cases {
        let (read, peak) = counting::peak(|| matches!(deaggregate(data, "outer"), Deaggregated::Aggregated(_)));
        eprintln!("{name}: {} bytes in, peak {peak} bytes = {:.2}x the input", data.len(), peak as f64 / data.len() as f64);
        assert_eq!(read, *valid, "{name}");
        assert!(peak <= 50 * data.len(), "{name}: {} bytes of input took {peak} bytes", data.len());
    }
}

#[test]
fn records_breaking_the_kpl_rules_are_corrupt() {
    // Kinesis counts a partition key's characters, not its bytes.
    let key = |chars: usize, c: char| std::iter::repeat_n(c, chars).collect::<String>();
    for c in ['k', 'к', '鍵', '🔑'] {
        let ok = aggregate_all(&[sub("a", None, b"1"), sub(&key(256, c), None, b"2")]);
        assert_eq!(read(&ok.data), vec![sub("a", None, b"1"), sub(&key(256, c), None, b"2")]);
        let bad = aggregate_all(&[sub("a", None, b"1"), sub(&key(257, c), None, b"2"), sub(&key(257, c), None, b"3")]);
        let reason = corrupt_reason(&bad.data);
        assert_eq!(reason, CorruptReason::PartitionKeyTooLong { record: 1, chars: 257 }, "{c:?}");
        assert_eq!(reason.kind(), "partition_key_too_long");
        assert!(reason.to_string().contains("257 characters, over the limit of 256"), "{reason}");
    }
    // A long key in the table that no user record uses is not a user
    // record's key.
    let unused = pb::AggregatedRecord {
        partition_key_table: vec!["a".into(), key(300, 'x')],
        explicit_hash_key_table: Vec::new(),
        records: vec![pb::Record {
            partition_key_index: Some(0),
            explicit_hash_key_index: None,
            data: Some(b"d".to_vec()),
            tags: Vec::new(),
        }],
    };
    assert_eq!(read(&frame(&unused)), vec![sub("a", None, b"d")]);

    // Required fields, missing (prost would fill in 0 and empty data).
    // Table `0a 01 'a'`, then one record entry `1a len ...`.
    let with_record = |record: &[u8]| {
        let mut body = vec![0x0a, 0x01, b'a', 0x1a, record.len() as u8];
        body.extend_from_slice(record);
        frame_raw(&body)
    };
    let missing = |field| CorruptReason::MissingField { record: 0, field };
    assert_eq!(read(&with_record(&[0x08, 0x00, 0x1a, 0x00])), vec![sub("a", None, b"")]);
    assert_eq!(corrupt_reason(&with_record(&[0x1a, 0x01, b'x'])), missing("partition_key_index"));
    assert_eq!(corrupt_reason(&with_record(&[0x08, 0x00])), missing("data"));
    assert_eq!(corrupt_reason(&with_record(&[])), missing("partition_key_index"));
    // A tag needs its key; its value is optional.
    assert_eq!(read(&with_record(&[0x08, 0x00, 0x1a, 0x00, 0x22, 0x03, 0x0a, 0x01, b't'])), vec![sub("a", None, b"")]);
    let reason = corrupt_reason(&with_record(&[0x08, 0x00, 0x1a, 0x00, 0x22, 0x03, 0x12, 0x01, b'v']));
    assert_eq!(reason, missing("tags.key"));
    assert_eq!(reason.kind(), "missing_field");
    assert_eq!(reason.to_string(), "user record 0 lacks the required field `tags.key`");
    // Fields of the wrong wire type, groups, and unknown fields.
    assert!(matches!(corrupt_reason(&with_record(&[0x0a, 0x00, 0x1a, 0x00])), CorruptReason::Protobuf(_)));
    assert!(matches!(corrupt_reason(&with_record(&[0x08, 0x00, 0x1b, 0x1c])), CorruptReason::Protobuf(_)));
    let unknown = [0x08, 0x00, 0x1a, 0x00, 0x28, 0x05, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 0x3a, 0x01, 0xff, 0x45, 1, 2, 3, 4];
    assert_eq!(read(&with_record(&unknown)), vec![sub("a", None, b"")]);
    // A later value of a field replaces an earlier one, as in protobuf.
    assert_eq!(read(&with_record(&[0x08, 0x05, 0x1a, 0x01, b'x', 0x08, 0x00])), vec![sub("a", None, b"x")]);
}

#[test]
fn mutated_records_are_read_whole_or_corrupt() {
    // Mutated valid records, the digest fixed up: never a panic, never
    // taken for a plain record; what is read has every index in range
    // and the hash of its own key (`read` checks), and matches what
    // prost decodes.
    let mut rng = fastrand::Rng::with_seed(0x70b);
    let (mut same, mut refused) = (0, 0);
    for _ in 0..3000 {
        let n = rng.usize(1..8);
        let records = random_records(&mut rng, n);
        let mut body = aggregate_all(&records).data;
        body.truncate(body.len() - DIGEST_LEN);
        body.drain(..MAGIC.len());
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(..body.len());
            match rng.u8(..4) {
                0 => body.truncate(i.max(1)),
                1 => body[i] = rng.u8(..),
                2 => body.insert(i, rng.u8(..)),
                _ => body[i] ^= 1 << rng.u8(..8),
            }
        }
        let data = frame_raw(&body);
        match deaggregate(&data, "") {
            Deaggregated::Aggregated(subs) => {
                let message = pb::AggregatedRecord::decode(&body[..]).expect("read, so it decodes");
                assert_eq!(read(&data).len(), message.records.len());
                assert_eq!(subs.len(), message.records.len());
                same += 1;
            }
            Deaggregated::Corrupt(_) => refused += 1,
            Deaggregated::Plain => unreachable!("framed with the magic"),
        }
    }
    assert!(same > 100 && refused > 100, "{same} read, {refused} refused");
}

/// Counts the bytes allocated on each thread, to measure the peak memory
/// of a piece of code (the runtime crate's unit tests all run with it).
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(delta: isize) {
        let _ = LIVE.try_with(|live| {
            let now = live.get() + delta;
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }

    pub struct Counting;

    // SAFETY: every call goes to the system allocator unchanged; the
    // counters are plain thread-local cells that never allocate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            add(-(layout.size() as isize));
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                add(new_size as isize - layout.size() as isize);
            }
            p
        }
    }

    #[global_allocator]
    static COUNTING: Counting = Counting;

    /// Runs `f` and returns what it returns and the most bytes it held
    /// allocated at once on this thread (what it returns included).
    pub fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let start = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(start));
        let out = f();
        let peak = PEAK.with(Cell::get) - start;
        (out, peak.max(0) as usize)
    }
}
