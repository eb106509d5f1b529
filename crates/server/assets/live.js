// The live feed: records from the server's SSE stream (GET /console/stream) are added at
// the top of the table, built with textContent only (event text is never parsed as HTML).
// Pause closes the stream; Resume reopens it from the record after the last one shown.

const table = document.getElementById('live');
const body = table.querySelector('tbody');
const state = document.getElementById('live-state');
const toggle = document.getElementById('live-toggle');
const MAX_ROWS = 500;
let source = null;
let lastSeq = null;
let received = 0;

function cell(tr, text, href) {
  const td = document.createElement('td');
  if (href) {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    td.append(a);
  } else {
    td.textContent = text;
  }
  tr.append(td);
  return td;
}

function add(record) {
  const tr = document.createElement('tr');
  tr.className = 'fresh';
  cell(tr, String(record.seq), `/console/events/${record.seq}`);
  const when = document.createElement('time');
  when.className = 'ts';
  when.dateTime = record.recorded_at;
  when.title = `UTC: ${record.recorded_at}`;
  when.textContent = new Date(record.recorded_at).toLocaleString();
  cell(tr, '').append(when);
  const actor = (record.actor && record.actor.id) || '';
  cell(tr, actor, `/console/events?actor=${encodeURIComponent(actor)}`);
  cell(tr, record.action || '', `/console/events/${record.seq}`);
  const e = record.entity;
  cell(tr, e ? `${e.type} ${e.id}` : '',
    e ? `/console/events?entity_type=${encodeURIComponent(e.type)}&entity_id=${encodeURIComponent(e.id)}` : null);
  cell(tr, record.tenant || '');
  cell(tr, record.outcome || '').className = record.outcome === 'success' ? 'outcome ok' : 'outcome bad';
  const badge = document.createElement('span');
  const sev = ['info', 'low', 'medium', 'high', 'critical'].includes(record.severity) ? record.severity : 'info';
  badge.className = `badge sev-${sev}`;
  badge.textContent = record.severity || '';
  cell(tr, '').append(badge);
  body.prepend(tr);
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
}

function open() {
  let url = table.dataset.streamUrl;
  if (lastSeq !== null) url += `${url.includes('?') ? '&' : '?'}from_seq=${lastSeq + 1}`;
  source = new EventSource(url);
  source.addEventListener('open', () => {
    state.textContent = `Live: waiting for new records (${received} received)`;
    state.dataset.state = 'live';
  });
  source.addEventListener('record', (ev) => {
    const record = JSON.parse(ev.data);
    lastSeq = record.seq;
    received += 1;
    add(record);
    state.textContent = `Live: ${received} received`;
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      state.textContent = 'Disconnected: reload the page to reconnect';
      state.dataset.state = 'closed';
    } else {
      state.textContent = 'Reconnecting…';
    }
  });
}

toggle.addEventListener('click', () => {
  if (source) {
    source.close();
    source = null;
    toggle.textContent = 'Resume';
    state.textContent = `Paused (${received} received); Resume continues after #${lastSeq ?? '—'}`;
    state.dataset.state = 'paused';
  } else {
    toggle.textContent = 'Pause';
    open();
  }
});

open();
