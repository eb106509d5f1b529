"""The FastAPI app of test_asgi_servers.py, served by a real uvicorn (``--workers 2``) or
gunicorn with uvicorn workers. Each worker process imports this module and so makes its own
client of the `auditlog serve` named by $AUDITLOG_URL; the middleware records one event per
request, and the handlers label theirs with $AUDITLOG_TAG and the worker's pid."""

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException

import auditlog
from auditlog.fastapi import AuditMiddleware

log = auditlog.connect(os.environ["AUDITLOG_URL"], token=os.environ["AUDITLOG_TOKEN"])
TAG = os.environ["AUDITLOG_TAG"]


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    log.close()  # waits for the acknowledgements of whatever is still in flight


app = FastAPI(lifespan=lifespan)
app.add_middleware(AuditMiddleware, log=log, actor=lambda request: request.headers.get("x-user"))


@app.get("/items/{item_id}")
async def get_item(item_id: int):
    auditlog.context.set_entity("item", item_id)
    auditlog.context.add_labels(TAG)
    auditlog.context.add_metadata(pid=os.getpid())
    if item_id % 10 == 9:
        raise HTTPException(status_code=403, detail="not yours")
    return {"id": item_id, "pid": os.getpid()}
