#!/usr/bin/env bash
# The lease store's cost and speed (issue 12), on ferrokinesis and dynalite:
# DynamoDB requests per lease per minute in steady state (idle and under
# load, from the fault proxies' request logs), and the built pipeline
# binary's throughput on the lease store against the file store in the same
# run (medians of 3, ratio). PROFILE=debug for an unoptimised build;
# KT_BENCH_RECORDS sets the backlog (default 30,000).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=(--release)
[[ "${PROFILE:-release}" == debug ]] && profile=()
exec cargo test "${profile[@]}" -p kinesis-tables-tests --test emulators scaleout::bench -- --ignored --nocapture --test-threads 1
