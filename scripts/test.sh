#!/usr/bin/env bash
# The whole test suite: installs the local Kinesis emulators if they are
# missing (idempotent; see scripts/install-emulators.sh), then runs every
# test. The emulator-backed tests start their own emulator processes on
# loopback ports and stop them when they finish.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-emulators.sh
export KT_PYTHON_AGG="${KT_PYTHON_AGG:-$PWD/.emulators/python-aws-kinesis-agg}"
exec cargo test --workspace "$@"
