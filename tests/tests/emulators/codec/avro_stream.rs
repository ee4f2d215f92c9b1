//! Avro through real streams on both emulators: json records are read from
//! a stream and written as binary avro (KPL-aggregated) to a second stream,
//! read from there and written in Avro's JSON encoding to a third, then
//! read and written as json to a fourth, with the real source and sink at
//! every hop. Every record arrives unchanged, in order per key.

use std::time::Duration;

use kinesis_tables::Record;
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::{RtAvro, RtAvroJson, RtJson};
use kinesis_tables_tests::rt::{self, TestRecord};

const N: usize = 600;

async fn write<R: TestRecord>(emu: &Emulator, stream: &str, records: &[R]) {
    let cfg = rt::config_for::<R>(&emu.endpoint(), stream);
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<R>::with_client(client, &cfg);
    for r in records {
        sink.send(r).await.unwrap();
    }
    sink.close().await.unwrap();
}

async fn read<R: TestRecord>(emu: &Emulator, stream: &str) -> Vec<R> {
    let cfg = rt::config_for::<R>(&emu.endpoint(), stream);
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<R>::builder().config(cfg).client(client).start().await.unwrap();
    rt::read_until(&mut source, N, Duration::from_secs(10)).await.unwrap()
}

/// Reads `from` as `S`, converts, writes `to` as `D`.
async fn hop<S: TestRecord, D: TestRecord>(emu: &Emulator, from: &str, to: &str, convert: impl Fn(S) -> D) -> Vec<S> {
    let got: Vec<S> = read(emu, from).await;
    let out: Vec<D> = got.iter().cloned().map(convert).collect();
    write(emu, to, &out).await;
    got
}

/// The same physical columns under another table's struct.
macro_rules! convert {
    ($r:expr, $t:ident { $($extra:tt)* }) => {{
        let r = $r;
        $t { k: r.k, n: r.n, note: r.note, amount: r.amount, at: r.at, tags: r.tags, shard: String::new(), $($extra)* }
    }};
}

/// Every record of `sent` arrived once, unchanged, in order per key.
fn check_same<R: TestRecord>(kind: Kind, stage: &str, sent: &[R], got: &[R]) {
    assert_eq!(rt::check_delivery(sent, got), Ok(0), "{kind}: {stage}");
    let (mut a, mut b) = (sent.to_vec(), got.to_vec());
    a.sort_by_key(|r| r.key_n());
    b.sort_by_key(|r| r.key_n());
    assert!(a == b, "{kind}: {stage}: values changed");
}

async fn json_to_avro_and_back(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    for s in ["j1", "a1", "a2", "j2"] {
        emu.create_stream(s, 2).await.unwrap();
    }
    let sent: Vec<RtJson> = rt::records(N, 40);
    write(&emu, "j1", &sent).await;
    let _: Vec<RtJson> = hop(&emu, "j1", "a1", |r: RtJson| convert!(r, RtAvro {})).await;
    let avro: Vec<RtAvro> = hop(&emu, "a1", "a2", |r: RtAvro| convert!(r, RtAvroJson {})).await;
    let avro_json: Vec<RtAvroJson> =
        hop(&emu, "a2", "j2", |r: RtAvroJson| convert!(r, RtJson { arrival: Default::default(), seqno: String::new() })).await;
    let back: Vec<RtJson> = read(&emu, "j2").await;
    check_same(kind, "avro binary", &sent.iter().cloned().map(|r| convert!(r, RtAvro {})).collect::<Vec<_>>(), &avro);
    check_same(kind, "avro json", &sent.iter().cloned().map(|r| convert!(r, RtAvroJson {})).collect::<Vec<_>>(), &avro_json);
    check_same(kind, "json again", &sent, &back);
    // The avro stream holds Avro binary, the other Avro's JSON encoding.
    assert!(avro[0].encode().unwrap()[0] != b'{');
    assert!(avro_json[0].encode().unwrap().starts_with(b"{\"k\":"));
}

kinesis_tables_tests::on_each_emulator!(json_avro_json, json_to_avro_and_back);
