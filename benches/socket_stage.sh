#!/usr/bin/env bash
# The Unix-socket stage of benches/server_load.sh alone, against a given server binary, so two
# builds can be run alternately under the same load: 64 clients (examples/socket_load.rs),
# each sending one 574-byte event per frame and waiting for its durable acknowledgement, a
# fresh log each run. Nothing is asserted.
# Usage: benches/socket_stage.sh BIN [SECONDS, default 8] [CLIENTS, default 64]
# With SOCKET_STAT=1 (needs Debian's linux-perf), `perf stat -e task-clock,context-switches`
# is attached to the server for the whole load and its totals are printed per event: the
# server's CPU per event is far less noisy than events/s on a machine the client shares.
# SOCKET_LOAD=PATH runs that build of examples/socket_load instead of building it, so two
# clients can be compared too.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
secs=${2:-8}
clients=${3:-64}
load=${SOCKET_LOAD:-}
if [ -z "$load" ]; then
    cargo build --release --quiet --example socket_load
    load=target/release/examples/socket_load
fi
work=$(mktemp -d)
trap 'stop_serve; rm -rf "$work"' EXIT
. benches/wrk_stages.sh
start_serve "$bin" "$work" --socket "$work/audit.sock"
write_bodies "$work"
echo "== $bin, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${SOCKET_STAT:-0}" = 1 ]; then
    perf stat -x, -e task-clock,context-switches -p "$serve_pid" -o "$work/stat" &
    stat=$!
fi
"$load" "$work/audit.sock" "$serve_secret" "$work/one.json" "$clients" "$secs" \
    | tee "$work/load.out"
if [ "${SOCKET_STAT:-0}" = 1 ]; then
    kill -INT "$stat"
    wait "$stat" || true
    events=$(grep -o '[0-9]* events,' "$work/load.out" | cut -d' ' -f1)
    awk -F, -v n="$events" '
        $3 == "task-clock" { printf "server CPU: %.1f us per event (%.0f ms)", $1 * 1000 / n, $1 }
        $3 == "context-switches" { printf ", %.3f context switches per event (%d)\n", $1 / n, $1 }
    ' "$work/stat"
fi
