"""Embedded mode: the engine inside this process (one writer per log directory)."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import threading
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Union

from . import _native
from ._model import Event, Page, Receipt, Record, TreeHead, VerifyReport, to_nanos, to_rfc3339
from .api import AuditLogAPI, EventLike
from .errors import AuditLogError, InvalidEvent, QueueFull

__all__ = ["AuditLog", "verify", "encode_event", "encode_events"]

_DURABILITIES = ("immediate", "periodic", "os_buffered")


def _json_default(value: Any) -> Any:
    import datetime as _dt

    if isinstance(value, _dt.datetime):
        return to_rfc3339(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Event):
        return value.to_dict()
    import decimal
    import uuid

    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    raise TypeError(f"a value of type {type(value).__name__} is not JSON serialisable")


_encoder = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
)


def _json_object(text: str) -> Dict[str, Any]:
    """A JSON object the extension printed (a proof): anything else is the engine's bug."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise AuditLogError(f"the engine printed {type(doc).__name__} where an object was expected")
    return doc


def _as_dict(event: EventLike) -> Any:
    if type(event) is dict:
        return event
    if isinstance(event, Event):
        return event.to_dict()
    if isinstance(event, Mapping):
        return dict(event)
    raise InvalidEvent(
        f"invalid event: expected an auditlog.Event or a dict, not {type(event).__name__}"
    )


def encode_event(event: EventLike) -> str:
    """The JSON text the engine reads for ``event``."""
    try:
        return _encoder.encode(_as_dict(event))
    except (TypeError, ValueError) as e:
        raise InvalidEvent(f"invalid event: {e}") from None


def encode_events(events: Iterable[EventLike]) -> str:
    """One JSON array of the events."""
    try:
        return _encoder.encode([_as_dict(e) for e in events])
    except (TypeError, ValueError) as e:
        raise InvalidEvent(f"invalid event: {e}") from None


def _filters(**filters: Any) -> Dict[str, Any]:
    for key in ("since", "until"):
        if filters.get(key) is not None:
            filters[key] = to_nanos(filters[key])
    return {k: v for k, v in filters.items() if v is not None}


