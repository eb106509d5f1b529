"""The seeds' audit table in PostgreSQL, shared by the service benchmarks: their columns, JSONB
details and five indexes, the INSERT and COPY statements, and the row an event becomes.

pg_compare.py (Python writers side by side) and fastapi_pg_app.py (the FastAPI endpoint the
seeds' services run, loaded by wrk next to `auditlog serve`) both write exactly this table.
"""

from __future__ import annotations

from typing import Any, Mapping

from psycopg.types.json import Jsonb

SCHEMA = """
    DROP TABLE IF EXISTS audit_events;
    CREATE TABLE audit_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        occurred_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        tenant TEXT,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        entity_type TEXT,
        entity_id TEXT,
        severity TEXT NOT NULL,
        details JSONB NOT NULL
    );
    CREATE INDEX audit_events_time ON audit_events(occurred_at);
    CREATE INDEX audit_events_actor ON audit_events(actor, occurred_at);
    CREATE INDEX audit_events_action ON audit_events(action, occurred_at);
    CREATE INDEX audit_events_entity ON audit_events(entity_type, entity_id, occurred_at);
    CREATE INDEX audit_events_tenant ON audit_events(tenant, occurred_at);
    CHECKPOINT;
"""
COLUMNS = "tenant, actor, action, entity_type, entity_id, severity, details"
INSERT = f"INSERT INTO audit_events ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
COPY = f"COPY audit_events ({COLUMNS}) FROM STDIN"


def row(e: Mapping[str, Any]) -> tuple:
    """The columns of one event (missing entity and severity as the seeds store them)."""
    entity = e.get("entity") or {}
    return (e.get("tenant"), e["actor"]["id"], e["action"], entity.get("type"), entity.get("id"),
            e.get("severity", "info"), Jsonb(dict(e)))
