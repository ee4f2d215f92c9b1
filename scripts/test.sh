#!/usr/bin/env bash
# The whole test suite: installs the local Kinesis emulators if they are
# missing (idempotent; see scripts/install-emulators.sh), then runs every
# test with the committed Cargo.lock. The emulator-backed tests (one binary,
# tests/tests/emulators) start their own emulator processes on loopback ports
# and stop them when they finish. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-emulators.sh
export KT_PYTHON_AGG="${KT_PYTHON_AGG:-$PWD/.emulators/python-aws-kinesis-agg}"
export KT_PYTHON_FASTAVRO="${KT_PYTHON_FASTAVRO:-$PWD/.emulators/python-fastavro}"
export KT_PYTHON_DUCKDB="${KT_PYTHON_DUCKDB:-$PWD/.emulators/python-duckdb}"
exec cargo test --workspace --locked "$@"
