"""``@auditlog.audited(action, ...)``: one event per call of a function, with the entity and its
state before and after the call."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar, Union

from . import context as _context
from .context import changed_fields

__all__ = ["audited"]

F = TypeVar("F", bound=Callable[..., Any])
EntitySpec = Union[Tuple[str, Any], Tuple[str, Any, Optional[str]]]


def audited(
    action: str,
    *,
    entity: Optional[Callable[..., EntitySpec]] = None,
    snapshot: Optional[Callable[..., Any]] = None,
    severity: str = "info",
    labels: Tuple[str, ...] = (),
    log: Any = None,
) -> Callable[[F], F]:
    """Records one event of ``action`` per call of the decorated function (sync or async).

    ``entity`` is called with the function's arguments and returns ``(type, id)`` or
    ``(type, id, name)``. ``snapshot``, called with the same arguments before and after the
    call, returns the entity's state: the event gets it as ``before`` and ``after``, with the
    changed fields when both are dicts. A raised exception is recorded (outcome ``error``,
    severity ``high``, its message) and re-raised. The actor, IP and request id come from the
    open :mod:`auditlog.context`; the event goes to ``log``, else the context's or the default
    log. The event is written (durably, for an embedded log) before the function's result is
    returned.
    """

    def decorate(fn: F) -> F:
        def before_call(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Tuple[Any, Any]:
            ent = entity(*args, **kwargs) if entity is not None else None
            state = snapshot(*args, **kwargs) if snapshot is not None else None
            return ent, state

        def build(args: Tuple[Any, ...], kwargs: Dict[str, Any], ent: Any, before: Any, error: Optional[BaseException]) -> Any:
            after = snapshot(*args, **kwargs) if snapshot is not None and error is None else None
            ctx = _context.current() or _context.AuditContext()
            fields: Dict[str, Any] = {"severity": severity, "labels": list(ctx.labels) + list(labels)}
            if ent is not None:
                fields["entity"] = (str(ent[0]), str(ent[1])) + ((ent[2],) if len(ent) > 2 else ())
            if snapshot is not None:
                fields["before"] = before
                if error is None:
                    fields["after"] = after
                if isinstance(before, dict) and isinstance(after, dict):
                    fields["changed_fields"] = changed_fields(before, after)
            if error is not None:
                fields.update(outcome="error", severity="high", error_message=f"{type(error).__name__}: {error}")
            return ctx.event(action, **fields)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                ent, before = before_call(args, kwargs)
                target = _context.get_log(log)
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as e:
                    await target.append_async(build(args, kwargs, ent, before, e))
                    raise
                await target.append_async(build(args, kwargs, ent, before, None))
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ent, before = before_call(args, kwargs)
            target = _context.get_log(log)
            try:
                result = fn(*args, **kwargs)
            except BaseException as e:
                target.append(build(args, kwargs, ent, before, e))
                raise
            target.append(build(args, kwargs, ent, before, None))
            return result

        return wrapper  # type: ignore[return-value]

    return decorate
