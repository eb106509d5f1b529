"""What a Python service gets writing audit events: psycopg into PostgreSQL 15 (the seeds' own
way: their audit table, five indexes, synchronous_commit on) against this engine, embedded
(`auditlog.AuditLog`) and through `auditlog serve` (`auditlog.connect`), the same events, in
one run. Issue 14 item 10 and issue 16 item 9 ask for these ratios.

    benches/services/pg_compare.sh        # starts PostgreSQL, builds and installs everything

Run by hand: COMPARE_PG (a libpq connection string) and AUDITLOG_BIN (a release `auditlog`)
set, with psycopg and the `auditlog` wheel installed. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, List, Tuple

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python" / "tests"))

import auditlog  # noqa: E402
import serverproc  # noqa: E402
from seeds_schema import COPY, INSERT, SCHEMA, row  # noqa: E402

def event(i: int) -> dict:
    """The seeds' typical row (the shape python/bench/bench_append.py uses)."""
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


def threaded(threads: int, n: int, work: Callable[[int, range], None]) -> int:
    per = n // threads
    ts = [threading.Thread(target=work, args=(t, range(t * per, (t + 1) * per))) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return per * threads


# --- PostgreSQL via psycopg -------------------------------------------------------------------

def pg_fresh(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as c:
        c.execute(SCHEMA)


def pg_single(conninfo: str, n: int, threads: int) -> Tuple[int, float]:
    pg_fresh(conninfo)
    conns = [psycopg.connect(conninfo, autocommit=True) for _ in range(threads)]
    events = [event(i) for i in range(n)]

    def work(t: int, idx: range) -> None:
        c = conns[t]
        for i in idx:
            c.execute(INSERT, row(events[i]))  # autocommit: one transaction, one fdatasync each

    start = time.perf_counter()
    done = threaded(threads, n, work)
    elapsed = time.perf_counter() - start
    for c in conns:
        c.close()
    return done, elapsed


def pg_batched(conninfo: str, n: int, copy: bool) -> Tuple[int, float]:
    pg_fresh(conninfo)
    events = [event(i) for i in range(n)]
    with psycopg.connect(conninfo) as c:
        start = time.perf_counter()
        for b in range(0, n, 1000):
            chunk = events[b:b + 1000]
            with c.transaction():
                with c.cursor() as cur:
                    if copy:
                        with cur.copy(COPY) as cp:
                            for e in chunk:
                                cp.write_row(row(e))
                    else:
                        cur.executemany(INSERT, [row(e) for e in chunk])
        return n, time.perf_counter() - start


# --- PostgreSQL via the SQLAlchemy ORM (what the seeds' services write) -----------------------

def orm_engine(conninfo: str):
    """An SQLAlchemy engine on the psycopg driver and a model of the seeds' table (created by
    SCHEMA, so the ORM writes into exactly the rows and indexes psycopg does)."""
    from sqlalchemy import BigInteger, DateTime, String, create_engine, func
    from sqlalchemy.dialects.postgresql import JSONB
    from sqlalchemy.orm import DeclarativeBase, mapped_column

    class Base(DeclarativeBase):
        pass

    class AuditEvent(Base):
        __tablename__ = "audit_events"
        id = mapped_column(BigInteger, primary_key=True)
        occurred_at = mapped_column(DateTime(timezone=True), server_default=func.now())
        tenant = mapped_column(String)
        actor = mapped_column(String)
        action = mapped_column(String)
        entity_type = mapped_column(String)
        entity_id = mapped_column(String)
        severity = mapped_column(String)
        details = mapped_column(JSONB)

    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo), pool_size=8)

    def model(e: dict) -> AuditEvent:
        return AuditEvent(tenant=e["tenant"], actor=e["actor"]["id"], action=e["action"],
                          entity_type=e["entity"]["type"], entity_id=e["entity"]["id"],
                          severity=e["severity"], details=e)

    return engine, model


def orm_rows(conninfo: str, n: int, threads: int, batch: int) -> Tuple[int, float]:
    from sqlalchemy.orm import Session

    pg_fresh(conninfo)
    engine, model = orm_engine(conninfo)
    events = [event(i) for i in range(n)]

    def work(t: int, idx: range) -> None:
        with Session(engine) as session:
            for b in range(idx.start, idx.stop, batch):
                session.add_all([model(events[i]) for i in range(b, min(b + batch, idx.stop))])
                session.commit()  # one transaction: one fdatasync under synchronous_commit=on

    start = time.perf_counter()
    done = threaded(threads, n, work)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return done, elapsed


# --- auditlog, embedded and client --------------------------------------------------------------

def embedded(base: str, n: int, threads: int, batch: int) -> Tuple[int, float]:
    path = os.path.join(base, f"embedded-{threads}-{batch}")
    shutil.rmtree(path, ignore_errors=True)
    log = auditlog.AuditLog.open(path, "immediate")
    events = [event(i) for i in range(n)]
    start = time.perf_counter()
    if batch > 1:
        for b in range(0, n, batch):
            log.append_many(events[b:b + batch])
        done = n
    else:
        def work(t: int, idx: range) -> None:
            for i in idx:
                log.append(events[i])
        done = threaded(threads, n, work)
    elapsed = time.perf_counter() - start
    log.close()
    shutil.rmtree(path, ignore_errors=True)
    return done, elapsed


