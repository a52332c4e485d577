// Checking in the browser what the node says: the project's hashing and encoding rules, in JavaScript.
//
// Theory of operation. Everything the chain signs or hashes is the canonical msgpack encoding of an
// array-like struct (alliance/codec.py): fields by position, smallest integer and length forms. A
// digest is SHA-256(domain tag || bytes) with one NUL-terminated tag per kind of object
// (alliance/crypto/hashing.py). So from the JSON fields of a block this module rebuilds the header's
// bytes and recomputes its hash; rebuilds the bytes each validator signed for its precommit and
// checks the Ed25519 signatures against the node ids (which are the public keys); rebuilds the
// validator set's bytes and compares its hash with the header's validators_hash; and folds a Merkle
// inclusion proof up to a tx_root with the RFC 6962 tree shape and the count binding of
// alliance/crypto/merkle.py. tests/explorer checks every function here against the Python side.
//
// SHA-256 comes from WebCrypto when the page has it (a secure context: https, or 127.0.0.1 and
// localhost); on a plain-http address WebCrypto is absent, so a small SHA-256 of our own takes over
// (same answers: the tests compare both with Python). Ed25519 exists only in WebCrypto: without it a
// signature is reported as "not checked", never as valid.

const encoder = new TextEncoder();

export const DOMAINS = Object.freeze({
  TX: "alliance/tx/v1\0",
  BLOCK_HEADER: "alliance/header/v1\0",
  VOTE: "alliance/vote/v1\0",
  MERKLE_LEAF: "alliance/merkle-leaf/v1\0",
  MERKLE_INNER: "alliance/merkle-inner/v1\0",
  MERKLE_ROOT: "alliance/merkle-root/v1\0",
  VALIDATORS: "alliance/validators/v1\0",
  CONTRACT_CODE: "alliance/contract-code/v1\0",
});

export const VOTE_PRECOMMIT = 2;

// --- bytes and hex ------------------------------------------------------------------------------

export function hexToBytes(hex) {
  const text = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error(`not hex: ${text.slice(0, 16)}`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// --- SHA-256 --------------------------------------------------------------------------------------

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const rotr = (x, n) => (x >>> n) | (x << (32 - n));

// FIPS 180-4, for pages without WebCrypto. Exported so the tests can compare it with Python directly.
export function sha256Portable(data) {
  const length = data.length;
  const padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
  view.setUint32(padded.length - 4, (length << 3) >>> 0);
  const state = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + 4 * i);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
      const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, h] = state;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(4 * i, state[i]);
  return out;
}

export function webCryptoAvailable() {
  return Boolean(globalThis.crypto && globalThis.crypto.subtle);
}

export async function sha256(data) {
  if (webCryptoAvailable()) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  }
  return sha256Portable(data);
}

const tagBytes = new Map(Object.entries(DOMAINS).map(([name, tag]) => [name, encoder.encode(tag)]));

export async function hashDomain(domain, data) {
  const tag = tagBytes.get(domain);
  if (!tag) throw new Error(`unknown hash domain ${domain}`);
  return sha256(concat(tag, data));
}

// --- canonical msgpack ------------------------------------------------------------------------------

