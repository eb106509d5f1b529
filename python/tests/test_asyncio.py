"""append_async in asyncio: the loop keeps running while appends wait for their fsync, and
many concurrent appends all land exactly once."""

import asyncio

import pytest

import auditlog
from auditlog import Event


def test_append_async_returns_receipts(log):
    async def main():
        receipts = await asyncio.gather(*(log.append_async(Event("u", f"a{i}")) for i in range(200)))
        return receipts

    receipts = asyncio.run(main())
    assert sorted(r.seq for r in receipts) == list(range(200))
    assert {r.action for r in log.query(limit=None)} == {f"a{i}" for i in range(200)}


def test_the_loop_is_not_blocked(log):
    async def main():
        ticks = 0
        stop = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        for i in range(50):
            await log.append_async(Event("u", f"a{i}"))
        stop.set()
        await task
        return ticks

    # Each await yields to the loop while the writer syncs: the ticker ran in between.
    assert asyncio.run(main()) >= 50


def test_append_async_raises_typed_errors(log):
    async def main():
        with pytest.raises(auditlog.InvalidEvent):
            await log.append_async({"actor": {"id": "u"}, "action": "x", "bogus": 1})

    asyncio.run(main())
    assert log.tree_head().size == 0
