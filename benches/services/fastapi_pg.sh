#!/usr/bin/env bash
# The same wrk load as benches/server_load.sh, on the stack the seeds use: a FastAPI endpoint
# (benches/services/fastapi_pg_app.py, uvicorn with 2 workers on 127.0.0.1) inserting into
# PostgreSQL 15 (benches/pg_server.sh: Unix socket only, the seeds' table and five indexes,
# synchronous_commit on). Issue 14 item 10 asks for the ratio; benches/server_load.sh runs this
# after its own stages, so both come from one run.
#
#   benches/services/fastapi_pg.sh [SECONDS per stage, default 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
secs=${1:-10}
command -v wrk > /dev/null || apt-get install -y -q wrk > /dev/null
venv=$root/target/pg-bench-venv
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r benches/services/requirements.txt
. benches/pg_server.sh
pg_start "${TMPDIR:-/tmp}"
. benches/wrk_stages.sh
work=$(mktemp -d)
upid=""
stop_uvicorn() {
    if [ -n "$upid" ]; then kill -TERM "$upid" 2>/dev/null || true; wait "$upid" 2>/dev/null || true; fi
    rm -rf "$work"
    pg_stop
}
trap stop_uvicorn EXIT
"$venv/bin/python" - <<'PY'
import os, sys
sys.path.insert(0, "benches/services")
import psycopg
from seeds_schema import SCHEMA
with psycopg.connect(os.environ["COMPARE_PG"], autocommit=True) as c:
    c.execute(SCHEMA)
PY
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/uvicorn" fastapi_pg_app:app --app-dir benches/services --host 127.0.0.1 --port "$port" \
    --workers 2 --no-access-log --log-level warning &
upid=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/docs" && break
    sleep 0.2
done
write_bodies "$work"
echo "== FastAPI + psycopg + PostgreSQL $("$venv/bin/python" -c 'import fastapi; print("(fastapi", fastapi.__version__ + ")")')"
run_wrk_stages "http://127.0.0.1:$port/v1/events" "$work" "$secs"
"$venv/bin/python" - <<'PY'
import os, psycopg
with psycopg.connect(os.environ["COMPARE_PG"]) as c:
    print("rows in audit_events:", c.execute("SELECT count(*) FROM audit_events").fetchone()[0])
PY
