// The console's JavaScript proof checker (crates/server/assets/proof.js) against the
// known-answer vectors of docs/FORMAT.md §4.8 and against inclusion proofs made by the Rust
// side (GET /v1/events/{seq}?proof=inclusion of the running server), untouched and tampered.

import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { blake3, blake3Keyed, toHex } from '../../crates/server/assets/blake3.js';
import {
  LEAF_KEY, NODE_KEY, leafHash, nodeHash, parseExact, pathLength, verifyInclusion,
} from '../../crates/server/assets/proof.js';

const { BASE_URL, ADMIN_TOKEN, SEED_FILE } = process.env;
const seeded = JSON.parse(fs.readFileSync(SEED_FILE, 'utf8'));
const enc = new TextEncoder();

test('BLAKE3 and the leaf and node hashes give the FORMAT.md known answers', () => {
  assert.equal(toHex(blake3(new Uint8Array(0))),
    'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  assert.equal(toHex(blake3(enc.encode('abc'))),
    '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  assert.equal(toHex(LEAF_KEY), '61756469746c6f672f76312f6d65726b6c652d6c656166000000000000000000');
  assert.equal(toHex(NODE_KEY), '61756469746c6f672f76312f6d65726b6c652d6e6f6465000000000000000000');
  assert.equal(toHex(leafHash(0n, 0n, blake3(new Uint8Array(0)))),
    '4803a2160757e490d5e47b40312016f49ff321d623533e295e900f8773da1f6d');
  assert.equal(toHex(nodeHash(new Uint8Array(32), new Uint8Array(32).fill(0xff))),
    '872738aa03b44e73d070a60bbab9b7cb6eecddcd1dfea6bdc90d98723cb8ee39');
  // The 7-leaf log of §4.8.
  const L = [];
  for (let i = 0; i < 7; i++) {
    L.push(leafHash(BigInt(i), 1700000000000000000n + BigInt(i), blake3(enc.encode(`event ${i}`))));
  }
  assert.equal(toHex(L[0]), 'dcce9ed09e1378bddcae295c1f51756d03abba7d433c6185cf544e2f20102e71');
  const h01 = nodeHash(L[0], L[1]);
  assert.equal(toHex(h01), 'dde59dafddb4890ee69f67e22e7610f27f15437eb50c7d2add5514a43c509924');
  assert.equal(toHex(nodeHash(h01, L[2])),
    'dde6d576d9f2a8c86c796ee87c2d243d953bc00fe1862ff4a7c75ab2f610ae96');
  const h23 = nodeHash(L[2], L[3]);
  const h45 = nodeHash(L[4], L[5]);
  const root7 = nodeHash(nodeHash(h01, h23), nodeHash(h45, L[6]));
  assert.equal(toHex(root7), 'c566e175966e759ef11621a18852d13ee17e37a044a5f54ca856a238cc15d775');
  assert.equal(pathLength(6n, 7n), 2);
  assert.equal(pathLength(0n, 1n), 0);
  assert.throws(() => blake3Keyed(new Uint8Array(31), new Uint8Array(0)));
});

test('parseExact keeps nanosecond timestamps exact', () => {
  const v = parseExact('{"a":1764651574123456789,"b":[1.5,-2,"x\\"y"],"c":null}');
  assert.equal(v.a, 1764651574123456789n);
  assert.deepEqual(v.b, [1.5, -2, 'x"y']);
  assert.throws(() => parseExact('{"a":1} x'));
});

async function proofOf(seq) {
  const r = await fetch(`${BASE_URL}/v1/events/${seq}?proof=inclusion`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return parseExact(text).proof;
}

test('proofs made by the Rust side verify, the 10 KB payload included', async () => {
  const seqs = [0, 7, 255, 399, seeded.order, seeded.xss, seeded.globex];
  for (const seq of seqs) {
    const p = await proofOf(seq);
    const result = verifyInclusion(p, seq);
    assert.equal(result.ok, true, `#${seq}: ${result.reason}`);
    assert.equal(result.root, p.tree_head.root);
  }
  const big = await proofOf(seeded.xss);
  assert.ok(Buffer.from(big.payload, 'base64').length > 20000, 'a multi-chunk payload');
  assert.equal(typeof big.recorded_at_nanos, 'bigint');
});

test('a tampered proof fails, whatever was changed', async () => {
  const original = await proofOf(seeded.order);
  assert.equal(typeof original.checkpoint, 'string', 'seed.mjs signed a checkpoint covering it');
  const flipHex = (hex) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
  const tampered = {
    'a path hash': (p) => { p.path[0] = flipHex(p.path[0]); },
    'the root': (p) => { p.tree_head.root = flipHex(p.tree_head.root); },
    // A path alone does not bind the size (FORMAT.md §4.3): the signed checkpoint does.
    'the tree size': (p) => { p.tree_head.size += 1; },
    'the checkpoint': (p) => { p.checkpoint = p.checkpoint.replace(/\n(\d+)\n/, (m, n) => `\n${Number(n) + 1}\n`); },
    'the recorded time': (p) => { p.recorded_at_nanos += 1n; },
    'the sequence number': (p) => { p.seq += 1; p.leaf_index += 1; },
    'the payload': (p) => {
      const b = Buffer.from(p.payload, 'base64');
      b[b.length - 1] ^= 1;
      p.payload = b.toString('base64');
      delete p.leaf_hash;
    },
    'a missing path hash': (p) => { p.path.pop(); },
    'an extra path hash': (p) => { p.path.push(p.path[0]); },
    'the leaf index alone': (p) => { p.leaf_index += 1; },
  };
  assert.equal(verifyInclusion(original, seeded.order).ok, true);
  for (const [what, change] of Object.entries(tampered)) {
    const p = structuredClone(original);
    change(p);
    const result = verifyInclusion(p, seeded.order);
    assert.equal(result.ok, false, `changing ${what} must fail`);
    assert.ok(result.reason.length > 0);
  }
  assert.equal(verifyInclusion(original, seeded.order + 1).ok, false, 'the proof of another record');
  assert.equal(verifyInclusion('not json').ok, false);
});
