#!/usr/bin/env bash
# The NDJSON stage of benches/server_load.sh alone, against a given binary, so that two builds
# can be run alternately under the same load: batches of 1,000 of the same 574-byte events
# from 8 connections (wrk), durable acknowledgements, a fresh log each run. Nothing is
# asserted. Usage: benches/ndjson_stage.sh BIN [SECONDS, default 8]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
secs=${2:-8}
command -v wrk > /dev/null || apt-get install -y -q wrk > /dev/null
work=$(mktemp -d)
trap 'stop_serve; rm -rf "$work"' EXIT
. benches/wrk_stages.sh
start_serve "$bin" "$work"
write_bodies "$work"
echo "== $bin"
ndjson_stage "http://$serve_addr/v1/events" "$work" "$secs" "$serve_secret"
