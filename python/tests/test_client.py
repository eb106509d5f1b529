"""Client mode (auditlog.connect) against a real `auditlog serve` (tests/serverproc.py): HTTP
and Unix-socket appends with receipts, batching, reads, roles mapped to exceptions, 503
retries, fork, several worker processes and the FastAPI middleware on a client."""

from __future__ import annotations

import http.server
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

import auditlog
import serverproc

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = serverproc.Server(tmp_path_factory.mktemp("serve"))
    yield srv
    assert srv.stop() == 0, "".join(srv.stderr)


@pytest.fixture
def admin(server):
    client = auditlog.connect(server.http_url, token=server.tokens["admin"])
    yield client
    client.close()


def mine(admin, tag, **filters):
    """Every record whose metadata carries ``tag`` (appended by this test), oldest first."""
    return [r for r in admin.query(text=tag, limit=None, **filters) if (r.metadata or {}).get("tag") == tag]


def ev(tag, i=0, **fields):
    return {"actor": {"id": f"user:{i}"}, "action": "client.test", "metadata": {"tag": tag, "i": i}, **fields}


@pytest.mark.parametrize("transport", ["http", "unix"])
def test_appends_return_receipts_and_read_back(server, admin, transport):
    url = server.http_url if transport == "http" else server.unix_url
    tag = uuid.uuid4().hex
    with auditlog.connect(url, token=server.tokens["writer"]) as log:
        one = log.append(auditlog.Event("user:1", "client.test", metadata={"tag": tag, "i": 0}, ip="203.0.113.9"))
        many = log.append_many([ev(tag, i) for i in (1, 2, 3)])
        log.flush()
    assert isinstance(one, auditlog.Receipt)
    # An append_many gets consecutive numbers, all in one tree.
    assert [r.seq for r in many] == [many[0].seq, many[0].seq + 1, many[0].seq + 2]
    assert many[0].seq > one.seq and one.tree_size > one.seq and len(one.leaf_hash) == 64
    record = admin.get(one.seq)
    assert record.seq == one.seq and record.recorded_at == one.recorded_at
    assert record.actor == {"id": "user:1"} and record.ip == "203.0.113.9" and record.metadata == {"tag": tag, "i": 0}
    got = mine(admin, tag)
    assert [r.seq for r in got] == [one.seq] + [r.seq for r in many]
    # (The server's audit.read events name the filters, so they match the text too.)
    assert admin.count(text=tag, action="client.test") == 4
    newest = admin.query(text=tag, action="client.test", newest_first=True, limit=2)
    assert [r.seq for r in newest] == [many[2].seq, many[1].seq] and newest.next_cursor is not None
    rest = admin.query(text=tag, action="client.test", newest_first=True, limit=10, cursor=newest.next_cursor)
    assert [r.seq for r in rest] == [many[0].seq, one.seq] and rest.next_cursor is None
    head = admin.tree_head()
    assert head.size > many[2].seq and len(head.root) == 64
    proof = admin.prove(one.seq)
    assert proof["type"] == "inclusion" and proof["leaf_index"] == one.seq


def test_small_appends_from_threads_are_batched(server, admin):
    tag = uuid.uuid4().hex
    before = _metric(server, "auditlog_ingest_requests_total")
    receipts = []
    lock = threading.Lock()
    with auditlog.connect(server.unix_url, token=server.tokens["writer"], linger=0.02) as log:

        def work(t):
            for i in range(25):
                r = log.append(ev(tag, t * 100 + i))
                with lock:
                    receipts.append((t * 100 + i, r))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    requests = _metric(server, "auditlog_ingest_requests_total") - before
    assert len({r.seq for _, r in receipts}) == 200
    # Fewer requests than events: calls shared requests, and each still got its own receipt.
    assert requests < 200
    by_seq = {r.seq: i for r, i in ((r, i) for i, r in receipts)}
    for record in mine(admin, tag):
        assert record.metadata["i"] == by_seq[record.seq]


