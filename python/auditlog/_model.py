"""The values the API takes and returns: :class:`Event`, :class:`Record`, :class:`Receipt`,
:class:`Page`, :class:`TreeHead` and :class:`VerifyReport`.

An event's JSON shape (the one ``auditlog import`` reads and ``auditlog query`` prints) is
the contract: ``Event.to_dict()`` produces it, ``Event.from_dict()`` reads it, and a plain dict
in that shape may be passed wherever an ``Event`` is.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

__all__ = [
    "Event",
    "Record",
    "Receipt",
    "Page",
    "TreeHead",
    "VerifyReport",
    "OUTCOMES",
    "SEVERITIES",
    "to_rfc3339",
    "to_nanos",
]

OUTCOMES = ("success", "failure", "denied", "error")
SEVERITIES = ("info", "low", "medium", "high", "critical")

TimeLike = Union[_dt.datetime, str, int]
EntityLike = Union[Tuple[str, str], Tuple[str, str, Optional[str]], Mapping[str, Any]]


def to_rfc3339(t: TimeLike) -> str:
    """RFC 3339 text in UTC for a ``datetime`` (naive ones are taken as UTC), nanoseconds
    since the epoch (``int``) or RFC 3339 text (returned unchanged)."""
    if isinstance(t, str):
        return t
    if isinstance(t, bool):
        raise TypeError("a time must be a datetime, RFC 3339 text or nanoseconds")
    if isinstance(t, int):
        secs, nanos = divmod(t, 1_000_000_000)
        base = _dt.datetime.fromtimestamp(secs, tz=_dt.timezone.utc)
        return base.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        return t.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError("a time must be a datetime, RFC 3339 text or nanoseconds")


def to_nanos(t: TimeLike) -> int:
    """Nanoseconds since the Unix epoch for a ``datetime`` (naive ones are UTC), RFC 3339
    text or an ``int`` (returned unchanged)."""
    if isinstance(t, bool):
        raise TypeError("a time must be a datetime, RFC 3339 text or nanoseconds")
    if isinstance(t, int):
        return t
    if isinstance(t, str):
        text = t.strip()
        frac_nanos = 0
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # datetime parses at most microseconds: take the fraction apart by hand.
        if "." in text:
            head, rest = text.split(".", 1)
            digits = ""
            while rest and rest[0].isdigit():
                digits, rest = digits + rest[0], rest[1:]
            frac_nanos = int((digits + "000000000")[:9]) if digits else 0
            text = head + rest
        parsed = _dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_dt.timezone.utc)
        return _whole_seconds_nanos(parsed) + frac_nanos
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        return _whole_seconds_nanos(t) + t.microsecond * 1000
    raise TypeError("a time must be a datetime, RFC 3339 text or nanoseconds")


def _whole_seconds_nanos(t: _dt.datetime) -> int:
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    delta = t.replace(microsecond=0) - epoch
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000


_STRING_FIELDS = ("error_message", "tenant", "ip", "user_agent", "session_id", "request_id", "source")


class Event:
    """One audit event. Only ``actor`` and ``action`` are required.

    ``actor`` is an id (``"user:42"``) or a dict ``{"id", "kind", "name", "email"}``;
    ``entity`` is ``(type, id)``, ``(type, id, name)`` or a dict ``{"type", "id", "name"}``;
    ``before``, ``after`` and ``metadata`` are any JSON-serialisable values (``metadata`` a
    dict), stored as JSON text; ``None`` means absent. ``occurred_at`` is a ``datetime``,
    RFC 3339 text or nanoseconds since the epoch.
    """

    __slots__ = (
        "actor",
        "action",
        "outcome",
        "severity",
        "error_message",
        "entity",
        "tenant",
        "ip",
        "user_agent",
        "session_id",
        "request_id",
        "source",
        "before",
        "after",
        "changed_fields",
        "labels",
        "metadata",
        "occurred_at",
    )

    def __init__(
        self,
        actor: Union[str, Mapping[str, Any]],
        action: str,
        *,
        outcome: str = "success",
        severity: str = "info",
        error_message: Optional[str] = None,
        entity: Optional[EntityLike] = None,
        tenant: Optional[str] = None,
        ip: Optional[str] = None,
        user_agent: Optional[str] = None,
        session_id: Optional[str] = None,
        request_id: Optional[str] = None,
        source: Optional[str] = None,
        before: Any = None,
        after: Any = None,
        changed_fields: Sequence[str] = (),
        labels: Sequence[str] = (),
        metadata: Optional[Mapping[str, Any]] = None,
        occurred_at: Optional[TimeLike] = None,
    ) -> None:
        self.actor: Dict[str, str] = _actor(actor)
        self.action = action
        self.outcome = outcome
        self.severity = severity
        self.error_message = error_message
        self.entity: Optional[Dict[str, str]] = _entity(entity) if entity is not None else None
        self.tenant = tenant
        self.ip = ip
        self.user_agent = user_agent
        self.session_id = session_id
        self.request_id = request_id
        self.source = source
        self.before = before
        self.after = after
        self.changed_fields: List[str] = list(changed_fields)
        self.labels: List[str] = list(labels)
        self.metadata: Optional[Dict[str, Any]] = dict(metadata) if metadata is not None else None
        self.occurred_at = occurred_at

    def to_dict(self) -> Dict[str, Any]:
        """The event in its documented JSON shape (absent fields left out)."""
        d: Dict[str, Any] = {}
        if self.occurred_at is not None:
            d["occurred_at"] = to_rfc3339(self.occurred_at)
        d["actor"] = self.actor
        d["action"] = self.action
        d["outcome"] = self.outcome
        if self.error_message is not None:
            d["error_message"] = self.error_message
        d["severity"] = self.severity
        if self.entity is not None:
            d["entity"] = self.entity
        for name in ("tenant", "ip", "user_agent", "session_id", "request_id", "source"):
            value = getattr(self, name)
            if value is not None:
                d[name] = value
        if self.before is not None:
            d["before"] = self.before
        if self.after is not None:
            d["after"] = self.after
        if self.changed_fields:
            d["changed_fields"] = self.changed_fields
        if self.labels:
            d["labels"] = self.labels
        if self.metadata is not None:
            d["metadata"] = self.metadata
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Event":
        """An event from its JSON shape (a record's ``seq`` and ``recorded_at`` are ignored)."""
        return cls(
            d["actor"],
            d["action"],
            outcome=d.get("outcome", "success"),
            severity=d.get("severity", "info"),
            error_message=d.get("error_message"),
            entity=d.get("entity"),
            before=d.get("before"),
            after=d.get("after"),
            changed_fields=d.get("changed_fields", ()),
            labels=d.get("labels", ()),
            metadata=d.get("metadata"),
            occurred_at=d.get("occurred_at"),
            **{k: d.get(k) for k in ("tenant", "ip", "user_agent", "session_id", "request_id", "source")},
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Event({self.to_dict()!r})"


def _actor(actor: Union[str, Mapping[str, Any]]) -> Dict[str, str]:
    if isinstance(actor, str):
        return {"id": actor}
    if isinstance(actor, Mapping):
        return {k: v for k, v in actor.items() if v is not None}
    raise TypeError(f"actor must be an id or a dict, not {type(actor).__name__}")


def _entity(entity: EntityLike) -> Dict[str, str]:
    if isinstance(entity, Mapping):
        return {k: v for k, v in entity.items() if v is not None}
    if isinstance(entity, tuple) and len(entity) in (2, 3):
        d = {"type": str(entity[0]), "id": str(entity[1])}
        if len(entity) == 3 and entity[2] is not None:
            d["name"] = str(entity[2])
        return d
    raise TypeError("entity must be (type, id), (type, id, name) or a dict")


class Receipt(NamedTuple):
    """What an append returns: the record's sequence number, the time the log assigned (RFC
    3339 text), the size of the tree it was committed in and its Merkle leaf hash (hex). A
    named tuple: one is made per appended event, and a dataclass cost more to build than the
    append."""

    seq: int
    recorded_at: str
    tree_size: int
    leaf_hash: str


@dataclass(frozen=True)
class TreeHead:
    """A tree size and the Merkle root (hex) of the tree of that size."""

    size: int
    root: str


class Record:
    """A stored event: ``seq``, ``recorded_at`` (RFC 3339 text, nanosecond precision) and the
    ``event``. Attributes of the event are also readable on the record (``record.action``)."""

    __slots__ = ("seq", "recorded_at", "event")

    def __init__(self, seq: int, recorded_at: str, event: Event) -> None:
        self.seq = seq
        self.recorded_at = recorded_at
        self.event = event

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Record":
        return cls(d["seq"], d["recorded_at"], Event.from_dict(d))

    def to_dict(self) -> Dict[str, Any]:
        """The record's JSON shape: ``seq``, ``recorded_at`` and the event's fields."""
        d: Dict[str, Any] = {"seq": self.seq, "recorded_at": self.recorded_at}
        d.update(self.event.to_dict())
        return d

    @property
    def recorded_at_nanos(self) -> int:
        return to_nanos(self.recorded_at)

    def __getattr__(self, name: str) -> Any:
        if name in Event.__slots__:
            return getattr(self.event, name)
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Record(seq={self.seq}, recorded_at={self.recorded_at!r}, event={self.event!r})"


@dataclass(frozen=True)
class Page:
    """One page of a query: iterate it for its records. ``next_cursor`` continues the same
    query after this page (``None`` when every match has been returned); ``cursor`` is always
    set, so that an oldest-first query can poll for records appended later."""

    records: List[Record]
    cursor: str
    has_more: bool

    @property
    def next_cursor(self) -> Optional[str]:
        return self.cursor if self.has_more else None

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> Record:
        return self.records[i]


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`auditlog.verify` found. ``ok`` is true only when no problem was found;
    ``problems`` lists each damage (file, offset, seq, kind, message); ``raw`` is the whole
    report as ``auditlog verify --json`` prints it."""

    ok: bool
    records: int
    tree_head: Optional[TreeHead]
    problems: List[Dict[str, Any]] = field(default_factory=list)
    warnings: List[Any] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict)
