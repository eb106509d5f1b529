"""The Django middleware, model tracking and auth signal handlers (see the package docs)."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Iterable, Optional, Set, Tuple, Type

from django.apps import apps
from django.conf import settings
from django.contrib.auth import signals as auth_signals
from django.db import models, transaction
from django.db.models import signals

from .. import context as _context
from .._http import new_request_id
from ..context import changed_fields

__all__ = ["AuditlogMiddleware", "get_log", "set_log", "snapshot", "track"]

_log: Any = None
_log_lock = threading.Lock()
# Models tracked by the @track() decorator, with their excluded fields.
_decorated: Dict[Type[models.Model], Iterable[str]] = {}


def set_log(log: Any) -> None:
    """The log events go to (instead of opening ``settings.AUDITLOG_PATH``)."""
    global _log
    with _log_lock:
        _log = log


def get_log() -> Any:
    """The log given to :func:`set_log`, else the one at ``settings.AUDITLOG_PATH``, opened
    on first use (not at start-up, so that ``manage.py`` commands and the autoreloader's
    parent do not take the writer's lock)."""
    global _log
    with _log_lock:
        if _log is None:
            path = getattr(settings, "AUDITLOG_PATH", None)
            if path is None:
                raise LookupError("no audit log: set AUDITLOG_PATH or call auditlog.django.set_log(log)")
            from ..embedded import AuditLog

            _log = AuditLog.open(path, getattr(settings, "AUDITLOG_DURABILITY", "immediate"))
        return _log


def track(exclude: Iterable[str] = ()) -> Callable[[Type[models.Model]], Type[models.Model]]:
    """Class decorator: record creates, updates and deletes of this model (``exclude``: field
    names left out of before/after, on top of ``AUDITLOG_EXCLUDE_FIELDS``)."""

    def decorate(model: Type[models.Model]) -> Type[models.Model]:
        _decorated[model] = tuple(exclude)
        return model

    return decorate


def _excluded(model: Type[models.Model]) -> Set[str]:
    base = set(getattr(settings, "AUDITLOG_EXCLUDE_FIELDS", ["password"]))
    return base | set(_decorated.get(model, ()))


def _tracked(model: Type[models.Model]) -> bool:
    if model in _decorated:
        return True
    labels = getattr(settings, "AUDITLOG_TRACKED_MODELS", ())
    return model._meta.label in labels or model._meta.label_lower in labels


def snapshot(instance: models.Model) -> Dict[str, Any]:
    """The instance's concrete field values (foreign keys as their ids), without excluded
    fields."""
    excluded = _excluded(type(instance))
    return {
        f.attname: _normalized(f, f.value_from_object(instance))
        for f in instance._meta.concrete_fields
        if f.name not in excluded and f.attname not in excluded
    }


def _normalized(field: Any, value: Any) -> Any:
    """The value as the database gives it back (``"9.50"`` assigned to a DecimalField is
    ``Decimal("9.50")``), so that before and after compare equal when nothing changed."""
    try:
        return field.to_python(value)
    except Exception:
        return value


def _actor_from_user(user: Any) -> Optional[Dict[str, str]]:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    actor = {"id": str(user.pk), "kind": "user"}
    name = user.get_username() if hasattr(user, "get_username") else None
    if name:
        actor["name"] = name
    email = getattr(user, "email", None)
    if email:
        actor["email"] = email
    return actor


def _record(action: str, using: Optional[str] = None, **fields: Any) -> None:
    """Builds the event now (the context is that of the change) and appends it when the
    transaction on ``using`` commits (at once outside a transaction)."""
    ctx = _context.current() or _context.AuditContext(actor="system")
    event = ctx.event(action, **fields)
    target = ctx.log or get_log()
    transaction.on_commit(lambda: target.append(event), using=using)


def _entity(instance: models.Model) -> Tuple[str, str, str]:
    return (instance._meta.label_lower, str(instance.pk), str(instance)[:200])


def _pre_save(sender: Type[models.Model], instance: models.Model, raw: bool = False, using: Optional[str] = None, **_: Any) -> None:
    if raw or not _tracked(sender) or instance.pk is None:
        return
    old = sender._base_manager.using(using).filter(pk=instance.pk).first()
    instance._auditlog_before = snapshot(old) if old is not None else None


def _post_save(sender: Type[models.Model], instance: models.Model, created: bool, raw: bool = False, using: Optional[str] = None, **_: Any) -> None:
    if raw or not _tracked(sender):
        return
    after = snapshot(instance)
    before = None if created else getattr(instance, "_auditlog_before", None)
    instance.__dict__.pop("_auditlog_before", None)
    label = sender._meta.label_lower
    if before is None:
        _record(f"{label}.create", using, entity=_entity(instance), after=after, changed_fields=list(after))
        return
    changed = changed_fields(before, after)
    if not changed:
        return  # a save that changed nothing is not an event
    _record(
        f"{label}.update",
        using,
        entity=_entity(instance),
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        changed_fields=changed,
    )


def _post_delete(sender: Type[models.Model], instance: models.Model, using: Optional[str] = None, **_: Any) -> None:
    if not _tracked(sender):
        return
    _record(f"{sender._meta.label_lower}.delete", using, entity=_entity(instance), before=snapshot(instance), severity="low")


def _logged_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    ctx = _context.current()
    if ctx is not None:
        actor = _actor_from_user(user)
        if actor:
            _context.set_actor(actor["id"], kind=actor.get("kind"), name=actor.get("name"), email=actor.get("email"))
    _record("user.login", actor=_actor_from_user(user), severity="low", **_request_fields(request))


def _logged_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    _record("user.logout", actor=_actor_from_user(user), **_request_fields(request))


def _login_failed(sender: Any, credentials: Dict[str, Any], request: Any = None, **_: Any) -> None:
    # Django has already replaced secrets in `credentials` with stars.
    username = credentials.get("username") or next(iter(v for k, v in credentials.items() if isinstance(v, str) and "pass" not in k.lower()), None)
    _record(
        "user.login_failed",
        actor={"id": str(username or "anonymous"), "kind": "unauthenticated"},
        outcome="denied",
        severity="medium",
        error_message="invalid credentials",
        **_request_fields(request),
    )


def _request_fields(request: Any) -> Dict[str, Any]:
    if request is None or _context.current() is not None:
        return {}  # the middleware's context already carries them
    meta = getattr(request, "META", {})
    return {k: v for k, v in (("ip", meta.get("REMOTE_ADDR")), ("user_agent", meta.get("HTTP_USER_AGENT"))) if v}


_connected = False


def connect() -> None:
    """Connects the signal handlers once (``AppConfig.ready``)."""
    global _connected
    if _connected:
        return
    _connected = True
    signals.pre_save.connect(_pre_save, dispatch_uid="auditlog.pre_save")
    signals.post_save.connect(_post_save, dispatch_uid="auditlog.post_save")
    signals.post_delete.connect(_post_delete, dispatch_uid="auditlog.post_delete")
    auth_signals.user_logged_in.connect(_logged_in, dispatch_uid="auditlog.logged_in")
    auth_signals.user_logged_out.connect(_logged_out, dispatch_uid="auditlog.logged_out")
    auth_signals.user_login_failed.connect(_login_failed, dispatch_uid="auditlog.login_failed")
    # Settings name models that may load after this app: check the names once all are loaded.
    for label in getattr(settings, "AUDITLOG_TRACKED_MODELS", ()):
        apps.get_model(label)


class AuditlogMiddleware:
    """Opens the audit context of each request: actor (``request.user``), client IP
    (``REMOTE_ADDR``; set ``AUDITLOG_TRUST_X_FORWARDED_FOR = True`` behind a proxy you
    trust), user agent and request id (the ``X-Request-ID`` header or a new one, echoed in the
    response). Place it after ``AuthenticationMiddleware``."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        meta = request.META
        ip = meta.get("REMOTE_ADDR")
        if getattr(settings, "AUDITLOG_TRUST_X_FORWARDED_FOR", False) and meta.get("HTTP_X_FORWARDED_FOR"):
            ip = meta["HTTP_X_FORWARDED_FOR"].split(",")[0].strip()
        request_id = meta.get("HTTP_X_REQUEST_ID") or new_request_id()
        ctx = _context.AuditContext(ip=ip, user_agent=meta.get("HTTP_USER_AGENT"), request_id=request_id, actor="anonymous")
        actor = _actor_from_user(getattr(request, "user", None))
        if actor:
            ctx.actor, ctx.actor_kind, ctx.actor_name, ctx.actor_email = actor["id"], actor.get("kind"), actor.get("name"), actor.get("email")
        session = getattr(request, "session", None)
        if session is not None and getattr(session, "session_key", None):
            ctx.session_id = session.session_key
        token = _context.enter(ctx)
        try:
            response = self.get_response(request)
        finally:
            _context.leave(token)
        if not response.has_header("X-Request-ID"):
            response["X-Request-ID"] = request_id
        return response
