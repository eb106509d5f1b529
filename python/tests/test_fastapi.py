"""A real FastAPI app through its TestClient (httpx): one event per request with the route
template, status-derived outcome, actor, IP, user agent and request id; handlers add to the
context; @audited records before/after; skipped paths record nothing; errors are recorded."""

import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.testclient import TestClient

import auditlog
from auditlog.fastapi import AuditMiddleware

ORDERS = {"1": {"status": "open", "total": 10}}


def make_app(log, **options):
    app = FastAPI()
    app.add_middleware(
        AuditMiddleware,
        log=log,
        actor=lambda request: request.headers.get("x-user"),
        skip_paths=["/health", "/static/*"],
        **options,
    )

    @auditlog.audited(
        "order.status_change",
        entity=lambda order_id, status: ("order", order_id),
        snapshot=lambda order_id, status: dict(ORDERS[order_id]),
    )
    def change_status(order_id, status):
        ORDERS[order_id]["status"] = status

    def current_user(request: Request):
        user = request.headers.get("x-user")
        if user is None:
            raise HTTPException(401, "who are you?")
        return user

    @app.get("/orders/{order_id}")
    async def get_order(order_id: str, user: str = Depends(current_user)):
        if order_id not in ORDERS:
            raise HTTPException(404)
        auditlog.context.set_entity("order", order_id)
        auditlog.context.add_labels("PII")
        return ORDERS[order_id]

    @app.post("/orders/{order_id}/status/{status}")
    def post_status(order_id: str, status: str, user: str = Depends(current_user)):
        # A sync handler runs in a thread: the context and the decorator still work.
        auditlog.context.set_action("order.update")
        change_status(order_id, status)
        return {"ok": True}

    @app.get("/admin")
    async def admin():
        raise HTTPException(403)

    @app.get("/boom")
    async def boom():
        raise RuntimeError("kaput")

    @app.get("/health")
    async def health():
        return "ok"

    return app


def test_one_event_per_request(log):
    ORDERS["1"] = {"status": "open", "total": 10}
    client = TestClient(make_app(log), raise_server_exceptions=False)
    r = client.get("/orders/1", headers={"x-user": "alice", "user-agent": "pytest-agent", "x-request-id": "req-1"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "req-1"
    assert client.get("/orders/999", headers={"x-user": "alice"}).status_code == 404
    assert client.get("/orders/1").status_code == 401
    assert client.get("/admin").status_code == 403
    assert client.get("/boom").status_code == 500
    assert client.get("/health").status_code == 200
    assert client.get("/static/app.js").status_code == 404  # skipped, though it 404s
    r = client.post("/orders/1/status/paid", headers={"x-user": "bob"})
    assert r.status_code == 200
    generated_id = r.headers["x-request-id"]

    records = list(log.query(limit=None))
    by_action = {}
    for rec in records:
        by_action.setdefault(rec.action, []).append(rec)
    assert [r.action for r in records] == [
        "GET /orders/{order_id}",
        "GET /orders/{order_id}",
        "GET /orders/{order_id}",
        "GET /admin",
        "GET /boom",
        "order.status_change",
        "order.update",
    ]
    ok, missing, anonymous = by_action["GET /orders/{order_id}"]
    assert ok.actor == {"id": "alice"} and ok.outcome == "success" and ok.severity == "info"
    assert ok.entity == {"type": "order", "id": "1"} and ok.labels == ["PII"]
    assert ok.user_agent == "pytest-agent" and ok.request_id == "req-1" and ok.ip == "testclient"
    assert ok.metadata["method"] == "GET" and ok.metadata["path"] == "/orders/{order_id}"
    assert ok.metadata["status"] == 200 and ok.metadata["duration_ms"] >= 0
    assert missing.outcome == "failure" and missing.metadata["status"] == 404
    assert anonymous.actor == {"id": "anonymous"} and anonymous.outcome == "denied"
    [admin] = by_action["GET /admin"]
    assert admin.outcome == "denied"
    [boom] = by_action["GET /boom"]
    assert boom.outcome == "error" and boom.severity == "high" and "kaput" in boom.error_message

    [change] = by_action["order.status_change"]
    assert change.actor == {"id": "bob"} and change.request_id == generated_id
    assert change.before == {"status": "open", "total": 10}
    assert change.after == {"status": "paid", "total": 10}
    assert change.changed_fields == ["status"]
    [update] = by_action["order.update"]
    assert update.metadata["path"] == "/orders/{order_id}/status/{status}"
    assert auditlog.verify(log.path).ok


def test_background_writes_land_too(log):
    import time

    with TestClient(make_app(log, wait_durable=False)) as client:
        for _ in range(5):
            assert client.get("/orders/1", headers={"x-user": "carol"}).status_code == 200
        # The appends run on the client's event loop after each response: wait for them.
        deadline = time.monotonic() + 10
        while log.count(actor="carol") < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert log.count(actor="carol") == 5


def test_audited_outside_a_request_uses_the_default_log(log):
    calls = []

    @auditlog.audited("report.export", entity=lambda name: ("report", name))
    def export(name):
        calls.append(name)
        if name == "bad":
            raise ValueError("no such report")
        return name.upper()

    with pytest.raises(LookupError, match="no audit log"):
        export("x")
    assert calls == []  # nothing ran without a place to record it
    auditlog.set_default_log(log)
    try:
        with auditlog.context.bind(actor="cron"):
            assert export("q3") == "Q3"
            with pytest.raises(ValueError):
                export("bad")
    finally:
        auditlog.set_default_log(None)
    ok, failed = log.query(limit=None)
    assert ok.actor == {"id": "cron"} and ok.entity == {"type": "report", "id": "q3"}
    assert failed.outcome == "error" and failed.error_message == "ValueError: no such report"


def test_audited_async(log):
    import asyncio

    @auditlog.audited("job.run", log=log)
    async def job(n):
        await asyncio.sleep(0)
        return n

    assert asyncio.run(job(3)) == 3
    [rec] = log.query()
    assert rec.action == "job.run" and rec.actor == {"id": "anonymous"}


def test_readme_fastapi_example(tmp_path, monkeypatch):
    """The README's "Python" example, run as written."""
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    with TestClient(scope["app"]) as client:
        r = client.post("/orders/42/ship", headers={"x-user": "ada"})
        assert r.status_code == 200
    log = scope["log"]
    [record] = log.query()
    assert record.actor == {"id": "ada"}
    assert record.action == "POST /orders/{order_id}/ship"
    assert record.entity == {"type": "order", "id": "42"}
    log.close()
