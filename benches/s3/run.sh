#!/usr/bin/env bash
# Object-storage figures of docs/BENCHMARKS.md: starts a local SeaweedFS on 127.0.0.1 (as the
# test suite does), then runs examples/s3_bench.rs in release: archive upload MB/s,
# verify-from-the-bucket MB/s and one-record get latency. BENCH_EVENTS, BENCH_GETS as there.
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/lib/seaweedfs.sh
start_seaweedfs auditlog-bench
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo run --release --example s3_bench
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
