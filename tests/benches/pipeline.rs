//! Pipeline throughput, stream to stream on a local ferrokinesis, against a
//! hand-written aws-sdk-kinesis loop doing the same work, in the same run.
//!
//! - ours: `kinesis_tables::pipeline::run` from `rt_json` (stream `rt-json`)
//!   to `rt_csv` (stream `rt-csv`): at least once, per-key order, checkpoints.
//! - SDK loop: a task per input shard, GetRecords(10,000) → decode → map →
//!   encode → PutRecords in 500s (awaited in turn), no checkpoints, no retries,
//!   no ordering guarantee across failures.
//!
//! Ours is timed to its last acknowledged record: the run's wall time minus
//! the `--stop-when-idle` wait that ends it. Run:
//! `cargo bench -p kinesis-tables-tests --bench pipeline` (KT_BENCH_RECORDS).

use std::time::{Duration, Instant};

use kinesis_tables::Record;
use kinesis_tables::aws::aws_sdk_kinesis::primitives::Blob;
use kinesis_tables::aws::aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use kinesis_tables::pipeline::{self, PipelineOptions};
use kinesis_tables::sink::Sink;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::{GenDiscard, GenFast, RtCsv, RtJson};
use kinesis_tables_tests::rt;

fn map(r: RtJson) -> RtCsv {
    RtCsv { k: r.k, n: r.n, note: r.note, ok: Some(r.n % 2 == 0), shard: String::new() }
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
        for s in ["rt-json", "rt-csv", "base-in", "base-out"] {
            emu.create_stream(s, 4).await.unwrap();
        }
        fill(&emu, "rt-json", &records).await;
        fill(&emu, "base-in", &records).await;
        let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "base-in");
        let (client, _) = rt::clients(&cfg).await;

        let idle = Duration::from_secs(1);
        let dir = std::env::temp_dir().join(format!("kt-bench-pipeline-{}", fastrand::u64(..)));
        let options = PipelineOptions { checkpoint_dir: dir.clone(), stop_when_idle: Some(idle), ..PipelineOptions::default() };
        let t = Instant::now();
        let report = pipeline::run::<RtJson, RtCsv, _>("bench", &options, |r: RtJson| Some(map(r))).await.unwrap();
        let ours = t.elapsed().saturating_sub(idle);
        assert_eq!(report.records_out, n as u64);
        let base = baseline(&client, "base-in", "base-out", n).await;
        let rate = |d: Duration| n as f64 / d.as_secs_f64();

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
        let options = PipelineOptions { checkpoint_dir: dir.join("d"), stop_when_idle: Some(idle), ..PipelineOptions::default() };
        let t = Instant::now();
        let report = pipeline::run::<RtJson, RtCsv, _>("bench-d", &options, |r: RtJson| Some(map(r))).await.unwrap();
        let distinct_ours = t.elapsed().saturating_sub(idle);
        assert_eq!(report.records_out, n as u64);
        let distinct_base = baseline(&client, "base-in-d", "base-out-d", n).await;

        // datagen -> blackhole: the pipeline's own machinery (pacing off),
        // against a loop that makes the same rows with the same generator.
        let rows = 1_000_000u64;
        let options = PipelineOptions { checkpoint_dir: dir.join("g"), ..PipelineOptions::default() };
        let t = Instant::now();
        let report =
            pipeline::run::<GenFast, GenDiscard, _>("bench-gen", &options, |r: GenFast| Some(GenDiscard { seq: r.n })).await.unwrap();
        let gen_ours = t.elapsed();
        assert_eq!(report.records_out, rows);
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
        let gen_loop = t.elapsed();
        let per = |rows: u64, d: Duration| rows as f64 / d.as_secs_f64();

        println!("pipeline benchmark: {n} records, 4 shards in and out, ferrokinesis on loopback");
        println!(
            "stream -> stream, 1,000 keys   ours {:>9.0} rec/s  sdk loop {:>9.0} rec/s  ratio {:.2}",
            rate(ours),
            rate(base),
            rate(ours) / rate(base)
        );
        println!(
            "stream -> stream, {n} keys  ours {:>9.0} rec/s  sdk loop {:>9.0} rec/s  ratio {:.2}",
            rate(distinct_ours),
            rate(distinct_base),
            rate(distinct_ours) / rate(distinct_base)
        );
        println!(
            "datagen -> blackhole ({rows} rows)  ours {:>9.0} rec/s  generator loop {:>9.0} rec/s  ratio {:.2}; vs the sdk stream loop {:.1}x",
            per(rows, gen_ours),
            per(rows, gen_loop),
            per(rows, gen_ours) / per(rows, gen_loop),
            per(rows, gen_ours) / rate(base)
        );
        let _ = std::fs::remove_dir_all(dir);
    });
}
