#!/usr/bin/env bash
# The Unix-socket stage of benches/server_load.sh alone, against a given server binary, so two
# builds can be run alternately under the same load: 64 clients (examples/socket_load.rs),
# each sending one 574-byte event per frame and waiting for its durable acknowledgement, a
# fresh log each run. Nothing is asserted.
# Usage: benches/socket_stage.sh BIN [SECONDS, default 8] [CLIENTS, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
secs=${2:-8}
clients=${3:-64}
cargo build --release --quiet --example socket_load
work=$(mktemp -d)
trap 'stop_serve; rm -rf "$work"' EXIT
. benches/wrk_stages.sh
start_serve "$bin" "$work" --socket "$work/audit.sock"
write_bodies "$work"
echo "== $bin, load average $(cut -d' ' -f1-3 /proc/loadavg)"
target/release/examples/socket_load "$work/audit.sock" "$serve_secret" "$work/one.json" "$clients" "$secs"
