//! Pipeline throughput, stream to stream on a local ferrokinesis, against a
//! hand-written aws-sdk-kinesis loop doing the same work, in the same run.
//!
//! - ours: `kinesis_tables::pipeline::run` from `rt_json` (stream `rt-json`)
//!   to `rt_csv` (stream `rt-csv`): at least once, per-key order, checkpoints.
//! - SDK loop: a task per input shard, GetRecords(10,000) → decode → map →
//!   encode → PutRecords in 500s (awaited in turn), no checkpoints, no retries,
//!   no ordering guarantee across failures.
//!
//! - ours with aggregation: the same into `rt_agg` (stream `rt-agg`,
//!   `sink.aggregation.enabled`), against the same SDK loop.
//!
//! Ours is timed to its last acknowledged record: the run's wall time minus
//! the `--stop-when-idle` wait that ends it. Each side runs 3 times,
//! alternating which goes first; the medians are reported. Run:
//! `cargo bench -p kinesis-tables-tests --bench pipeline` (KT_BENCH_RECORDS).

use std::time::{Duration, Instant};

use kinesis_tables::Record;
use kinesis_tables::aws::aws_sdk_kinesis::primitives::Blob;
use kinesis_tables::aws::aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use kinesis_tables::pipeline::{self, PipelineOptions};
use kinesis_tables::sink::Sink;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::{GenDiscard, GenFast, RtAgg, RtCsv, RtJson};
use kinesis_tables_tests::rt;

fn map(r: RtJson) -> RtCsv {
    RtCsv { k: r.k, n: r.n, note: r.note, ok: Some(r.n % 2 == 0), shard: String::new() }
}

fn map_agg(r: RtJson) -> RtAgg {
    RtAgg { k: r.k, n: r.n, payload: r.note }
}

const RUNS: usize = 3;

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

/// One pipeline run from `rt-json` with a fresh checkpoint (so it reads the
/// stream from the start): its time to the last acknowledged record.
async fn ours<D: Record + Sync>(name: &str, dir: &std::path::Path, n: usize, f: fn(RtJson) -> D) -> Duration {
    let idle = Duration::from_secs(1);
    let dir = dir.join(format!("{name}-{}", fastrand::u64(..)));
    // KT_BENCH_PROGRESS=1 prints the runs' progress lines (where a slow run spends its time).
    let progress_every = std::env::var_os("KT_BENCH_PROGRESS").map(|_| Duration::from_secs(1));
    let options = PipelineOptions { checkpoint_dir: dir, stop_when_idle: Some(idle), progress_every, ..PipelineOptions::default() };
    let t = Instant::now();
    let report = pipeline::run::<RtJson, D, _>(name, &options, move |r: RtJson| Some(f(r))).await.unwrap();
    let took = t.elapsed().saturating_sub(idle);
    assert_eq!(report.records_out, n as u64);
    took
}

/// Medians of `RUNS` runs of `ours` and of the SDK loop from `base_in`,
/// alternating which goes first.
async fn compare<D: Record + Sync>(
    name: &str,
    dir: &std::path::Path,
    n: usize,
    f: fn(RtJson) -> D,
    client: &aws_sdk_kinesis::Client,
    base_in: &str,
    base_out: &str,
) -> (Duration, Duration) {
    let (mut o, mut b) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        if run % 2 == 0 {
            o.push(ours(name, dir, n, f).await);
            b.push(baseline(client, base_in, base_out, n).await);
        } else {
            b.push(baseline(client, base_in, base_out, n).await);
            o.push(ours(name, dir, n, f).await);
        }
    }
    (median(o), median(b))
}

async fn fill(emu: &Emulator, stream: &str, records: &[RtJson]) {
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), stream);
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtJson>::with_client(client, &cfg);
    for r in records {
        sink.send(r).await.unwrap();
    }
    sink.close().await.unwrap();
}

async fn baseline(client: &aws_sdk_kinesis::Client, from: &str, to: &str, n: usize) -> Duration {
    let t = Instant::now();
    let shards = client.list_shards().stream_name(from).send().await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for s in shards.shards() {
        let (client, from, to, shard) = (client.clone(), from.to_owned(), to.to_owned(), s.shard_id().to_owned());
        tasks.spawn(async move {
            let it = client
                .get_shard_iterator()
                .stream_name(&from)
                .shard_id(&shard)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap();
            let mut it = it.shard_iterator().map(str::to_owned);
            let mut count = 0;
            while let Some(i) = it.take() {
                let out = client.get_records().shard_iterator(i).limit(10_000).send().await.unwrap();
                let entries: Vec<PutRecordsRequestEntry> = out
                    .records()
                    .iter()
                    .map(|r| {
                        let rec = map(RtJson::decode(r.data().as_ref()).unwrap());
                        let key = rec.partition_key().unwrap().unwrap();
                        PutRecordsRequestEntry::builder().data(Blob::new(rec.encode().unwrap())).partition_key(key).build().unwrap()
                    })
                    .collect();
                count += entries.len();
                for chunk in entries.chunks(500) {
                    let res = client.put_records().stream_name(&to).set_records(Some(chunk.to_vec())).send().await.unwrap();
                    assert_eq!(res.failed_record_count(), Some(0));
                }
                if out.records().is_empty() {
                    break;
                }
                it = out.next_shard_iterator().map(str::to_owned);
            }
            count
        });
    }
    let mut total = 0;
    while let Some(c) = tasks.join_next().await {
        total += c.unwrap();
    }
    assert_eq!(total, n);
    t.elapsed()
}

