# Sourced by benches/compare/run.sh and benches/services/pg_compare.sh: a throw-away
# PostgreSQL 15 cluster for one benchmark run.
#
#   . benches/pg_server.sh; pg_start "$parent_dir"    # exports COMPARE_PG and PG_SOCKET_DIR
#
# Installs Debian's postgresql if /usr/lib/postgresql/15/bin lacks initdb or pg_ctl. The
# cluster lives in a fresh temporary directory under $1, listens on no TCP address at all
# (listen_addresses='') and only on a Unix socket in that directory, with fsync on and
# synchronous_commit=on (a COMMIT returns once its WAL is fdatasync'ed: the same promise as
# our `Immediate`). pg_start installs an EXIT trap that stops the server and removes the
# directory, whatever happens. As root, the cluster belongs to the `postgres` user (PostgreSQL
# refuses to run as root); the benchmarks connect as the database user `postgres` with trust
# authentication, which only the socket's own directory can reach.
pgbin=/usr/lib/postgresql/15/bin

pg_stop() {
    if [ -n "${PG_SOCKET_DIR:-}" ] && [ -f "$PG_SOCKET_DIR/data/postmaster.pid" ]; then
        "${pg_as[@]}" "$pgbin/pg_ctl" -D "$PG_SOCKET_DIR/data" -m fast -w stop >/dev/null || true
    fi
    [ -n "${PG_SOCKET_DIR:-}" ] && rm -rf "$PG_SOCKET_DIR"
    return 0
}

pg_start() {
    if ! [ -x "$pgbin/initdb" ] || ! [ -x "$pgbin/pg_ctl" ]; then
        apt-get update
        apt-get install -y postgresql
    fi
    [ -x "$pgbin/initdb" ] || { echo "PostgreSQL 15 is not in $pgbin after installing it" >&2; return 1; }
    PG_SOCKET_DIR="$(mktemp -d "$1/auditlog-bench-pg.XXXXXX")"
    pg_as=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$PG_SOCKET_DIR"
        pg_as=(runuser -u postgres --)
    fi
    trap pg_stop EXIT
    "${pg_as[@]}" "$pgbin/initdb" -D "$PG_SOCKET_DIR/data" -U postgres --auth=trust -E UTF8 \
        >"$PG_SOCKET_DIR/initdb.log"
    # shared_buffers 1 GB so that a run's tables and indexes stay cached (the other engines'
    # files stay in the page cache too); max_wal_size large enough that no checkpoint starts
    # within a row (the harness starts each row with a CHECKPOINT).
    "${pg_as[@]}" "$pgbin/pg_ctl" -D "$PG_SOCKET_DIR/data" -l "$PG_SOCKET_DIR/server.log" -w start -o "\
        -c listen_addresses='' -c unix_socket_directories='$PG_SOCKET_DIR' \
        -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c wal_sync_method=fdatasync \
        -c shared_buffers=1GB -c max_wal_size=8GB -c max_connections=100" >/dev/null
    export PG_SOCKET_DIR COMPARE_PG="host=$PG_SOCKET_DIR user=postgres dbname=postgres"
    "$pgbin/psql" -h "$PG_SOCKET_DIR" -U postgres -d postgres -Atc \
        "select version() || ', synchronous_commit=' || current_setting('synchronous_commit') || ', fsync=' || current_setting('fsync') || ', listen_addresses=''' || current_setting('listen_addresses') || ''''" >&2
}
