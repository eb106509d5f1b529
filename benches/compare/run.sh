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
# The real Windows events live in shared/data beside the main checkout; from a git worktree
# elsewhere the harness's default (beside this checkout) does not exist, so look beside the
# repository's common git directory too.
if [ -z "${COMPARE_REAL_EVENTS:-}" ]; then
    for d in ../shared/data "$(git rev-parse --git-common-dir 2>/dev/null)/../../shared/data"; do
        if [ -f "$d/windows-security-events.jsonl.zst" ]; then
            export COMPARE_REAL_EVENTS="$(cd "$d" && pwd)/windows-security-events.jsonl.zst"
            break
        fi
    done
fi
echo "run.sh: real events: ${COMPARE_REAL_EVENTS:-not found (their rows will not run)}; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
. benches/pg_server.sh
pg_start "${COMPARE_DIR:-${TMPDIR:-/tmp}}"
cargo bench --features compare --bench compare
