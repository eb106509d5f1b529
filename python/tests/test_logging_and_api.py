"""The logging.Handler, and the AuditLogAPI base that the capture code is written against (a
client-mode class need only implement its abstract methods)."""

import asyncio
import logging

from fastapi import FastAPI
from fastapi.testclient import TestClient

import auditlog
from auditlog.fastapi import AuditMiddleware


def test_logging_handler_writes_events(log):
    logger = logging.getLogger("shop.audit")
    logger.setLevel(logging.INFO)
    handler = auditlog.AuditLogHandler(log, source="shop")
    logger.addHandler(handler)
    try:
        with auditlog.context.bind(actor="alice", ip="192.0.2.1"):
            logger.info("order %s shipped", "A1", extra={"audit_action": "order.ship", "audit_entity": ("order", "A1")})
        logger.error("refund refused", extra={"audit_actor": "bob", "audit_outcome": "denied"})
    finally:
        logger.removeHandler(handler)
    ship, refund = log.query()
    assert ship.action == "order.ship" and ship.actor == {"id": "alice"} and ship.ip == "192.0.2.1"
    assert ship.entity == {"type": "order", "id": "A1"} and ship.source == "shop"
    assert ship.metadata == {"message": "order A1 shipped", "logger": "shop.audit", "level": "INFO"}
    assert ship.severity == "info"
    assert refund.action == "refund refused" and refund.actor == {"id": "bob"}
    assert refund.outcome == "denied" and refund.severity == "high"


def test_a_failed_append_does_not_raise_into_the_application(log, capsys):
    logger = logging.getLogger("shop.audit2")
    handler = auditlog.AuditLogHandler(log)
    logger.addHandler(handler)
    try:
        logger.warning("bad", extra={"audit_actor": ""})  # an empty actor id is refused
    finally:
        logger.removeHandler(handler)
    assert log.tree_head().size == 0
    assert "InvalidEvent" in capsys.readouterr().err


class MemoryLog(auditlog.AuditLogAPI):
    """The smallest AuditLogAPI: what a client-mode class will have to provide."""

    def __init__(self):
        self.events = []

    def append(self, event):
        self.events.append(event.to_dict() if isinstance(event, auditlog.Event) else dict(event))
        return auditlog.Receipt(len(self.events) - 1, "1970-01-01T00:00:00Z", len(self.events), "")

    def append_many(self, events):
        return [self.append(e) for e in events]

    async def append_async(self, event):
        return self.append(event)

    def get(self, seq):
        return auditlog.Record(seq, "1970-01-01T00:00:00Z", auditlog.Event.from_dict(self.events[seq]))

    def query(self, **filters):
        raise NotImplementedError

    def tail(self, **filters):
        raise NotImplementedError

    def tree_head(self):
        raise NotImplementedError

    def prove(self, seq, tree_size=None):
        raise NotImplementedError

    def flush(self):
        pass

    def close(self):
        pass


def test_capture_works_with_any_audit_log_api():
    assert isinstance(auditlog.AuditLog, type) and issubclass(auditlog.AuditLog, auditlog.AuditLogAPI)
    memory = MemoryLog()
    app = FastAPI()
    app.add_middleware(AuditMiddleware, log=memory)

    @app.get("/x")
    async def x():
        return 1

    assert TestClient(app).get("/x").status_code == 200
    assert memory.events[0]["action"] == "GET /x"
    memory.record("u", "manual")
    assert memory.get(1).action == "manual"
    assert asyncio.run(memory.append_async({"actor": {"id": "u"}, "action": "a"})).seq == 2
