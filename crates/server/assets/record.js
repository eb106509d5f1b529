// The record page: fetch the record's inclusion proof and check it here, in the browser,
// with proof.js (BLAKE3 + RFC 9162) and the checkpoint's Ed25519 signature with ed25519.js
// against the server's key, then say plainly whether it verified.

import { parseExact, verifyInclusion } from './proof.js';
import { verifyNote } from './ed25519.js';

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
  const vkey = status.dataset.vkey;
  let signed = null;
  if (head && vkey) {
    signed = await verifyNote(String(doc.checkpoint), vkey);
    if (!signed.ok) {
      show('failed', `✗ Verification FAILED: the proof matches its tree head, but the checkpoint's signature does not verify (${signed.reason}).`);
      detail(dl, 'Checkpoint key', vkey);
      return;
    }
  }
  const keyText = signed ? ` signed by key ${signed.name}+${signed.id}` : '';
  const against = head ? `a checkpoint${keyText}` : 'the current tree head (no checkpoint signed yet)';
  show('verified', `✓ Verified in your browser: record #${seq} is entry ${seq} of the log's Merkle tree of ${result.size} records; proof verified against ${against}.`);
  detail(dl, 'Tree size', String(result.size));
  detail(dl, 'Root', result.root);
  detail(dl, 'Leaf hash', result.leafHash);
  detail(dl, 'Path', `${doc.path.length} hashes`);
  if (head && signed) {
    detail(dl, 'Checkpoint', `Ed25519 signature by ${signed.name} verified in your browser (${head.origin})`);
    detail(dl, 'Checkpoint key', vkey);
  } else if (head) {
    detail(dl, 'Checkpoint', `signed by ${head.signers.join(', ') || 'unknown key'} (${head.origin}); this server has no key configured, so check its signature with auditlog verify-proof`);
  } else {
    detail(dl, 'Checkpoint', 'none signed yet: checked against the current tree head');
  }
}

check();
