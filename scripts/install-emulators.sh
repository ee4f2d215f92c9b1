#!/usr/bin/env bash
# Installs the local Kinesis emulators the tests start (tests/src/emulator.rs)
# into <repo>/.emulators/. Idempotent: each emulator is skipped when the
# pinned version is already there. Needs node + npm (kinesis-mock) and cargo
# (ferrokinesis); no Docker.
#
#   kinesis-mock  npm kinesis-local@0.6.2 -> .emulators/npm/node_modules/kinesis-local/main.js
#   ferrokinesis  crates.io 0.7.0          -> .emulators/ferrokinesis/bin/ferrokinesis-loopback
#   dynalite      npm dynalite@4.0.0       -> .emulators/npm-dynalite/node_modules/dynalite/cli.js (DynamoDB)
#   duckdb        PyPI duckdb==2.0.0       -> .emulators/python-duckdb (the SQL differential test's oracle)
#
# The tests look there by default; KT_KINESIS_MOCK_DIR (the folder holding
# main.js) and KT_FERROKINESIS_BIN (the binary) point them elsewhere.
set -euo pipefail

KINESIS_LOCAL_VERSION=0.6.2
FERROKINESIS_VERSION=0.7.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.emulators"
mkdir -p "$dest"

# --- kinesis-mock (npm package kinesis-local) --------------------------------
mock_dir="$dest/npm/node_modules/kinesis-local"
mock_version=""
if [[ -f "$mock_dir/package.json" && -f "$mock_dir/main.js" ]]; then
  mock_version="$(node -p 'require(process.argv[1]).version' "$mock_dir/package.json" 2>/dev/null || true)"
fi
if [[ "$mock_version" == "$KINESIS_LOCAL_VERSION" ]]; then
  echo "kinesis-mock: kinesis-local@$mock_version already installed in $mock_dir"
else
  command -v npm >/dev/null || { echo "install-emulators: npm not found (kinesis-mock needs Node.js >= 18 and npm)" >&2; exit 1; }
  echo "kinesis-mock: installing kinesis-local@$KINESIS_LOCAL_VERSION into $dest/npm"
  mkdir -p "$dest/npm"
  npm install --prefix "$dest/npm" --no-audit --no-fund --loglevel=error --save-exact "kinesis-local@$KINESIS_LOCAL_VERSION"
  [[ -f "$mock_dir/main.js" ]] || { echo "install-emulators: $mock_dir/main.js missing after npm install" >&2; exit 1; }
fi

# --- ferrokinesis (crates.io), served on 127.0.0.1 only ----------------------
# The ferrokinesis binary binds 0.0.0.0 with no option to change it, so we
# build a ten-line wrapper over its library (tools/ferrokinesis-loopback, pinned
# to ferrokinesis =0.7.0 with a committed Cargo.lock) that binds loopback.
ferro_root="$dest/ferrokinesis"
ferro_bin="$ferro_root/bin/ferrokinesis-loopback"
ferro_src="$root/tools/ferrokinesis-loopback"
ferro_stamp="$ferro_root/.source-hash"
ferro_hash="$(cat "$ferro_src/Cargo.toml" "$ferro_src/Cargo.lock" "$ferro_src/src/main.rs" | sha256sum | cut -d' ' -f1)"
if [[ -x "$ferro_bin" && -f "$ferro_stamp" && "$(cat "$ferro_stamp")" == "$ferro_hash" ]]; then
  echo "ferrokinesis: $FERROKINESIS_VERSION (loopback wrapper) already installed at $ferro_bin"
else
  command -v cargo >/dev/null || { echo "install-emulators: cargo not found (ferrokinesis is built from crates.io)" >&2; exit 1; }
  echo "ferrokinesis: building $FERROKINESIS_VERSION (loopback wrapper) into $ferro_root (takes a few minutes)"
  # A target dir of its own, so the workspace's target/ and its lock are untouched.
  # Cargo's progress and errors go to stderr as usual; only its advice to add
  # $ferro_root/bin to PATH is dropped (the tests and the quickstart find the
  # binary by its path). pipefail keeps cargo's exit status.
  { CARGO_TARGET_DIR="$dest/ferrokinesis-target" \
      cargo install --path "$ferro_src" --locked --force --root "$ferro_root" 2>&1 1>&3 \
      | { grep -v 'to your PATH to be able to run the installed binaries' || true; } >&2; } 3>&1
  [[ -x "$ferro_bin" ]] || { echo "install-emulators: $ferro_bin missing after cargo install" >&2; exit 1; }
  echo "$ferro_hash" > "$ferro_stamp"
  # The build directory is only a cache (~hundreds of MB); drop it.
  rm -rf "$dest/ferrokinesis-target"