class AuditLog(AuditLogAPI):
    """A log directory opened for writing in this process.

    >>> log = AuditLog.open("./audit")            # doctest: +SKIP
    >>> log.append({"actor": {"id": "user:42"}, "action": "login"}).seq  # doctest: +SKIP
    0

    Thread-safe: share one instance between threads (appends made concurrently share one
    ``fdatasync``). Every call that does I/O releases the GIL. After ``os.fork()`` the child
    must open the log again (only one process may write it; see ``auditlog serve``).
    """

    def __init__(self, native: "_native.NativeLog") -> None:
        self._native = native
        self._waiter: Optional[_AsyncWaiter] = None
        self._waiter_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        path: Union[str, "os.PathLike[str]"],
        durability: str = "immediate",
        *,
        sync_interval_ms: Optional[int] = None,
        segment_max_bytes: Optional[int] = None,
        max_event_bytes: Optional[int] = None,
    ) -> "AuditLog":
        """Opens the log in directory ``path``, creating it if missing or empty.

        ``durability``: ``"immediate"`` (the default: an append returns once its record is
        fdatasync'ed, so it survives a crash or power loss even without ``close()``),
        ``"periodic"`` (synced every ``sync_interval_ms``, default 100: a power loss can lose
        the last interval) or ``"os_buffered"`` (synced on seal, ``sync()`` and ``close()``).
        A process crash loses no acknowledged record in any mode.
        """
        return cls(
            _native.NativeLog.open(
                os.fspath(path),
                durability,
                sync_interval_ms,
                segment_max_bytes,
                max_event_bytes,
            )
        )

    @property
    def path(self) -> str:
        return os.fspath(self._native.dir)

    @property
    def closed(self) -> bool:
        return self._native.closed

    @property
    def end_seq(self) -> int:
        """One past the newest committed sequence number."""
        return self._native.end_seq

    @property
    def first_seq(self) -> int:
        """The oldest sequence number held (0 unless retention removed older records)."""
        return self._native.first_seq

    # Writing.

    # Events go to the engine as dicts, converted in Rust without JSON text in between
    # (crates/python/src/convert.rs); encode_event gives the same event as JSON text.

    # The extension makes the Receipt named tuples itself (crates/python/src/receipt.rs).

    def append(self, event: EventLike) -> Receipt:
        return self._native.append_dict(_as_dict(event))

    def append_many(self, events: Iterable[EventLike]) -> List[Receipt]:
        # The extension converts what is not a plain dict through _as_dict itself.
        return self._native.append_many_dicts(events if type(events) is list else list(events))

    def append_json(self, text: str) -> Receipt:
        """Appends one event given as JSON text in the documented shape (for events that
        arrive as JSON, from a queue or a file), read by the engine's own JSON reader."""
        return self._native.append_json(text)

    def append_many_json(self, text: str) -> List[Receipt]:
        """Appends a JSON array of events as one request (see :meth:`append_many`)."""
        return self._native.append_many_json(text)

    async def append_async(self, event: EventLike) -> Receipt:
        d = _as_dict(event)
        loop = asyncio.get_running_loop()
        try:
            pending = self._native.try_submit_dict(d)
        except QueueFull:
            # The writer is behind: wait for room on a thread, never on the loop.
            return await loop.run_in_executor(None, self.append, d)
        future = loop.create_future()
        self._async_waiter().put(pending, loop, future)
        receipt: Receipt = await future
        return receipt

    def _async_waiter(self) -> "_AsyncWaiter":
        with self._waiter_lock:
            if self._waiter is None or not self._waiter.alive(os.getpid()):
                self._waiter = _AsyncWaiter()
            return self._waiter

    def flush(self) -> None:
        """Embedded appends return acknowledged: nothing is ever pending here."""
        self._native.end_seq  # raises Closed on a closed log, like every other call

    def sync(self) -> None:
        """Makes every acknowledged record durable, whatever the durability mode."""
        self._native.sync()

    def seal(self) -> None:
        """Seals the active segment (footer, index) and starts a new one."""
        self._native.seal()

    def close(self) -> None:
        if self._waiter is not None:
            self._waiter.stop()
        self._native.close()

    # Reading.

    def get(self, seq: int) -> Record:
        return Record.from_dict(json.loads(self._native.get_json(seq)))

    def query(
        self,
        *,
        actor: Optional[str] = None,
        action: Optional[str] = None,
        since: Any = None,
        until: Any = None,
        severity_at_least: Optional[str] = None,
        tenant: Optional[str] = None,
        text: Optional[str] = None,
        limit: Optional[int] = 1000,
        cursor: Optional[str] = None,
        action_prefix: Optional[str] = None,
        severity: Optional[str] = None,
        outcome: Optional[str] = None,
        entity_type: Optional[str] = None,
        entity_id: Optional[str] = None,
        label: Optional[str] = None,
        newest_first: bool = False,
    ) -> Page:
        """One page of the records matching every given filter, oldest first (or newest
        first), at most ``limit`` (``None``: no limit), after ``cursor`` (a page's
        ``next_cursor``; the filters and order must be the same).

        ``since`` (inclusive) and ``until`` (exclusive) bound ``recorded_at`` and take a
        ``datetime`` (naive means UTC), RFC 3339 text or nanoseconds since the epoch.
        ``severity_at_least`` is one of info < low < medium < high < critical. ``text``
        matches any text field, ignoring case.
        """
        filters = _filters(
            actor=actor,
            action=action,
            action_prefix=action_prefix,
            since=since,
            until=until,
            severity=severity,
            severity_at_least=severity_at_least,
            outcome=outcome,
            tenant=tenant,
            entity_type=entity_type,
            entity_id=entity_id,
            label=label,
            text=text,
        )
        records, next_cursor, has_more = self._native.query_json(filters, limit, cursor, newest_first)
        return Page(
            records=[Record.from_dict(d) for d in json.loads(records)],
            cursor=next_cursor,
            has_more=has_more,
        )

    def count(self, **filters: Any) -> int:
        """How many records match the filters (those of :meth:`query`, without paging)."""
        return self._native.count(_filters(**filters))

    def tail(
        self,
        *,
        from_seq: Optional[int] = None,
        timeout: Optional[float] = None,
        poll_interval: float = 0.2,
        **filters: Any,
    ) -> Iterator[Record]:
        """A generator of the records matching ``filters`` (those of :meth:`query`) as they
        commit, from ``from_seq`` (default: only records appended from now on; 0 for all).

        Waits without the GIL, waking every ``poll_interval`` seconds so that Ctrl-C works.
        Stops after ``timeout`` seconds without a new match (``None``: never), or when the
        log is closed.
        """
        from .errors import Closed

        native_tail = self._native.tail(_filters(**filters), from_seq)

        def generate() -> Iterator[Record]:
            idle = 0.0
            while timeout is None or idle < timeout:
                step = poll_interval if timeout is None else min(poll_interval, timeout - idle)
                try:
                    text = native_tail.next_json(max(step, 0.0))
                except Closed:
                    return
                if text is None:
                    idle += step
                    continue
                idle = 0.0
                yield Record.from_dict(json.loads(text))

        return generate()

    def tree_head(self) -> TreeHead:
        size, root = self._native.tree_head()
        return TreeHead(size=size, root=root)

    def prove(self, seq: int, tree_size: Optional[int] = None) -> Dict[str, Any]:
        """An RFC 9162 inclusion proof of record ``seq`` against the tree of ``tree_size``
        records (default: the newest signed checkpoint covering it, else the current tree),
        as ``auditlog prove`` prints it."""
        return _json_object(self._native.prove_json(seq, tree_size))

    def prove_consistency(self, old: int, new: Optional[int] = None) -> Dict[str, Any]:
        """A consistency proof from the tree of ``old`` records to that of ``new`` (default:
        the current tree)."""
        return _json_object(self._native.prove_consistency_json(old, new))

    def verify(self) -> VerifyReport:
        """Verifies this log's files (see :func:`auditlog.verify`)."""
        return verify(self.path)

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"end_seq={self.end_seq}"
        return f"<auditlog.AuditLog {self.path!r} {state}>"