def client(n: int, threads: int, batch: int) -> Tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        srv = serverproc.Server(Path(tmp), "--durability", "immediate")
        try:
            log = auditlog.connect(srv.unix_url, token=srv.tokens["writer"], linger=0.002)
            events = [event(i) for i in range(n)]
            start = time.perf_counter()
            if batch > 1:
                for b in range(0, n, batch):
                    log.append_many(events[b:b + batch])
                done = n
            else:
                def work(t: int, idx: range) -> None:
                    for i in idx:
                        log.append(events[i])
                done = threaded(threads, n, work)
            log.flush()
            elapsed = time.perf_counter() - start
            log.close()
        finally:
            srv.stop()
    return done, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=2000, help="events of the one-per-call rows")
    parser.add_argument("--batched", type=int, default=50_000, help="events of the batched rows")
    args = parser.parse_args()
    conninfo = os.environ["COMPARE_PG"]
    with psycopg.connect(conninfo) as c:
        version = c.execute("SHOW server_version").fetchone()[0]
        sync = c.execute("SHOW synchronous_commit").fetchone()[0]
    base = tempfile.mkdtemp(prefix="auditlog-pg-compare-")
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows: List[Tuple[str, str, Callable[[], Tuple[int, float]]]] = [
        ("one event per call, 1 thread", "psycopg INSERT, autocommit (1 transaction each)",
         lambda: pg_single(conninfo, args.single, 1)),
        ("one event per call, 1 thread", "SQLAlchemy ORM add + commit",
         lambda: orm_rows(conninfo, args.single, 1, 1)),
        ("one event per call, 1 thread", "auditlog.AuditLog.append (immediate)",
         lambda: embedded(base, args.single, 1, 1)),
        ("one event per call, 1 thread", "auditlog.connect (unix socket, serve --durability immediate)",
         lambda: client(args.single, 1, 1)),
        ("one event per call, 8 threads", "psycopg INSERT, autocommit, 8 connections",
         lambda: pg_single(conninfo, args.single * 4, 8)),
        ("one event per call, 8 threads", "SQLAlchemy ORM add + commit, 8 sessions",
         lambda: orm_rows(conninfo, args.single * 4, 8, 1)),
        ("one event per call, 8 threads", "auditlog.AuditLog.append (immediate)",
         lambda: embedded(base, args.single * 4, 8, 1)),
        ("one event per call, 8 threads", "auditlog.connect (unix socket, linger 2 ms)",
         lambda: client(args.single * 4, 8, 1)),
        ("1,000 per call", "psycopg executemany, 1 transaction per 1,000",
         lambda: pg_batched(conninfo, args.batched, False)),
        ("1,000 per call", "psycopg COPY, 1 transaction per 1,000",
         lambda: pg_batched(conninfo, args.batched, True)),
        ("1,000 per call", "SQLAlchemy ORM add_all + commit per 1,000",
         lambda: orm_rows(conninfo, args.batched, 1, 1000)),
        ("1,000 per call", "auditlog.AuditLog.append_many (immediate)",
         lambda: embedded(base, args.batched, 1, 1000)),
        ("1,000 per call", "auditlog.connect append_many (unix socket)",
         lambda: client(args.batched, 1, 1000)),
    ]
    print(f"PostgreSQL {version} (synchronous_commit={sync}); auditlog {auditlog.__file__}; "
          f"{os.cpu_count()} CPUs\n")
    print("| shape | writer | events | events/s | load (1 min) |")
    print("|---|---|---|---|---|")
    rates = {}
    for shape, name, run in rows:
        load = os.getloadavg()[0]
        done, elapsed = run()
        rates[(shape, name.split()[0])] = max(rates.get((shape, name.split()[0]), 0), done / elapsed)
        print(f"| {shape} | {name} | {done:,} | {done / elapsed:,.0f} | {load:.1f} |", flush=True)
    shutil.rmtree(base, ignore_errors=True)
    print()
    for shape in dict.fromkeys(s for s, _, _ in rows):
        pg = rates.get((shape, "psycopg"))
        orm = rates.get((shape, "SQLAlchemy"))
        emb = rates.get((shape, "auditlog.AuditLog.append")) or rates.get((shape, "auditlog.AuditLog.append_many"))
        cli = rates.get((shape, "auditlog.connect"))
        if pg:
            print(f"- {shape}: embedded / best psycopg = {emb / pg:.1f}×, client / best psycopg = {cli / pg:.1f}×"
                  + (f", embedded / SQLAlchemy = {emb / orm:.1f}×, client / SQLAlchemy = {cli / orm:.1f}×" if orm else ""))
    print(f"- load average at start: {load_start}; at end: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