def test_a_bad_event_fails_only_its_own_call(server, admin):
    tag = uuid.uuid4().hex
    results = {}
    with auditlog.connect(server.unix_url, token=server.tokens["writer"], linger=0.2) as log:

        def work(i):
            event = ev(tag, i) if i != 3 else {"actor": {"id": "x" * 5000}, "action": "client.test", "metadata": {"tag": tag}}
            try:
                results[i] = log.append(event)
            except auditlog.InvalidEvent as e:
                results[i] = e

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert isinstance(results[3], auditlog.InvalidEvent) and results[3].status == 422
    assert all(isinstance(results[i], auditlog.Receipt) for i in results if i != 3)
    assert sorted(r.metadata["i"] for r in mine(admin, tag)) == [0, 1, 2, 4, 5]


def test_roles_and_tokens_map_to_exceptions(server):
    for url in (server.http_url, server.unix_url):
        with auditlog.connect(url, token=server.tokens["reader"]) as log:
            with pytest.raises(auditlog.Forbidden) as e:
                log.append(ev("nope"))
            assert e.value.status == 403 and e.value.problem["type"] == "urn:auditlog:problem:forbidden"
        bogus = auditlog.connect(url, token="alt_0000_" + "0" * 64)
        with pytest.raises(auditlog.Unauthorized):
            bogus.append(ev("nope"))
        bogus.close()
    writer = auditlog.connect(server.http_url, token=server.tokens["writer"])
    with pytest.raises(auditlog.Forbidden):
        writer.query(action="client.test")
    reader = auditlog.connect(server.http_url, token=server.tokens["reader"])
    with pytest.raises(auditlog.Forbidden):
        reader.prove(0)  # proofs are for auditors
    with pytest.raises(auditlog.NotFound):
        auditlog.connect(server.http_url, token=server.tokens["admin"]).get(10**12)
    with pytest.raises(auditlog.Forbidden):  # on the socket as over HTTP
        auditlog.connect(server.unix_url, token=server.tokens["writer"]).query()
    with pytest.raises(auditlog.InvalidCursor):
        auditlog.connect(server.http_url, token=server.tokens["admin"]).query(cursor="garbage")


def test_append_after_close_is_refused(server):
    log = auditlog.connect(server.unix_url, token=server.tokens["writer"])
    log.append(ev("closing"))
    log.close()
    log.close()
    with pytest.raises(auditlog.Closed):
        log.append(ev("closing"))


