// The web console in headless Debian chromium (playwright-core, no browser download),
// against the `auditlog serve` that .ci/test.d/50-browser started over the demo's sample
// events plus those of seed.mjs.

import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const { BASE_URL, ADMIN_TOKEN, ACME_TOKEN, WRITER_TOKEN, AUDITLOG_BIN, LOG_DIR, SEED_FILE, SCREENSHOTS } =
  process.env;
const seeded = JSON.parse(fs.readFileSync(SEED_FILE, 'utf8'));
let browser;

// playwright-core gives every launch a fresh temporary profile (it refuses a
// --user-data-dir argument), which is the fresh --user-data-dir DESIGN-NOTES.md asks for.
before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
  });
});

after(async () => {
  await browser?.close();
});

// A fresh browser context (its own cookies) whose pages fail the test on a script error or
// on any request that leaves the server.
async function context(viewport = { width: 1280, height: 800 }) {
  const ctx = await browser.newContext({ viewport });
  const errors = [];
  ctx.on('page', (page) => {
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => {
      errors.push(`a dialog opened: ${d.message()}`);
      d.dismiss();
    });
  });
  await ctx.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(BASE_URL) || url.startsWith('data:')) return route.continue();
    errors.push(`a request left the server: ${url}`);
    return route.abort();
  });
  return { ctx, errors };
}

async function signIn(ctx, token) {
  const page = await ctx.newPage();
  await page.goto(`${BASE_URL}/console/sign-in`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/console\/events$/);
  return page;
}

