// Checks an inclusion proof document (`auditlog prove`, docs/FORMAT.md "Proof documents")
// with the leaf and node hashing of docs/FORMAT.md §4.1 and the RFC 9162 §2.1.3.2
// verification of §4.3. Plain JavaScript; imported by record.js in the browser and by the
// Node tests in tests/browser/.

import { blake3, blake3Keyed, fromHex, toHex } from './blake3.js';

function key(label) {
  const k = new Uint8Array(32);
  k.set(new TextEncoder().encode(label));
  return k;
}

/** `auditlog/v1/merkle-leaf` padded with zero bytes to 32. */
export const LEAF_KEY = key('auditlog/v1/merkle-leaf');
/** `auditlog/v1/merkle-node` padded with zero bytes to 32. */
export const NODE_KEY = key('auditlog/v1/merkle-node');

/** leaf_hash(seq, recorded_at_nanos, digest): seq u64 LE, nanos i64 LE, digest (32). */
export function leafHash(seq, recordedAtNanos, digest) {
  const input = new Uint8Array(48);
  const view = new DataView(input.buffer);
  view.setBigUint64(0, BigInt(seq), true);
  view.setBigInt64(8, BigInt(recordedAtNanos), true);
  input.set(digest, 16);
  return blake3Keyed(LEAF_KEY, input);
}

/** node_hash(left, right) = BLAKE3-keyed(NODE_KEY, left ‖ right). */
export function nodeHash(left, right) {
  const input = new Uint8Array(64);
  input.set(left, 0);
  input.set(right, 32);
  return blake3Keyed(NODE_KEY, input);
}

/** The length of PATH(m, D[n]) (0 ≤ m < n), as generation produces it. */
export function pathLength(m, n) {
  let len = 0;
  while (n > 1n) {
    let k = 1n;
    while (k * 2n < n) k *= 2n;
    if (m < k) {
      n = k;
    } else {
      m -= k;
      n -= k;
    }
    len++;
  }
  return len;
}

/** JSON.parse that keeps integers beyond 2^53 exact (as BigInt); nanoseconds need it. */
export function parseExact(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const fail = (why) => {
    throw new Error(`the proof is not JSON (${why} at ${i})`);
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a key');
        const k = string();
        ws();
        if (text[i++] !== ':') fail('a colon');
        obj[k] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] === '}') return obj;
        fail('a comma or }');
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] === ']') return arr;
        fail('a comma or ]');
      }
    }
    if (c === '"') return string();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m) {
      i += m[0].length;
      if (m[2] === undefined && m[3] === undefined) {
        const big = BigInt(m[0]);
        return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(big)
          : big;
      }
      return Number(m[0]);
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail('a value');
  };
  const string = () => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('an unterminated string');
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return v;
}

function base64Bytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The tree head of a signed checkpoint note ("origin\nsize\nbase64 root\n...\n\n— key sig"),
 * with the names of its signers, or null if `note` is not one. The signature itself is
 * checked by `auditlog verify-proof` (Ed25519 is not in this checker).
 */
export function noteHead(note) {
  if (typeof note !== 'string') return null;
  const lines = note.split('\n');
  if (lines.length < 3 || !/^\d+$/.test(lines[1])) return null;
  let root;
  try {
    root = Array.from(atob(lines[2]), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  } catch {
    return null;
  }
  const signers = lines.filter((l) => l.startsWith('\u2014 ')).map((l) => l.slice(2).split(' ')[0]);
  return { origin: lines[0], size: BigInt(lines[1]), root, signers };
}

function asBig(v, name) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new Error(`\`${name}\` is not an integer`);
}

/**
 * Checks an inclusion proof document (its text, or the value `parseExact` made of it).
 * Returns {ok: true, size, root, leafHash, checkpoint} or {ok: false, reason}; never throws.
 * The leaf hash is recomputed from the payload (the document's own `leaf_hash` is
 * informational and is only compared), so a changed payload, time, path or root fails.
 */
export function verifyInclusion(doc, expectedSeq) {
  try {
    const p = typeof doc === 'string' ? parseExact(doc) : doc;
    if (p === null || typeof p !== 'object' || p.type !== 'inclusion') {
      return { ok: false, reason: 'this is not an inclusion proof' };
    }
    const seq = asBig(p.seq, 'seq');
    const m = asBig(p.leaf_index, 'leaf_index');
    if (m !== seq) return { ok: false, reason: 'leaf_index differs from seq' };
    if (expectedSeq !== undefined && seq !== BigInt(expectedSeq)) {
      return { ok: false, reason: `the proof is for record #${seq}, not #${expectedSeq}` };
    }
    const n = asBig(p.tree_head && p.tree_head.size, 'tree_head.size');
    const root = fromHex(p.tree_head.root);
    if (root.length !== 32) return { ok: false, reason: 'the root is not 32 bytes' };
    if (m >= n) return { ok: false, reason: `leaf ${m} is not below the tree size ${n}` };
    // The size is bound through the signed tree head, not the path (FORMAT.md §4.3): a
    // checkpoint that comes with the proof must name exactly this tree head.
    let checkpoint = null;
    if (p.checkpoint !== null && p.checkpoint !== undefined) {
      checkpoint = noteHead(p.checkpoint);
      if (!checkpoint) return { ok: false, reason: 'the checkpoint is not a signed note' };
      if (checkpoint.size !== n || checkpoint.root !== toHex(root)) {
        return { ok: false, reason: 'the signed checkpoint names another tree head' };
      }
    }
    if (!Array.isArray(p.path)) return { ok: false, reason: 'the path is not a list' };
    if (p.path.length !== pathLength(m, n)) {
      return {
        ok: false,
        reason: `the path has ${p.path.length} hashes; a tree of ${n} needs ${pathLength(m, n)}`,
      };
    }
    const payload = base64Bytes(p.payload);
    const leaf = leafHash(seq, asBig(p.recorded_at_nanos, 'recorded_at_nanos'), blake3(payload));
    if (p.leaf_hash !== undefined && p.leaf_hash !== toHex(leaf)) {
      return { ok: false, reason: 'the payload does not hash to the stated leaf hash' };
    }
    let fn = m;
    let sn = n - 1n;
    let r = leaf;
    for (const hex of p.path) {
      const h = fromHex(hex);
      if (h.length !== 32) return { ok: false, reason: 'a path hash is not 32 bytes' };
      if (sn === 0n) return { ok: false, reason: 'the path is too long' };
      if ((fn & 1n) === 1n || fn === sn) {
        r = nodeHash(h, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = nodeHash(r, h);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) return { ok: false, reason: 'the path is too short' };
    if (toHex(r) !== toHex(root)) {
      return { ok: false, reason: 'the path does not lead to the root of the tree head' };
    }
    return { ok: true, size: n, root: toHex(root), leafHash: toHex(leaf), checkpoint };
  } catch (e) {
    return { ok: false, reason: e.message };
  }
}
