"""The audit context of the current request or task, in a :class:`contextvars.ContextVar`.

Middleware (``auditlog.fastapi``, ``auditlog.django``) opens one :class:`AuditContext` per
request with the actor, client IP, user agent and request id; handlers add to it (entity,
before/after, labels, metadata, a more precise action) and every event written while it is
open (by the middleware, :func:`auditlog.audited`, the ORM hooks or the logging handler) takes
its fields from it. Outside any request, :func:`bind` opens one by hand (a script, a task).

Because the context is a ``ContextVar``, it follows asyncio tasks and the threads Starlette
runs sync handlers in, and one request never sees another's.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from ._model import Event

__all__ = [
    "AuditContext",
    "current",
    "bind",
    "set_actor",
    "set_entity",
    "set_change",
    "set_action",
    "add_labels",
    "add_metadata",
    "set_default_log",
    "get_log",
]

_MISSING: Any = object()


@dataclass
class AuditContext:
    """What the events of one request share, and what its handler added."""

    actor: Optional[str] = None
    actor_kind: Optional[str] = None
    actor_name: Optional[str] = None
    actor_email: Optional[str] = None
    tenant: Optional[str] = None
    ip: Optional[str] = None
    user_agent: Optional[str] = None
    request_id: Optional[str] = None
    session_id: Optional[str] = None
    source: Optional[str] = None
    #: Set by a handler: replaces the middleware's action for the request event.
    action: Optional[str] = None
    entity: Optional[Tuple[str, str, Optional[str]]] = None
    before: Any = None
    after: Any = None
    changed_fields: List[str] = field(default_factory=list)
    labels: List[str] = field(default_factory=list)
    metadata: Dict[str, Any] = field(default_factory=dict)
    #: The log events of this context go to (else the default log).
    log: Any = None

    def actor_value(self, default: str = "anonymous") -> Union[str, Dict[str, str]]:
        """The actor as an event takes it (an id, or a dict when more is known)."""
        actor_id = self.actor or default
        extra = {
            k: v
            for k, v in (("kind", self.actor_kind), ("name", self.actor_name), ("email", self.actor_email))
            if v is not None
        }
        return {"id": actor_id, **extra} if extra else actor_id

    def event(self, action: str, **overrides: Any) -> Event:
        """An event of ``action`` carrying this context's fields; ``overrides`` win."""
        values: Dict[str, Any] = dict(
            tenant=self.tenant,
            ip=self.ip,
            user_agent=self.user_agent,
            request_id=self.request_id,
            session_id=self.session_id,
            source=self.source,
        )
        values.update({k: v for k, v in overrides.items() if k != "actor"})
        actor = overrides["actor"] if overrides.get("actor") is not None else self.actor_value()
        return Event(actor, action, **values)


_current: "contextvars.ContextVar[Optional[AuditContext]]" = contextvars.ContextVar(
    "auditlog_context", default=None
)
_default_log: Any = None


def current() -> Optional[AuditContext]:
    """The open context, or ``None`` outside any request or :func:`bind`."""
    return _current.get()


@contextlib.contextmanager
def bind(**values: Any) -> Iterator[AuditContext]:
    """Opens a context (a copy of the current one with ``values`` set) for the ``with``
    block. Fields: those of :class:`AuditContext`."""
    names = {f.name for f in fields(AuditContext)}
    unknown = set(values) - names
    if unknown:
        raise TypeError(f"unknown audit context fields: {', '.join(sorted(unknown))}")
    base = _current.get()
    ctx = replace(base, **values) if base is not None else AuditContext(**values)
    if base is not None:
        # Lists and dicts are the handler's to extend: never share them with the parent.
        ctx.changed_fields = list(ctx.changed_fields)
        ctx.labels = list(ctx.labels)
        ctx.metadata = dict(ctx.metadata)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def enter(ctx: AuditContext) -> "contextvars.Token[Optional[AuditContext]]":
    """Makes ``ctx`` current until :func:`leave` (for middleware)."""
    return _current.set(ctx)


def leave(token: "contextvars.Token[Optional[AuditContext]]") -> None:
    _current.reset(token)


def _open() -> AuditContext:
    ctx = _current.get()
    if ctx is None:
        raise LookupError(
            "no audit context is open: call this inside a request handled by the audit "
            "middleware, or inside `with auditlog.context.bind(...)`"
        )
    return ctx


def set_actor(actor_id: str, *, kind: Optional[str] = None, name: Optional[str] = None, email: Optional[str] = None) -> None:
    """Names the actor of the current request (for example from an auth dependency)."""
    ctx = _open()
    ctx.actor, ctx.actor_kind, ctx.actor_name, ctx.actor_email = actor_id, kind, name, email


def set_entity(kind: str, entity_id: Any, name: Optional[str] = None) -> None:
    """The entity the current request acts on."""
    _open().entity = (kind, str(entity_id), name)


def set_change(before: Any = _MISSING, after: Any = _MISSING) -> None:
    """The entity's state before and/or after; changed fields are computed when both are
    dicts."""
    ctx = _open()
    if before is not _MISSING:
        ctx.before = before
    if after is not _MISSING:
        ctx.after = after
    if isinstance(ctx.before, dict) and isinstance(ctx.after, dict):
        ctx.changed_fields = changed_fields(ctx.before, ctx.after)


def set_action(action: str) -> None:
    """Replaces the middleware's action for the current request's event."""
    _open().action = action


def add_labels(*labels: str) -> None:
    _open().labels.extend(labels)


def add_metadata(**values: Any) -> None:
    _open().metadata.update(values)


def changed_fields(before: Dict[str, Any], after: Dict[str, Any]) -> List[str]:
    """The keys whose values differ between two dicts, in a stable order."""
    keys = list(before) + [k for k in after if k not in before]
    return [k for k in keys if before.get(k, _MISSING) != after.get(k, _MISSING)]


def set_default_log(log: Any) -> None:
    """The log events go to when neither the call nor the context names one."""
    global _default_log
    _default_log = log


def get_log(explicit: Any = None) -> Any:
    """The log to write to: ``explicit``, else the context's, else the default one."""
    if explicit is not None:
        return explicit
    ctx = _current.get()
    if ctx is not None and ctx.log is not None:
        return ctx.log
    if _default_log is not None:
        return _default_log
    raise LookupError(
        "no audit log to write to: pass log=..., or call auditlog.set_default_log(log)"
    )
