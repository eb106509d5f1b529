"""A :class:`logging.Handler` that writes audit events, for code that already logs its audit
lines with the standard library (``audit_logger.info("order shipped", extra={...})``)."""

from __future__ import annotations

import logging
from typing import Any, Optional

from . import context as _context

__all__ = ["AuditLogHandler"]

# The event's severity for a log level (at least this level).
_SEVERITY = ((logging.CRITICAL, "critical"), (logging.ERROR, "high"), (logging.WARNING, "medium"), (logging.INFO, "low"))


class AuditLogHandler(logging.Handler):
    """Writes one event per log record.

    The record's ``extra`` may carry ``audit_action`` (default: the message text),
    ``audit_actor``, ``audit_entity`` (``(type, id)``), ``audit_outcome``, ``audit_labels``,
    ``audit_before``, ``audit_after`` and ``audit_metadata``; the open
    :mod:`auditlog.context` gives actor, IP and request id. The message, logger name and level
    go into ``metadata``; the severity follows the level (DEBUG/INFO below ``low`` are
    ``info``). A failed append is reported through :meth:`logging.Handler.handleError`, as
    for every handler, so that logging never raises into the application.
    """

    def __init__(self, log: Any = None, level: int = logging.NOTSET, source: Optional[str] = None) -> None:
        super().__init__(level)
        self._log = log
        self._source = source

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            severity = next((s for lvl, s in _SEVERITY if record.levelno >= lvl and record.levelno > logging.INFO), "info")
            ctx = _context.current() or _context.AuditContext()
            metadata = {"message": message, "logger": record.name, "level": record.levelname}
            metadata.update(getattr(record, "audit_metadata", None) or {})
            fields: Any = {
                "severity": severity,
                "metadata": metadata,
                "outcome": getattr(record, "audit_outcome", "success"),
                "labels": list(getattr(record, "audit_labels", ()) or ()),
                "source": self._source or ctx.source,
            }
            for name in ("entity", "before", "after"):
                value = getattr(record, f"audit_{name}", None)
                if value is not None:
                    fields[name] = value
            actor = getattr(record, "audit_actor", None)
            if actor is not None:
                fields["actor"] = actor
            event = ctx.event(getattr(record, "audit_action", None) or message, **fields)
            _context.get_log(self._log).append(event)
        except Exception:
            self.handleError(record)
