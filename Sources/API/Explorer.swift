/// The explorer page each node serves at `/` (Docs/explorer.md): one HTML document with its own style and script and
/// no external resource, so it works offline and under a strict Content-Security-Policy. It shows the consortium's
/// status, the recent blocks, a transaction with its proofs, and a patient's timeline. Everything it marks
/// "verified" it checked itself, with SHA3-256 in its own script (self-tested against the FIPS 202 vectors on load):
/// - headers re-encoded canonically and hashed;
/// - transactions and outcomes by their Merkle paths to the header's roots;
/// - the history head by its state proof under the header's state root, and the hash chain of the entries;
/// - access records by their paths to the batch root that the node anchored, read with a state proof.
///
/// The page does not check the BIP340 signatures of the commit certificates: it says so, and points at
/// `twinledger audit verify` for that.
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
  input { font: inherit; padding: 0.4rem; border: 1px solid #888; border-radius: 0.3rem; min-width: 0; }
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
    <span id="selftest" class="badge unverified" role="status">SHA3 self-test pending</span>.
    Commit certificates' signatures are not checked here: <code>twinledger audit verify</code> checks them from the genesis file.</p>
</header>
<main>
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
function selfTest() {
  // FIPS 202 examples: SHA3-256 of "", of "abc", and of 200 bytes of 0xa3 (several blocks).
  return hex(sha3(new Uint8Array(0))) === "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
    && hex(sha3(new TextEncoder().encode("abc"))) === "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
    && hex(sha3(new Uint8Array(200).fill(0xa3))) === "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787";
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
  return { t, ok: SHA3_OK && failed.length === 0, why: failed.length ? "failed: " + failed.join(", ") : `block ${t.height}` };
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
    const headOk = SHA3_OK && headerHash(block.header) === block.header.hash && block.header.state_root === history.state_root
      && stateVerify(history.state_root, headKey, headValue, history.proof) && hex(chain) === history.head && history.entries.length === history.count;
    const grants = Object.fromEntries((await api(`/v1/patients/${patient}/grants`)).grants.map(g => [g.id, g]));
    const delegations = Object.fromEntries((await api(`/v1/patients/${patient}/delegations`)).delegations.map(d => [d.id, d]));
    for (const e of history.entries) {
      const { t, ok, why } = await verifiedTransaction(e.transaction);
      items.push({ ms: t.header ? t.header.time_ms : 0, kind: e.kind, ok, why, text: describe(e.kind, e, grants, delegations), id: e.transaction, who: e.signer });
    }
    let accessNote = "accesses: give an access token to list them";
    if (token) {
      const accesses = (await api(`/v1/patients/${patient}/accesses`, { "TwinLedger-Accesses": token })).accesses;
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
          ok = SHA3_OK && pathOk && value !== null && anchoredRoot === a.batch_root && stateVerify(state.state_root, key, value, state.proof)
            && sb.header.state_root === state.state_root && headerHash(sb.header) === sb.header.hash;
          why = ok ? `record in the batch its node anchored (height ${a.anchored_height})` : "failed: " + [!pathOk && "path", anchoredRoot !== a.batch_root && "anchored root"].filter(Boolean).join(", ");
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
    $("timeline-summary").replaceChildren(`${history.count} history entries `, badge(headOk, "history head proven under block " + history.height + "'s state root, chain rebuilt"),
      `; ${verified} of ${items.length} events verified in this page; ${accessNote}.`);
    $("timeline-summary").dataset.headVerified = String(headOk);
  } catch (e) {
    $("timeline-summary").textContent = "error: " + e.message;
  }
  list.dataset.ready = "true";
}
$("tx-form").addEventListener("submit", ev => { ev.preventDefault(); showTransaction($("tx-id").value.trim().toLowerCase()); });
$("patient-form").addEventListener("submit", ev => { ev.preventDefault(); showPatient($("patient-id").value.trim().toLowerCase(), $("access-token").value.trim()); });
(async () => {
  SHA3_OK = selfTest();
  $("selftest").className = "badge " + (SHA3_OK ? "verified" : "unverified");
  $("selftest").textContent = SHA3_OK ? "SHA3 self-test passed" : "SHA3 self-test FAILED: nothing is marked verified";
  $("selftest").dataset.ok = String(SHA3_OK);
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