async function shot(page, name) {
  if (!SCREENSHOTS) return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

function mintWithCli(tenant) {
  return execFileSync(AUDITLOG_BIN, [
    'token', 'viewer', '--dir', LOG_DIR, '--tenant', tenant, '--ttl', '15m', '--base-url', BASE_URL,
  ], { encoding: 'utf8' }).trim();
}

const cells = (page, column) =>
  page.$$eval(`table.events tbody tr td:nth-child(${column})`, (tds) => tds.map((td) => td.textContent.trim()));

test('signing in with a token opens the events page; a bad token or a cross-site post does not', async () => {
  const { ctx, errors } = await context();
  const page = await signIn(ctx, ADMIN_TOKEN);
  assert.match(await page.textContent('[data-testid=who]'), /admin · all tenants/);
  assert.ok((await page.$$('table.events tbody tr')).length > 0);
  const cookies = await ctx.cookies();
  const session = cookies.find((c) => c.name === 'auditlog_session');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  const csp = (await page.request.get(`${BASE_URL}/console/events`)).headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  // Action suggestions from the log's summaries.
  const suggested = await page.$$eval('#actions-list option', (os) => os.map((o) => o.value));
  assert.ok(suggested.includes('order.status_change'), `suggestions: ${suggested.join(', ')}`);
  assert.equal(await page.getAttribute('#f-action', 'list'), 'actions-list');
  await shot(page, 'events');

  await page.click('button:has-text("Sign out")');
  await page.waitForURL(/sign-in/);
  await page.goto(`${BASE_URL}/console/events`);
  assert.match(page.url(), /sign-in/, 'signed out');

  await page.fill('#token', 'alt_00000000_' + '0'.repeat(64));
  await page.click('button[type=submit]');
  assert.match(await page.textContent('[role=alert]'), /unknown or revoked/);
  // A form posted from another site: no Origin of ours, no session.
  const forged = await fetch(`${BASE_URL}/console/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
    body: `token=${encodeURIComponent(ADMIN_TOKEN)}`,
    redirect: 'manual',
  });
  assert.equal(forged.status, 403);
  assert.equal(forged.headers.get('set-cookie'), null);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a viewer link from `auditlog token viewer` works once and shows only its tenant', async () => {
  const url = mintWithCli('acme');
  assert.ok(url.startsWith(`${BASE_URL}/console/link/alv_`), url);
  const first = await context();
  const page = await first.ctx.newPage();
  await page.goto(url);
  assert.match(page.url(), /\/console\/events$/);
  assert.match(await page.textContent('[data-testid=who]'), /reader · tenant acme/);
  const tenants = new Set(await cells(page, 6));
  assert.deepEqual([...tenants], ['acme']);
  // Another tenant's record is not found, and asking for its tenant is refused.
  const hidden = await page.goto(`${BASE_URL}/console/events/${seeded.globex}`);
  assert.equal(hidden.status(), 404);
  await page.goto(`${BASE_URL}/console/events?tenant=globex`);
  assert.match(await page.textContent('[data-testid=problem]'), /may not read tenant/);
  const proof = await page.request.get(`${BASE_URL}/console/events/${seeded.globex}/proof.json`);
  assert.equal(proof.status(), 404);
  const csv = await (await page.request.get(`${BASE_URL}/console/export?format=csv`)).text();
  assert.doesNotMatch(csv, /globex/);
  assert.match(csv, /acme/);
  await page.goto(`${BASE_URL}/console/events?text=secret_rotation`);
  assert.ok(await page.isVisible('[data-testid=no-results]'));
  assert.deepEqual(first.errors, []);

  const second = await context();
  const again = await second.ctx.newPage();
  const answer = await again.goto(url);
  assert.equal(answer.status(), 410);
  assert.match(await again.textContent('main'), /has been used/);
  await again.goto(`${BASE_URL}/console/events`);
  assert.match(again.url(), /sign-in/, 'the second use opened no session');
  await first.ctx.close();
  await second.ctx.close();
});

test('the admin endpoint mints links for admins only', async () => {
  const mint = (token) => fetch(`${BASE_URL}/v1/viewer-links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'acme', ttl: '5m' }),
  });
  const ok = await mint(ADMIN_TOKEN);
  assert.equal(ok.status, 201);
  const { url } = await ok.json();
  assert.ok(url.startsWith(`${BASE_URL}/console/link/alv_`));
  const refused = await mint(ACME_TOKEN);
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('content-type'), 'application/problem+json');
  const bad = await fetch(`${BASE_URL}/v1/viewer-links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'acme', ttl: '3d' }),
  });
  assert.equal(bad.status, 400);
});

test('filters narrow the table and live in the URL', async () => {
  const { ctx, errors } = await context();
  const page = await signIn(ctx, ADMIN_TOKEN);
  await page.selectOption('#f-severity', 'critical');
  await page.selectOption('#f-outcome', 'failure');
  await page.click('button:has-text("Apply")');
  await page.waitForURL(/severity=critical/);
  assert.match(page.url(), /outcome=failure/);
  assert.doesNotMatch(page.url(), /actor=/, 'empty filters stay out of the URL');
  const severities = await cells(page, 8);
  assert.ok(severities.length > 0);
  assert.ok(severities.every((s) => s === 'critical'), severities.join());
  assert.ok((await cells(page, 7)).every((o) => o.endsWith('failure')));

  // A shared URL shows the same view in another browser.
  const shared = page.url();
  const other = await context();
  const page2 = await signIn(other.ctx, ADMIN_TOKEN);
  await page2.goto(shared);
  assert.deepEqual(await cells(page2, 1), await cells(page, 1));
  assert.equal(await page2.inputValue('#f-severity'), 'critical');

  // Time presets: the last hour holds the seeded records; a custom range before them, none.
  await page.goto(`${BASE_URL}/console/events?range=1h&entity_type=order&entity_id=123`);
  assert.match(await page.textContent('h1'), /History of order 123/);
  assert.ok((await cells(page, 1)).includes(String(seeded.order)));
  await page.selectOption('#f-range', 'custom');
  assert.equal(await page.isVisible('#f-since'), true);
  await page.fill('#f-since', '2001-01-01T00:00:00Z');
  await page.fill('#f-until', '2001-01-02T00:00:00Z');
  await page.click('button:has-text("Apply")');
  await page.waitForURL(/range=custom/);
  assert.ok(await page.isVisible('[data-testid=no-results]'));

  await page.goto(`${BASE_URL}/console/events?actor=${encodeURIComponent('alice@acme.test')}`);
  assert.match(await page.textContent('h1'), /Activity of alice@acme.test/);
  assert.deepEqual(await cells(page, 4), ['order.status_change']);
  await page.goto(`${BASE_URL}/console/events?label=SOX&text=gift`);
  assert.deepEqual(await cells(page, 1), [String(seeded.order)]);
  // Local time shown, UTC on hover.
  const title = await page.getAttribute('table.events time', 'title');
  assert.match(title, /^UTC: \d{4}-\d\d-\d\dT/);
  assert.equal(await page.getAttribute('table.events time', 'data-local'), 'yes');
  assert.deepEqual(errors, []);
  assert.deepEqual(other.errors, []);
  await ctx.close();
  await other.ctx.close();
});

test('pagination goes older and back newer with cursors', async () => {
  const { ctx, errors } = await context();
  const page = await signIn(ctx, ADMIN_TOKEN);
  await page.goto(`${BASE_URL}/console/events?tenant=acme&limit=20`);
  const first = await cells(page, 1);
  assert.equal(first.length, 20);
  await page.click('[data-testid=older]');
  const second = await cells(page, 1);
  assert.equal(second.length, 20);
  assert.ok(Number(second[0]) < Number(first[19]), 'older records on page 2');
  await page.click('[data-testid=older]');
  const third = await cells(page, 1);
  assert.ok(Number(third[0]) < Number(second[19]));
  await page.click('[data-testid=newer]');
  assert.deepEqual(await cells(page, 1), second);
  await page.click('[data-testid=newer]');
  assert.deepEqual(await cells(page, 1), first);
  assert.equal(await page.isVisible('[data-testid=newer]'), false, 'the first page has no newer');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a record shows every field, its diff, and its proof verified in the browser', async () => {
  const { ctx, errors } = await context();
  const page = await ctx.newPage();
  await page.goto(mintWithCli('acme'));
  await page.goto(`${BASE_URL}/console/events/${seeded.order}`);
  const fields = await page.textContent('[data-testid=fields]');
  for (const text of ['alice@acme.test', 'Alice Auditor', 'order 123', 'req-order-123', 'SOX', 'acme']) {
    assert.ok(fields.includes(text), text);
  }
  const rows = await page.$$eval('table.diff tbody tr', (trs) =>
    trs.map((tr) => [tr.querySelector('th').textContent.split(' ')[0], tr.className]));
  assert.deepEqual(Object.fromEntries(rows), {
    carrier: 'changed', note: 'same', status: 'changed', total: 'same',
  });
  assert.equal(await page.textContent('table.diff tr.changed:has(th:has-text("status")) td.before'), 'pending');
  assert.equal(await page.textContent('table.diff tr.changed:has(th:has-text("status")) td.after'), 'shipped');
  const status = page.locator('[data-testid=proof-status]');
  await page.waitForSelector('[data-testid=proof-status]:not([data-state=checking])');
  assert.equal(await status.getAttribute('data-state'), 'verified', await status.textContent());
  assert.match(await status.textContent(), /Verified in your browser/);
  assert.match(await status.textContent(),
    /proof verified against a checkpoint signed by key console\.test\/audit\+[0-9a-f]{8}/);
  assert.match(await page.textContent('#proof-details'), /Ed25519 signature by console\.test\/audit verified/);
  await shot(page, 'record');
  // The links to the actor's activity and the entity's history.
  await page.click('a:has-text("order 123")');
  assert.match(await page.textContent('h1'), /History of order 123/);
  assert.deepEqual(await cells(page, 6), ['acme'], 'globex\'s order 123 is not shown to acme');
  await page.goBack();
  await page.click(`a:has-text("alice@acme.test")`);
  assert.match(await page.textContent('h1'), /Activity of alice@acme.test/);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a tampered proof is shown as failed', async () => {
  const { ctx, errors } = await context();
  const page = await signIn(ctx, ADMIN_TOKEN);
  await ctx.route('**/proof.json', async (route) => {
    const response = await route.fetch();
    const text = await response.text();
    // Change one hex digit of the first path hash, keeping the JSON's exact numbers.
    const tampered = text.replace(/"path":\["(.)/, (m, c) => m.slice(0, -1) + (c === '0' ? '1' : '0'));
    assert.notEqual(tampered, text);
    await route.fulfill({ response, body: tampered });
  });
  await page.goto(`${BASE_URL}/console/events/${seeded.order}`);
  await page.waitForSelector('[data-testid=proof-status]:not([data-state=checking])');
  const status = page.locator('[data-testid=proof-status]');
  assert.equal(await status.getAttribute('data-state'), 'failed');
  assert.match(await status.textContent(), /Verification FAILED/);
  await shot(page, 'record-tampered');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a proof whose checkpoint signature was tampered with is shown as failed', async () => {
  const { ctx, errors } = await context();
  const page = await signIn(ctx, ADMIN_TOKEN);
  await ctx.route('**/proof.json', async (route) => {
    const response = await route.fetch();
    const text = await response.text();
    // One base64 character of the signature line (after the em dash, name and key hash).
    const tampered = text.replace(/(\\u2014|—) (\S+) (.{12})(.)/, (m, dash, name, keep, c) =>
      `${dash} ${name} ${keep}${c === 'A' ? 'B' : 'A'}`);
    assert.notEqual(tampered, text);
    await route.fulfill({ response, body: tampered });
  });
  await page.goto(`${BASE_URL}/console/events/${seeded.order}`);
  await page.waitForSelector('[data-testid=proof-status]:not([data-state=checking])');
  const status = page.locator('[data-testid=proof-status]');
  assert.equal(await status.getAttribute('data-state'), 'failed', await status.textContent());
  assert.match(await status.textContent(), /checkpoint's signature does not verify/);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('XSS payloads, RTL overrides and 10 KB strings in event fields render as inert text', async () => {
  const { ctx, errors } = await context();
  const page = await signIn(ctx, ACME_TOKEN);
  for (const url of [
    `/console/events?severity=critical&tenant=acme`,
    `/console/events/${seeded.xss}`,
    `/console/events?actor=${encodeURIComponent('<script>window.__xss=1</script>')}`,
    `/console/dashboard`,
  ]) {
    await page.goto(BASE_URL + url);
    await page.waitForLoadState('load');
    assert.equal(await page.evaluate(() => window.__xss), undefined, url);
    assert.equal(await page.$$eval('main script, main img, main iframe, main svg[onload], main b, main i, main u', (x) => x.length), 0, url);
  }
  await page.goto(`${BASE_URL}/console/events/${seeded.xss}`);
  const main = await page.textContent('main');
  for (const text of ['<script>window.__xss=1</script>', '<img src=x onerror="window.__xss=2">',
    '</td></tr></table><script>window.__xss=4</script>', '<b>field</b>', '[U+202E]evil[U+202C]']) {
    assert.ok(main.includes(text), `shown as text: ${text}`);
  }
  assert.ok(!main.includes('\u202e'), 'no raw right-to-left override reaches the page');
  assert.equal(await page.getAttribute('[data-testid=proof-status]', 'data-state') !== 'failed', true);
  await page.waitForSelector('[data-testid=proof-status]:not([data-state=checking])');
  assert.equal(await page.getAttribute('[data-testid=proof-status]', 'data-state'), 'verified');
  await shot(page, 'record-xss');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('the dashboard draws its charts; the pages work at phone width', async () => {
  const { ctx, errors } = await context({ width: 390, height: 844 });
  const page = await signIn(ctx, ADMIN_TOKEN);
  await page.goto(`${BASE_URL}/console/dashboard?period=7d`);
  for (const id of ['chart-time', 'chart-severity', 'chart-outcome', 'chart-action', 'chart-actor']) {
    assert.ok(await page.isVisible(`[data-testid=${id}] svg`), id);
  }
  const total = Number((await page.textContent('[data-testid=total] strong')).replace(/\D/g, ''));
  assert.ok(total >= 403, `total ${total}`);
  // Numbers are written beside the bars (not colour alone).
  assert.match(await page.textContent('[data-testid=chart-severity]'), /critical\s*\d+/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 400, `no sideways scrolling at phone width (${width}px)`);
  await shot(page, 'dashboard-phone');
  const desk = await context();
  const wide = await signIn(desk.ctx, ADMIN_TOKEN);
  await wide.goto(`${BASE_URL}/console/dashboard?period=7d`);
  assert.ok(await wide.isVisible('[data-testid=chart-logins]'), 'failed logins chart');
  await shot(wide, 'dashboard');
  assert.deepEqual(desk.errors, []);
  await desk.ctx.close();
  assert.deepEqual(errors, []);
  await ctx.close();
});

async function append(events) {
  const r = await fetch(`${BASE_URL}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${WRITER_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  return JSON.parse(text).records.map((x) => x.seq);
}

test('the live feed shows a new record as it commits, pauses, and resumes without a gap', async () => {
  const { ctx, errors } = await context();
  const page = await signIn(ctx, ACME_TOKEN);
  await page.goto(`${BASE_URL}/console/live`);
  await page.waitForSelector('[data-testid=live-state][data-state=live]');
  const [other] = await append([{ actor: { id: 'mallory' }, action: 'live.other_tenant', tenant: 'globex' }]);
  const [seq] = await append([{ actor: { id: 'bob<script>window.__xss=11</script>' }, action: 'live.first', tenant: 'acme' }]);
  await page.waitForSelector(`#live tbody tr:has-text("live.first")`);
  assert.equal(await page.textContent('#live tbody tr td'), String(seq));
  assert.ok((await page.textContent('#live')).includes('bob<script>window.__xss=11</script>'));
  await page.click('[data-testid=live-toggle]');
  await page.waitForSelector('[data-testid=live-state][data-state=paused]');
  const [during] = await append([{ actor: { id: 'carol' }, action: 'live.during_pause', tenant: 'acme' }]);
  await page.waitForTimeout(300);
  assert.equal(await page.isVisible('#live tbody tr:has-text("live.during_pause")'), false, 'paused');
  await page.click('[data-testid=live-toggle]');
  await page.waitForSelector('#live tbody tr:has-text("live.during_pause")');
  const seqs = await page.$$eval('#live tbody tr td:first-child', (t) => t.map((x) => x.textContent));
  assert.deepEqual(seqs, [String(during), String(seq)]);
  assert.ok(!seqs.includes(String(other)), 'another tenant never appears');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await shot(page, 'live');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('the integrity page shows the tree head, and the signed checkpoints to auditors', async () => {
  const { ctx, errors } = await context();
  const page = await signIn(ctx, ADMIN_TOKEN);
  await page.click('nav a:has-text("Integrity")');
  assert.match(await page.textContent('[data-testid=tree-head]'), /Tree size\s*\d+ records/);
  assert.match(await page.textContent('[data-testid=checkpoints]'), /console\.test\/audit/);
  // Segments: seq ranges, sizes and states; the newest is the active one.
  const segs = await page.$$eval('[data-testid=segments] tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
  assert.ok(segs.length >= 1, 'at least one segment');
  assert.match(segs[0][0], /^#\d+ – #\d+$/);
  assert.match(segs[0][2], /\d+\.\d (KiB|MiB)/);
  assert.equal(segs[0][3], 'active');
  // Run a verification and follow its progress to the end.
  await page.click('button:has-text("Run verification")');
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid=verify-status]');
    return s && (s.dataset.state === 'done' || s.dataset.state === 'failed');
  }, null, { timeout: 120000 });
  assert.match(await page.textContent('[data-testid=verify-status]'), /Last run: verified, \d+ records, no problems/);
  // A cross-site post cannot start one.
  const cross = await page.request.post(`${BASE_URL}/console/verify`, { headers: { Origin: 'http://evil.test' } });
  assert.equal(cross.status(), 403);
  await shot(page, 'integrity');
  const reader = await context();
  const page2 = await signIn(reader.ctx, ACME_TOKEN);
  await page2.goto(`${BASE_URL}/console/integrity`);
  assert.match(await page2.textContent('main'), /shown to auditors and admins/);
  assert.equal(await page2.isVisible('[data-testid=segments]'), false);
  const refused = await page2.request.post(`${BASE_URL}/console/verify`, {
    headers: { Origin: BASE_URL, Accept: 'application/json' },
  });
  assert.equal(refused.status(), 403, 'a reader cannot start a verification');
  assert.equal(await page2.isVisible('[data-testid=checkpoints]'), false);
  assert.deepEqual(errors, []);
  assert.deepEqual(reader.errors, []);
  await ctx.close();
  await reader.ctx.close();
});
