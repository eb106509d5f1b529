// Ed25519 signature verification (RFC 8032 §5.1.7) with BigInt, and the C2SP signed-note
// check of a checkpoint (docs/FORMAT.md "Checkpoints") built on it. SHA-512 and SHA-256 come
// from the platform's WebCrypto (crypto.subtle: browsers in a secure context, which
// http://127.0.0.1 is, and Node). Verification only: no secret is ever handled here.
// Tested against the RFC 8032 §7.1 vectors and checkpoints signed by our Rust code
// (tests/browser/proof.test.mjs).

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const mod = (a, m = P) => {
  const r = a % m;
  return r >= 0n ? r : r + m;
};
function pow(b, e) {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = mod(r * b);
    b = mod(b * b);
    e >>= 1n;
  }
  return r;
}
const inv = (a) => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

// Points in extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z.
const ZERO = [0n, 1n, 1n, 0n];
function add([X1, Y1, Z1, T1], [X2, Y2, Z2, T2]) {
  const a = mod((Y1 - X1) * (Y2 - X2));
  const b = mod((Y1 + X1) * (Y2 + X2));
  const c = mod(2n * D * T1 * T2);
  const d = mod(2n * Z1 * Z2);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}
function mul(point, scalar) {
  let r = ZERO;
  let q = point;
  while (scalar > 0n) {
    if (scalar & 1n) r = add(r, q);
    q = add(q, q);
    scalar >>= 1n;
  }
  return r;
}
function bytesToBig(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}
function encode([X, Y, Z]) {
  const zi = inv(Z);
  const x = mod(X * zi);
  const y = mod(Y * zi);
  const out = new Uint8Array(32);
  let v = y;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  if (x & 1n) out[31] |= 0x80;
  return out;
}
/** The point a 32-byte encoding names, or null if it names none (RFC 8032 §5.1.3). */
function decode(bytes) {
  if (bytes.length !== 32) return null;
  const b = Uint8Array.from(bytes);
  const sign = (b[31] >> 7) & 1;
  b[31] &= 0x7f;
  const y = bytesToBig(b);
  if (y >= P) return null;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * SQRT_M1);
  else if (vx2 !== u) return null;
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = P - x;
  return [x, y, 1n, mod(x * y)];
}
const BY = mod(4n * inv(5n));
// The base point: y = 4/5 and x even (its encoding is 0x58 0x66 0x66 …).
function basePoint() {
  const enc = new Uint8Array(32);
  let v = BY;
  for (let i = 0; i < 32; i++) {
    enc[i] = Number(v & 255n);
    v >>= 8n;
  }
  return decode(enc);
}
const B = basePoint();

async function sha(name, ...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await globalThis.crypto.subtle.digest(name, all));
}

/**
 * Whether `signature` (64 bytes) is a valid Ed25519 signature of `message` by `publicKey`
 * (32 bytes). Non-canonical S, undecodable points and small-order keys are refused.
 */
export async function verifyEd25519(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const A = decode(publicKey);
  const R = decode(signature.subarray(0, 32));
  if (!A || !R) return false;
  const S = bytesToBig(signature.subarray(32));
  if (S >= L) return false;
  // A small-order key (8A = 0) verifies signatures of anything.
  const eightA = encode(mul(A, 8n));
  if (encode(ZERO).every((b, i) => b === eightA[i])) return false;
  const k = mod(bytesToBig(await sha('SHA-512', signature.subarray(0, 32), publicKey, message)), L);
  const left = encode(mul(B, S));
  const right = encode(add(R, mul(A, k)));
  return left.every((b, i) => b === right[i]);
}

function fromBase64(text) {
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Parses a verifier key `name+hash+base64(0x01 ‖ key)`; throws on anything else. */
export function parseVerifierKey(text) {
  const t = text.trim();
  const first = t.indexOf('+');
  const second = t.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new Error('a verifier key is name+hash+key');
  const name = t.slice(0, first);
  const id = t.slice(first + 1, second);
  const raw = fromBase64(t.slice(second + 1));
  if (!/^[0-9a-f]{8}$/.test(id)) throw new Error('the key hash is 8 hex digits');
  if (raw.length !== 33 || raw[0] !== 1) throw new Error('not an Ed25519 verifier key');
  return { name, id, key: raw.subarray(1) };
}

/**
 * Checks that the signed note `note` carries a valid signature by the verifier key
 * `vkeyText` (C2SP signed-note: the signed text is everything up to and including the
 * newline before the blank line). Returns `{ ok, reason?, name, id }`.
 */
export async function verifyNote(note, vkeyText) {
  let vkey;
  try {
    vkey = parseVerifierKey(vkeyText);
  } catch (e) {
    return { ok: false, reason: e.message };
  }
  const idHex = Array.from(
    (await sha('SHA-256', new TextEncoder().encode(`${vkey.name}\n`), Uint8Array.of(1), vkey.key)).subarray(0, 4),
    (b) => b.toString(16).padStart(2, '0'),
  ).join('');
  if (idHex !== vkey.id) return { ok: false, reason: 'the key hash does not match the key' };
  const split = note.indexOf('\n\n');
  if (split < 0) return { ok: false, reason: 'no blank line before the signatures' };
  const text = new TextEncoder().encode(note.slice(0, split + 1));
  for (const line of note.slice(split + 2).split('\n')) {
    if (!line.startsWith('\u2014 ')) continue;
    const [name, b64] = line.slice(2).split(' ');
    if (name !== vkey.name || !b64) continue;
    let raw;
    try {
      raw = fromBase64(b64);
    } catch {
      continue;
    }
    const id = Array.from(raw.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    if (raw.length !== 68 || id !== vkey.id) continue;
    if (await verifyEd25519(vkey.key, text, raw.subarray(4))) {
      return { ok: true, name: vkey.name, id: vkey.id };
    }
    return { ok: false, reason: `the signature by ${vkey.name} does not verify`, name: vkey.name, id: vkey.id };
  }
  return { ok: false, reason: `the checkpoint carries no signature by ${vkey.name}+${vkey.id}` };
}
