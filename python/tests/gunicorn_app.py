"""The WSGI app of test_client.test_gunicorn_four_preloaded_workers: each POST /?i=N appends
one event through the client made here, at import, in gunicorn's master (--preload)."""

import json
import os
import urllib.parse

import auditlog

log = auditlog.connect(os.environ["AUDITLOG_URL"], token=os.environ["AUDITLOG_TOKEN"])
TAG = os.environ["AUDITLOG_TAG"]
# Used in the master before the fork: the workers inherit a client with a connection.
log.append({"actor": {"id": "master"}, "action": "client.test", "metadata": {"tag": TAG, "i": -1}})


def app(environ, start_response):
    i = int(urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))["i"][0])
    receipt = log.append({"actor": {"id": f"user:{i}"}, "action": "client.test", "metadata": {"tag": TAG, "i": i}})
    body = json.dumps({"pid": os.getpid(), "i": i, "seq": receipt.seq}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
