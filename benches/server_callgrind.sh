#!/usr/bin/env bash
# Instructions per ingested event: the server under callgrind, a fixed number of NDJSON
# batches (1,000 events each) POSTed with curl, then SIGTERM; total Ir / events.
# Load-independent, unlike benches/server_load.sh. Usage: benches/server_callgrind.sh [BATCHES, default 10]
# Instructions per event = (Ir with BATCHES - Ir with 0) / (1,000 * BATCHES); run it twice.
set -euo pipefail
cd "$(dirname "$0")/.."
batches=${1:-10}
cargo build --release --quiet --bin auditlog
bin=$(pwd)/target/release/auditlog
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The same 574-byte event as benches/server_load.sh, 1,000 to a body.
. benches/wrk_stages.sh
write_bodies "$work"
secret=$("$bin" token add --dir "$work/log" --role writer | sed -n 1p)
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" serve --dir "$work/log" --listen 127.0.0.1:0 2> "$work/serve.err" &
pid=$!
for _ in $(seq 1 600); do grep -q started "$work/serve.err" && break; sleep 0.2; done
addr=$(grep -o 'listen=http://127.0.0.1:[0-9]*' "$work/serve.err" | cut -d/ -f3)
for _ in $(seq 1 "$batches"); do
  curl -sS -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $secret" -H 'Content-Type: application/x-ndjson' --data-binary @"$work/batch.ndjson" "http://$addr/v1/events"
done
kill -TERM $pid; wait $pid || true
grep -E "^summary:" "$work/cg.out" | sed "s/^summary:/instructions ($batches batches):/"
