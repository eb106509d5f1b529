#!/usr/bin/env bash
# Fast CLI reads (issue 19, docs/BENCHMARKS.md "Fast CLI reads (issue 19)"): the wall clock of
# `auditlog query --dir DIR --actor X --count` as a fresh process, in three states of the log:
#   indexed  - as the writer left it (index files of the sealed segments, active segment open)
#   sealed   - after `auditlog seal` (every segment sealed and indexed, the active one empty)
#   none     - with the index files moved aside (every query rebuilds them in memory)
#
# usage: benches/cli_query_fresh.sh BIN DIR [EVENTS] [RUNS] [STATES]
#   BIN     the auditlog binary to measure (e.g. target/debug/auditlog)
#   DIR     the log; built with `BIN demo --events EVENTS --dir DIR` if it does not exist
#   EVENTS  default 10000000;  RUNS  runs per state, default 10
#   STATES  default "indexed sealed none" ("sealed" seals the log for good: run it after
#           "indexed"; "none" moves the index files aside and back)
# Uses hyperfine when installed, else `perf stat -r RUNS` (mean wall clock with its spread, and
# CPU time), else a loop of /usr/bin/time (10 ms resolution). Prints `uptime` before and after.
set -euo pipefail
bin=$1 dir=$2 events=${3:-10000000} runs=${4:-10} states=${5:-indexed sealed none}
actor=${ACTOR:-user:614}

if [ ! -d "$dir" ]; then
    df -h "$(dirname "$dir")"
    "$bin" demo --events "$events" --dir "$dir"
fi

measure() {
    local label=$1
    echo "== $label: $bin query --dir $dir --actor $actor --count"
    "$bin" query --dir "$dir" --actor "$actor" --count # warm the page cache, print the answer
    if command -v hyperfine >/dev/null; then
        hyperfine --runs "$runs" "$bin query --dir $dir --actor $actor --count"
    elif command -v perf >/dev/null && perf stat -r 1 true 2>/dev/null; then
        perf stat -r "$runs" "$bin" query --dir "$dir" --actor "$actor" --count 2>&1 >/dev/null |
            grep -E 'task-clock|page-faults|elapsed'
    else
        for _ in $(seq "$runs"); do
            /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB max RSS" \
                "$bin" query --dir "$dir" --actor "$actor" --count >/dev/null
        done
    fi
}

uptime
for state in $states; do
    case $state in
    indexed) measure "indexed (as written)" ;;
    sealed)
        "$bin" seal --dir "$dir"
        measure "sealed (after auditlog seal)"
        ;;
    none)
        aside=$(mktemp -d "$dir.idx-aside.XXXX")
        find "$dir" -maxdepth 1 -name '*.idx' -exec mv {} "$aside"/ \;
        measure "no index files"
        mv "$aside"/*.idx "$dir"/ 2>/dev/null || true
        rmdir "$aside"
        ;;
    esac
done
uptime
