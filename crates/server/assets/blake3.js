// BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs): the plain hash and the keyed hash,
// 32-byte output, for whole inputs of any length. Plain JavaScript, no dependencies; used
// by proof.js to check inclusion proofs in the browser (docs/FORMAT.md §4.1).

const IV = new Uint32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const CHUNK_START = 1;
const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;
const KEYED_HASH = 16;
const CHUNK_LEN = 1024;
const BLOCK_LEN = 64;

function rotr(x, n) {
  return ((x >>> n) | (x << (32 - n))) >>> 0;
}

function g(s, a, b, c, d, mx, my) {
  s[a] = (s[a] + s[b] + mx) >>> 0;
  s[d] = rotr(s[d] ^ s[a], 16);
  s[c] = (s[c] + s[d]) >>> 0;
  s[b] = rotr(s[b] ^ s[c], 12);
  s[a] = (s[a] + s[b] + my) >>> 0;
  s[d] = rotr(s[d] ^ s[a], 8);
  s[c] = (s[c] + s[d]) >>> 0;
  s[b] = rotr(s[b] ^ s[c], 7);
}

// The compression function: 16 output words.
function compress(cv, block, counter, blockLen, flags) {
  const s = new Uint32Array(16);
  s.set(cv, 0);
  s.set(IV.subarray(0, 4), 8);
  s[12] = counter % 0x100000000;
  s[13] = Math.floor(counter / 0x100000000);
  s[14] = blockLen;
  s[15] = flags;
  let m = Uint32Array.from(block);
  for (let round = 0; round < 7; round++) {
    g(s, 0, 4, 8, 12, m[0], m[1]);
    g(s, 1, 5, 9, 13, m[2], m[3]);
    g(s, 2, 6, 10, 14, m[4], m[5]);
    g(s, 3, 7, 11, 15, m[6], m[7]);
    g(s, 0, 5, 10, 15, m[8], m[9]);
    g(s, 1, 6, 11, 12, m[10], m[11]);
    g(s, 2, 7, 8, 13, m[12], m[13]);
    g(s, 3, 4, 9, 14, m[14], m[15]);
    if (round < 6) {
      const p = new Uint32Array(16);
      for (let i = 0; i < 16; i++) p[i] = m[PERM[i]];
      m = p;
    }
  }
  for (let i = 0; i < 8; i++) {
    s[i] ^= s[i + 8];
    s[i + 8] ^= cv[i];
  }
  return s;
}

// Little-endian words of up to 64 bytes, zero-padded.
function blockWords(bytes, start, len) {
  const w = new Uint32Array(16);
  for (let i = 0; i < len; i++) {
    w[i >> 2] |= bytes[start + i] << (8 * (i & 3));
  }
  return w;
}

// The output node of one chunk: everything but its last block compressed.
function chunkOutput(input, chunkIndex, key, flags) {
  const start = chunkIndex * CHUNK_LEN;
  const end = Math.min(start + CHUNK_LEN, input.length);
  let cv = key;
  let pos = start;
  let first = true;
  while (end - pos > BLOCK_LEN) {
    const f = flags | (first ? CHUNK_START : 0);
    cv = compress(cv, blockWords(input, pos, BLOCK_LEN), chunkIndex, BLOCK_LEN, f).subarray(0, 8);
    pos += BLOCK_LEN;
    first = false;
  }
  const len = end - pos;
  return {
    cv,
    block: blockWords(input, pos, len),
    counter: chunkIndex,
    blockLen: len,
    flags: flags | (first ? CHUNK_START : 0) | CHUNK_END,
  };
}

function chainingValue(out) {
  return compress(out.cv, out.block, out.counter, out.blockLen, out.flags).subarray(0, 8);
}

function parentOutput(left, right, key, flags) {
  const block = new Uint32Array(16);
  block.set(left, 0);
  block.set(right, 8);
  return { cv: key, block, counter: 0, blockLen: BLOCK_LEN, flags: flags | PARENT };
}

function hashWith(input, key, flags) {
  const chunks = Math.max(1, Math.ceil(input.length / CHUNK_LEN));
  const stack = [];
  for (let i = 0; i < chunks - 1; i++) {
    let cv = chainingValue(chunkOutput(input, i, key, flags));
    let total = i + 1;
    while ((total & 1) === 0) {
      cv = chainingValue(parentOutput(stack.pop(), cv, key, flags));
      total >>= 1;
    }
    stack.push(cv);
  }
  let out = chunkOutput(input, chunks - 1, key, flags);
  while (stack.length > 0) {
    out = parentOutput(stack.pop(), chainingValue(out), key, flags);
  }
  const words = compress(out.cv, out.block, 0, out.blockLen, out.flags | ROOT);
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = (words[i >> 2] >>> (8 * (i & 3))) & 0xff;
  return bytes;
}

function keyWords(key) {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new Error('a BLAKE3 key is 32 bytes');
  }
  return blockWords(key, 0, 32).subarray(0, 8);
}

/** BLAKE3(input): 32 bytes. */
export function blake3(input) {
  return hashWith(input, IV, 0);
}

/** BLAKE3-keyed(key, input): 32 bytes; `key` is 32 bytes. */
export function blake3Keyed(key, input) {
  return hashWith(input, keyWords(key), KEYED_HASH);
}

/** Lower-case hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Bytes of a hex string; throws on anything but an even count of hex digits. */
export function fromHex(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) {
    throw new Error('not a hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