fi

# --- aws-kinesis-agg (PyPI), the official KPL aggregation library ------------
# The KPL interop tests (tests/tests/emulators/kpl/interop.rs) aggregate and
# de-aggregate with it; KT_PYTHON_AGG points them here. `six` is imported by
# aws-kinesis-agg 1.2.3 without being declared.
AGG_VERSION=1.2.3
agg_dir="$dest/python-aws-kinesis-agg"
if PYTHONPATH="$agg_dir" python3 -c "import aws_kinesis_agg, six, importlib.metadata as m; assert m.version('aws-kinesis-agg') == '$AGG_VERSION'" 2>/dev/null; then
  echo "aws-kinesis-agg: $AGG_VERSION already installed in $agg_dir"
else
  command -v python3 >/dev/null || { echo "install-emulators: python3 not found (the KPL interop tests need it)" >&2; exit 1; }
  echo "aws-kinesis-agg: installing $AGG_VERSION into $agg_dir"
  rm -rf "$agg_dir"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$agg_dir" "aws-kinesis-agg==$AGG_VERSION" six
fi

# --- fastavro (PyPI), the avro interop oracle --------------------------------
# The avro interop tests (tests/tests/emulators/codec/avro_interop.rs) read
# and write datums with it; KT_PYTHON_FASTAVRO points them here.
FASTAVRO_VERSION=1.13.1
fastavro_dir="$dest/python-fastavro"
if PYTHONPATH="$fastavro_dir" python3 -c "import fastavro; assert fastavro.__version__ == '$FASTAVRO_VERSION'" 2>/dev/null; then
  echo "fastavro: $FASTAVRO_VERSION already installed in $fastavro_dir"
else
  command -v python3 >/dev/null || { echo "install-emulators: python3 not found (the avro interop tests need it)" >&2; exit 1; }
  echo "fastavro: installing $FASTAVRO_VERSION into $fastavro_dir"
  rm -rf "$fastavro_dir"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$fastavro_dir" "fastavro==$FASTAVRO_VERSION"
fi

# --- DuckDB for Python (PyPI), the SQL differential test's oracle -----------
# tests/tests/emulators/sql_diff evaluates generated expressions with
# DuckDB (scripts/sql_diff.py); KT_PYTHON_DUCKDB points it here.
DUCKDB_VERSION=2.0.0
duckdb_dir="$dest/python-duckdb"
if PYTHONPATH="$duckdb_dir" python3 -c "import duckdb; assert duckdb.__version__ == '$DUCKDB_VERSION'" 2>/dev/null; then
  echo "duckdb: $DUCKDB_VERSION already installed in $duckdb_dir"
else
  command -v python3 >/dev/null || { echo "install-emulators: python3 not found (the SQL differential test needs it)" >&2; exit 1; }
  echo "duckdb: installing $DUCKDB_VERSION into $duckdb_dir"
  rm -rf "$duckdb_dir"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$duckdb_dir" "duckdb==$DUCKDB_VERSION"
fi

# --- dynalite (npm), DynamoDB for the lease table tests ----------------------
# Pure JavaScript (no Java); the tests start it on 127.0.0.1 with --host.
# KT_DYNALITE_DIR (the folder holding cli.js) points them elsewhere.
DYNALITE_VERSION=4.0.0
dyn_dir="$dest/npm-dynalite/node_modules/dynalite"
dyn_version=""
if [[ -f "$dyn_dir/package.json" && -f "$dyn_dir/cli.js" ]]; then
  dyn_version="$(node -p 'require(process.argv[1]).version' "$dyn_dir/package.json" 2>/dev/null || true)"
fi
if [[ "$dyn_version" == "$DYNALITE_VERSION" ]]; then
  echo "dynalite: $dyn_version already installed in $dyn_dir"
else
  command -v npm >/dev/null || { echo "install-emulators: npm not found (dynalite needs Node.js and npm)" >&2; exit 1; }
  echo "dynalite: installing $DYNALITE_VERSION into $dest/npm-dynalite"
  mkdir -p "$dest/npm-dynalite"
  npm install --prefix "$dest/npm-dynalite" --no-audit --no-fund --loglevel=error --save-exact "dynalite@$DYNALITE_VERSION"
  [[ -f "$dyn_dir/cli.js" ]] || { echo "install-emulators: $dyn_dir/cli.js missing after npm install" >&2; exit 1; }
fi

echo "emulators ready in $dest"
