/// The explorer page each node serves at `/` (Docs/explorer.md): one HTML document with its own style and script and
/// no external resource, so it works offline and under a strict Content-Security-Policy. It shows the consortium's
/// status, the recent blocks, a transaction with its proofs, and a patient's timeline. Everything it marks
/// "verified" it checked itself, with SHA3-256 in its own script (self-tested against the FIPS 202 vectors on load):
/// - headers re-encoded canonically and hashed;
/// - transactions and outcomes by their Merkle paths to the header's roots;
/// - the history head by its state proof under the header's state root, and the hash chain of the entries;
/// - access records by their paths to the batch root that the node anchored, read with a state proof.
///
/// With a genesis file pinned by the user, it also checks each shown block's commit certificate: a quorum of BIP340
/// signatures (SHA-256 and secp256k1 in its script, self-tested on the FIPS 180-4 and BIP340 vectors) by the
/// genesis validators. It does not follow validator changes; `twinledger audit verify` does.
enum Explorer {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"

    static let page = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TwinLedger explorer</title>
<style>
  :root { --ok: #0a6b2d; --bad: #a4161a; --muted: #555; --line: #d0d4d9; --bg: #f7f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; background: #fff; }
  header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0.75rem 1rem; }
  header { border-bottom: 1px solid var(--line); }
  h1 { font-size: 1.35rem; margin: 0.2rem 0; }
  h2 { font-size: 1.1rem; margin: 1.2rem 0 0.5rem; }
  section { margin-bottom: 1.5rem; }
  .table-wrap { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
  th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { background: var(--bg); }
  code, .hash { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.85rem; word-break: break-all; }
  .badge { display: inline-block; padding: 0 0.4rem; border-radius: 0.3rem; font-size: 0.8rem; font-weight: 600; border: 1px solid; }
  .verified { color: var(--ok); border-color: var(--ok); }
  .unverified { color: var(--bad); border-color: var(--bad); }
  .muted { color: var(--muted); }
  form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; margin: 0.5rem 0; }
  label { display: flex; flex-direction: column; font-size: 0.9rem; flex: 1 1 16rem; }
  input, textarea { font: inherit; padding: 0.4rem; border: 1px solid #888; border-radius: 0.3rem; min-width: 0; }
  textarea { font-family: ui-monospace, monospace; font-size: 0.8rem; }
  button { font: inherit; padding: 0.4rem 0.9rem; border: 1px solid #234; background: #234; color: #fff; border-radius: 0.3rem; cursor: pointer; }
  button:focus, input:focus, a:focus { outline: 3px solid #f0b400; outline-offset: 1px; }
  ol.timeline { list-style: none; padding: 0; margin: 0; }
  ol.timeline li { border-left: 3px solid var(--line); padding: 0.3rem 0 0.5rem 0.75rem; margin-left: 0.3rem; }
  ol.timeline li.break-glass { border-left-color: var(--bad); }
  .kind { font-weight: 600; }
  dl.status { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0; }
  dt { font-weight: 600; }
  dd { margin: 0; }
  @media (max-width: 40rem) { body { font-size: 15px; } th, td { padding: 0.3rem; } dl.status { grid-template-columns: 1fr; } dt { margin-top: 0.3rem; } }
</style>
</head>
<body>
<header>
  <h1>TwinLedger explorer</h1>
  <p class="muted">Chain <span id="chain">…</span>. Checks run in this page:
    <span id="selftest" class="badge unverified" role="status">self-test pending</span>.
    Pin your genesis file below to check blocks' commit certificates too; <code>twinledger audit verify</code> also follows validator changes.</p>
</header>
<main>
  <section aria-labelledby="genesis-title">
    <h2 id="genesis-title">Your genesis file</h2>
    <p class="muted">Paste the consortium's <code>genesis.json</code> that you trust (or choose the file). The page then
      checks each block it shows against a quorum of its validators' BIP340 signatures, and marks blocks signed by any
      other set unverified: after a validator change, use <code>twinledger audit verify</code>, which follows the changes.</p>
    <form id="genesis-form">
      <label>genesis.json <textarea id="genesis-text" rows="3" spellcheck="false"></textarea></label>
      <label>or the file <input id="genesis-file" type="file" accept=".json,application/json"></label>
      <button type="submit">Pin these validators</button></form>
    <p id="genesis-status" role="status" class="muted">No genesis pinned: blocks are checked against their roots only.</p>
  </section>

  <section aria-labelledby="status-title">
    <h2 id="status-title">Consortium</h2>
    <dl class="status" id="status" aria-live="polite"><dt>Status</dt><dd>loading…</dd></dl>
    <h3 class="muted" style="font-size:1rem">Validators</h3>
    <div class="table-wrap"><table id="validators">
      <caption class="muted" style="text-align:left">The validator sets in force and pending</caption>
      <thead><tr><th scope="col">Set</th><th scope="col">Key id</th><th scope="col">Power</th><th scope="col">Signed the last commit</th></tr></thead>
      <tbody></tbody></table></div>
  </section>

  <section aria-labelledby="blocks-title">
    <h2 id="blocks-title">Recent blocks</h2>
    <div class="table-wrap"><table id="blocks">
      <thead><tr><th scope="col">Height</th><th scope="col">Time (UTC)</th><th scope="col">Transactions</th><th scope="col">Hash</th><th scope="col">Header</th></tr></thead>
      <tbody></tbody></table></div>
    <div id="block-detail" aria-live="polite"></div>
  </section>

  <section aria-labelledby="tx-title">
    <h2 id="tx-title">Transaction</h2>
    <form id="tx-form"><label>Transaction id <input id="tx-id" name="tx" autocomplete="off" spellcheck="false" pattern="[0-9a-fA-F]{64}" required></label>
      <button type="submit">Show with proof</button></form>
    <div id="tx" aria-live="polite"></div>
  </section>

  <section aria-labelledby="patient-title">
    <h2 id="patient-title">Patient timeline</h2>
    <form id="patient-form">
      <label>Patient id <input id="patient-id" name="patient" autocomplete="off" spellcheck="false" pattern="[0-9a-fA-F]{64}" required></label>
      <label>Access token (optional, from <code>twinledger access token</code>) <input id="access-token" name="token" autocomplete="off" spellcheck="false"></label>
      <button type="submit">Show timeline</button></form>
    <p id="timeline-summary" aria-live="polite" class="muted"></p>
    <ol class="timeline" id="timeline" data-ready="false"></ol>
  </section>
</main>
<footer class="muted">Served by this node; no external resources. API: <code>/v1</code> (Docs/openapi.yaml).</footer>
<script>
"use strict";
// ---- SHA3-256 (FIPS 202), on 64-bit lanes as BigInt ----
const MASK = (1n << 64n) - 1n;
const RC = [0x1n, 0x8082n, 0x800000000000808An, 0x8000000080008000n, 0x808Bn, 0x80000001n, 0x8000000080008081n,
  0x8000000000008009n, 0x8An, 0x88n, 0x80008009n, 0x8000000An, 0x8000808Bn, 0x800000000000008Bn, 0x8000000000008089n,
  0x8000000000008003n, 0x8000000000008002n, 0x8000000000000080n, 0x800An, 0x800000008000000An, 0x8000000080008081n,
  0x8000000000008080n, 0x80000001n, 0x8000000080008008n];
const ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]];
function rotl(v, n) { return n === 0 ? v : ((v << BigInt(n)) | (v >> BigInt(64 - n))) & MASK; }
function keccakF(s) {
  const C = new Array(5), B = new Array(25);
  for (let round = 0; round < 24; round++) {
    for (let x = 0; x < 5; x++) C[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
    for (let x = 0; x < 5; x++) { const d = C[(x + 4) % 5] ^ rotl(C[(x + 1) % 5], 1); for (let y = 0; y < 25; y += 5) s[y + x] ^= d; }
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) B[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(s[x + 5 * y], ROT[x][y]);
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) s[x + 5 * y] = B[x + 5 * y] ^ ((~B[(x + 1) % 5 + 5 * y] & MASK) & B[(x + 2) % 5 + 5 * y]);
    s[0] ^= RC[round];
  }
}
function sha3(bytes) {
  const rate = 136, s = new Array(25).fill(0n);
  const padded = new Uint8Array(Math.floor(bytes.length / rate + 1) * rate);
  padded.set(bytes); padded[bytes.length] ^= 0x06; padded[padded.length - 1] ^= 0x80;
  for (let off = 0; off < padded.length; off += rate) {
    for (let i = 0; i < rate / 8; i++) { let v = 0n; for (let b = 7; b >= 0; b--) v = (v << 8n) | BigInt(padded[off + 8 * i + b]); s[i] ^= v; }
    keccakF(s);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 4; i++) { let v = s[i]; for (let b = 0; b < 8; b++) { out[8 * i + b] = Number(v & 0xFFn); v >>= 8n; } }
  return out;
}
// ---- bytes, hex and the canonical encoding (Docs/encoding.md) ----
function hex(bytes) { return Array.from(bytes, b => b.toString(16).padStart(2, "0")).join(""); }
function unhex(text) {
  if (typeof text !== "string" || text.length % 2 || /[^0-9a-fA-F]/.test(text)) throw new Error("not hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}
function concat(...parts) { const n = parts.reduce((a, p) => a + p.length, 0), out = new Uint8Array(n); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; }
function varint(n) { let v = BigInt(n); const out = []; while (v >= 0x80n) { out.push(Number(v & 0x7Fn) | 0x80); v >>= 7n; } out.push(Number(v)); return Uint8Array.from(out); }
function text(s) { const b = new TextEncoder().encode(s); return concat(varint(b.length), b); }
const VERSION = Uint8Array.of(1);
function headerHash(h) {
  return hex(sha3(concat(VERSION, text(h.chain_id), varint(h.height), varint(h.time_ms), unhex(h.previous_block), varint(h.transaction_count),
    unhex(h.transactions_root), unhex(h.results_root), unhex(h.state_root), unhex(h.proposer), unhex(h.last_commit))));
}
// Merkle paths (Docs/blocks.md): leaves SHA3(0x00 || data), nodes SHA3(0x01 || left || right).
function merkleVerify(leaf, proof, rootHex) {
  if (!proof || proof.index >= proof.count) return false;
  let fn = proof.index, sn = proof.count - 1, r = sha3(concat(Uint8Array.of(0), leaf));
  for (const p of proof.path) {
    if (sn === 0) return false;
    const sibling = unhex(p);
    if ((fn & 1) === 1 || fn === sn) {
      r = sha3(concat(Uint8Array.of(1), sibling, r));
      if ((fn & 1) === 0) while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      r = sha3(concat(Uint8Array.of(1), r, sibling));
    }
    fn >>= 1; sn >>= 1;
  }
  return sn === 0 && hex(r) === rootHex;
}
// State proofs (Docs/state-tree.md): a radix-4 tree on SHA3(key); three siblings per level.
function digit(hash, i) { return (hash[i >> 2] >> (6 - 2 * (i & 3))) & 3; }
function stateVerify(rootHex, key, value, proof) {
  if (!proof || proof.siblings.length % 3) return false;
  const levels = proof.siblings.length / 3, keyHash = sha3(key);
  let h;
  if (proof.terminal === "empty") { if (value !== null) return false; h = new Uint8Array(32); }
  else if (proof.terminal === "leaf") {
    const leafKey = unhex(proof.leaf_key_hash), leafValue = unhex(proof.leaf_value_hash);
    if (value !== null) { if (hex(leafKey) !== hex(keyHash) || hex(leafValue) !== hex(sha3(value))) return false; }
    else { if (hex(leafKey) === hex(keyHash)) return false; for (let i = 0; i < levels; i++) if (digit(leafKey, i) !== digit(keyHash, i)) return false; }
    h = sha3(concat(Uint8Array.of(0), leafKey, leafValue));
  } else return false;
  for (let level = levels - 1; level >= 0; level--) {
    const s = proof.siblings.slice(3 * level, 3 * level + 3).map(unhex), children = [...s];
    children.splice(digit(keyHash, level), 0, h);
    h = sha3(concat(Uint8Array.of(1), ...children));
  }
  return hex(h) === rootHex;
}
// ---- SHA-256 (FIPS 180-4), for BIP340's tagged hashes ----
const K256 = Uint32Array.from([0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
  0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb,
  0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f,
  0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
function sha256(bytes) {
  const h = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const length = bytes.length, padded = new Uint8Array(Math.ceil((length + 9) / 64) * 64);
  padded.set(bytes); padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000)); view.setUint32(padded.length - 4, (length * 8) >>> 0);
  const w = new Uint32Array(64), ror = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >>> 3), s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i]) >>> 0;
      const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      k = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    [a, b, c, d, e, f, g, k].forEach((v, i) => { h[i] = (h[i] + v) >>> 0; });
  }
  const out = new Uint8Array(32), outView = new DataView(out.buffer);
  h.forEach((v, i) => outView.setUint32(4 * i, v));
  return out;
}
// ---- BIP340 Schnorr verification on secp256k1 (messages of any length, as the node signs votes) ----
const P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2Fn;
const N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141n;
const G = [0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798n, 0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8n, 1n];
const mod = a => { const r = a % P; return r < 0n ? r + P : r; };
function power(b, e, m) { let r = 1n; b %= m; while (e > 0n) { if (e & 1n) r = r * b % m; b = b * b % m; e >>= 1n; } return r; }
function big(bytes) { let v = 0n; for (const b of bytes) v = (v << 8n) | BigInt(b); return v; }
function bytes32(v) { const out = new Uint8Array(32); for (let i = 31; i >= 0; i--) { out[i] = Number(v & 0xFFn); v >>= 8n; } return out; }
// Jacobian coordinates; null is the point at infinity.
function double(p) {
  if (!p || p[1] === 0n) return null;
  const [x, y, z] = p, yy = mod(y * y), s = mod(4n * x * yy), m = mod(3n * x * x);
  const x3 = mod(m * m - 2n * s);
  return [x3, mod(m * (s - x3) - 8n * yy * yy), mod(2n * y * z)];
}
function add(p, q) {
  if (!p) return q; if (!q) return p;
  const [x1, y1, z1] = p, [x2, y2, z2] = q, z1z1 = mod(z1 * z1), z2z2 = mod(z2 * z2);
  const u1 = mod(x1 * z2z2), u2 = mod(x2 * z1z1), s1 = mod(y1 * z2 * z2z2), s2 = mod(y2 * z1 * z1z1);
  if (u1 === u2) return s1 === s2 ? double(p) : null;
  const h = mod(u2 - u1), r = mod(s2 - s1), hh = mod(h * h), hhh = mod(h * hh), v = mod(u1 * hh);
  const x3 = mod(r * r - hhh - 2n * v);
  return [x3, mod(r * (v - x3) - s1 * hhh), mod(h * z1 * z2)];
}
function multiply(k, p) { let r = null; for (let i = 255n; i >= 0n; i--) { r = double(r); if ((k >> i) & 1n) r = add(r, p); } return r; }
function affine(p) { if (!p) return null; const zi = power(p[2], P - 2n, P), zi2 = mod(zi * zi); return [mod(p[0] * zi2), mod(p[1] * zi2 * zi)]; }
function liftX(x) {
  if (x >= P) return null;
  const c = mod(x * x * x + 7n), y = power(c, (P + 1n) / 4n, P);
  if (mod(y * y) !== c) return null;
  return [x, (y & 1n) === 0n ? y : P - y, 1n];
}
function taggedHash(tag, ...parts) { const t = sha256(new TextEncoder().encode(tag)); return sha256(concat(t, t, ...parts)); }
function schnorrVerify(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const point = liftX(big(publicKey)), r = big(signature.slice(0, 32)), s = big(signature.slice(32));
  if (!point || r >= P || s >= N) return false;
  const e = big(taggedHash("BIP0340/challenge", signature.slice(0, 32), publicKey, message)) % N;
  const R = affine(add(multiply(s, G), multiply(N - e, point)));
  return R !== null && (R[1] & 1n) === 0n && R[0] === r;
}
function selfTest() {
  // FIPS 202 examples: SHA3-256 of "", of "abc", and of 200 bytes of 0xa3 (several blocks).
  return hex(sha3(new Uint8Array(0))) === "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
    && hex(sha3(new TextEncoder().encode("abc"))) === "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
    && hex(sha3(new Uint8Array(200).fill(0xa3))) === "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787"
    // FIPS 180-4 examples for SHA-256: "abc" and the 56-byte two-block message.
    && hex(sha256(new TextEncoder().encode("abc"))) === "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    && hex(sha256(new TextEncoder().encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) === "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
}
// BIP340's test vectors 0, 5 (a key not on the curve), 15 (an empty message) and 17 (17 bytes), and vector 0 with
// one bit of its signature flipped.
function bip340SelfTest() {
  const cases = [
    ["F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9", "0000000000000000000000000000000000000000000000000000000000000000",
      "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA821525F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0", true],
    ["EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34", "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E17776969E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B", false],
    ["778CAA53B4393AC467774D09497A87224BF9FAB6F6E68B23086497324D6FD117", "",
      "71535DB165ECD9FBBC046E5FFAEA61186BB6AD436732FCCC25291A55895464CF6069CE26BF03466228F19A3A62DB8A649F2D560FAC652827D1AF0574E427AB63", true],
    ["778CAA53B4393AC467774D09497A87224BF9FAB6F6E68B23086497324D6FD117", "0102030405060708090A0B0C0D0E0F1011",
      "5130F39A4059B43BC7CAC09A19ECE52B5D8699D1A71E3C52DA9AFDB6B50AC370C4A482B77BF960F8681540E25B6771ECE1E5A37FD80E5A51897C5566A97EA5A5", true],
    ["F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9", "0000000000000000000000000000000000000000000000000000000000000000",
      "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA821525F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C1", false]];
  return cases.every(([key, message, signature, valid]) => schnorrVerify(unhex(key), unhex(message), unhex(signature)) === valid);
}
// ---- commit certificates, against the validators of a genesis file the user pins ----
let PINNED = null;  // {chainID, validators: Map(keyIDHex -> {key, power}), total}
const certificateCache = new Map();
function pinGenesis(textValue) {
  const g = JSON.parse(textValue);
  if (!g.chain_id || !Array.isArray(g.validators) || g.validators.length === 0) throw new Error("no chain_id or validators in this genesis");
  const validators = new Map();
  let total = 0;
  for (const v of g.validators) { const key = unhex(v.public_key); validators.set(hex(sha3(key)), { key, power: v.power }); total += v.power; }
  PINNED = { chainID: g.chain_id, validators, total };
  certificateCache.clear();
}
function reader(bytes) {
  let at = 0;
  return {
    fixed(n) { if (at + n > bytes.length) throw new Error("short"); const out = bytes.slice(at, at + n); at += n; return out; },
    uint() { let v = 0n, shift = 0n; for (;;) { const b = this.fixed(1)[0]; v |= BigInt(b & 0x7F) << shift; if (!(b & 0x80)) return v; shift += 7n; if (shift > 63n) throw new Error("varint"); } },
    text() { return new TextDecoder().decode(this.fixed(Number(this.uint()))); },
    done() { return at === bytes.length; },
  };
}
// The block at `height`, its header re-hashed, and its certificate checked: a quorum (more than 2/3 of the power) of
// valid BIP340 precommit signatures by the pinned validators, over the vote's signing bytes (Docs/consensus.md).
async function certified(height, header) {
  if (!PINNED) return { ok: false, why: "certificate not checked: pin your genesis file" };
  const cacheKey = height + ":" + header.hash;
  if (certificateCache.has(cacheKey)) return certificateCache.get(cacheKey);
  let result;
  try {
    const raw = await api(`/v1/blocks/${height}/raw`);
    if (!raw.certificate) throw new Error("no certificate served");
    const r = reader(unhex(raw.certificate));
    if (r.fixed(1)[0] !== 1) throw new Error("certificate version");
    const chain = r.text(), h = r.uint(), round = r.uint(), block = hex(r.fixed(32)), count = Number(r.uint());
    if (chain !== PINNED.chainID || h !== BigInt(height) || block !== header.hash || headerHash(header) !== header.hash) throw new Error("certificate for another block");
    let powerSigned = 0, previous = "";
    for (let i = 0; i < count; i++) {
      const validator = hex(r.fixed(32)), signature = r.fixed(64), v = PINNED.validators.get(validator);
      if (validator <= previous) throw new Error("signers not sorted");
      previous = validator;
      if (!v) throw new Error(`signer ${short(validator)} is not a genesis validator`);
      const message = concat(new TextEncoder().encode("twinledger/vote/v1"), VERSION, text(chain), varint(h), varint(round), varint(2),
        Uint8Array.of(1), unhex(block), unhex(validator));
      if (!schnorrVerify(v.key, message, signature)) throw new Error(`bad signature by ${short(validator)}`);
      powerSigned += v.power;
    }
    if (!r.done()) throw new Error("trailing bytes");
    if (3 * powerSigned <= 2 * PINNED.total) throw new Error(`${powerSigned} of ${PINNED.total} power is no quorum`);
    result = { ok: true, why: `certified by ${count} genesis validators` };
  } catch (e) {
    result = { ok: false, why: "certificate: " + e.message };
  }
  certificateCache.set(cacheKey, result);
  return result;
}
// ---- the page ----
const $ = id => document.getElementById(id);
async function api(path, headers) {
  const response = await fetch(path, { headers: headers || {}, cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.code || response.status) + ": " + (body.message || "request failed"));
  return body;
}
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { if (k === "class") e.className = v; else e.setAttribute(k, v); }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function badge(ok, what) { return el("span", { class: "badge " + (ok ? "verified" : "unverified"), "data-verified": String(ok) }, (ok ? "verified" : "UNVERIFIED") + (what ? ": " + what : "")); }
function when(ms) { return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"); }
function short(h) { return h ? h.slice(0, 16) + "…" : ""; }
let SHA3_OK = false;

async function refreshStatus() {
  try {
    const c = await api("/v1/consortium");
    $("chain").textContent = c.chain_id;
    const rows = [["Height", c.height], ["Last block", c.block ? short(c.block) : "none yet"], ["Block time", c.height ? when(c.time_ms) : "—"],
      ["This node", c.role], ["Peers", c.peers], ["Best peer height", c.best_peer_height], ["Caught up", c.caught_up ? "yes" : "no"],
      ["Last commit", c.last_commit ? `height ${c.last_commit.height}, round ${c.last_commit.round}, ${c.last_commit.signers.length} signatures` : "—"]];
    $("status").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-field": k.toLowerCase().replace(/ /g, "-") }, v)]));
    const signers = new Set(c.last_commit ? c.last_commit.signers : []);
    $("validators").tBodies[0].replaceChildren(...c.validator_sets.flatMap(set => set.validators.map(v =>
      el("tr", {}, el("td", {}, `v${set.version} from height ${set.effective_height}`), el("td", { class: "hash" }, v.key_id), el("td", {}, v.power),
        el("td", {}, signers.has(v.key_id) ? "yes" : "no")))));
    await refreshBlocks(c.height);
  } catch (e) { $("status").replaceChildren(el("dt", {}, "Status"), el("dd", {}, "unreachable: " + e.message)); }
}
async function refreshBlocks(height) {
  const rows = [];
  for (let h = height; h >= 1 && h > height - 8; h--) {
    const b = await api(`/v1/blocks/${h}`);
    const ok = SHA3_OK && headerHash(b.header) === b.header.hash;
    const link = el("button", { type: "button", "aria-label": `Show block ${h}` }, String(h));
    link.addEventListener("click", () => showBlock(b, ok));
    rows.push(el("tr", {}, el("td", {}, link), el("td", {}, when(b.header.time_ms)), el("td", {}, b.header.transaction_count),
      el("td", { class: "hash" }, short(b.header.hash)), el("td", {}, badge(ok, "hash"))));
  }
  $("blocks").tBodies[0].replaceChildren(...rows);
}
function showBlock(b, ok) {
  $("block-detail").replaceChildren(el("h3", {}, `Block ${b.header.height} `, badge(ok, "header re-encoded and hashed")),
    el("ul", {}, ...b.transactions.map(t => { const btn = el("button", { type: "button" }, `${t.kind} ${short(t.id)}`); btn.addEventListener("click", () => showTransaction(t.id)); return el("li", {}, btn, t.accepted ? "" : ` rejected: ${t.code}`); })));
}
// A committed transaction checked against its header: its id, its two Merkle paths, and the header's own hash.
async function verifiedTransaction(id) {
  const t = await api(`/v1/transactions/${id}`);
  if (t.status !== "committed") return { t, ok: false, why: "not committed" };
  const bytes = unhex(t.transaction);
  const checks = [
    [hex(sha3(bytes)) === id, "id is SHA3 of the bytes"],
    [merkleVerify(unhex(id), t.transaction_proof, t.header.transactions_root), "in the transactions root"],
    [merkleVerify(concat(VERSION, unhex(id), text(t.code || "")), t.outcome_proof, t.header.results_root), "outcome in the results root"],
    [headerHash(t.header) === t.header.hash, "header hash"]];
  const failed = checks.filter(c => !c[0]).map(c => c[1]);
  if (failed.length) return { t, ok: false, why: "failed: " + failed.join(", ") };
  const certificate = await certified(t.height, t.header);
  if (PINNED && !certificate.ok) return { t, ok: false, why: certificate.why };
  return { t, ok: SHA3_OK, why: `block ${t.height}` + (PINNED ? ", " + certificate.why : " (roots; certificate not checked)") };
}
async function showTransaction(id) {
  $("tx-id").value = id;
  try {
    const { t, ok, why } = await verifiedTransaction(id);
    $("tx").replaceChildren(el("dl", { class: "status" }, el("dt", {}, "Kind"), el("dd", {}, t.kind || "?"), el("dt", {}, "Signer"), el("dd", { class: "hash" }, t.signer || "?"),
      el("dt", {}, "Block"), el("dd", {}, t.height ?? "pending"), el("dt", {}, "Outcome"), el("dd", {}, t.accepted ? "accepted" : "rejected: " + t.code),
      el("dt", {}, "Proof"), el("dd", {}, badge(ok, why))));
  } catch (e) { $("tx").replaceChildren(el("p", {}, "error: " + e.message)); }
}
function describe(kind, entry, grants, delegations) {
  const g = grants[entry.transaction], d = delegations[entry.transaction];
  switch (kind) {
    case "consent.grant": return g ? `granted ${g.actions.join("+")} of ${[...g.categories, ...g.shadows.map(short)].join(", ")} to ${g.grantee_key_id ? "key " + short(g.grantee_key_id) : "policy " + g.grantee_policy} for ${g.purpose}, from ${when(g.valid_from * 1000)} until ${g.valid_until ? when(g.valid_until * 1000) : "revoked"}` : "a grant";
    case "break_glass": return g ? `BREAK-GLASS (ETREAT): "${g.break_glass_reason}" until ${when(g.valid_until * 1000)}` : "break-glass";
    case "delegation.grant": return d ? `delegated ${d.powers.join("+")} over ${d.categories.length ? d.categories.join(", ") : "all categories"} to key ${short(d.delegate)}` : "a delegation";
    case "consent.revoke": return "revoked a grant";
    case "delegation.revoke": return "revoked a delegation";
    case "enroll": return "enrolled as a patient";
    case "shadow.register": return "registered a shadow version";
    case "shadow.rewrap": return "re-wrapped a shadow under the current epochs";
    case "shadow.erase": return "erased a shadow";
    case "key.rotate": return "rotated the patient's key (grants and history kept)";
    default: return kind;
  }
}
async function showPatient(patient, token) {
  const list = $("timeline"); list.dataset.ready = "false"; list.replaceChildren();
  $("patient-id").value = patient;
  const items = [];
  try {
    const history = await api(`/v1/patients/${patient}/history`);
    const block = await api(`/v1/blocks/${history.height}`);
    const headKey = concat(Uint8Array.of(0x08), unhex(patient));
    const headValue = history.count ? concat(VERSION, varint(history.count), unhex(history.head)) : null;
    let chain = new Uint8Array(32);
    for (const e of history.entries) chain = sha3(concat(chain, unhex(e.transaction)));
    const headCertificate = await certified(history.height, block.header);
    const headOk = SHA3_OK && headerHash(block.header) === block.header.hash && block.header.state_root === history.state_root
      && stateVerify(history.state_root, headKey, headValue, history.proof) && hex(chain) === history.head && history.entries.length === history.count
      && (!PINNED || headCertificate.ok);
    const grants = Object.fromEntries((await api(`/v1/patients/${patient}/grants`)).grants.map(g => [g.id, g]));
    const delegations = Object.fromEntries((await api(`/v1/patients/${patient}/delegations`)).delegations.map(d => [d.id, d]));
    for (const e of history.entries) {
      const { t, ok, why } = await verifiedTransaction(e.transaction);
      items.push({ ms: t.header ? t.header.time_ms : 0, kind: e.kind, ok, why, text: describe(e.kind, e, grants, delegations), id: e.transaction, who: e.signer });
    }
    let accessNote = "accesses: give an access token to list them";
    let accesses = [];
    if (token) {
      try { accesses = (await api(`/v1/patients/${patient}/accesses`, { "TwinLedger-Accesses": token })).accesses; }
      catch (e) { accessNote = "accesses not listed (" + e.message + "; a token serves one listing within 60 s)"; token = ""; }
    }
    if (token) {
      for (const a of accesses) {
        let ok = false, why = "not yet anchored";
        if (a.proof && a.batch_root) {
          const pathOk = merkleVerify(unhex(a.record), a.proof, a.batch_root);
          const key = concat(Uint8Array.of(0x0C), unhex(a.node), unhex(a.batch_first.toString(16).padStart(16, "0")));
          const state = await api(`/v1/state/${hex(key)}`);
          const sb = await api(`/v1/blocks/${state.height}`);
          const value = state.value ? unhex(state.value) : null;
          // AnchorRecord: version, node, root, first, count, height (Docs/shadows.md): the root at bytes 33..65.
          const anchoredRoot = value ? hex(value.slice(33, 65)) : "";
          const anchorCertificate = await certified(state.height, sb.header);
          ok = SHA3_OK && pathOk && value !== null && anchoredRoot === a.batch_root && stateVerify(state.state_root, key, value, state.proof)
            && sb.header.state_root === state.state_root && headerHash(sb.header) === sb.header.hash && (!PINNED || anchorCertificate.ok);
          why = ok ? `record in the batch its node anchored (height ${a.anchored_height})` + (PINNED ? ", " + anchorCertificate.why : "")
            : "failed: " + [!pathOk && "path", anchoredRoot !== a.batch_root && "anchored root", PINNED && !anchorCertificate.ok && anchorCertificate.why].filter(Boolean).join(", ");
        }
        items.push({ ms: a.time_ms, kind: "access", ok, why, text: `read blob ${short(a.blob)} of shadow ${short(a.shadow)} for ${a.purpose}${a.grant ? " under grant " + short(a.grant) : " as the patient"}`, id: null, who: a.requester });
      }
      accessNote = `${accesses.length} accesses served by this node`;
    }
    items.sort((a, b) => a.ms - b.ms);
    list.replaceChildren(...items.map(i => el("li", { class: i.kind === "break_glass" ? "break-glass" : "", "data-kind": i.kind, "data-verified": String(i.ok) },
      el("span", { class: "kind" }, i.kind), " ", el("time", { datetime: new Date(i.ms).toISOString() }, when(i.ms)), " ", badge(i.ok, i.why), el("br"),
      i.text, i.who ? el("span", { class: "muted" }, ` — by key ${short(i.who)}`) : "")));
    const verified = items.filter(i => i.ok).length;
    $("timeline-summary").replaceChildren(`${history.count} history entries `,
      badge(headOk, "history head proven under block " + history.height + "'s state root, chain rebuilt" + (PINNED ? ", " + headCertificate.why : "")),
      `; ${verified} of ${items.length} events verified in this page; ${accessNote}.`);
    $("timeline-summary").dataset.headVerified = String(headOk);
  } catch (e) {
    $("timeline-summary").textContent = "error: " + e.message;
  }
  list.dataset.ready = "true";
}
// The pinned genesis is remembered in this browser (localStorage) until another is pinned.
async function pin(textValue, rerun) {
  try {
    pinGenesis(textValue);
    try { localStorage.setItem("twinledger-genesis", textValue); } catch (e) { /* storage may be off */ }
    $("genesis-status").textContent = `Pinned: chain ${PINNED.chainID}, ${PINNED.validators.size} validators, total power ${PINNED.total}. Blocks are checked against their certificates.`;
    $("genesis-status").dataset.pinned = "true";
    if (rerun) await route();
  } catch (e) { $("genesis-status").textContent = "Not pinned: " + e.message; $("genesis-status").dataset.pinned = "false"; }
  $("genesis-status").dataset.checked = String(Date.now());
}
$("genesis-form").addEventListener("submit", ev => { ev.preventDefault(); pin($("genesis-text").value, true); });
$("genesis-file").addEventListener("change", async () => { const f = $("genesis-file").files[0]; if (f) { $("genesis-text").value = await f.text(); pin($("genesis-text").value, true); } });
$("tx-form").addEventListener("submit", ev => { ev.preventDefault(); showTransaction($("tx-id").value.trim().toLowerCase()); });
$("patient-form").addEventListener("submit", ev => { ev.preventDefault(); showPatient($("patient-id").value.trim().toLowerCase(), $("access-token").value.trim()); });
(async () => {
  SHA3_OK = selfTest() && bip340SelfTest();
  $("selftest").className = "badge " + (SHA3_OK ? "verified" : "unverified");
  $("selftest").textContent = SHA3_OK ? "SHA3, SHA-256 and BIP340 self-tests passed" : "crypto self-test FAILED: nothing is marked verified";
  $("selftest").dataset.ok = String(SHA3_OK);
  let remembered = null;
  try { remembered = localStorage.getItem("twinledger-genesis"); } catch (e) { /* storage may be off */ }
  if (remembered) { $("genesis-text").value = remembered; await pin(remembered, false); }
  await refreshStatus();
  await route();
  document.body.dataset.loaded = "true";
  window.addEventListener("hashchange", route);
  setInterval(refreshStatus, 5000);
})();
// Links into the page: #tx=ID, #patient=ID (with &token=… to list accesses).
async function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("tx")) { await showTransaction(params.get("tx")); $("tx").scrollIntoView(); }
  if (params.get("patient")) await showPatient(params.get("patient"), params.get("token") || "");
}
</script>
</body>
</html>
"""#
}
