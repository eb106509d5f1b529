#!/usr/bin/env bash
# Server time of console pages and of one API read on an existing log (docs/BENCHMARKS.md,
# "The console on 10M events"): starts `BIN serve` on 127.0.0.1:PORT, signs an auditor in,
# and prints curl's time_total for five requests per page. Adds two auditor tokens to the log.
#   benches/console_pages.sh BIN DIR [PORT]      # e.g. a log made by `auditlog demo --events 10000000`
set -euo pipefail
bin=$1 dir=$2 port=${3:-7612}
work=$(mktemp -d)
tok=$("$bin" token add --dir "$dir" --role auditor | sed -n 1p)
"$bin" serve --dir "$dir" --listen 127.0.0.1:$port 2> "$work/serve.err" &
pid=$!
trap 'kill -TERM $pid; wait $pid || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do grep -q started "$work/serve.err" && break; sleep 0.2; done
jar="$work/cookies.txt"
curl -s -o /dev/null -c $jar -H "Origin: http://127.0.0.1:$port" --data-urlencode "token=$tok" http://127.0.0.1:$port/console/sign-in
n=$("$bin" stats --dir "$dir" --json | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["by_outcome"].values()))' 2>/dev/null || echo 10000000)
echo "records: $n; load $(cut -d' ' -f1-3 /proc/loadavg)"
last=$(( n > 10 ? n - 10 : 1 )) mid=$(( n / 2 ))
for page in "/console/events?limit=100" "/console/events?limit=100&severity=critical" "/console/events?limit=100&actor=user:42" "/console/events?limit=100&text=refund" "/console/events/$mid" "/console/events/$last/proof.json" "/console/events/$mid/proof.json" "/console/dashboard?period=24h" "/console/dashboard?period=7d"; do
  printf '%-55s' "$page"
  for i in 1 2 3 4 5; do
    curl -s -o /dev/null -b $jar -w '%{http_code}:%{time_total} ' "http://127.0.0.1:$port$page"
  done
  echo
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
rtok=$("$bin" token add --dir "$dir" --role auditor | sed -n 1p)
sleep 2
printf '%-55s' "GET /v1/events?actor=user:42&limit=100"
for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null -H "Authorization: Bearer $rtok" -w '%{http_code}:%{time_total} ' "http://127.0.0.1:$port/v1/events?actor=user:42&limit=100"; done; echo
