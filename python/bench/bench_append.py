"""Append throughput from Python, embedded mode, the FastAPI middleware's added latency, and
the same events written with SQLAlchemy into SQLite (what services do without the engine).

    python python/bench/bench_append.py [--dir DIR] [--quick]

Run with the package installed as a release wheel (`pip install ./python`). Prints one line
per measurement; docs/BENCHMARKS.md quotes them. The log directory (default: a fresh one under
the system temp dir) should be on the disk you care about: durable appends wait for fdatasync.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import threading
import time

import auditlog


def sample_event(i: int) -> dict:
    # The shape of the seeds' typical row: actor, action, entity, request fields, metadata.
    return {
        "actor": {"id": f"user:{i % 500}", "kind": "user"},
        "action": "order.status_change",
        "outcome": "success",
        "severity": "low",
        "entity": {"type": "order", "id": str(100_000 + i)},
        "tenant": f"tenant-{i % 20}",
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "request_id": f"req-{i:08d}",
        "before": {"status": "open"},
        "after": {"status": "paid"},
        "changed_fields": ["status"],
        "metadata": {"amount": 1999, "currency": "EUR"},
    }


def fresh(base: str, name: str, durability: str = "immediate") -> auditlog.AuditLog:
    path = os.path.join(base, name)
    shutil.rmtree(path, ignore_errors=True)
    return auditlog.AuditLog.open(path, durability)


def report(label: str, n: int, seconds: float) -> None:
    print(f"{label:<58} {n:>9} events {seconds:8.3f} s {n / seconds:>12,.0f} events/s")


def bench_single(base: str, n: int, durability: str) -> None:
    log = fresh(base, f"single-{durability}", durability)
    events = [sample_event(i) for i in range(n)]
    t = time.perf_counter()
    for e in events:
        log.append(e)
    report(f"append(), 1 thread, durability={durability}", n, time.perf_counter() - t)
    log.close()


def bench_threads(base: str, per_thread: int, threads: int) -> None:
    log = fresh(base, "threads")
    events = [sample_event(i) for i in range(per_thread)]
    start = threading.Barrier(threads + 1)

    def worker() -> None:
        start.wait()
        for e in events:
            log.append(e)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for th in pool:
        th.start()
    start.wait()
    t = time.perf_counter()
    for th in pool:
        th.join()
    report(f"append(), {threads} threads, durability=immediate", per_thread * threads, time.perf_counter() - t)
    log.close()


def bench_many(base: str, n: int, batch: int, cpu: bool = False) -> None:
    log = fresh(base, f"many-{batch}")
    events = [sample_event(i) for i in range(n)]
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, n, batch):
        log.append_many(events[i : i + batch])
    report(f"append_many(batches of {batch}), durability=immediate", n, time.perf_counter() - t)
    if cpu:
        # The process's CPU time (Python's thread and the engine's writer), which the other
        # engineers' load changes less than the wall clock.
        print(f"{'  CPU of the process, per event':<58} {(time.process_time() - c) * 1e6 / n:10.2f} µs")
    log.close()


def bench_async(base: str, n: int, concurrency: int) -> None:
    log = fresh(base, "async")

    async def main() -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                await log.append_async(sample_event(i))

        await asyncio.gather(*(one(i) for i in range(n)))

    t = time.perf_counter()
    asyncio.run(main())
    report(f"append_async(), {concurrency} tasks in flight, durability=immediate", n, time.perf_counter() - t)
    log.close()


def bench_middleware(base: str, n: int) -> None:
    """Added latency per request of AuditMiddleware: the same request through a bare
    Starlette app and through the middleware, called in-process over ASGI (no server, no
    network), p50 of n requests each."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from auditlog.fastapi import AuditMiddleware

    async def hello(request):
        return PlainTextResponse("ok")

    bare = Starlette(routes=[Route("/orders/{id}", hello)])

    def audited(wait: bool, durability: str):
        log = fresh(base, f"mw-{wait}-{durability}", durability)
        app = Starlette(routes=[Route("/orders/{id}", hello)])
        app.add_middleware(AuditMiddleware, log=log, actor=lambda r: r.headers.get("x-user"), wait_durable=wait)
        return app, log

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/orders/42", "raw_path": b"/orders/42", "query_string": b"",
        "root_path": "", "headers": [(b"host", b"x"), (b"x-user", b"alice"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
    }

    async def call(app) -> float:
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            pass

        t = time.perf_counter_ns()
        await app(dict(scope), receive, send)
        return (time.perf_counter_ns() - t) / 1000

    async def run(app) -> float:
        for _ in range(200):  # warm up (and start Starlette's middleware stack)
            await call(app)
        samples = [await call(app) for _ in range(n)]
        await asyncio.sleep(0.05)  # let background appends finish
        return statistics.median(samples)

    base_p50 = asyncio.run(run(bare))
    print(f"{'bare Starlette request, p50':<58} {base_p50:10.1f} µs")
    for wait, durability in ((True, "immediate"), (False, "immediate"), (True, "os_buffered")):
        app, log = audited(wait, durability)
        p50 = asyncio.run(run(app))
        log.close()
        print(
            f"{f'with AuditMiddleware(wait_durable={wait}), durability={durability}, p50':<58} "
            f"{p50:10.1f} µs (+{p50 - base_p50:.1f} µs)"
        )


def bench_sqlalchemy_sqlite(base: str, single: int, batched: int, batch: int) -> None:
    """What a service does without this engine: an SQLAlchemy model of the event, inserted
    into SQLite (WAL, synchronous=FULL: a commit survives power loss, as `immediate` does) with
    indexes on actor, action, entity and time, the same events."""
    import json

    from sqlalchemy import JSON, DateTime, Index, Integer, String, create_engine, event, func
    from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class AuditEvent(Base):
        __tablename__ = "audit_events"
        id = mapped_column(Integer, primary_key=True)
        created_at = mapped_column(DateTime, server_default=func.now())
        actor_id = mapped_column(String(200))
        action = mapped_column(String(200))
        outcome = mapped_column(String(20))
        severity = mapped_column(String(20))
        entity_type = mapped_column(String(100))
        entity_id = mapped_column(String(200))
        tenant = mapped_column(String(100))
        ip = mapped_column(String(64))
        user_agent = mapped_column(String(500))
        request_id = mapped_column(String(100))
        before = mapped_column(JSON)
        after = mapped_column(JSON)
        changed_fields = mapped_column(JSON)
        meta = mapped_column(JSON)
        __table_args__ = (
            Index("ix_actor_time", "actor_id", "created_at"),
            Index("ix_action", "action"),
            Index("ix_entity", "entity_type", "entity_id"),
            Index("ix_time", "created_at"),
        )

    def row(e: dict) -> AuditEvent:
        return AuditEvent(
            actor_id=e["actor"]["id"], action=e["action"], outcome=e["outcome"], severity=e["severity"],
            entity_type=e["entity"]["type"], entity_id=e["entity"]["id"], tenant=e["tenant"], ip=e["ip"],
            user_agent=e["user_agent"], request_id=e["request_id"], before=e["before"], after=e["after"],
            changed_fields=e["changed_fields"], meta=e["metadata"],
        )

    def engine(name: str):
        path = os.path.join(base, name)
        if os.path.exists(path):
            os.remove(path)
        eng = create_engine(f"sqlite:///{path}", json_serializer=json.dumps)

        @event.listens_for(eng, "connect")
        def pragmas(conn, _record):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")

        Base.metadata.create_all(eng)
        return eng

    eng = engine("single.sqlite")
    events = [sample_event(i) for i in range(single)]
    t = time.perf_counter()
    with Session(eng) as s:
        for e in events:
            s.add(row(e))
            s.commit()
    report("SQLAlchemy ORM -> SQLite (WAL, FULL), 1 row per commit", single, time.perf_counter() - t)
    eng = engine("batched.sqlite")
    events = [sample_event(i) for i in range(batched)]
    t = time.perf_counter()
    with Session(eng) as s:
        for i in range(0, batched, batch):
            s.add_all([row(e) for e in events[i : i + batch]])
            s.commit()
    report(f"SQLAlchemy ORM -> SQLite (WAL, FULL), {batch} rows per commit", batched, time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=None)
    parser.add_argument("--quick", action="store_true", help="small counts, to check the script runs")
    parser.add_argument(
        "--many", type=int, default=0, metavar="RUNS",
        help="only append_many(batches of 1,000), RUNS times, with CPU time per event",
    )
    args = parser.parse_args()
    base = args.dir or tempfile.mkdtemp(prefix="auditlog-pybench-")
    scale = 10 if args.quick else 1
    print(f"auditlog {auditlog._native.ENGINE_VERSION}, logs under {base}, {os.cpu_count()} CPUs")
    if args.many:
        for _ in range(args.many):
            bench_many(base, 200_000 // scale, 1_000, cpu=True)
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
        return
    bench_single(base, 2_000 // scale, "immediate")
    bench_single(base, 100_000 // scale, "os_buffered")
    bench_threads(base, 2_500 // scale, 8)
    bench_async(base, 20_000 // scale, 64)
    for batch in (100, 1_000, 10_000):
        bench_many(base, 200_000 // scale, batch)
    bench_middleware(base, 2_000 // scale)
    bench_sqlalchemy_sqlite(base, 2_000 // scale, 50_000 // scale, 1_000)
    if args.dir is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
