#!/usr/bin/env bash
# Load on `auditlog serve` with wrk (Debian's `wrk`; installed here if missing): durable
# acknowledgements (--durability immediate), events of about 500 bytes, on 127.0.0.1.
#   1. single-event POSTs from 64 connections;
#   2. NDJSON batches of 1,000 events from 8 connections.
# Prints wrk's report for each; docs/BENCHMARKS.md records the figures. Not a test: nothing
# is asserted. Usage: benches/server_load.sh [SECONDS per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk > /dev/null || apt-get install -y -q wrk > /dev/null
cargo build --release --quiet --bin auditlog
bin=$(pwd)/target/release/auditlog
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
secret=$("$bin" token add --dir "$work/log" --role writer | sed -n 1p)
"$bin" serve --dir "$work/log" --listen 127.0.0.1:0 2> "$work/serve.err" &
pid=$!
for _ in $(seq 1 100); do grep -q started "$work/serve.err" && break; sleep 0.1; done
addr=$(grep -o 'listen=http://127.0.0.1:[0-9]*' "$work/serve.err" | cut -d/ -f3)
# One event of about 500 bytes (as JSON), and a body of 1,000 of them as NDJSON.
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
event = {"actor": {"id": "user:4242", "kind": "user", "name": "Ada Lovelace", "email": "ada@example.com"},
         "action": "order.status_change", "entity": {"type": "order", "id": "ord_8f3a2c91"},
         "tenant": "acme", "ip": "192.0.2.17", "request_id": "req_5b1e9d0c7a",
         "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
         "before": {"status": "open"}, "after": {"status": "shipped"}, "labels": ["SOX"],
         "metadata": {"carrier": "dhl", "warehouse": "ams-3", "note": "x" * 80}}
one = json.dumps(event)
open(f"{work}/one.json", "w").write(one)
open(f"{work}/batch.ndjson", "w").write("\n".join([one] * 1000) + "\n")
print(f"event: {len(one)} bytes", file=sys.stderr)
PY
lua() { # body file, content type
  cat <<LUA
local f = io.open("$1", "rb"); local body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "$2"
wrk.headers["Authorization"] = "Bearer $secret"
done = function(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
}
lua "$work/one.json" application/json > "$work/one.lua"
lua "$work/batch.ndjson" application/x-ndjson > "$work/batch.lua"
echo "== single events, 64 connections, ${secs}s"
wrk -t2 -c64 -d"${secs}s" --latency -s "$work/one.lua" "http://$addr/v1/events"
echo "== NDJSON batches of 1,000 events, 8 connections, ${secs}s"
wrk -t2 -c8 -d"${secs}s" --latency -s "$work/batch.lua" "http://$addr/v1/events"
kill -TERM "$pid"; wait "$pid" || true; pid=""
grep 'stopped' "$work/serve.err"
