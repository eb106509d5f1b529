"""Client-mode append throughput (docs/BENCHMARKS.md): HTTP against the Unix socket, batched
against not, through a real `auditlog serve` (AUDITLOG_BIN, in a temporary directory).

    cargo build --release --bin auditlog
    AUDITLOG_BIN=target/release/auditlog target/py-venv/bin/python python/bench/bench_client.py

Modes, each on a fresh log:
- ``1 thread``: one thread, ``append`` after ``append``, ``linger=0`` (one request per event);
- ``16 threads, max_batch=1``: 16 threads appending, every event its own request;
- ``16 threads, linger=0``: the same threads; what queues while a request is in flight goes
  in the next request;
- ``16 threads, linger=2ms``: the same, and the sender also waits 2 ms for more;
- ``append_many(1000)``: one thread, batches of 1,000 events.

Then reads (``--reads`` of each, one thread, an admin client, on a log of 10,000 events):
``get(seq)`` of spread-out records, and ``query(limit=100)`` pages (records/s). Over the
socket they are read frames, over HTTP GETs; the server audits every read with an
``audit.read`` event, so each also costs an append (an fdatasync under ``immediate``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import auditlog  # noqa: E402
import serverproc  # noqa: E402


def event(i: int) -> dict:
    return {"actor": {"id": f"user:{i % 977}"}, "action": "order.update", "tenant": "acme",
            "ip": "203.0.113.9", "metadata": {"order": i, "status": "paid"}}


def run(url: str, token: str, mode: str, n: int) -> float:
    if mode == "1 thread":
        log = auditlog.connect(url, token=token, linger=0)
        start = time.perf_counter()
        for i in range(n):
            log.append(event(i))
    elif mode.startswith("16 threads"):
        options = {"max_batch": 1, "linger": 0} if "max_batch=1" in mode else {
            "linger": 0.002 if "2ms" in mode else 0}
        log = auditlog.connect(url, token=token, **options)
        per = n // 16

        def work(t: int) -> None:
            for i in range(per):
                log.append(event(t * per + i))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        n = per * 16
    else:
        log = auditlog.connect(url, token=token)
        start = time.perf_counter()
        for i in range(0, n, 1000):
            log.append_many([event(j) for j in range(i, i + 1000)])
    log.flush()
    elapsed = time.perf_counter() - start
    log.close()
    return n / elapsed


def run_reads(url: str, token: str, writer: str, mode: str, n: int) -> float:
    with auditlog.connect(url, token=writer) as w:
        for i in range(0, 10_000, 1000):
            w.append_many([event(j) for j in range(i, i + 1000)])
    log = auditlog.connect(url, token=token)
    start = time.perf_counter()
    if mode == "get(seq)":
        for i in range(n):
            log.get((i * 7919) % 10_000)
        done = n
    else:
        done = 0
        for i in range(n):
            done += len(log.query(action="order.update", limit=100))
    elapsed = time.perf_counter() - start
    log.close()
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3200, help="events per single-append run")
    parser.add_argument("--bulk-events", type=int, default=100_000, help="events per append_many run")
    parser.add_argument("--durability", default="immediate")
    parser.add_argument("--reads", type=int, default=1000, help="reads per read run")
    args = parser.parse_args()
    print(f"auditlog serve --durability {args.durability}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
    print(f"{'transport':<10} {'mode':<26} {'events/s':>10}")
    modes = ("1 thread", "16 threads, max_batch=1", "16 threads, linger=0", "16 threads, linger=2ms", "append_many(1000)")
    for mode in modes:
        for transport in ("http", "unix"):
            with tempfile.TemporaryDirectory() as tmp:
                srv = serverproc.Server(Path(tmp), "--durability", args.durability)
                try:
                    url = srv.http_url if transport == "http" else srv.unix_url
                    n = args.bulk_events if mode.startswith("append_many") else args.events
                    rate = run(url, srv.tokens["writer"], mode, n)
                finally:
                    srv.stop()
            print(f"{transport:<10} {mode:<26} {rate:>10,.0f}", flush=True)
    for mode in ("get(seq)", "query(limit=100)"):
        for transport in ("http", "unix"):
            with tempfile.TemporaryDirectory() as tmp:
                srv = serverproc.Server(Path(tmp), "--durability", args.durability)
                try:
                    url = srv.http_url if transport == "http" else srv.unix_url
                    rate = run_reads(url, srv.tokens["admin"], srv.tokens["writer"], mode, args.reads)
                finally:
                    srv.stop()
            unit = "reads/s" if mode == "get(seq)" else "records/s"
            print(f"{transport:<10} {mode:<26} {rate:>10,.0f} {unit}", flush=True)
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
