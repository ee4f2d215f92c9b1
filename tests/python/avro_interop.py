"""fastavro interop for the avro format tests (tests/tests/emulators/codec/avro_interop.rs).

Reads a JSON request on stdin, writes a JSON answer on stdout.

  check                   -> {"version": ...}
  decode  {schema, datums: [hex], encoding: binary|json}
          -> {"values": [rendered], "binary": [hex], "json": [text]}
     Each datum is read by fastavro (schemaless_reader, or json_reader for
     the json encoding) with the given schema, rendered as JSON (below), then
     the rendering is turned back into Python values, which fastavro writes
     again in both encodings.
  encode  {schema, values: [rendered]} -> {"binary": [hex], "json": [text]}

Rendering: decimals as strings, dates/times/timestamps as ISO text (a
timestamp with a time zone ends in +00:00), bytes as {"$bytes": hex}, the
nanosecond logical types (which fastavro passes through) as their long.
"""
import datetime
import decimal
import io
import json
import sys

import fastavro


def logical(schema):
    return schema.get("logicalType") if isinstance(schema, dict) else None


def branch(schema, value):
    """The non-null branch of a ["null", T] union."""
    return [s for s in schema if s != "null"][0]


def render(schema, v):
    if isinstance(schema, list):
        return None if v is None else render(branch(schema, v), v)
    if isinstance(schema, dict):
        t = schema["type"]
        if t == "record":
            return {f["name"]: render(f["type"], v[f["name"]]) for f in schema["fields"]}
        if t == "array":
            return [render(schema["items"], x) for x in v]
        if t == "map":
            return {k: render(schema["values"], x) for k, x in v.items()}
        lt = logical(schema)
        if lt == "decimal":
            return str(v)
        if lt in ("date", "time-millis") or (lt or "").endswith(("-millis", "-micros")):
            return v.isoformat()
        return render(t, v)
    if schema == "bytes":
        return {"$bytes": v.hex()}
    return v


def unrender(schema, v):
    if isinstance(schema, list):
        return None if v is None else unrender(branch(schema, v), v)
    if isinstance(schema, dict):
        t = schema["type"]
        if t == "record":
            return {f["name"]: unrender(f["type"], v[f["name"]]) for f in schema["fields"]}
        if t == "array":
            return [unrender(schema["items"], x) for x in v]
        if t == "map":
            return {k: unrender(schema["values"], x) for k, x in v.items()}
        lt = logical(schema)
        if lt == "decimal":
            return decimal.Decimal(v)
        if lt == "date":
            return datetime.date.fromisoformat(v)
        if lt == "time-millis":
            return datetime.time.fromisoformat(v)
        if (lt or "").endswith(("-millis", "-micros")):
            return datetime.datetime.fromisoformat(v)
        return unrender(t, v)
    if schema == "bytes":
        return bytes.fromhex(v["$bytes"])
    if schema == "float" or schema == "double":
        return float(v)
    return v


def write_both(parsed, values):
    binary, texts = [], []
    for v in values:
        b = io.BytesIO()
        fastavro.schemaless_writer(b, parsed, v)
        binary.append(b.getvalue().hex())
        o = io.StringIO()
        fastavro.json_writer(o, parsed, [v])
        texts.append(o.getvalue().strip())
    return binary, texts


def main():
    cmd = sys.argv[1]
    if cmd == "check":
        print(json.dumps({"version": fastavro.__version__}))
        return
    req = json.load(sys.stdin)
    schema = req["schema"]
    parsed = fastavro.parse_schema(json.loads(json.dumps(schema)))
    if cmd == "decode":
        values = []
        for d in req["datums"]:
            if req.get("encoding") == "json":
                values.extend(fastavro.json_reader(io.StringIO(d), parsed))
            else:
                values.append(fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(d)), parsed, parsed))
        rendered = [render(schema, v) for v in values]
        again = [unrender(schema, r) for r in rendered]
        binary, texts = write_both(parsed, again)
        print(json.dumps({"values": rendered, "binary": binary, "json": texts}))
    elif cmd == "encode":
        binary, texts = write_both(parsed, [unrender(schema, r) for r in req["values"]])
        print(json.dumps({"binary": binary, "json": texts}))
    else:
        sys.exit(f"unknown subcommand {cmd}")


if __name__ == "__main__":
    main()
