#!/usr/bin/env bash
# Load on `auditlog serve` with wrk (Debian's `wrk`; installed here if missing): durable
# acknowledgements (--durability immediate), events of about 500 bytes, on 127.0.0.1.
#   1. single-event POSTs from 64 connections;
#   2. NDJSON batches of 1,000 events from 8 connections;
#   3. single events over the Unix socket from 64 clients (examples/socket_load.rs).
# Prints wrk's report for each; docs/BENCHMARKS.md records the figures. Not a test: nothing
# is asserted. Then the same stages on a FastAPI + PostgreSQL endpoint (benches/services/
# fastapi_pg.sh) for the ratio. Usage: benches/server_load.sh [SECONDS per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk > /dev/null || apt-get install -y -q wrk > /dev/null
cargo build --release --quiet --bin auditlog --example socket_load
bin=$(pwd)/target/release/auditlog
work=$(mktemp -d)
trap 'stop_serve; rm -rf "$work"' EXIT
. benches/wrk_stages.sh
start_serve "$bin" "$work" --socket "$work/audit.sock"
secret=$serve_secret
write_bodies "$work"
run_wrk_stages "http://$serve_addr/v1/events" "$work" "$secs" "$secret"
echo "== Unix socket, single events, 64 clients, ${secs}s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
target/release/examples/socket_load "$work/audit.sock" "$secret" "$work/one.json" 64 "$secs"
stop_serve
grep 'stopped' "$work/serve.err"
# The seeds' own stack under the same load, in the same run (issue 14 item 10):
# SERVER_LOAD_PEER=none skips it.
if [ "${SERVER_LOAD_PEER:-fastapi-pg}" != none ]; then
  benches/services/fastapi_pg.sh "$secs"
fi
