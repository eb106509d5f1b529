# Sourced by benches/server_load.sh, ndjson_stage.sh and services/fastapi_pg.sh: the same request bodies
# and the same wrk stages for every HTTP ingest endpoint that is compared, so the figures of
# `auditlog serve` and of its peers come from identical load.
#
#   write_bodies DIR                     # DIR/one.json (~500 bytes) and DIR/batch.ndjson (1,000 of it)
#   run_wrk_stages URL DIR SECS [TOKEN]  # 64 connections x single events; 8 x NDJSON batches
#   ndjson_stage URL DIR SECS [TOKEN]    # the second stage alone
#   start_serve BIN DIR [ARGS...]        # `BIN serve` on DIR/log, port 127.0.0.1:0, a writer token
#   stop_serve                           # SIGTERM to it and wait (nothing if none runs)

write_bodies() {
    python3 - "$1" <<'PY'
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
}

# A wrk script POSTing one body file; counts every answer that is not 2xx as an error.
wrk_script() { # body file, content type, bearer token (may be empty)
    cat <<LUA
local f = io.open("$1", "rb"); local body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "$2"
if "$3" ~= "" then wrk.headers["Authorization"] = "Bearer $3" end
done = function(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
}

run_wrk_stages() { # URL, directory with the bodies, seconds per stage, token
    local url=$1 dir=$2 secs=$3 token=${4:-}
    wrk_script "$dir/one.json" application/json "$token" > "$dir/one.lua"
    echo "== single events, 64 connections, ${secs}s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    wrk -t2 -c64 -d"${secs}s" --latency -s "$dir/one.lua" "$url"
    ndjson_stage "$@"
}

ndjson_stage() { # URL, directory with the bodies, seconds, token
    local url=$1 dir=$2 secs=$3 token=${4:-}
    wrk_script "$dir/batch.ndjson" application/x-ndjson "$token" > "$dir/batch.lua"
    echo "== NDJSON batches of 1,000 events, 8 connections, ${secs}s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    wrk -t2 -c8 -d"${secs}s" --latency -s "$dir/batch.lua" "$url"
}

# A writer token in DIR/log, then `BIN serve` on it in the background, on an ephemeral port of
# 127.0.0.1 (extra ARGS passed on); sets serve_pid, serve_addr (host:port) and serve_secret.
start_serve() { # BIN, DIR, ARGS...
    local bin=$1 dir=$2
    shift 2
    serve_secret=$("$bin" token add --dir "$dir/log" --role writer | sed -n 1p)
    "$bin" serve --dir "$dir/log" --listen 127.0.0.1:0 "$@" 2> "$dir/serve.err" &
    serve_pid=$!
    for _ in $(seq 1 100); do grep -q started "$dir/serve.err" && break; sleep 0.1; done
    serve_addr=$(grep -o 'listen=http://127.0.0.1:[0-9]*' "$dir/serve.err" | cut -d/ -f3)
}

stop_serve() {
    if [ -n "${serve_pid:-}" ]; then
        kill -TERM "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
        serve_pid=""
    fi
}
