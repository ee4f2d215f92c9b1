#!/usr/bin/env bash
# Installs the local Kinesis emulators the tests start (tests/src/emulator.rs)
# into <repo>/.emulators/. Idempotent: each emulator is skipped when the
# pinned version is already there. Needs node + npm (kinesis-mock) and cargo
# (ferrokinesis); no Docker.
#
#   kinesis-mock  npm kinesis-local@0.6.2 -> .emulators/npm/node_modules/kinesis-local/main.js
#   ferrokinesis  crates.io 0.7.0          -> .emulators/ferrokinesis/bin/ferrokinesis
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
  npm install --prefix "$dest/npm" --no-audit --no-fund --save-exact "kinesis-local@$KINESIS_LOCAL_VERSION"
  [[ -f "$mock_dir/main.js" ]] || { echo "install-emulators: $mock_dir/main.js missing after npm install" >&2; exit 1; }
fi

# --- ferrokinesis (crates.io) -------------------------------------------------
ferro_root="$dest/ferrokinesis"
ferro_bin="$ferro_root/bin/ferrokinesis"
ferro_version=""
if [[ -x "$ferro_bin" && -f "$ferro_root/.crates.toml" ]]; then
  # cargo install records what it installed: "ferrokinesis 0.7.0 (registry+...)" = ["ferrokinesis"]
  ferro_version="$(sed -n 's/^"ferrokinesis \([^ ]*\) .*/\1/p' "$ferro_root/.crates.toml" | head -n1)"
fi
if [[ "$ferro_version" == "$FERROKINESIS_VERSION" ]]; then
  echo "ferrokinesis: $ferro_version already installed at $ferro_bin"
else
  command -v cargo >/dev/null || { echo "install-emulators: cargo not found (ferrokinesis is built from crates.io)" >&2; exit 1; }
  echo "ferrokinesis: building $FERROKINESIS_VERSION into $ferro_root (takes a few minutes)"
  # A target dir of its own, so the workspace's target/ and its lock are untouched.
  CARGO_TARGET_DIR="$dest/ferrokinesis-target" \
    cargo install "ferrokinesis@$FERROKINESIS_VERSION" --locked --force --root "$ferro_root"
  [[ -x "$ferro_bin" ]] || { echo "install-emulators: $ferro_bin missing after cargo install" >&2; exit 1; }
  # The build directory is only a cache (~hundreds of MB); drop it.
  rm -rf "$dest/ferrokinesis-target"
fi

echo "emulators ready in $dest"
