#!/usr/bin/env bash
# README command 1: the pipelines of templates/specs/orders.yaml, built into
# binaries and run on a local Kinesis emulator. No AWS account needed.
# Installs the emulators if missing, starts ferrokinesis on a loopback port,
# builds the pipeline binaries, then runs four of them:
#   feed_orders     datagen -> `orders` stream (50,000 generated orders; ends by itself)
#   archive_orders  `orders` -> `orders-archive` (json -> csv), until caught up
#   big_orders_sql  `orders` -> `big-orders`: Flink SQL compiled to Rust at build time
#   show_archive    `orders-archive` -> print, until caught up
# and stops the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-emulators.sh >/dev/null
bin="${KT_FERROKINESIS_BIN:-.emulators/ferrokinesis/bin/ferrokinesis-loopback}"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
"$bin" serve --port "$port" --create-stream-ms 100 --update-stream-ms 100 --log-level warn >"$log" 2>&1 &
emu=$!
work="$(mktemp -d)"
trap 'kill $emu 2>/dev/null || true; rm -rf "$work"' EXIT
echo "== ferrokinesis on http://127.0.0.1:$port"

echo "== building the CLI, the quickstart helper and the pipelines of templates/specs/orders.yaml"
cargo build --release -q -p kinesis-tables-cli -p kinesis-tables-quickstart
./target/release/kinesis-tables build templates/specs/orders.yaml --out target/pipelines

# Only the standard AWS environment points the binaries at the emulator.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=000000000000 AWS_SECRET_ACCESS_KEY=local-emulator AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/_health/ready" && break; sleep 0.1; done
q=./target/release/kinesis-tables-quickstart
$q create orders 4
$q create orders-archive 4
$q create big-orders 2

echo "== feed_orders: datagen -> stream orders"
./target/pipelines/feed_orders --progress
echo "== archive_orders: stream orders -> stream orders-archive (json -> csv), until caught up"
./target/pipelines/archive_orders --checkpoint-dir "$work/checkpoints" --stop-when-idle 3s --progress
echo "== big_orders_sql: stream orders -> stream big-orders (INSERT INTO … SELECT … WHERE, compiled at build time)"
./target/pipelines/big_orders_sql --checkpoint-dir "$work/checkpoints" --stop-when-idle 3s --progress
echo "== show_archive: stream orders-archive -> print, until caught up"
./target/pipelines/show_archive --checkpoint-dir "$work/checkpoints" --stop-when-idle 3s >"$work/archive.txt"
head -n 3 "$work/archive.txt"
echo "   ... $(wc -l <"$work/archive.txt") records printed"
