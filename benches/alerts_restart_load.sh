#!/bin/bash
# Restart cost of alerts: CPU (task-clock) of `serve` from start, through the alert catch-up,
# to SIGTERM, on a log of N records, before (main d176c68) and after (s30-alerts).
set -e
N=${N:-200000}
B=/tmp/s30-alerts-bench
BIN=${BIN:-target/release/auditlog}
rm -rf $B/base; mkdir -p $B/base
TOK=$($BIN token add --dir $B/base/log --role writer | head -1)
python3 -c "
import json
with open('$B/batch.ndjson','w') as f:
    for i in range(1000):
        f.write(json.dumps({'actor':{'id':'user:%d'%(i%97)},'action':'doc.read','tenant':'acme','metadata':{'pad':'x'*400}})+'\n')
"
$BIN serve --dir $B/base/log --listen 127.0.0.1:7611 2>$B/load.err & P=$!
sleep 1
for i in $(seq 1 $((N/1000))); do
  curl -s -o /dev/null -w '' -H "Authorization: Bearer $TOK" -H 'Content-Type: application/x-ndjson' --data-binary @$B/batch.ndjson http://127.0.0.1:7611/v1/events
done
kill -TERM $P; wait $P || true
echo "loaded: $(tail -1 $B/load.err)"
