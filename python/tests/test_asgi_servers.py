"""The FastAPI middleware under real ASGI servers, as processes: uvicorn with two worker
processes, and gunicorn with two uvicorn workers, each serving tests/asgi_app.py with a
client of one real `auditlog serve` (tests/serverproc.py). Every request the server answered
produced exactly one event, with the request's id, route template, status and the worker
that served it; the log verifies."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import List

import pytest

import auditlog
import serverproc

HERE = Path(__file__).resolve().parent
WORKERS = 2
REQUESTS = 240  # 8 threads of 30


def _start(cmd: List[str], env: dict, ready: int):
    """Starts the ASGI server; returns (process, port, log lines) once `ready` workers have
    finished their startup (at most two minutes)."""
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: List[str] = []
    found = {"port": None, "started": 0}
    up = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"(?:running on|Listening at:) http://127\.0\.0\.1:(\d+)", line)
            if m:
                found["port"] = int(m.group(1))
            if "Application startup complete" in line:
                found["started"] += 1
            if found["port"] is not None and found["started"] >= ready:
                up.set()
        up.set()  # the server exited

    threading.Thread(target=read, daemon=True).start()
    if not up.wait(120) or found["port"] is None or found["started"] < ready:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError("the ASGI server did not start:\n" + "".join(lines))
    return proc, found["port"], lines


def _requests(port: int):
    """REQUESTS requests from 8 threads, each with its own x-request-id; every ninth item
    is refused with 403 by the handler. Returns {request id: (item, status, pid or None)}."""
    answers = {}
    lock = threading.Lock()

    def run(k: int) -> None:
        for i in range(k * 30, k * 30 + 30):
            rid = f"req-{i}-{uuid.uuid4().hex[:8]}"
            req = urllib.request.Request(f"http://127.0.0.1:{port}/items/{i}", headers={"x-request-id": rid, "x-user": f"user:{i % 7}"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    status, body = resp.status, json.loads(resp.read())
                    echoed = resp.headers["x-request-id"]
            except urllib.error.HTTPError as e:
                status, body, echoed = e.code, None, e.headers["x-request-id"]
            assert echoed == rid
            with lock:
                answers[rid] = (i, status, body["pid"] if body else None)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def _stop(proc) -> int:
    """SIGTERM, as a process manager stops the server: the workers finish their requests
    (whose events are appended after the response was sent) and run the app's shutdown."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    return proc.returncode


def _check(srv: serverproc.Server, tag: str, answers) -> None:
    assert len(answers) == REQUESTS
    admin = auditlog.connect(srv.http_url, token=srv.tokens["admin"])
    records = list(admin.query(label=tag, limit=None))
    admin.close()
    per_request = collections.Counter(r.request_id for r in records)
    assert set(per_request) == set(answers), "events of requests never sent, or requests without an event"
    assert [rid for rid, n in per_request.items() if n != 1] == [], "requests with more than one event"
    pids = set()
    for r in records:
        item, status, pid = answers[r.request_id]
        assert r.entity["id"] == str(item)
        assert r.metadata["path"] == "/items/{item_id}" and r.metadata["method"] == "GET"
        assert r.metadata["status"] == status
        assert r.actor["id"] == f"user:{item % 7}"
        assert r.ip == "127.0.0.1"
        assert (r.outcome, status) in {("success", 200), ("denied", 403)}
        if pid is not None:
            assert r.metadata["pid"] == pid  # the worker that answered wrote the event
        pids.add(r.metadata["pid"])
    assert len(pids) == WORKERS, f"the requests were served by {len(pids)} worker process(es), not {WORKERS}"


def _serve_and_check(tmp_path: Path, cmd: List[str], transport: str) -> None:
    srv = serverproc.Server(tmp_path)
    proc = None
    try:
        tag = uuid.uuid4().hex
        url = srv.unix_url if transport == "unix" else srv.http_url
        env = dict(os.environ, AUDITLOG_URL=url, AUDITLOG_TOKEN=srv.tokens["writer"], AUDITLOG_TAG=tag,
                   PYTHONPATH=str(HERE))
        proc, port, lines = _start(cmd, env, ready=WORKERS)
        answers = _requests(port)
        assert _stop(proc) == 0, "".join(lines)
        proc = None
        _check(srv, tag, answers)
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        assert srv.stop() == 0, "".join(srv.stderr)
    report = auditlog.verify(srv.dir)
    assert report.ok, report.problems


@pytest.mark.parametrize("transport", ["unix", "http"])
def test_uvicorn_two_workers(tmp_path, transport):
    _serve_and_check(tmp_path, [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "0",
                                "--workers", str(WORKERS), "--app-dir", str(HERE), "asgi_app:app"], transport)


def test_gunicorn_uvicorn_workers(tmp_path):
    _serve_and_check(tmp_path, [sys.executable, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker",
                                "-w", str(WORKERS), "-b", "127.0.0.1:0", "--chdir", str(HERE), "asgi_app:app"], "unix")