// The subset the chain's structs use, in msgspec's canonical forms: integers (BigInt above 2^53),
// strings, byte strings (Uint8Array), arrays, booleans and null; and maps (a JS Map, entries in
// its order, as msgspec writes a dict in its insertion order) for a contract's free-form arguments.
export function encode(value) {
  const parts = [];
  const push = (...bytes) => parts.push(Uint8Array.from(bytes));
  const be = (n, size) => {
    const out = new Uint8Array(size);
    let x = BigInt(n);
    for (let i = size - 1; i >= 0; i--) {
      out[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return out;
  };
  const walk = (v) => {
    if (v === null || v === undefined) push(0xc0);
    else if (v === true) push(0xc3);
    else if (v === false) push(0xc2);
    else if (typeof v === "number" || typeof v === "bigint") {
      if (typeof v === "number" && !Number.isInteger(v)) throw new Error(`not an integer: ${v}`);
      const n = BigInt(v);
      if (n >= 0n) {
        if (n < 0x80n) push(Number(n));
        else if (n <= 0xffn) push(0xcc, Number(n));
        else if (n <= 0xffffn) parts.push(concat([0xcd], be(n, 2)));
        else if (n <= 0xffffffffn) parts.push(concat([0xce], be(n, 4)));
        else parts.push(concat([0xcf], be(n, 8)));
      } else if (n >= -32n) push(Number(n) & 0xff);
      else if (n >= -128n) push(0xd0, Number(n) & 0xff);
      else if (n >= -32768n) parts.push(concat([0xd1], be(n & 0xffffn, 2)));
      else if (n >= -2147483648n) parts.push(concat([0xd2], be(n & 0xffffffffn, 4)));
      else parts.push(concat([0xd3], be(n & 0xffffffffffffffffn, 8)));
    } else if (typeof v === "string") {
      const bytes = encoder.encode(v);
      const n = bytes.length;
      if (n < 32) push(0xa0 | n);
      else if (n <= 0xff) push(0xd9, n);
      else if (n <= 0xffff) parts.push(concat([0xda], be(n, 2)));
      else parts.push(concat([0xdb], be(n, 4)));
      parts.push(bytes);
    } else if (v instanceof Uint8Array) {
      const n = v.length;
      if (n <= 0xff) push(0xc4, n);
      else if (n <= 0xffff) parts.push(concat([0xc5], be(n, 2)));
      else parts.push(concat([0xc6], be(n, 4)));
      parts.push(v);
    } else if (Array.isArray(v)) {
      const n = v.length;
      if (n < 16) push(0x90 | n);
      else if (n <= 0xffff) parts.push(concat([0xdc], be(n, 2)));
      else parts.push(concat([0xdd], be(n, 4)));
      v.forEach(walk);
    } else if (v instanceof Map) {
      const n = v.size;
      if (n < 16) push(0x80 | n);
      else if (n <= 0xffff) parts.push(concat([0xde], be(n, 2)));
      else parts.push(concat([0xdf], be(n, 4)));
      for (const [key, item] of v) {
        walk(key);
        walk(item);
      }
    } else {
      throw new Error(`cannot encode ${typeof v}`);
    }
  };
  walk(value);
  return concat(...parts);
}

// Decodes one value at `at`; answers [value, end]. Maps become arrays of [key, value] pairs (the
// chain's structs are arrays; a map only appears inside free-form arguments). Bounded by the input.
export function decodeAt(bytes, at = 0, depth = 0) {
  if (depth > 64) throw new Error("msgpack nested too deep");
  if (at >= bytes.length) throw new Error("msgpack ends early");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b = bytes[at];
  const need = (n) => {
    if (at + n > bytes.length) throw new Error("msgpack ends early");
  };
  const uint = (offset, size) => {
    need(offset + size);
    if (size === 1) return view.getUint8(at + offset);
    if (size === 2) return view.getUint16(at + offset);
    if (size === 4) return view.getUint32(at + offset);
    const big = view.getBigUint64(at + offset);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  };
  const str = (start, n) => {
    need(start + n);
    return [new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(at + start, at + start + n)), at + start + n];
  };
  const bin = (start, n) => {
    need(start + n);
    return [bytes.slice(at + start, at + start + n), at + start + n];
  };
  const items = (start, n, pairs) => {
    let cursor = at + start;
    const out = [];
    for (let i = 0; i < n; i++) {
      const [key, next] = decodeAt(bytes, cursor, depth + 1);
      cursor = next;
      if (pairs) {
        const [value, after] = decodeAt(bytes, cursor, depth + 1);
        cursor = after;
        out.push([key, value]);
      } else out.push(key);
    }
    return [out, cursor];
  };
  if (b <= 0x7f) return [b, at + 1];
  if (b >= 0xe0) return [b - 0x100, at + 1];
  if ((b & 0xe0) === 0xa0) return str(1, b & 0x1f);
  if ((b & 0xf0) === 0x90) return items(1, b & 0x0f, false);
  if ((b & 0xf0) === 0x80) return items(1, b & 0x0f, true);
  switch (b) {
    case 0xc0: return [null, at + 1];
    case 0xc2: return [false, at + 1];
    case 0xc3: return [true, at + 1];
    case 0xc4: return bin(2, uint(1, 1));
    case 0xc5: return bin(3, uint(1, 2));
    case 0xc6: return bin(5, uint(1, 4));
    case 0xca: need(5); return [view.getFloat32(at + 1), at + 5];
    case 0xcb: need(9); return [view.getFloat64(at + 1), at + 9];
    case 0xcc: return [uint(1, 1), at + 2];
    case 0xcd: return [uint(1, 2), at + 3];
    case 0xce: return [uint(1, 4), at + 5];
    case 0xcf: return [uint(1, 8), at + 9];
    case 0xd0: need(2); return [view.getInt8(at + 1), at + 2];
    case 0xd1: need(3); return [view.getInt16(at + 1), at + 3];
    case 0xd2: need(5); return [view.getInt32(at + 1), at + 5];
    case 0xd3: {
      need(9);
      const big = view.getBigInt64(at + 1);
      const small = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER);
      return [small ? Number(big) : big, at + 9];
    }
    case 0xd9: return str(2, uint(1, 1));
    case 0xda: return str(3, uint(1, 2));
    case 0xdb: return str(5, uint(1, 4));
    case 0xdc: return items(3, uint(1, 2), false);
    case 0xdd: return items(5, uint(1, 4), false);
    case 0xde: return items(3, uint(1, 2), true);
    case 0xdf: return items(5, uint(1, 4), true);
    default: throw new Error(`msgpack type 0x${b.toString(16)} is not used by the chain`);
  }
}

