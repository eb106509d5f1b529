"""FastAPI / Starlette capture: :class:`AuditMiddleware` records one event per HTTP request.

    from fastapi import FastAPI
    import auditlog
    from auditlog.fastapi import AuditMiddleware

    log = auditlog.AuditLog.open("./audit")
    app = FastAPI()
    app.add_middleware(AuditMiddleware, log=log, actor=lambda request: request.headers.get("x-user"))

It is plain ASGI (no ``BaseHTTPMiddleware``): it works with any Starlette app and does not
buffer responses. During the request an :class:`auditlog.context.AuditContext` is open, so
handlers can add the entity, before/after, labels and metadata, or a more precise action
(``auditlog.context.set_action("order.status_change")``), and ``@auditlog.audited`` functions
called from them record the same actor, IP and request id.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Iterable, Optional, Set, Tuple, Union

from . import context as _context
from ._http import classify_status, new_request_id
from .api import AuditLogAPI

__all__ = ["AuditMiddleware"]

_logger = logging.getLogger("auditlog.fastapi")

Scope = Dict[str, Any]
ActorFn = Callable[[Any], Union[Optional[str], Awaitable[Optional[str]]]]


class AuditMiddleware:
    """One audit event per HTTP request.

    The event: actor (from ``actor(request)``, called before the handler with a Starlette
    ``Request``; a handler may override it with ``auditlog.context.set_actor``), action (the
    handler's ``set_action``, else ``action(request)``, else ``"METHOD /path/{template}"``),
    outcome and severity from the status (``classify``, default
    :func:`auditlog._http.classify_status`), client IP (``X-Forwarded-For``'s first address
    when ``trust_forwarded``), user agent, request id (the ``request_id_header`` if the client
    sent one, else a new one, echoed in the response), and metadata ``method``, ``path`` (the
    route template, so ids do not explode the set of values), ``status`` and
    ``duration_ms``, plus what the handler added.

    ``skip_paths``: exact paths or prefixes ending in ``*`` (``"/static/*"``) that record
    nothing. ``wait_durable`` (default true): the middleware awaits the append, so an error
    reaches the server's log and nothing is acknowledged to the framework before it is
    stored; false: the append runs in the background (lower latency; an error is logged to
    the ``auditlog.fastapi`` logger).
    """

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        log: AuditLogAPI,
        *,
        actor: Optional[ActorFn] = None,
        action: Optional[Callable[[Any], str]] = None,
        classify: Callable[[int], Tuple[str, str]] = classify_status,
        skip_paths: Iterable[str] = (),
        tenant: Optional[Callable[[Any], Optional[str]]] = None,
        source: Optional[str] = None,
        request_id_header: str = "x-request-id",
        trust_forwarded: bool = False,
        wait_durable: bool = True,
    ) -> None:
        self.app = app
        self.log = log
        self.actor = actor
        self.action = action
        self.classify = classify
        skips = list(skip_paths)
        self._skip_exact = {p for p in skips if not p.endswith("*")}
        self._skip_prefixes = tuple(p[:-1] for p in skips if p.endswith("*"))
        self.tenant = tenant
        self.source = source
        self.request_id_header = request_id_header.lower().encode("latin-1")
        self.trust_forwarded = trust_forwarded
        self.wait_durable = wait_durable
        self._background: Set["asyncio.Task[Any]"] = set()

    def _skipped(self, path: str) -> bool:
        return path in self._skip_exact or (bool(self._skip_prefixes) and path.startswith(self._skip_prefixes))

    async def __call__(self, scope: Scope, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http" or self._skipped(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        request_id = headers.get(self.request_id_header.decode("latin-1")) or new_request_id()
        ctx = _context.AuditContext(
            ip=self._client_ip(scope, headers),
            user_agent=headers.get("user-agent"),
            request_id=request_id,
            source=self.source,
            log=self.log,
        )
        request = None
        if self.actor is not None or self.action is not None or self.tenant is not None:
            from starlette.requests import Request

            request = Request(scope)
        if self.actor is not None:
            found = self.actor(request)
            if inspect.isawaitable(found):
                found = await found
            ctx.actor = found
        if self.tenant is not None:
            ctx.tenant = self.tenant(request)
        status = 500
        request_id_bytes = request_id.encode("latin-1", "replace")

        async def send_wrapper(message: Dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                names = {k.lower() for k, _ in message.get("headers", [])}
                if self.request_id_header not in names:
                    message = dict(message)
                    message["headers"] = list(message.get("headers", [])) + [(self.request_id_header, request_id_bytes)]
            await send(message)

        token = _context.enter(ctx)
        error: Optional[BaseException] = None
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as e:
            error = e
            raise
        finally:
            _context.leave(token)
            event = self._event(scope, request, ctx, status, error, time.perf_counter() - started)
            if self.wait_durable:
                await self.log.append_async(event)
            else:
                task = asyncio.ensure_future(self.log.append_async(event))
                self._background.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: "asyncio.Task[Any]") -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _logger.error("an audit event could not be written", exc_info=task.exception())

    def _client_ip(self, scope: Scope, headers: Dict[str, str]) -> Optional[str]:
        if self.trust_forwarded and "x-forwarded-for" in headers:
            return headers["x-forwarded-for"].split(",")[0].strip() or None
        client = scope.get("client")
        return client[0] if client else None

    def _event(self, scope: Scope, request: Any, ctx: _context.AuditContext, status: int, error: Optional[BaseException], seconds: float) -> Any:
        route = scope.get("route")
        template = getattr(route, "path", None) or scope.get("path", "")
        method = scope.get("method", "GET")
        action = ctx.action or (self.action(request) if self.action is not None else f"{method} {template}")
        outcome, severity = self.classify(status)
        metadata = {"method": method, "path": template, "status": status, "duration_ms": round(seconds * 1000, 3)}
        metadata.update(ctx.metadata)
        fields: Dict[str, Any] = dict(
            outcome=outcome,
            severity=severity,
            metadata=metadata,
            labels=ctx.labels,
            changed_fields=ctx.changed_fields,
            before=ctx.before,
            after=ctx.after,
        )
        if ctx.entity is not None:
            fields["entity"] = ctx.entity
        if error is not None:
            fields["error_message"] = f"{type(error).__name__}: {error}"
        elif outcome != "success":
            fields["error_message"] = f"HTTP {status}"
        return ctx.event(action, **fields)


def _headers(scope: Scope) -> Dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
