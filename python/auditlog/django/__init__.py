"""Django capture: request context, model changes and logins as audit events.

Settings::

    INSTALLED_APPS = [..., "auditlog.django"]
    MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
                  "auditlog.django.AuditlogMiddleware", ...]
    AUDITLOG_PATH = BASE_DIR / "audit"            # or call auditlog.django.set_log(log)
    AUDITLOG_TRACKED_MODELS = ["shop.Order"]       # or decorate a model with @track()
    AUDITLOG_EXCLUDE_FIELDS = ["password"]         # never copied into before/after (default)

The middleware opens an :class:`auditlog.context.AuditContext` per request with the actor
(``request.user``), client IP, user agent and request id (``X-Request-ID`` or a new one).
Tracked models record ``<app_label>.<model>.create`` / ``.update`` / ``.delete`` with before,
after and the changed fields; ``user.login``, ``user.logout`` and ``user.login_failed``
come from Django's auth signals. Every event is written when its transaction commits
(``transaction.on_commit``): a rolled-back transaction logs nothing.
"""

from __future__ import annotations

from .capture import AuditlogMiddleware, get_log, set_log, snapshot, track

__all__ = ["AuditlogMiddleware", "get_log", "set_log", "snapshot", "track"]