def verify(path: Union[str, "os.PathLike[str]"]) -> VerifyReport:
    """Verifies the log directory, segment file or bundle at ``path``: every record's
    checksum, the hash chain and Merkle roots, checkpoints and index files. Damage is in the
    report (``ok`` false, ``problems``), never an exception; an unreadable path raises."""
    raw = json.loads(_native.verify(os.fspath(path)))
    head = raw.get("tree_head")
    return VerifyReport(
        ok=raw["ok"],
        records=raw["records"],
        tree_head=TreeHead(size=head["size"], root=head["root"]) if head else None,
        problems=raw.get("problems", []),
        warnings=raw.get("warnings", []),
        raw=raw,
    )


class _AsyncWaiter:
    """One thread per log that waits (without the GIL) for queued async appends, in order,
    and hands each receipt to its event loop: no executor thread per pending append."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="auditlog-async-waiter", daemon=True)
        self._thread.start()

    def alive(self, pid: int) -> bool:
        return pid == self._pid and self._thread.is_alive()

    def put(self, pending: Any, loop: asyncio.AbstractEventLoop, future: "asyncio.Future[Any]") -> None:
        self._queue.put((pending, loop, future))

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            pending, loop, future = item
            try:
                result, error = pending.wait(), None
            except BaseException as e:  # handed to the awaiting task
                result, error = None, e
            try:
                loop.call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:
                pass  # the loop is closed: nobody is waiting any more


def _settle(future: "asyncio.Future[Any]", result: Any, error: Optional[BaseException]) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
