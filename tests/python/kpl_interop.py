"""Drives the official aws-kinesis-agg library for tests/tests/emulators/kpl/interop.rs.

Subcommands (JSON on stdin and stdout; byte strings are base64):

  check        prints {"version": ...} when aws_kinesis_agg imports.
  aggregate    {"max_size": int or null,
                "records": [{"partition_key", "explicit_hash_key" (or null), "data"}]}
               -> {"aggregates": [{"partition_key", "explicit_hash_key", "data", "records"}]}
               with RecordAggregator, in order.
  deaggregate  {"records": [{"partition_key", "data"}]}  (Kinesis records as read)
               -> {"records": [{"partition_key", "explicit_hash_key", "data",
                                "aggregated", "sub_sequence_number"}],
                   "raw": [null or [{"partition_key_index", "explicit_hash_key_index"}]]}
               with deaggregator.deaggregate_records on Lambda-style event
               records. "raw" is the protobuf as decoded by the library's own
               messages_pb2, for each input record (null when not aggregated),
               so the test can see which index fields are present.
"""

import base64
import hashlib
import json
import sys

import aws_kinesis_agg

# These two put the package's own folder on sys.path, which messages_pb2 needs
# (it imports `config_pb2` as a top-level module): import them first.
from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import deaggregate_records
from aws_kinesis_agg import messages_pb2  # noqa: E402


def b64(data):
    return base64.b64encode(data).decode("ascii")


def check(_request):
    from importlib.metadata import version

    return {"version": version("aws-kinesis-agg")}


def aggregate(request):
    max_size = request.get("max_size")
    agg = RecordAggregator() if max_size is None else RecordAggregator(max_size)
    out = []

    def emit(record):
        pk, ehk, data = record.get_contents()
        out.append(
            {
                "partition_key": pk,
                "explicit_hash_key": ehk,
                "data": b64(data),
                "records": record.get_num_user_records(),
            }
        )

    for r in request["records"]:
        full = agg.add_user_record(r["partition_key"], base64.b64decode(r["data"]), r["explicit_hash_key"])
        if full is not None:
            emit(full)
    last = agg.clear_and_get()
    if last is not None:
        emit(last)
    return {"aggregates": out}


def raw_view(data):
    """The library's own protobuf view of an aggregated record, or None."""
    magic, digest_size = aws_kinesis_agg.MAGIC, aws_kinesis_agg.DIGEST_SIZE
    if not data.startswith(magic) or len(data) <= len(magic) + digest_size:
        return None
    body = data[len(magic) : -digest_size]
    if hashlib.md5(body).digest() != data[-digest_size:]:
        return None
    message = messages_pb2.AggregatedRecord()
    message.ParseFromString(body)
    return [
        {
            "partition_key_index": r.partition_key_index,
            "explicit_hash_key_index": r.explicit_hash_key_index if r.HasField("explicit_hash_key_index") else None,
        }
        for r in message.records
    ]


def deaggregate(request):
    events = []
    raw = []
    for i, r in enumerate(request["records"]):
        events.append(
            {
                "eventSource": "aws:kinesis",
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r["partition_key"],
                    "sequenceNumber": str(i),
                    "approximateArrivalTimestamp": 1700000000.0,
                    "data": r["data"],
                },
            }
        )
        raw.append(raw_view(base64.b64decode(r["data"])))
    out = []
    for e in deaggregate_records(events):
        k = e["kinesis"]
        data = k["data"]
        if isinstance(data, bytes):
            data = data.decode("ascii")
        out.append(
            {
                "partition_key": k["partitionKey"],
                "explicit_hash_key": k.get("explicitHashKey"),
                "data": data,
                "aggregated": k.get("aggregated", False),
                "sub_sequence_number": k.get("subSequenceNumber"),
            }
        )
    return {"records": out, "raw": raw}


COMMANDS = {"check": check, "aggregate": aggregate, "deaggregate": deaggregate}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.exit("usage: kpl_interop.py check|aggregate|deaggregate < request.json")
    request = json.load(sys.stdin) if sys.argv[1] != "check" else None
    json.dump(COMMANDS[sys.argv[1]](request), sys.stdout)
