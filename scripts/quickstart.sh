#!/usr/bin/env bash
# README command 1: a typed sink and source against a local Kinesis emulator,
# no AWS account needed. Installs the emulators if missing, starts
# ferrokinesis on a loopback port, creates the stream, runs the quickstart
# program (examples/quickstart) and stops the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-emulators.sh >/dev/null
bin="${KT_FERROKINESIS_BIN:-.emulators/ferrokinesis/bin/ferrokinesis-loopback}"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
"$bin" serve --port "$port" --create-stream-ms 100 --update-stream-ms 100 --log-level warn >"$log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null || true' EXIT
echo "ferrokinesis on http://127.0.0.1:$port (pid $emu)"

# The standard AWS environment: nothing in the spec or the binary changes to
# point it at the emulator instead of AWS.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=local-emulator
export KT_CHECKPOINT_DIR="$(mktemp -d)"

cargo build --release -q -p kinesis-tables-quickstart
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/_health/ready" && break
  sleep 0.1
done
./target/release/kinesis-tables-quickstart --create-stream clicks 4
./target/release/kinesis-tables-quickstart "${1:-20000}"