fn main() {
    let n: usize = std::env::var("KT_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let emu = rt.block_on(Emulator::start(Kind::Ferrokinesis)).unwrap();
    // The pipeline reads its endpoint and credentials from the AWS environment,
    // as a deployed binary does. Set before any thread reads the environment.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", emu.endpoint());
        std::env::set_var("AWS_ACCESS_KEY_ID", "000000000000");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    rt.block_on(async move {
        let records: Vec<RtJson> = rt::records(n, 1_000);
        for s in ["rt-json", "rt-csv", "rt-agg", "base-in", "base-out"] {
            emu.create_stream(s, 4).await.unwrap();
        }
        fill(&emu, "rt-json", &records).await;
        fill(&emu, "base-in", &records).await;
        let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "base-in");
        let (client, _) = rt::clients(&cfg).await;
        let dir = std::env::temp_dir().join(format!("kt-bench-pipeline-{}", fastrand::u64(..)));
        let rate = |d: Duration| n as f64 / d.as_secs_f64();

        let (keyed, keyed_base) = compare("bench", &dir, n, map, &client, "base-in", "base-out").await;
        let (agg, agg_base) = compare("bench-agg", &dir, n, map_agg, &client, "base-in", "base-out").await;

        // The same with every record on its own key: per-key order then never
        // holds a record back, which isolates that cost.
        // The tables name their streams, so those are made anew for this run.
        let distinct: Vec<RtJson> = rt::records(n, n);
        for s in ["rt-json", "rt-csv"] {
            emu.client().delete_stream().stream_name(s).send().await.unwrap();
            while emu.client().describe_stream_summary().stream_name(s).send().await.is_ok() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        for s in ["rt-json", "rt-csv", "base-in-d", "base-out-d"] {
            emu.create_stream(s, 4).await.unwrap();
        }
        fill(&emu, "rt-json", &distinct).await;
        fill(&emu, "base-in-d", &distinct).await;
        let (distinct_ours, distinct_base) = compare("bench-d", &dir, n, map, &client, "base-in-d", "base-out-d").await;

        // datagen -> blackhole: the pipeline's own machinery (pacing off),
        // against a loop that makes the same rows with the same generator.
        let rows = 1_000_000u64;
        let (mut gen_ours, mut gen_loop) = (Vec::new(), Vec::new());
        for run in 0..RUNS {
            if run % 2 == 0 {
                gen_ours.push(datagen_run(&dir, rows).await);
                gen_loop.push(generator_loop(rows));
            } else {
                gen_loop.push(generator_loop(rows));
                gen_ours.push(datagen_run(&dir, rows).await);
            }
        }
        let (gen_ours, gen_loop) = (median(gen_ours), median(gen_loop));
        let per = |rows: u64, d: Duration| rows as f64 / d.as_secs_f64();

        println!("pipeline benchmark: {n} records, 4 shards in and out, ferrokinesis on loopback; medians of {RUNS} runs");
        let line = |what: &str, o: Duration, b: Duration| {
            println!("{what:<40} ours {:>9.0} rec/s  sdk loop {:>9.0} rec/s  ratio {:.2}", rate(o), rate(b), rate(o) / rate(b));
        };
        line("stream -> stream, 1,000 keys", keyed, keyed_base);
        line("stream -> stream, 1,000 keys, aggregated", agg, agg_base);
        line(&format!("stream -> stream, {n} keys"), distinct_ours, distinct_base);
        println!(
            "datagen -> blackhole ({rows} rows)  ours {:>9.0} rec/s  generator loop {:>9.0} rec/s  ratio {:.2}; vs the sdk stream loop {:.1}x",
            per(rows, gen_ours),
            per(rows, gen_loop),
            per(rows, gen_ours) / per(rows, gen_loop),
            per(rows, gen_ours) / rate(keyed_base)
        );
        let _ = std::fs::remove_dir_all(dir);
    });
}

async fn datagen_run(dir: &std::path::Path, rows: u64) -> Duration {
    let options = PipelineOptions { checkpoint_dir: dir.join(format!("g-{}", fastrand::u64(..))), ..PipelineOptions::default() };
    let t = Instant::now();
    let report = pipeline::run::<GenFast, GenDiscard, _>("bench-gen", &options, |r: GenFast| Some(GenDiscard { seq: r.n })).await.unwrap();
    let took = t.elapsed();
    assert_eq!(report.records_out, rows);
    took
}

fn generator_loop(rows: u64) -> Duration {
    let t = Instant::now();
    let cfg = GenFast::config().unwrap();
    let Some(kinesis_tables::config::LocalConfig::Datagen(d)) = &cfg.local else { unreachable!() };
    let mut g = kinesis_tables::datagen::Generator::new(d);
    let mut sum = 0i64;
    for _ in 0..rows {
        let r = GenFast::generate(&mut g).unwrap();
        sum = sum.wrapping_add(std::hint::black_box(GenDiscard { seq: r.n }).seq);
        g.advance();
    }
    std::hint::black_box(sum);
    t.elapsed()
}
