"""The exceptions of auditlog. Each carries the engine's message as its text.

Every exception derives from :class:`AuditLogError`; some also derive from the built-in class a
caller would reach for first (``ValueError`` for bad input, ``LookupError`` for a missing
record, ``OSError`` for the operating system's errors).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = [
    "AuditLogError",
    "InvalidEvent",
    "InvalidOption",
    "InvalidCursor",
    "NotFound",
    "Damaged",
    "NotALog",
    "Locked",
    "QueueFull",
    "Poisoned",
    "Closed",
    "IoError",
    "Unauthorized",
    "Forbidden",
    "ServerError",
]


class AuditLogError(Exception):
    """Base class of every auditlog error.

    In client mode (``auditlog.connect``), an error raised for a server's answer also carries
    ``status`` (the HTTP status) and ``problem`` (the problem+json document); both are None
    for errors of the embedded engine."""

    status: Optional[int] = None
    problem: Optional[Dict[str, Any]] = None


class InvalidEvent(AuditLogError, ValueError):
    """An event was refused (a missing or too long field, an unknown key, a value of the
    wrong type, or too large an event). Nothing was written; fix the event."""


class InvalidOption(AuditLogError, ValueError):
    """An option or query filter is out of range or unknown."""


class InvalidCursor(AuditLogError, ValueError):
    """A query cursor that is not one, or belongs to a query with other filters or order."""


class NotFound(AuditLogError, LookupError):
    """No record with this sequence number is held (not yet written, or removed by retention)."""


class Damaged(AuditLogError):
    """The log's files are damaged (a checksum, chain or proof does not hold). Run
    ``auditlog.verify(path)`` or ``auditlog verify`` for the full report."""


class NotALog(AuditLogError):
    """The path is not an auditlog directory, or one written by an unsupported version."""


class Locked(AuditLogError):
    """Another writer (in this process or another) holds the log. Only one writer may open a
    log; many processes should share one ``auditlog serve``."""


class QueueFull(AuditLogError):
    """The writer's queue is full (only from calls that must not block). In client mode: the
    server answered 503 (``queue-full`` or ``shutting-down``) to every retry."""


class Poisoned(AuditLogError):
    """A write failed (disk full, I/O error): the log refuses appends until reopened."""


class Closed(AuditLogError):
    """The log is closed (or was opened in the parent of a fork)."""


class IoError(AuditLogError, OSError):
    """The operating system refused a call; the message names the file."""


# Client mode (auditlog.connect): answers of ``auditlog serve`` that the engine has no
# counterpart for. Every exception a client raises for a server's answer carries ``status``
# (the HTTP status) and ``problem`` (the problem+json document) attributes.


class Unauthorized(AuditLogError, PermissionError):
    """401: the token is missing, malformed, unknown or revoked."""


class Forbidden(AuditLogError, PermissionError):
    """403: the token's role or tenants do not allow the request (a reader appending, a
    writer querying, a writer's event of another tenant)."""


class ServerError(AuditLogError):
    """The server failed (500, with the engine's message) or answered something unexpected."""
