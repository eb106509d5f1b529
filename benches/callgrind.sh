#!/usr/bin/env bash
# The regression guard (issue 20, item 5): instruction counts, which a loaded machine barely
# moves, of append, query and verify. Builds benches/instructions.rs in the bench (release)
# profile, runs each case under `valgrind --tool=callgrind` with N operations and with 0, and
# prints the difference per operation (set-up subtracted; all threads counted).
#
#   benches/callgrind.sh            # prints a markdown table; about 2-4 minutes on 2 cores
#
# Installs valgrind from Debian if it is missing. Record the table in docs/BENCHMARKS.md
# ("Instruction counts") after a change that should not cost anything, and compare.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null; then
    apt-get update
    apt-get install -y valgrind
fi
exe=$(cargo bench --bench instructions --no-run 2>&1 | tee /dev/stderr |
    sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
[ -x "$exe" ] || { echo "could not find the built benches/instructions.rs" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/auditlog-callgrind.XXXXXX")
trap 'rm -rf "$out"' EXIT

# Instructions executed (callgrind's "Collected" total, every thread) by `exe CASE N`.
count() {
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.%p" "$exe" "$1" "$2" \
        2>"$out/log" >/dev/null || { cat "$out/log" >&2; exit 1; }
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p' "$out/log"
}

echo "| case | N | instructions (N) | instructions (0) | per operation |"
echo "|---|---|---|---|---|"
for spec in "append 2000 event" "append1 500 event" "query 20 round" "verify 2 run"; do
    set -- $spec
    with=$(count "$1" "$2")
    without=$(count "$1" 0)
    echo "| $1 | $2 | $with | $without | $(( (with - without) / $2 )) per $3 |"
done
echo
echo "valgrind $(valgrind --version | sed 's/valgrind-//'), $(rustc --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
