// Appends the events the browser tests look for (through POST /v1/events, as an
// application would) to the demo's sample events, signs a checkpoint, and writes what it
// made to $SEED_FILE for the tests: order 123's status change, an event carrying XSS
// payloads, right-to-left overrides and 10 KB strings in its fields, and another tenant's
// record that acme must never see.

import fs from 'node:fs';

const { BASE_URL, WRITER_TOKEN, ADMIN_TOKEN, SEED_FILE } = process.env;

const long = (unit) => unit.repeat(Math.ceil(10240 / unit.length)).slice(0, 10240);
const xss = {
  actor: {
    id: '<script>window.__xss=1</script>',
    kind: 'user',
    name: '<img src=x onerror="window.__xss=2">',
    email: 'x@example.com"><script>window.__xss=7</script>',
  },
  action: 'xss.probe<b>bold</b>',
  outcome: 'failure',
  severity: 'critical',
  error_message: '</td></tr></table><script>window.__xss=4</script>',
  entity: {
    type: '"><svg onload=window.__xss=3>',
    id: `\u202eevil\u202c-${long('<i>10k</i>')}`,
    name: "'><iframe src=javascript:window.__xss=8>",
  },
  tenant: 'acme',
  ip: '10.0.0.1<script>window.__xss=9</script>',
  user_agent: long('<script>alert(1)</script>').slice(0, 8000),
  source: 'probe\u202e<script>',
  labels: ['<u>label</u>', 'PCI'],
  changed_fields: ['<b>field</b>'],
  before: { html: '<iframe src="javascript:window.__xss=6">', blob: long('"<>&') },
  after: { html: '<script>window.__xss=10</script>', blob: long('<&>"') },
  metadata: { note: '<script>window.__xss=5</script>', long: long('</pre><script>x</script>') },
};
const order = {
  actor: { id: 'alice@acme.test', kind: 'user', name: 'Alice Auditor' },
  action: 'order.status_change',
  outcome: 'success',
  severity: 'medium',
  entity: { type: 'order', id: '123', name: 'Order 123' },
  tenant: 'acme',
  changed_fields: ['status', 'carrier'],
  labels: ['SOX'],
  before: { status: 'pending', total: 99.5, carrier: null, note: 'gift wrap' },
  after: { status: 'shipped', total: 99.5, carrier: 'DHL', note: 'gift wrap' },
  request_id: 'req-order-123',
};
const secret = {
  actor: { id: 'mallory@globex.test' },
  action: 'globex.secret_rotation',
  severity: 'high',
  entity: { type: 'order', id: '123' },
  tenant: 'globex',
};

async function post(events) {
  const r = await fetch(`${BASE_URL}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${WRITER_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  const body = await r.json();
  if (r.status !== 201) throw new Error(`POST /v1/events: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

const ack = await post([order, xss, secret]);
const seqs = (ack.records || []).map((x) => x.seq);
if (seqs.length !== 3 || seqs.some((s) => typeof s !== 'number')) {
  throw new Error(`unexpected receipts: ${JSON.stringify(ack)}`);
}
const cp = await fetch(`${BASE_URL}/v1/checkpoint`, {
  headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
});
if (!cp.ok) throw new Error(`GET /v1/checkpoint: ${cp.status} ${await cp.text()}`);
fs.writeFileSync(SEED_FILE, JSON.stringify({ order: seqs[0], xss: seqs[1], globex: seqs[2] }));
console.log(`seeded: order #${seqs[0]}, xss #${seqs[1]}, globex #${seqs[2]}`);
