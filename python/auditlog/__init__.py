"""auditlog: a tamper-evident, append-only audit log for Python applications.

>>> import auditlog                                             # doctest: +SKIP
>>> log = auditlog.AuditLog.open("./audit")                     # doctest: +SKIP
>>> log.append(auditlog.Event("user:42", "login", ip="203.0.113.9"))  # doctest: +SKIP
Receipt(seq=0, ...)

Embedded mode (:class:`AuditLog`) runs the engine in this process; client mode
(:func:`connect`, a :class:`Client`) talks to a running ``auditlog serve``, for programs of
many worker processes. Both implement :class:`AuditLogAPI`. Capture for web
frameworks and ORMs lives in ``auditlog.fastapi``, ``auditlog.django`` and
``auditlog.sqlalchemy``; :func:`audited` and :mod:`auditlog.context` work anywhere.
"""

from __future__ import annotations

from . import context
from ._model import Event, Page, Receipt, Record, TreeHead, VerifyReport
from .api import AuditLogAPI, EventLike
from .client import Client, connect
from .context import set_default_log
from .decorators import audited
from .embedded import AuditLog, verify
from .errors import (
    AuditLogError,
    Closed,
    Damaged,
    Forbidden,
    InvalidCursor,
    InvalidEvent,
    InvalidOption,
    IoError,
    Locked,
    NotALog,
    NotFound,
    Poisoned,
    QueueFull,
    ServerError,
    Unauthorized,
)
from .logging_handler import AuditLogHandler

__all__ = [
    "AuditLog",
    "AuditLogAPI",
    "AuditLogHandler",
    "Client",
    "Event",
    "EventLike",
    "Page",
    "Receipt",
    "Record",
    "TreeHead",
    "VerifyReport",
    "audited",
    "connect",
    "context",
    "set_default_log",
    "verify",
    "AuditLogError",
    "Closed",
    "Damaged",
    "InvalidCursor",
    "InvalidEvent",
    "InvalidOption",
    "IoError",
    "Locked",
    "NotALog",
    "NotFound",
    "Poisoned",
    "QueueFull",
    "ServerError",
    "Unauthorized",
    "Forbidden",
]
