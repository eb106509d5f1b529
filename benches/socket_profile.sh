#!/usr/bin/env bash
# Where the server's time goes under the Unix-socket stage of benches/server_load.sh (64
# clients, one event per frame, each waiting for its acknowledgement): `perf record -g` and
# `perf stat -e context-switches,task-clock` attached to the server for SECONDS while
# examples/socket_load runs. Needs Debian's linux-perf. Nothing is asserted.
# Usage: benches/socket_profile.sh [SECONDS, default 8] [OUT, default /tmp/socket-profile]
#   then: perf report -i OUT.data --no-children --sort comm,dso   (and --sort symbol)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
out=${2:-/tmp/socket-profile}
cargo build --release --quiet --bin auditlog --example socket_load
bin=${BIN:-$(pwd)/target/release/auditlog}
work=$(mktemp -d)
trap 'stop_serve; rm -rf "$work"' EXIT
. benches/wrk_stages.sh
start_serve "$bin" "$work" --socket "$work/audit.sock"
write_bodies "$work"
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg)"
perf record -F 999 -g -p "$serve_pid" -o "$out.data" -- sleep "$secs" > /dev/null 2>&1 &
record=$!
perf stat -e context-switches,task-clock -p "$serve_pid" -o "$out.stat" -- sleep "$secs" &
stat=$!
target/release/examples/socket_load "$work/audit.sock" "$serve_secret" "$work/one.json" 64 "$secs"
wait "$record" || true
wait "$stat" || true
grep -E "context-switches|task-clock" "$out.stat"