class _Fake503(http.server.BaseHTTPRequestHandler):
    """A stand-in server: 503 queue-full with Retry-After: 0 for the first `fail` posts."""

    fail = 0
    posts = 0

    def do_POST(self):
        type(self).posts += 1
        events = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).posts <= type(self).fail:
            body = json.dumps({"type": "urn:auditlog:problem:queue-full", "status": 503, "detail": "queue full"}).encode()
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/problem+json")
        else:
            body = json.dumps({"count": len(events), "records": [
                {"seq": i, "recorded_at": "2026-12-02T00:00:00Z", "leaf_hash": "00" * 32, "tree_size": len(events)}
                for i in range(len(events))]}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("fail, ok", [(2, True), (100, False)])
def test_503_is_retried_with_backoff_then_queue_full(fail, ok):
    handler = type("H", (_Fake503,), {"fail": fail, "posts": 0})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        log = auditlog.connect(f"http://127.0.0.1:{httpd.server_port}", token="t", retries=3, backoff=0.001)
        if ok:
            assert log.append(ev("r")).seq == 0
            assert handler.posts == 3
        else:
            with pytest.raises(auditlog.QueueFull) as e:
                log.append(ev("r"))
            assert e.value.status == 503
            assert handler.posts == 4  # the first try and three retries
        log.close()
    finally:
        httpd.shutdown()


def test_fork_child_appends_on_its_own_connection(server, admin):
    tag = uuid.uuid4().hex
    # The parent's client is in use (a connection, a sender thread), and one of the parent's
    # appends is being gathered by its sender (a long linger) when the process forks. (An
    # append waiting in the buffer itself: test_fork_drops_the_parents_buffer_in_the_child.)
    log = auditlog.connect(server.unix_url, token=server.tokens["writer"], linger=0.5)
    log.append(ev(tag, 0))
    pending = {}
    t = threading.Thread(target=lambda: pending.setdefault("r", log.append(ev(tag, 1))))
    t.start()
    time.sleep(0.05)  # let the append reach the sender (if not, the test is only weaker)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            log.append(ev(tag, 2))
            log.append_many([ev(tag, 3), ev(tag, 4)])
            log.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    t.join()
    assert os.waitstatus_to_exitcode(status) == 0
    log.append(ev(tag, 5))
    log.close()
    assert isinstance(pending["r"], auditlog.Receipt)
    assert sorted(r.metadata["i"] for r in mine(admin, tag)) == [0, 1, 2, 3, 4, 5]


def _worker(url, token, tag, w, n):
    log = auditlog.connect(url, token=token)
    for i in range(0, n, 5):
        if i % 10 == 0:
            log.append_many([ev(tag, w * 10_000 + j) for j in range(i, i + 5)])
        else:
            for j in range(i, i + 5):
                log.append(ev(tag, w * 10_000 + j))
    log.close()


def test_worker_processes_append_concurrently_exactly_once(server, admin):
    tag = uuid.uuid4().hex
    ctx = multiprocessing.get_context("fork")
    # The parent's client is used before the workers fork, as with gunicorn --preload.
    parent = auditlog.connect(server.unix_url, token=server.tokens["writer"])
    parent.append(ev(tag, -1))
    procs = [ctx.Process(target=_worker, args=(server.unix_url if w % 2 else server.http_url,
                                                server.tokens["writer"], tag, w, 200)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    parent.close()
    got = [r.metadata["i"] for r in mine(admin, tag)]
    assert sorted(got) == sorted([-1] + [w * 10_000 + j for w in range(4) for j in range(200)])


def test_gunicorn_four_preloaded_workers(tmp_path):
    """Four gunicorn sync workers (--preload: the app and its client are made in the
    master, which appends before forking) posting to one `auditlog serve`: every event is
    present exactly once and the log verifies."""
    srv = serverproc.Server(tmp_path)
    gunicorn = None
    try:
        tag = uuid.uuid4().hex
        env = dict(os.environ, AUDITLOG_URL=srv.unix_url, AUDITLOG_TOKEN=srv.tokens["writer"], AUDITLOG_TAG=tag)
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--preload", "-w", "4", "-b", "127.0.0.1:0",
             "--chdir", str(HERE), "gunicorn_app:app"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        lines = []
        for line in gunicorn.stderr:
            lines.append(line)
            m = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port is not None, "".join(lines)
        threading.Thread(target=lambda: [lines.append(x) for x in gunicorn.stderr], daemon=True).start()
        answers = []
        lock = threading.Lock()

        def post(k):
            for i in range(k * 50, k * 50 + 50):
                for attempt in range(50):
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?i={i}", data=b"", timeout=30) as resp:
                            with lock:
                                answers.append(json.loads(resp.read()))
                        break
                    except ConnectionError:  # the workers are still booting
                        time.sleep(0.1)

        threads = [threading.Thread(target=post, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 400, "".join(lines)
        assert len({a["pid"] for a in answers}) >= 2  # several workers served
        gunicorn.send_signal(signal.SIGTERM)
        assert gunicorn.wait(60) == 0
        gunicorn = None
        admin = auditlog.connect(srv.http_url, token=srv.tokens["admin"])
        got = sorted(r.metadata["i"] for r in mine(admin, tag))
        assert got == [-1] + list(range(400))
        by_seq = {r.seq: r.metadata["i"] for r in mine(admin, tag)}
        assert all(by_seq[a["seq"]] == a["i"] for a in answers)
        admin.close()
    finally:
        if gunicorn is not None:
            gunicorn.kill()
        assert srv.stop() == 0
    report = auditlog.verify(srv.dir)
    assert report.ok, report.problems


def test_fastapi_middleware_on_a_client(server, admin):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from auditlog.fastapi import AuditMiddleware

    tag = uuid.uuid4().hex
    log = auditlog.connect(server.unix_url, token=server.tokens["writer"])
    app = FastAPI()
    app.add_middleware(AuditMiddleware, log=log, actor=lambda request: request.headers.get("x-user"))

    @app.get("/orders/{order_id}")
    async def get_order(order_id: str):
        auditlog.context.set_entity("order", order_id)
        auditlog.context.add_labels(tag)
        return {"id": order_id}

    with TestClient(app) as client:
        assert client.get("/orders/7", headers={"x-user": "alice"}).status_code == 200
        assert client.get("/orders/8", headers={"x-user": "bob"}).status_code == 200
    log.close()
    records = admin.query(label=tag, limit=None)
    assert [(r.actor["id"], r.entity["id"], r.metadata["path"], r.outcome) for r in records] == [
        ("alice", "7", "/orders/{order_id}", "success"),
        ("bob", "8", "/orders/{order_id}", "success"),
    ]


def test_tail_over_sse(server, admin):
    tag = uuid.uuid4().hex
    start = admin.tree_head().size
    with auditlog.connect(server.unix_url, token=server.tokens["writer"]) as log:
        log.append_many([ev(tag, i) for i in range(3)])
    got = []
    for record in admin.tail(from_seq=start, timeout=1.0, text=tag):
        got.append(record.metadata["i"])
        if len(got) == 3:
            break
    assert got == [0, 1, 2]


def _metric(server, name):
    with urllib.request.urlopen(server.http_url + "/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not in /metrics")


def test_append_async_and_reads_of_a_unix_client(server, admin):
    import asyncio

    tag = uuid.uuid4().hex
    # A unix:// client writes and reads on the socket (here with an admin token).
    log = auditlog.connect(server.unix_url, token=server.tokens["admin"])

    async def main():
        return await asyncio.gather(*(log.append_async(ev(tag, i)) for i in range(20)))

    receipts = asyncio.run(main())
    assert len({r.seq for r in receipts}) == 20
    got = {r.seq: r.metadata["i"] for r in log.query(text=tag, action="client.test", limit=None)}
    assert {r.seq: i for i, r in enumerate(receipts)} == got
    log.close()


def test_reads_over_the_unix_socket_match_http(server, admin):
    """A unix:// client's reads are read frames on the socket (no http= given): the same
    answers as over HTTP, the same exceptions, and proofs at a chosen tree size."""
    tag = uuid.uuid4().hex
    with auditlog.connect(server.unix_url, token=server.tokens["writer"]) as w:
        receipts = w.append_many([ev(tag, i) for i in range(5)])
    unix = auditlog.connect(server.unix_url, token=server.tokens["admin"])
    try:
        assert [r.to_dict() for r in mine(unix, tag)] == [r.to_dict() for r in mine(admin, tag)]
        assert [r.seq for r in mine(unix, tag)] == [r.seq for r in receipts]
        assert unix.get(receipts[2].seq) == admin.get(receipts[2].seq)
        page = unix.query(text=tag, action="client.test", limit=2)
        assert len(page) == 2 and page.next_cursor is not None
        rest = unix.query(text=tag, action="client.test", limit=10, cursor=page.next_cursor)
        assert [r.seq for r in list(page) + list(rest)] == [r.seq for r in receipts]
        assert unix.count(text=tag, action="client.test") == 5
        head = unix.tree_head()
        assert head.size >= receipts[-1].tree_size and len(head.root) == 64
        # Proofs at a chosen tree size, alike on both transports; the default is a tree
        # holding the record.
        seq, size = receipts[1].seq, receipts[1].seq + 2
        for client in (unix, admin):
            proof = client.prove(seq, tree_size=size)
            assert proof["tree_head"]["size"] == size and proof["seq"] == seq
            assert proof["tree_head"] == client.prove_consistency(size, head.size)["old"]
            assert client.prove(seq)["tree_head"]["size"] > seq
            with pytest.raises(auditlog.InvalidOption):  # a tree without the record: 400
                client.prove(seq, tree_size=seq)
            with pytest.raises(auditlog.NotFound):  # a tree larger than the log: 404
                client.prove(seq, tree_size=10**15)
        with pytest.raises(auditlog.NotFound):
            unix.get(10**12)
        with pytest.raises(auditlog.InvalidCursor):
            unix.query(cursor="not-a-cursor")
        # tail is a stream: a unix:// client needs http= for it.
        with pytest.raises(auditlog.InvalidOption, match="http="):
            unix.tail(timeout=0.1)
    finally:
        unix.close()
    # A writer may not read on the socket either; a reader sees its tenant only.
    with auditlog.connect(server.unix_url, token=server.tokens["writer"]) as w:
        with pytest.raises(auditlog.Forbidden):
            w.query(text=tag)
    with auditlog.connect(server.unix_url, token=server.tokens["reader"]) as r:
        assert all(rec.tenant == "acme" for rec in r.query(limit=50))
        with pytest.raises(auditlog.Forbidden):
            r.prove(0)


class _FakeSocketServer:
    """A stand-in for the server's Unix socket that holds its answer to the first batch until
    released, so that a test can fork while the client's sender is busy and another append
    waits in the buffer. It records every event it receives."""

    def __init__(self, path):
        import struct

        self.struct = struct
        self.received = []
        self.lock = threading.Lock()
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.frames = 0
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read(self, conn):
        head = conn.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            return None
        (n,) = self.struct.unpack(">I", head)
        return json.loads(conn.recv(n, socket.MSG_WAITALL))

    def _write(self, conn, doc):
        data = json.dumps(doc).encode()
        conn.sendall(self.struct.pack(">I", len(data)) + data)

    def _serve(self, conn):
        self._read(conn)
        self._write(conn, {"status": 200, "token": "t", "role": "writer"})
        while True:
            doc = self._read(conn)
            if doc is None:
                return
            events = doc if isinstance(doc, list) else [doc]
            with self.lock:
                self.frames += 1
                first = self.frames == 1
                seq0 = len(self.received)
                self.received.extend(e["metadata"]["i"] for e in events)
            if first:
                self.first_arrived.set()
                self.release.wait(30)
            self._write(conn, {"status": 201, "count": len(events), "records": [
                {"seq": seq0 + k, "recorded_at": "2026-12-02T00:00:00Z", "leaf_hash": "00" * 32,
                 "tree_size": seq0 + k + 1} for k in range(len(events))]})


def test_fork_drops_the_parents_buffer_in_the_child(tmp_path):
    fake = _FakeSocketServer(tmp_path / "fake.sock")
    log = auditlog.connect(f"unix://{tmp_path / 'fake.sock'}", token="t")
    results = {}
    a = threading.Thread(target=lambda: results.setdefault("a", log.append(ev("f", 1))))
    a.start()
    assert fake.first_arrived.wait(30)  # the sender is busy with event 1 ...
    b = threading.Thread(target=lambda: results.setdefault("b", log.append(ev("f", 2))))
    b.start()
    deadline = time.monotonic() + 30
    while not log._queue and time.monotonic() < deadline:  # ... and event 2 waits in the buffer
        time.sleep(0.001)
    assert log._queue
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            log.append(ev("f", 3))
            log.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    fake.release.set()
    a.join()
    b.join()
    log.close()
    # The child sent only its own event; the parent sent both of its own.
    assert sorted(fake.received) == [1, 2, 3]
    assert isinstance(results["a"], auditlog.Receipt) and isinstance(results["b"], auditlog.Receipt)
