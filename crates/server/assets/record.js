// The record page: fetch the record's inclusion proof and check it here, in the browser,
// with proof.js (BLAKE3 + RFC 9162), then say plainly whether it verified.

import { parseExact, verifyInclusion } from './proof.js';

function detail(dl, term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  dl.append(dt, dd);
}

async function check() {
  const status = document.getElementById('proof-status');
  if (!status) return;
  const dl = document.getElementById('proof-details');
  const seq = Number(location.pathname.split('/').pop());
  const show = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  let text;
  try {
    const answer = await fetch(status.dataset.proofUrl, { credentials: 'same-origin' });
    text = await answer.text();
    if (!answer.ok) {
      let why = `the server answered ${answer.status}`;
      try {
        why = JSON.parse(text).detail || why;
      } catch {
        // not a problem document
      }
      show('failed', `✗ No proof: ${why}`);
      return;
    }
  } catch (e) {
    show('failed', `✗ The proof could not be fetched: ${e.message}`);
    return;
  }
  const result = verifyInclusion(text, seq);
  if (!result.ok) {
    show('failed', `✗ Verification FAILED: ${result.reason}`);
    return;
  }
  const doc = parseExact(text);
  const head = result.checkpoint;
  show('verified', `✓ Verified in your browser: record #${seq} is entry ${seq} of the log's Merkle tree of ${result.size} records.`);
  detail(dl, 'Tree size', String(result.size));
  detail(dl, 'Root', result.root);
  detail(dl, 'Leaf hash', result.leafHash);
  detail(dl, 'Path', `${doc.path.length} hashes`);
  if (head) {
    detail(dl, 'Checkpoint', `signed by ${head.signers.join(', ') || 'unknown key'} (${head.origin}); its signature is checked by auditlog verify-proof`);
  } else {
    detail(dl, 'Checkpoint', 'none signed yet: checked against the current tree head');
  }
}

check();
