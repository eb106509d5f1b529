"""SQLAlchemy 2 capture: one event per inserted, updated or deleted row of tracked models,
written only once the transaction commits.

    from sqlalchemy.orm import sessionmaker
    import auditlog, auditlog.sqlalchemy

    Session = sessionmaker(engine)
    auditlog.sqlalchemy.track(Session, models=[Order, Customer], log=log)

Changes are collected at each flush, with attribute history (and, for an attribute set while
expired, the row's old value) for ``before``, ``after`` and the
changed fields, and kept with the (sub)transaction they were flushed in. When the outermost
transaction commits they are appended as one batch (``append_many``: consecutive sequence
numbers, all or none). A rolled-back transaction logs nothing, and neither does a rolled-back
savepoint (``begin_nested``): its changes are dropped while the rest of the transaction's are
kept. The actor, IP and request id come from the open :mod:`auditlog.context`.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from sqlalchemy import event as sa_event
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from . import context as _context

__all__ = ["track"]

_PENDING = "auditlog_pending"
_STAGED = "auditlog_staged"
_COMMITTED = "auditlog_committed"


class _Tracker:
    def __init__(self, models: Optional[Iterable[type]], log: Any, exclude: Iterable[str]) -> None:
        self.models = tuple(models) if models is not None else None
        self.log = log
        self.exclude = set(exclude)

    def tracked(self, obj: Any) -> bool:
        return self.models is None or isinstance(obj, self.models)

    # Collecting.

    def before_flush(self, session: Session, _flush_context: Any, _instances: Any) -> None:
        # Updates and deletes are read before the flush: attribute history still holds the
        # old values, and what history lacks (an attribute set while expired, after a
        # commit) can still be read from the row.
        staged: Dict[Any, Any] = {}
        for obj in session.dirty:
            if self.tracked(obj) and session.is_modified(obj, include_collections=False):
                before, after = self.changes(session, obj)
                if before or after:
                    staged[obj] = self.event(obj, "update", before=before, after=after, changed_fields=list(after))
        for obj in session.deleted:
            if self.tracked(obj):
                staged[obj] = self.event(obj, "delete", before=self.snapshot(obj, load=True), severity="low")
        session.info[_STAGED] = staged

    def after_flush(self, session: Session, _flush_context: Any) -> None:
        staged: Dict[Any, Any] = session.info.pop(_STAGED, {})
        events: List[Any] = []
        for obj in session.new:
            if self.tracked(obj):
                after = self.snapshot(obj)
                events.append(self.event(obj, "create", after=after, changed_fields=list(after)))
        events.extend(staged.values())
        if events:
            transaction = session.get_nested_transaction() or session.get_transaction()
            session.info.setdefault(_PENDING, {}).setdefault(transaction, []).extend(events)

    def snapshot(self, obj: Any, load: bool = False) -> Dict[str, Any]:
        state = inspect(obj)
        keys = [a.key for a in state.mapper.column_attrs if a.key not in self.exclude]
        if load:
            return {k: getattr(obj, k) for k in keys}
        return {k: state.dict.get(k) for k in keys}

    def changes(self, session: Session, obj: Any) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        state = inspect(obj)
        before: Dict[str, Any] = {}
        after: Dict[str, Any] = {}
        unknown_old = []
        for attr in state.mapper.column_attrs:
            if attr.key in self.exclude:
                continue
            history = state.attrs[attr.key].history
            if not history.has_changes():
                continue
            new = history.added[0] if history.added else None
            if history.deleted:
                old = history.deleted[0]
            elif history.unchanged:
                old = history.unchanged[0]
            else:
                unknown_old.append(attr)
                after[attr.key] = new
                continue
            if old != new:
                before[attr.key] = old
                after[attr.key] = new
        if unknown_old and state.identity is not None:
            mapper = state.mapper
            columns = [a.columns[0] for a in unknown_old]
            where = [c == v for c, v in zip(mapper.primary_key, state.identity)]
            row = session.connection().execute(select(*columns).where(*where)).first()
            for attr, old in zip(unknown_old, row or [None] * len(columns)):
                if old == after[attr.key]:
                    del after[attr.key]
                else:
                    before[attr.key] = old
        return before, after

    def event(self, obj: Any, verb: str, **fields: Any) -> Any:
        mapper = inspect(obj).mapper
        kind = mapper.local_table.name if mapper.local_table is not None else mapper.class_.__name__.lower()
        pk = mapper.primary_key_from_instance(obj)
        entity_id = "/".join(str(v) for v in pk)
        ctx = _context.current() or _context.AuditContext(actor="system")
        return ctx.event(f"{kind}.{verb}", entity=(kind, entity_id), **fields)

    # Writing (or dropping) when transactions end.

    def after_commit(self, session: Session) -> None:
        transaction = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_COMMITTED, set()).add(transaction)

    def after_transaction_end(self, session: Session, transaction: Any) -> None:
        pending: Dict[Any, List[Any]] = session.info.get(_PENDING, {})
        committed: Set[Any] = session.info.get(_COMMITTED, set())
        events = pending.pop(transaction, [])
        was_committed = transaction in committed
        committed.discard(transaction)
        if not was_committed or not events:
            return  # rolled back, or closed without a commit: the changes never happened
        parent = transaction.parent
        if parent is not None:
            pending.setdefault(parent, []).extend(events)  # a released savepoint
            return
        target = _context.get_log(self.log)
        target.append_many(events)


def track(
    session_or_factory: Any,
    *,
    models: Optional[Iterable[type]] = None,
    log: Any = None,
    exclude: Iterable[str] = ("password",),
) -> None:
    """Records inserts, updates and deletes of ``models`` (default: every mapped class) made
    through ``session_or_factory``: a ``Session`` instance, a ``sessionmaker``, a
    ``scoped_session`` or the ``Session`` class itself. ``exclude``: attribute names never
    copied into ``before``/``after``. ``log``: where to write (default: the context's or the
    default log)."""
    tracker = _Tracker(models, log, exclude)
    sa_event.listen(session_or_factory, "before_flush", tracker.before_flush)
    sa_event.listen(session_or_factory, "after_flush", tracker.after_flush)
    sa_event.listen(session_or_factory, "after_commit", tracker.after_commit)
    sa_event.listen(session_or_factory, "after_transaction_end", tracker.after_transaction_end)
