"""auditlog: a tamper-evident, append-only audit log for Python applications.

>>> import auditlog                                             # doctest: +SKIP
>>> log = auditlog.AuditLog.open("./audit")                     # doctest: +SKIP
>>> log.append(auditlog.Event("user:42", "login", ip="203.0.113.9"))  # doctest: +SKIP
Receipt(seq=0, ...)

Embedded mode (:class:`AuditLog`) runs the engine in this process. Capture for web
frameworks and ORMs lives in ``auditlog.fastapi``, ``auditlog.django`` and
``auditlog.sqlalchemy``; :func:`audited` and :mod:`auditlog.context` work anywhere.
"""

from __future__ import annotations

from . import context
from ._model import Event, Page, Receipt, Record, TreeHead, VerifyReport
from .api import AuditLogAPI, EventLike
from .context import set_default_log
from .decorators import audited
from .embedded import AuditLog, verify
from .errors import (
    AuditLogError,
    Closed,
    Damaged,
    InvalidCursor,
    InvalidEvent,
    InvalidOption,
    IoError,
    Locked,
    NotALog,
    NotFound,
    Poisoned,
    QueueFull,
)
from .logging_handler import AuditLogHandler

__all__ = [
    "AuditLog",
    "AuditLogAPI",
    "AuditLogHandler",
    "Event",
    "EventLike",
    "Page",
    "Receipt",
    "Record",
    "TreeHead",
    "VerifyReport",
    "audited",
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
]
