#!/usr/bin/env bash
# The comparison harness in one command:
# - installs what the peers need: Debian's librocksdb-dev 7.8 (which the `rocksdb` crate links
#   against, instead of a 16-minute bundled C++ build) and PostgreSQL 15;
# - starts a throw-away PostgreSQL cluster (benches/pg_server.sh: a temporary directory, a Unix
#   socket only, fsync on, synchronous_commit=on), stopped and removed on exit by a trap;
# - runs `cargo bench --features compare --bench compare` and writes the tables to
#   target/compare.md.
# Sizes and other knobs (COMPARE_EVENTS, COMPARE_SINGLE_EVENTS, COMPARE_RUNS, COMPARE_ONLY, ...)
# are listed in docs/BENCHMARKS.md; COMPARE_DIR (default: the temp dir) must be a real disk.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! dpkg -s librocksdb-dev libsnappy-dev clang libclang-dev >/dev/null 2>&1; then
    apt-get update
    apt-get install -y librocksdb-dev libsnappy-dev clang libclang-dev
fi
libdir="/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
export ROCKSDB_LIB_DIR="$libdir" SNAPPY_LIB_DIR="$libdir"
export COMPARE_OUT="${COMPARE_OUT:-target/compare.md}"
. benches/pg_server.sh
pg_start "${COMPARE_DIR:-${TMPDIR:-/tmp}}"
cargo bench --features compare --bench compare