export function decode(bytes) {
  const [value, end] = decodeAt(bytes, 0);
  if (end !== bytes.length) throw new Error("trailing bytes after the msgpack value");
  return value;
}

// --- blocks, votes, validator sets ---------------------------------------------------------------------

// alliance/ledger/block.py Header, field by field, from GET /v1/blocks/{height}.
export function headerBytes(block) {
  return encode([
    block.chain_id,
    block.height,
    block.time_ms,
    hexToBytes(block.prev_block_hash),
    hexToBytes(block.tx_root),
    hexToBytes(block.app_hash),
    hexToBytes(block.last_results_hash),
    hexToBytes(block.validators_hash),
    hexToBytes(block.proposer),
    hexToBytes(block.last_commit_hash),
  ]);
}

export async function headerHash(block) {
  return bytesToHex(await hashDomain("BLOCK_HEADER", headerBytes(block)));
}

// alliance/ledger/block.py vote_sign_bytes: the tag, then VoteSignBody (not hashed: Ed25519 hashes).
export function voteSignBytes(chainId, voteType, height, round, blockHashHex) {
  return concat(tagBytes.get("VOTE"), encode([chainId, voteType, height, round, hexToBytes(blockHashHex)]));
}

// alliance/ledger/validators.py ValidatorSet: one field, the validators sorted by node id.
export async function validatorsHash(validators) {
  const sorted = [...validators].sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0));
  const body = encode([sorted.map((v) => [hexToBytes(v.node_id), v.power])]);
  return bytesToHex(await hashDomain("VALIDATORS", body));
}

// True or false when WebCrypto can check an Ed25519 signature; null when it cannot check at all.
export async function verifyEd25519(publicKeyHex, signatureHex, message) {
  if (!webCryptoAvailable()) return null;
  let key;
  try {
    key = await crypto.subtle.importKey("raw", hexToBytes(publicKeyHex), { name: "Ed25519" }, false, ["verify"]);
  } catch (error) {
    if (error && error.name === "NotSupportedError") return null;
    return false; // not a valid public key
  }
  try {
    return await crypto.subtle.verify({ name: "Ed25519" }, key, hexToBytes(signatureHex), message);
  } catch {
    return false;
  }
}

// A block's commit certificate against a validator set (GET /v1/status "validators").
// Answers {headerOk, certificateForBlock, setMatches, signers: [{node_id, valid, power}],
// signedPower, totalPower, quorum (true, false, or null when it cannot be told)}.
export async function checkBlock(block, validators) {
  const headerOk = (await headerHash(block)) === block.hash;
  const cert = block.certificate;
  const setMatches = validators ? (await validatorsHash(validators)) === block.validators_hash : false;
  const powers = new Map((validators || []).map((v) => [v.node_id, v.power]));
  const totalPower = (validators || []).reduce((n, v) => n + v.power, 0);
  const result = { headerOk, certificateForBlock: false, setMatches, signers: [], signedPower: 0, totalPower, quorum: null };
  if (!cert) return result;
  result.certificateForBlock = cert.block_hash === block.hash && cert.height === block.height;
  const message = voteSignBytes(block.chain_id, VOTE_PRECOMMIT, cert.height, cert.round, cert.block_hash);
  const seen = new Set();
  let unchecked = false;
  for (const sig of cert.signatures) {
    const valid = await verifyEd25519(sig.node_id, sig.signature, message);
    const power = powers.get(sig.node_id) || 0;
    result.signers.push({ node_id: sig.node_id, signature: sig.signature, valid, power });
    if (valid === null) unchecked = true;
    if (valid && !seen.has(sig.node_id)) {
      seen.add(sig.node_id);
      result.signedPower += power;
    }
  }
  if (!unchecked && setMatches && result.certificateForBlock) {
    result.quorum = 3 * result.signedPower > 2 * totalPower;
  } else if (!unchecked && result.certificateForBlock === false) {
    result.quorum = false;
  }
  return result;
}

