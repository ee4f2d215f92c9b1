//! Typed records written by the sink and read back by the polling source,
//! against both emulators, in every format.

use std::time::Duration;

use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::{RtCsv, RtJson, RtRaw};
use kinesis_tables_tests::rt::{self, TestRecord};

const RECORDS: usize = 10_000;
const KEYS: usize = 100;

async fn roundtrip<R: TestRecord>(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap_or_else(|e| panic!("{e}"));
    let stream = "roundtrip";
    emu.create_stream(stream, 4).await.unwrap();
    let cfg = rt::config_for::<R>(&emu.endpoint(), stream);
    let (sink_client, source_client) = rt::clients(&cfg).await;

    let sent: Vec<R> = rt::records(RECORDS, KEYS);
    let mut sink = Sink::<R>::with_client(sink_client, &cfg);
    for r in &sent {
        sink.send(r).await.unwrap();
    }
    let stats = sink.close().await.unwrap();
    assert_eq!(stats.acknowledged, RECORDS as u64, "{stats:?}");
    assert_eq!(stats.given_up, 0);

    let mut source = Source::<R>::builder().config(cfg).client(source_client).start().await.unwrap();
    let got = rt::read_until(&mut source, RECORDS, Duration::from_secs(20)).await.unwrap();
    let dups = rt::check_delivery(&sent, &got).unwrap_or_else(|e| panic!("{} {}: {e}", kind.name(), R::FORMAT));
    assert_eq!(dups, 0, "a clean run delivers each record once");
    let st = source.stats();
    assert_eq!(st.records, RECORDS as u64);
    assert_eq!(st.skipped_bad_records, 0);
    source.close().await.unwrap();
}

kinesis_tables_tests::on_each_emulator!(json, roundtrip::<RtJson>);

kinesis_tables_tests::on_each_emulator!(csv, roundtrip::<RtCsv>);

kinesis_tables_tests::on_each_emulator!(raw, roundtrip::<RtRaw>);
