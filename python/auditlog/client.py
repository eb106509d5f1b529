"""Client mode: a handle on a running ``auditlog serve``, for programs of many processes.

    log = auditlog.connect("unix:///run/auditlog.sock", token=WRITER_SECRET)
    log = auditlog.connect("http://127.0.0.1:7600", token=SECRET)

:class:`Client` has the methods of :class:`auditlog.AuditLog` (it implements
:class:`auditlog.AuditLogAPI`), so the FastAPI, Django and SQLAlchemy capture and the
decorators work with it unchanged.

**Writes.** ``append`` and ``append_many`` hand their events to one sender thread per process,
which sends what has queued up as one request (at most ``max_batch`` events), so that many
threads' small appends share one round trip and one ``fdatasync`` on the server. Whatever
arrives while a request is in flight goes in the next one; ``linger`` (seconds, default 0)
makes the sender also wait that long for more before sending. The default is 0 because
waiting measured slower on this server (docs/BENCHMARKS.md, "Python client mode"): the
in-flight request is already a linger as long as one fdatasync. Each call still returns only when the server has acknowledged
its own records, with their receipts (durable under the server's ``--durability``). An
``append_many`` is never split: its events get consecutive numbers, all or none. The server
takes a request whole or refuses it whole; when a gathered request is refused (an invalid
event, a tenant a writer may not use), the sender sends each call's events again on its own,
which is safe because nothing of the refused request was written, so that one bad event
fails only its own call.

**Back-pressure.** A 503 (``queue-full``, ``shutting-down``) wrote nothing: it is retried after
``Retry-After`` (over HTTP) or an exponential back-off from ``backoff`` seconds, at most
``retries`` times, and then :class:`auditlog.QueueFull` is raised. A connection that cannot be
opened is retried the same way, then :class:`auditlog.IoError`. A connection lost after a
request was sent is never retried, since the server may have written it: the call raises
:class:`auditlog.IoError` saying the outcome is unknown.

**Reads** (``get``, ``query``, ``count``, ``tree_head``, ``prove``, ``prove_consistency``) are
the HTTP endpoints' answers: an ``http://`` client sends them over HTTP, a ``unix://`` client
as read frames on the socket, which the server answers with the same handlers. ``tail`` is a
Server-Sent Events stream, which the socket does not carry: a ``unix://`` client tails over
``http=``. The token's role must allow each read (docs/SERVER.md, "Tokens and roles"), and
the server audits each as an ``audit.read`` event.

**fork().** Safe for gunicorn ``--preload`` and multiprocessing: the client remembers the
process id, and a child (seen through ``os.register_at_fork`` and by comparing
``os.getpid()`` on every call) starts with no connection, no sender thread and an empty
buffer, and opens its own connection on first use. Appends buffered in the parent at the
fork are dropped in the child, not flushed before the fork: they belong to threads of the
parent, which is still running, still waiting for them and sends them itself. So the child
never sends them a second time, and the parent loses none.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import select
import socket
import struct
import threading
import time
import urllib.parse
import weakref
from collections import deque
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Type,
    Union,
)

from . import errors as _errors
from ._model import Page, Receipt, Record, TreeHead, to_rfc3339
from .api import AuditLogAPI, EventLike
from .embedded import _as_dict, _encoder
from .errors import AuditLogError, Closed, InvalidEvent, IoError, QueueFull

__all__ = ["Client", "connect"]

_MAX_PAGE = 1000

# problem+json `type` (after urn:auditlog:problem:) -> exception class.
_PROBLEM_TYPES: Dict[str, Type[AuditLogError]] = {
    "malformed-json": InvalidEvent,
    "no-events": InvalidEvent,
    "invalid-event": InvalidEvent,
    "too-large": InvalidEvent,
    "bad-parameter": _errors.InvalidOption,
    "unknown-filter": _errors.InvalidOption,
    "bad-cursor": _errors.InvalidCursor,
    "unauthorized": _errors.Unauthorized,
    "forbidden": _errors.Forbidden,
    "not-found": _errors.NotFound,
    "queue-full": QueueFull,
    "shutting-down": QueueFull,
    "internal": _errors.ServerError,
}
_STATUSES: Dict[int, Type[AuditLogError]] = {
    400: InvalidEvent,
    401: _errors.Unauthorized,
    403: _errors.Forbidden,
    404: _errors.NotFound,
    413: InvalidEvent,
    422: InvalidEvent,
    503: QueueFull,
}


def problem_error(status: int, doc: Any) -> AuditLogError:
    """The exception for a problem document (or any non-success answer)."""
    if not isinstance(doc, dict):
        doc = {"status": status, "detail": str(doc)[:500]}
    kind = str(doc.get("type", "")).rsplit(":", 1)[-1]
    cls = _PROBLEM_TYPES.get(kind) or _STATUSES.get(status) or _errors.ServerError
    if kind == "bad-parameter" and doc.get("parameter") == "cursor":
        cls = _errors.InvalidCursor  # as the embedded log: a cursor that is not one
    detail = doc.get("detail") or doc.get("title") or f"status {status}"
    err = cls(f"auditlog serve: {detail} ({status} {kind or 'error'})")
    err.status = status
    err.problem = doc
    return err


class _Unknown(IoError):
    """The connection was lost after a request was sent: it may have been written."""


def connect(
    url: str,
    token: str,
    *,
    linger: float = 0.0,
    max_batch: int = 1000,
    timeout: float = 30.0,
    retries: int = 6,
    backoff: float = 0.05,
    http: Optional[str] = None,
) -> "Client":
    """A :class:`Client` of the ``auditlog serve`` at ``url``: ``unix:///path/to.sock`` (the
    server's ``--socket``: appends and reads; give ``http=`` for ``tail``) or
    ``http://host:port``."""
    return Client(url, token, linger=linger, max_batch=max_batch, timeout=timeout,
                  retries=retries, backoff=backoff, http=http)