// --- Merkle trees (alliance/crypto/merkle.py) ------------------------------------------------------------

function u64be(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

export async function bindCount(treeRoot, count) {
  return hashDomain("MERKLE_ROOT", concat(u64be(count), treeRoot));
}

export async function leafHash(item) {
  return hashDomain("MERKLE_LEAF", item);
}

export async function innerHash(left, right) {
  return hashDomain("MERKLE_INNER", concat(left, right));
}

// The published root of a list of items (raw transactions): RFC 6962 shape, bound to the count.
export async function merkleRoot(items) {
  if (items.length === 0) return bindCount(new Uint8Array(0), 0);
  let level = [];
  for (const item of items) level.push(await leafHash(item));
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(await innerHash(level[i], level[i + 1]));
    if (level.length % 2) next.push(level[level.length - 1]);
    level = next;
  }
  return bindCount(level[0], items.length);
}

// The largest power of two strictly below n (n >= 2): where the RFC 6962 tree splits a list.
function splitPoint(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// The root an inclusion proof leads to from `item` at `index` of `total`, or null when the proof's
// shape does not fit (wrong number of siblings for that position).
export async function proofRoot(item, index, total, siblings) {
  if (!(index >= 0 && index < total)) return null;
  const sides = [];
  let n = total;
  let i = index;
  while (n > 1) {
    const k = splitPoint(n);
    if (i < k) {
      sides.push(true);
      n = k;
    } else {
      sides.push(false);
      i -= k;
      n -= k;
    }
  }
  if (sides.length !== siblings.length) return null;
  let node = await leafHash(item);
  sides.reverse();
  for (let level = 0; level < sides.length; level++) {
    const sibling = siblings[level];
    node = sides[level] ? await innerHash(node, sibling) : await innerHash(sibling, node);
  }
  return bindCount(node, total);
}

// --- transactions -------------------------------------------------------------------------------------------

// A canonical transaction (alliance/ledger/transaction.py: [body, signature]) taken apart: its hash
// (of the body's own bytes), the call and the sender's public key.
export async function readTransaction(raw) {
  if (raw[0] !== 0x92) throw new Error("a transaction is a two-field array");
  const [, bodyEnd] = decodeAt(raw, 1);
  const body = raw.subarray(1, bodyEnd);
  const [chainId, nonce, validUntil, call, gasLimit, sender] = decode(body);
  const [target, method, args] = call;
  let decodedArgs = null;
  try {
    decodedArgs = decode(args);
  } catch {
    decodedArgs = null;
  }
  return {
    hash: bytesToHex(await hashDomain("TX", body)),
    chainId,
    nonce: bytesToHex(nonce),
    validUntil,
    target,
    method,
    args,
    decodedArgs,
    gasLimit,
    sender: bytesToHex(sender),
  };
}

// The hash the chain keeps a contract's source under (alliance/contracts/engine.py code_hash).
export async function contractCodeHash(source) {
  return bytesToHex(await hashDomain("CONTRACT_CODE", encoder.encode(source)));
}

// A pass scheme's rights hash: plain SHA-256 of the declared text (alliance/abi/passes.py rights_hash).
export async function rightsHash(text) {
  return bytesToHex(await sha256(encoder.encode(text)));
}

// The SHA-256 fingerprint of a DER certificate, as "AB:CD:...".
export async function fingerprint(derHex) {
  const digest = bytesToHex(await sha256(hexToBytes(derHex))).toUpperCase();
  return digest.match(/../g).join(":");
}
