#!/usr/bin/env bash
# The comparison harness in one command: installs the system libraries the `rocksdb` crate links
# against (Debian's librocksdb-dev 7.8, instead of a 16-minute bundled C++ build), then runs
# `cargo bench --features compare --bench compare` and writes the table to target/compare.md.
# Environment knobs (COMPARE_EVENTS, COMPARE_RUNS, ...) are listed in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! dpkg -s librocksdb-dev libsnappy-dev clang libclang-dev >/dev/null 2>&1; then
    apt-get update
    apt-get install -y librocksdb-dev libsnappy-dev clang libclang-dev
fi
libdir="/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
export ROCKSDB_LIB_DIR="$libdir" SNAPPY_LIB_DIR="$libdir"
export COMPARE_OUT="${COMPARE_OUT:-target/compare.md}"
cargo bench --features compare --bench compare
