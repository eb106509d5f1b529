"""The peer of `auditlog serve` in the load benchmark: the audit endpoint the seeds' FastAPI
services write for themselves. POST /v1/events takes one JSON event, a JSON array or NDJSON,
validates each event with a Pydantic model, inserts the rows into the seeds' PostgreSQL table
(five indexes, synchronous_commit on: the COMMIT returns once the WAL is fdatasync'ed, the
promise `--durability immediate` gives) in one transaction, and answers 201 with the rows' ids.

    COMPARE_PG="host=... dbname=..." uvicorn fastapi_pg_app:app --workers 2

Started and loaded by benches/services/fastapi_pg.sh; not a product, a yardstick.
"""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, List, Optional

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, ValidationError

from seeds_schema import INSERT, row


class Actor(BaseModel):
    id: str
    kind: Optional[str] = None
    name: Optional[str] = None
    email: Optional[str] = None


class Entity(BaseModel):
    type: str
    id: str


class AuditEvent(BaseModel):
    """The fields the seeds' endpoints check; everything else is kept in `details`."""
    model_config = ConfigDict(extra="allow")
    actor: Actor
    action: str
    entity: Optional[Entity] = None
    tenant: Optional[str] = None
    severity: str = "info"
    outcome: str = "success"


# One pool per worker process: 16 connections, as a service sized for 64 client connections.
pool = AsyncConnectionPool(os.environ["COMPARE_PG"], min_size=16, max_size=16, open=False)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await pool.open(wait=True)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


def parse(body: bytes, content_type: str) -> List[AuditEvent]:
    if content_type.startswith("application/x-ndjson"):
        return [AuditEvent.model_validate_json(line) for line in body.splitlines() if line.strip()]
    parsed: Any = json.loads(body)
    return [AuditEvent.model_validate(e) for e in (parsed if isinstance(parsed, list) else [parsed])]


@app.post("/v1/events", status_code=201)
async def record(request: Request) -> JSONResponse:
    try:
        events = parse(await request.body(), request.headers.get("content-type", ""))
    except (ValueError, ValidationError) as e:  # json.JSONDecodeError is a ValueError
        raise HTTPException(status_code=422, detail=str(e)) from None
    rows = [row(e.model_dump(exclude_none=True)) for e in events]
    async with pool.connection() as conn:
        async with conn.transaction():
            async with conn.cursor() as cur:
                await cur.executemany(INSERT + " RETURNING id", rows, returning=True)
                ids = []
                while True:
                    ids.extend(r[0] for r in await cur.fetchall())
                    if not cur.nextset():
                        break
    return JSONResponse({"count": len(ids), "ids": ids}, status_code=201)