# One unit is one append or append_many call: sent together, acknowledged together.
class _Unit:
    __slots__ = ("events", "done", "result", "error", "callback")

    def __init__(self, events: List[str], callback: Optional[Callable[["_Unit"], None]] = None) -> None:
        self.events = events  # each event's JSON text, encoded by the calling thread
        self.done = threading.Event()
        self.result: Optional[List[Receipt]] = None
        self.error: Optional[BaseException] = None
        self.callback = callback

    def settle(self, result: Optional[List[Receipt]], error: Optional[BaseException]) -> None:
        self.result, self.error = result, error
        self.done.set()
        if self.callback is not None:
            self.callback(self)

    def wait(self) -> List[Receipt]:
        self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


_FLUSH = object()  # a marker in the queue: everything before it has been answered
_STOP = object()


class _HttpConn:
    """One keep-alive HTTP/1.1 connection (http.client), reopened when the server closed it."""

    def __init__(self, host: str, port: int, token: str, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.headers = {"Authorization": f"Bearer {token}"}
        self.conn: Optional[http.client.HTTPConnection] = None

    def _dropped(self) -> bool:
        sock = self.conn.sock if self.conn is not None else None
        if sock is None:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)  # an idle connection with something to read was closed

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                content_type: Optional[str] = None) -> Tuple[int, Dict[str, str], bytes]:
        if self.conn is None or self._dropped():
            self.close()
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                conn.connect()
            except OSError as e:
                raise ConnectionRefusedError(f"cannot reach auditlog serve at http://{self.host}:{self.port}: {e}") from None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn = conn
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise _Unknown(f"the connection to auditlog serve was lost during {method} {path}: {e}") from None
        if resp.will_close:
            self.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class _SocketConn:
    """The server's Unix socket: 4-byte big-endian length, then JSON; token first."""

    def __init__(self, path: str, token: str, timeout: float) -> None:
        self.path, self.token, self.timeout = path, token, timeout
        self.sock: Optional[socket.socket] = None

    def _open(self) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            raise ConnectionRefusedError(f"cannot reach auditlog serve at unix://{self.path}: {e}") from None
        try:
            answer = self._exchange(s, json.dumps({"token": self.token}).encode())
        except BaseException:
            s.close()
            raise
        if answer.get("status") != 200:
            s.close()
            raise problem_error(int(answer.get("status", 401)), answer)
        return s

    @staticmethod
    def _recv(s: socket.socket, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionResetError("the server closed the socket")
            buf += chunk
        return bytes(buf)

    def _exchange(self, s: socket.socket, payload: bytes) -> Dict[str, Any]:
        s.sendall(struct.pack(">I", len(payload)) + payload)
        (n,) = struct.unpack(">I", self._recv(s, 4))
        doc = json.loads(self._recv(s, n))
        if not isinstance(doc, dict):
            # Every answer of the socket's framing is an object (docs/SERVER.md); a ValueError
            # is what the caller takes for a broken connection.
            raise ValueError(f"the server answered a frame that is not a JSON object: {str(doc)[:100]}")
        return doc

    def send(self, payload: bytes) -> Tuple[int, Dict[str, str], Any]:
        if self.sock is None:
            self.sock = self._open()
        try:
            doc = self._exchange(self.sock, payload)
        except (OSError, ValueError) as e:
            self.close()
            raise _Unknown(f"the connection to auditlog serve was lost with a batch in flight: {e}") from None
        status = int(doc.get("status", 500))
        if status == 413 and doc.get("limit") == "max_body_bytes":
            self.close()  # the server ends the connection after a frame over its limit
        return status, {}, doc

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Client(AuditLogAPI):
    """A connection to ``auditlog serve`` (see the module documentation and
    :func:`connect`). Thread-safe and fork-safe; one per process is enough."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        linger: float = 0.0,
        max_batch: int = 1000,
        timeout: float = 30.0,
        retries: int = 6,
        backoff: float = 0.05,
        http: Optional[str] = None,
    ) -> None:
        if not isinstance(token, str) or not token:
            raise _errors.InvalidOption("give the token's secret (from `auditlog token add`)")
        if linger < 0 or max_batch < 1 or retries < 0 or backoff < 0 or timeout <= 0:
            raise _errors.InvalidOption("linger, retries and backoff must be >= 0, max_batch >= 1, timeout > 0")
        parsed = urllib.parse.urlsplit(url)
        self.url = url
        self._token = token
        self.linger, self.max_batch, self.timeout = linger, max_batch, timeout
        self.retries, self.backoff = retries, backoff
        self._socket_path: Optional[str] = None
        self._http: Optional[Tuple[str, int]] = None
        if parsed.scheme == "unix":
            self._socket_path = (parsed.netloc + parsed.path) if parsed.netloc else parsed.path
            if not self._socket_path:
                raise _errors.InvalidOption(f"{url!r}: give unix:///path/to.sock")
            if http is not None:
                self._http = _http_address(http)
        elif parsed.scheme == "http":
            self._http = _http_address(url)
        else:
            raise _errors.InvalidOption(f"{url!r}: give unix:///path/to.sock or http://host:port")
        self._closed = False
        self._reset()
        _clients.add(self)

    # Process-local state: made anew in a forked child.

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: Deque[Any] = deque()
        self._sender: Optional[threading.Thread] = None
        self._local = threading.local()

    def _reset_after_fork(self) -> None:
        # The parent's buffered appends are the parent's: its threads wait for them and its
        # sender sends them. The child drops them (and the parent's sockets, without
        # shutting them down, which would cut the parent's connection too).
        self._reset()

    def _check(self) -> None:
        if self._closed:
            raise Closed("the client is closed")
        if self._pid != os.getpid():
            self._reset_after_fork()

    # Writing.

    def append(self, event: EventLike) -> Receipt:
        return self._submit([_encode(event)]).wait()[0]

    def append_many(self, events: Iterable[EventLike]) -> List[Receipt]:
        batch = [_encode(e) for e in events]
        if not batch:
            return []
        return self._submit(batch).wait()

    async def append_async(self, event: EventLike) -> Receipt:
        loop = asyncio.get_running_loop()
        future: "asyncio.Future[Receipt]" = loop.create_future()

        def settle(unit: _Unit) -> None:
            def set_result() -> None:
                if future.done():
                    return
                if unit.error is not None:
                    future.set_exception(unit.error)
                else:
                    assert unit.result is not None
                    future.set_result(unit.result[0])

            try:
                loop.call_soon_threadsafe(set_result)
            except RuntimeError:
                pass  # the loop is closed: nobody waits any more

        self._submit([_encode(event)], settle)
        return await future

    def _submit(self, events: List[Any], callback: Optional[Callable[[_Unit], None]] = None) -> _Unit:
        self._check()
        unit = _Unit(events, callback)
        with self._lock:
            self._queue.append(unit)
            self._ensure_sender()
            self._wake.notify()
        return unit

    def _ensure_sender(self) -> None:
        if self._sender is None or not self._sender.is_alive():
            self._sender = threading.Thread(target=self._run, args=(self._queue, self._wake),
                                            name="auditlog-client-sender", daemon=True)
            self._sender.start()

    def flush(self) -> None:
        """Returns once every append made before it (by any thread) has been answered."""
        self._check()
        marker = _Unit([])
        with self._lock:
            if not self._queue and self._sender is None:
                return
            self._queue.append((_FLUSH, marker))
            self._ensure_sender()
            self._wake.notify()
        marker.done.wait()

    def close(self) -> None:
        """Waits for every pending append's answer, then closes the connections. Closing
        twice is a no-op; appends after it raise :class:`auditlog.Closed`."""
        if self._closed:
            return
        if self._pid == os.getpid():
            self.flush()
            with self._lock:
                sender = self._sender
                if sender is not None:
                    self._queue.append(_STOP)
                    self._wake.notify()
            if sender is not None:
                sender.join()
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                conn.close()
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    # The sender thread.

    def _run(self, queue: Deque[Any], wake: threading.Condition) -> None:
        conn = self._writer_conn()
        try:
            while True:
                with wake:
                    while not queue:
                        wake.wait()
                    item = queue.popleft()
                    if item is _STOP:
                        return
                    if isinstance(item, tuple):
                        item[1].settle(None, None)
                        continue
                    units = [item]
                    size = len(item.events)
                    deadline = time.monotonic() + self.linger
                    while size < self.max_batch:
                        if not queue:
                            left = deadline - time.monotonic()
                            if left <= 0:
                                break
                            wake.wait(left)
                            continue
                        nxt = queue[0]
                        if not isinstance(nxt, _Unit) or size + len(nxt.events) > self.max_batch:
                            break
                        units.append(queue.popleft())
                        size += len(nxt.events)
                if self._pid != os.getpid():
                    return  # a forked copy of a sender never runs, but be sure
                try:
                    self._send_units(conn, units)
                except BaseException as e:  # never leave a caller waiting
                    for unit in units:
                        if not unit.done.is_set():
                            unit.settle(None, e)
        finally:
            conn.close()

    def _writer_conn(self) -> Any:
        if self._socket_path is not None:
            return _SocketConn(self._socket_path, self._token, self.timeout)
        assert self._http is not None
        return _HttpConn(self._http[0], self._http[1], self._token, self.timeout)

    def _post(self, conn: Any, events: List[str]) -> Tuple[int, Dict[str, str], Any]:
        payload = ("[" + ",".join(events) + "]").encode()
        if isinstance(conn, _SocketConn):
            return conn.send(payload)
        status, headers, data = conn.request("POST", "/v1/events", payload, "application/json")
        try:
            doc = json.loads(data) if data else {}
        except ValueError:
            doc = data.decode("utf-8", "replace")
        return status, headers, doc

    def _send_units(self, conn: Any, units: List[_Unit]) -> None:
        events: List[Any] = []
        for unit in units:
            events.extend(unit.events)
        try:
            status, doc = self._post_with_retries(conn, events)
        except BaseException as e:  # every waiting call gets the error
            for unit in units:
                unit.settle(None, e)
            return
        if status == 201:
            records = doc.get("records", []) if isinstance(doc, dict) else []
            if len(records) != len(events):
                err = _errors.ServerError(f"auditlog serve acknowledged {len(records)} records of {len(events)}")
                for unit in units:
                    unit.settle(None, err)
                return
            at = 0
            for unit in units:
                n = len(unit.events)
                unit.settle([Receipt(r["seq"], r["recorded_at"], r["tree_size"], r["leaf_hash"])
                             for r in records[at:at + n]], None)
                at += n
            return
        if len(units) > 1 and 400 <= status < 500 and status != 401:
            # Refused whole, so nothing was written: each call on its own gets its own answer.
            return self._send_each(conn, units)
        refused = problem_error(status, doc)
        for unit in units:
            unit.settle(None, refused)

    def _send_each(self, conn: Any, units: List[_Unit]) -> None:
        for unit in units:
            self._send_units(conn, [unit])

    def _post_with_retries(self, conn: Any, events: List[Any]) -> Tuple[int, Any]:
        attempt = 0
        while True:
            try:
                status, headers, doc = self._post(conn, events)
            except _Unknown:
                raise
            except ConnectionRefusedError as e:
                if attempt >= self.retries:
                    raise IoError(str(e)) from None
                time.sleep(self.backoff * (2 ** attempt))
                attempt += 1
                continue
            if status != 503:
                return status, doc
            if attempt >= self.retries:
                raise problem_error(status, doc)
            delay = self.backoff * (2 ** attempt)
            retry_after = headers.get("retry-after")
            if retry_after is not None:
                try:
                    delay = max(delay, min(float(retry_after), 30.0))
                except ValueError:
                    pass
            time.sleep(delay)
            attempt += 1

    # Reading: over the Unix socket's read frames for a unix:// client, else over HTTP. One
    # connection per thread, apart from the sender's.

    def _reader(self) -> Union[_HttpConn, _SocketConn]:
        conn: Union[_HttpConn, _SocketConn, None] = getattr(self._local, "conn", None)
        if conn is None:
            if self._socket_path is not None:
                conn = _SocketConn(self._socket_path, self._token, self.timeout)
            else:
                assert self._http is not None
                conn = _HttpConn(self._http[0], self._http[1], self._token, self.timeout)
            self._local.conn = conn
        return conn

    def _get(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        self._check()
        if params:
            path += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        conn = self._reader()
        attempt = 0
        while True:
            try:
                if isinstance(conn, _SocketConn):
                    # {"get": path} is answered {"status": 200, "body": ...} or a problem
                    # document (docs/SERVER.md, "The Unix socket").
                    status, _, answer = conn.send(json.dumps({"get": path}).encode())
                    if status == 200:
                        return answer.get("body")
                    raise problem_error(status, answer)
                status, headers, data = conn.request("GET", path)
            except ConnectionRefusedError as e:
                if attempt >= self.retries:
                    raise IoError(str(e)) from None
                time.sleep(self.backoff * (2 ** attempt))
                attempt += 1
                continue
            if status == 200:
                if headers.get("content-type", "").startswith("application/json"):
                    return json.loads(data)
                return data.decode()
            try:
                doc: Any = json.loads(data)
            except ValueError:
                doc = data.decode("utf-8", "replace")
            raise problem_error(status, doc)

    def get(self, seq: int) -> Record:
        return Record.from_dict(self._get(f"/v1/events/{int(seq)}")["record"])

    def query(
        self,
        *,
        actor: Optional[str] = None,
        action: Optional[str] = None,
        since: Any = None,
        until: Any = None,
        severity_at_least: Optional[str] = None,
        tenant: Optional[str] = None,
        text: Optional[str] = None,
        limit: Optional[int] = 1000,
        cursor: Optional[str] = None,
        action_prefix: Optional[str] = None,
        severity: Optional[str] = None,
        outcome: Optional[str] = None,
        entity_type: Optional[str] = None,
        entity_id: Optional[str] = None,
        label: Optional[str] = None,
        newest_first: bool = False,
    ) -> Page:
        """As :meth:`auditlog.AuditLog.query`, through ``GET /v1/events``. The server gives at
        most 1,000 records a request: a larger ``limit`` (or ``None``) takes several."""
        params = _params(actor=actor, action=action, since=since, until=until,
                         min_severity=severity_at_least, tenant=tenant, text=text,
                         action_prefix=action_prefix, severity=severity, outcome=outcome,
                         entity_type=entity_type, entity_id=entity_id, label=label)
        if newest_first:
            params["order"] = "newest"
        if limit is not None and limit < 1:
            raise _errors.InvalidOption("limit must be at least 1 (None: no limit)")
        records: List[Record] = []
        while True:
            want = _MAX_PAGE if limit is None else min(_MAX_PAGE, limit - len(records))
            doc = self._get("/v1/events", {**params, "limit": want, "cursor": cursor})
            records.extend(Record.from_dict(d) for d in doc["records"])
            cursor, has_more = doc["cursor"], doc["has_more"]
            if not has_more or (limit is not None and len(records) >= limit):
                return Page(records=records, cursor=cursor, has_more=has_more)

    def count(self, **filters: Any) -> int:
        """How many records match (the filters of :meth:`query`), from ``GET /v1/stats``."""
        if "severity_at_least" in filters:
            filters["min_severity"] = filters.pop("severity_at_least")
        return int(self._get("/v1/stats", {**_params(**filters), "by": "outcome", "top": 1})["total"])

    def tail(self, *, from_seq: Optional[int] = None, timeout: Optional[float] = None, **filters: Any) -> Iterator[Record]:
        """Records as they commit, from ``GET /v1/stream`` (Server-Sent Events); stops after
        ``timeout`` seconds without a record (``None``: never) or when the server stops."""
        self._check()
        if self._http is None:
            raise _errors.InvalidOption(
                "tail streams over HTTP (Server-Sent Events): connect with an http:// address, "
                "or give a unix:// client http=\"http://host:port\""
            )
        if "severity_at_least" in filters:
            filters["min_severity"] = filters.pop("severity_at_least")
        params = _params(**filters)
        if from_seq is not None:
            params["from_seq"] = from_seq
        path = "/v1/stream" + ("?" + urllib.parse.urlencode(params) if params else "")
        host, port = self._http
        token = self._token

        def generate() -> Iterator[Record]:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            try:
                conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
                resp = conn.getresponse()
                if resp.status != 200:
                    body = resp.read()
                    try:
                        doc: Any = json.loads(body)
                    except ValueError:
                        doc = body.decode("utf-8", "replace")
                    raise problem_error(resp.status, doc)
                if conn.sock is not None:
                    conn.sock.settimeout(0.2)
                idle_since = time.monotonic()
                data: List[str] = []
                while True:
                    try:
                        line = resp.fp.readline()
                    except socket.timeout:
                        if timeout is not None and time.monotonic() - idle_since >= timeout:
                            return
                        continue
                    if not line:
                        return  # the server ended the stream
                    text = line.decode().rstrip("\r\n")
                    if text.startswith("data:"):
                        data.append(text[5:].lstrip(" "))
                    elif text == "" and data:
                        yield Record.from_dict(json.loads("\n".join(data)))
                        data = []
                        idle_since = time.monotonic()
                    elif text.startswith(":") and timeout is not None and time.monotonic() - idle_since >= timeout:
                        return
            finally:
                conn.close()

        return generate()

    def tree_head(self) -> TreeHead:
        """The current tree head, from ``GET /v1/proofs/consistency?from=0`` (auditor)."""
        head = self._get("/v1/proofs/consistency", {"from": 0})["new"]
        return TreeHead(size=head["size"], root=head["root"])

    def prove(self, seq: int, tree_size: Optional[int] = None) -> Dict[str, Any]:
        """The inclusion proof of ``seq`` from ``GET /v1/events/{seq}?proof=inclusion``
        (auditor): against the tree of ``tree_size`` records, by default the newest signed
        checkpoint covering it, else the current tree."""
        params: Dict[str, Any] = {"proof": "inclusion"}
        if tree_size is not None:
            params["tree_size"] = int(tree_size)
        return dict(self._get(f"/v1/events/{int(seq)}", params)["proof"])

    def prove_consistency(self, old: int, new: Optional[int] = None) -> Dict[str, Any]:
        """A consistency proof from ``GET /v1/proofs/consistency`` (auditor)."""
        return dict(self._get("/v1/proofs/consistency", {"from": old, "to": new}))

    def __repr__(self) -> str:
        return f"<auditlog.Client {self.url!r}{' closed' if self._closed else ''}>"


def _encode(event: EventLike) -> str:
    try:
        return _encoder.encode(_as_dict(event))
    except (TypeError, ValueError) as e:
        raise InvalidEvent(f"invalid event: {e}") from None


def _http_address(url: str) -> Tuple[str, int]:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "http" or not parsed.hostname:
        raise _errors.InvalidOption(f"{url!r}: give http://host:port")
    return parsed.hostname, parsed.port or 80


def _params(**filters: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key in ("since", "until"):
            value = to_rfc3339(value)
        out[key] = value
    return out
