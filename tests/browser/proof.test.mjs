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
import { verifyEd25519, verifyNote } from '../../crates/server/assets/ed25519.js';

const { BASE_URL, ADMIN_TOKEN, SEED_FILE, VKEY } = process.env;
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

const unhex = (h) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

test('Ed25519 verification gives the RFC 8032 §7.1 answers, and refuses any changed bit', async () => {
  const vectors = [
    ['d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
    ['3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
    ['fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
  ];
  for (const [key, msg, sig] of vectors) {
    assert.equal(await verifyEd25519(unhex(key), unhex(msg), unhex(sig)), true, `vector ${key.slice(0, 8)}`);
    for (const at of [0, 31, 32, 63]) {
      const bad = unhex(sig);
      bad[at] ^= 0x01;
      assert.equal(await verifyEd25519(unhex(key), unhex(msg), bad), false, `signature bit at ${at}`);
    }
    const other = unhex(msg + '00');
    assert.equal(await verifyEd25519(unhex(key), other, unhex(sig)), false, 'another message');
  }
  // A non-canonical S (S + L) is refused.
  const [key, msg, sig] = vectors[0];
  const s = unhex(sig);
  let carry = 0;
  const l = unhex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');
  for (let i = 0; i < 32; i++) {
    const v = s[32 + i] + l[i] + carry;
    s[32 + i] = v & 255;
    carry = v >> 8;
  }
  assert.equal(await verifyEd25519(unhex(key), unhex(msg), s), false, 'S >= L');
});

test('a checkpoint signed by the Rust side verifies with its key; a tampered one does not', async () => {
  assert.ok(VKEY, 'VKEY is the server key\'s verifier text');
  const answer = await fetch(`${BASE_URL}/v1/checkpoint`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(answer.status, 200);
  const note = await answer.text();
  const ok = await verifyNote(note, VKEY);
  assert.equal(ok.ok, true, ok.reason);
  assert.equal(`${ok.name}+${ok.id}`, VKEY.split('+').slice(0, 2).join('+'));
  // One changed character of the signed text, or of the signature.
  const body = note.replace(/\n(\d+)\n/, (m, n) => `\n${Number(n) + 1}\n`);
  assert.notEqual(body, note);
  assert.equal((await verifyNote(body, VKEY)).ok, false, 'changed tree size');
  const sigAt = note.lastIndexOf(' ') + 10;
  const flipped = note.slice(0, sigAt) + (note[sigAt] === 'A' ? 'B' : 'A') + note.slice(sigAt + 1);
  assert.equal((await verifyNote(flipped, VKEY)).ok, false, 'changed signature');
  // Another key of the same name (another hash) finds no signature of its own.
  const other = VKEY.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
  assert.equal((await verifyNote(note, other)).ok, false, 'another key');
});
