#!/usr/bin/env bash
# A Python service's audit writes, side by side in one run (issue 14 item 10, issue 16 item 9):
# psycopg into PostgreSQL 15 (the seeds' table, five indexes, synchronous_commit on) against
# auditlog embedded and through `auditlog serve`. See benches/services/pg_compare.py.
#
#   benches/services/pg_compare.sh [--single N] [--batched N]
#
# Starts a throw-away PostgreSQL on a Unix socket only (benches/pg_server.sh, stopped by a
# trap), installs psycopg, SQLAlchemy (benches/services/requirements.txt, pinned) and the package (`pip install ./python`, a release wheel)
# into a virtualenv under target/, builds the release `auditlog` binary for client mode.
# Anything that cannot be installed fails the script.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=$root/target/pg-bench-venv
. benches/pg_server.sh
pg_start "${TMPDIR:-/tmp}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r benches/services/requirements.txt
CARGO_TARGET_DIR=$root/target "$venv/bin/pip" install --quiet --disable-pip-version-check ./python
cargo build --release --bin auditlog
export AUDITLOG_BIN=$root/target/release/auditlog
cd "$root/target"
"$venv/bin/python" "$root/benches/services/pg_compare.py" "$@"
