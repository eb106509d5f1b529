#!/usr/bin/env python3
"""Per-thread CPU of the timed load of one of our batched compare rows, from a cpu-clock
recording: each run's timed load is the densest burst of samples of the log's writer thread
(bursts split at gaps over 50 ms); the producer is the harness's main thread in that window.

    COMPARE_REAL_EVENTS=/work/shared/data/windows-security-events.jsonl.zst COMPARE_RUNS=3 \
      COMPARE_ONLY="real Windows events, 25993 / auditlog Immediate" \
      perf record -F 4000 -e cpu-clock -o real.data target/release/deps/compare-*
    perf script -i real.data -F comm,tid,time,ip,sym > real.script
    benches/compare/writer_window.py real.script 4000 25993     # file, sampling Hz, events per run

Each run opens two logs, each with a writer thread: the timed one first, then the one its
queries run on; threads with fewer than 20 samples (the crash image's) are ignored.
"""
import collections
import sys

path, freq, events = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
rows = []
for line in open(path):
    parts = line.split()
    k = next((i for i, p in enumerate(parts) if p.isdigit()), None)
    if k is None or len(parts) < k + 2:
        continue
    comm, tid, t = " ".join(parts[:k]), int(parts[k]), float(parts[k + 1].rstrip(":"))
    sym = parts[k + 3] if len(parts) > k + 3 else "?"
    rows.append((t, comm, tid, sym))
writers = collections.OrderedDict()
for t, comm, tid, _ in rows:
    if comm == "auditlog-writer":
        writers.setdefault(tid, []).append(t)
timed = [t for t in writers if len(writers[t]) >= 20][0::2]
total, syms = collections.Counter(), collections.defaultdict(collections.Counter)
for tid in timed:
    ts = sorted(writers[tid])
    bursts = [[ts[0], ts[0], 1]]
    for x in ts[1:]:
        if x - bursts[-1][1] > 0.05:
            bursts.append([x, x, 1])
        else:
            bursts[-1][1], bursts[-1][2] = x, bursts[-1][2] + 1
    start, end, _ = max(bursts, key=lambda b: b[2])
    print(f"writer thread {tid}: timed load {end - start:.3f} s")
    for t, comm, ttid, sym in rows:
        if start <= t <= end:
            who = "writer" if ttid == tid else "producer" if comm.startswith("compare") else None
            if who:
                total[who] += 1
                syms[who][sym.split("+")[0]] += 1
for who in ("producer", "writer"):
    n = total[who]
    print(f"{who}: {n} samples, {n / freq / (len(timed) * events) * 1e6:.2f} µs per event")
    for sym, k in syms[who].most_common(12):
        print(f"  {100 * k / max(n, 1):5.1f}%  {sym}")
