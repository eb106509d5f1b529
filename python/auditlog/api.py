"""The interface every auditlog handle offers, embedded or client mode.

:class:`AuditLogAPI` is what framework capture (``auditlog.fastapi``, ``auditlog.django``,
``auditlog.sqlalchemy``, the decorators and the logging handler) is written against, so the
same settings work with :class:`auditlog.AuditLog` (the engine in this process) and with a
client of ``auditlog serve``: a client class only has to implement the abstract methods.
"""

from __future__ import annotations

import abc
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Union

from ._model import Event, Page, Receipt, Record, TreeHead

__all__ = ["AuditLogAPI", "EventLike"]

EventLike = Union[Event, Mapping[str, Any]]


class AuditLogAPI(abc.ABC):
    """An audit log one can append to and read from.

    Appends return only once the record is acknowledged (for the embedded log: as durable as
    the log's durability promises). Errors are :mod:`auditlog.errors` exceptions.
    """

    @abc.abstractmethod
    def append(self, event: EventLike) -> Receipt:
        """Appends one event (an :class:`Event` or a dict in the documented JSON shape)."""

    @abc.abstractmethod
    def append_many(self, events: Iterable[EventLike]) -> List[Receipt]:
        """Appends events as one request: consecutive sequence numbers, all or none."""

    @abc.abstractmethod
    async def append_async(self, event: EventLike) -> Receipt:
        """:meth:`append` for asyncio: the event loop is never blocked."""

    @abc.abstractmethod
    def get(self, seq: int) -> Record:
        """The record with sequence number ``seq`` (:class:`auditlog.NotFound` if none)."""

    @abc.abstractmethod
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
        """One page of the records matching every given filter (see
        :meth:`auditlog.AuditLog.query` for each filter's meaning)."""

    @abc.abstractmethod
    def tail(self, *, from_seq: Optional[int] = None, timeout: Optional[float] = None, **filters: Any) -> Iterator[Record]:
        """A generator of matching records as they are committed."""

    @abc.abstractmethod
    def tree_head(self) -> TreeHead:
        """The current tree head (size and Merkle root)."""

    @abc.abstractmethod
    def prove(self, seq: int, tree_size: Optional[int] = None) -> Mapping[str, Any]:
        """An inclusion proof of record ``seq``."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Returns once every append made so far is acknowledged."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flushes and releases the log. Closing twice is a no-op."""

    def record(self, actor: Union[str, Mapping[str, Any]], action: str, **fields: Any) -> Receipt:
        """Shorthand for ``append(Event(actor, action, **fields))``."""
        return self.append(Event(actor, action, **fields))

    def __enter__(self) -> "AuditLogAPI":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
