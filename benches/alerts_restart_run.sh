#!/bin/bash
# usage: run.sh before|after R|D  -> prints task-clock ms of one start+catch-up+stop
WHICH=$1; SC=$2; B=/tmp/s30-alerts-bench; BIN=/tmp/s30-alerts-$WHICH
rm -rf $B/run; cp -a $B/base $B/run; D=$B/run/log
if [ $SC = R ]; then W=3600; echo '{"version":1,"next_seq":200000}' > $D/server-alerts-cursor.json
else W=1; echo '{"version": 2, "next_' > $D/server-alerts-cursor.json; fi
echo "{\"rules\":[{\"name\":\"f\",\"action\":\"LOGIN_FAILED\",\"per\":\"actor\",\"at_least\":5,\"within_secs\":$W}]}" > $B/rules.json
perf stat -x, -e task-clock -o $B/perf.$WHICH.$SC $BIN serve --dir $D --listen 127.0.0.1:7612 --alerts $B/rules.json 2>$B/err.$WHICH.$SC & P=$!
for i in $(seq 1 3000); do grep -q started $B/err.$WHICH.$SC 2>/dev/null && break; sleep 0.01; done
for i in $(seq 1 3000); do
  if [ $WHICH = after ] && grep -q "caught up" $B/err.$WHICH.$SC; then break; fi
  if [ $WHICH = before ] && [ $SC = R ]; then break; fi
  if [ $WHICH = before ] && [ $SC = D ]; then
    v=$(curl -s http://127.0.0.1:7612/metrics | awk '/^auditlog_alert_evaluated_seq /{print $2}')
    [ "${v:-0}" -ge 200000 ] && break
  fi
  sleep 0.01
done
PP=$(pgrep -f "^/tmp/s30-alerts-$WHICH serve --dir $D" | head -1)
kill -TERM $PP; wait $P || true
ms=$(awk -F, '/task-clock/{print $1}' $B/perf.$WHICH.$SC)
echo "$WHICH $SC task-clock_ms=$ms $(grep -o 'caught up.*\|evaluating the [0-9]* records from seq [0-9]*' $B/err.$WHICH.$SC | head -2 | tr '\n' ' ')"
