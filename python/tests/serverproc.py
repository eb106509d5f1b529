"""A real `auditlog serve` for the client-mode tests and the client benchmark.

The binary is the one cargo built: $AUDITLOG_BIN (.ci/test.d/20-python sets it after
`cargo build --release --bin auditlog`). Without it the tests fail; they are never skipped.
The server listens on 127.0.0.1 on a port the kernel picks, and on a Unix socket in a
temporary directory.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional


def binary() -> str:
    path = os.environ.get("AUDITLOG_BIN")
    if not path:
        raise RuntimeError(
            "AUDITLOG_BIN is not set: build the server with `cargo build --release --bin auditlog` "
            "and set AUDITLOG_BIN=target/release/auditlog (.ci/test.d/20-python does)"
        )
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"AUDITLOG_BIN={path} is not an executable")
    return path


def add_token(log_dir: Path, role: str, *tenants: str) -> str:
    args = [binary(), "token", "add", "--dir", str(log_dir), "--role", role, "--name", f"test-{role}-{len(tenants)}-{time.monotonic_ns()}"]
    for t in tenants:
        args += ["--tenant", t]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return out.stdout.splitlines()[0].strip()


class Server:
    """`auditlog serve --dir DIR --listen 127.0.0.1:0 --socket DIR/../audit.sock`."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        self.dir = tmp / "log"
        self.socket_path = tmp / "audit.sock"
        # A reader must have tenants (docs/SERVER.md): this one reads tenant "acme" only.
        self.tokens: Dict[str, str] = {r: add_token(self.dir, r) for r in ("writer", "auditor", "admin")}
        self.tokens["reader"] = add_token(self.dir, "reader", "acme")
        self.stderr: List[str] = []
        self.proc = subprocess.Popen(
            [binary(), "serve", "--dir", str(self.dir), "--listen", "127.0.0.1:0",
             "--socket", str(self.socket_path), *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        started = threading.Event()
        self.http_url: Optional[str] = None

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.stderr.append(line)
                m = re.search(r"started .*listen=(http://127\.0\.0\.1:\d+)", line)
                if m:
                    self.http_url = m.group(1)
                    started.set()
            started.set()

        threading.Thread(target=read, daemon=True).start()
        started.wait(60)
        if self.http_url is None:
            self.proc.kill()
            raise RuntimeError("auditlog serve did not start:\n" + "".join(self.stderr))
        self.unix_url = f"unix://{self.socket_path}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
