// The page of one transaction: what it called, who sent it, what happened, and the checks that tie
// it to a block signed by the validators.
//
// API calls: GET /v1/txs/{hash}; for a committed one GET /v1/blocks?before={height + 1}&limit=1 (its
// block's header and certificate, without the block's list of hashes), GET /v1/status,
// GET /v1/validators?height= (the set that signed its block), GET /v1/txs/{hash}/proof (the signed
// bytes and the Merkle path to the block's tx_root: the call's arguments are decoded from those
// bytes, here) and, for a call to a contract, GET /v1/contracts/{name} (its ABI names the arguments);
// for a pending one GET /v1/txs/{hash}/wait, at most WAITS_MAX times.

import { ApiError, getJSON, statusOnce } from "../api.js";
import {
  addressLink, blockLink, card, check, clear, empty, fieldValue, fmtAgo, fmtInt, fmtTime, h, ident, kv, pageTitle,
  statusBadge,
} from "../ui.js";
import { decode, hexToBytes } from "../verify.js";
import { blockCheckItems, checksPanel, eventSummary, proofCheck, validatorsFor } from "./checks.js";

const MODULES = new Set(["accounts", "gov", "passes", "contracts"]);

const WAIT_MS = 15000;
const WAITS_MAX = 4;
export const PROOF_ROUTE = "/v1/txs/{hash}/proof";

export function parseTxHash(text) {
  const clean = String(text).trim().toLowerCase().replace(/^0x/, "");
  return /^[0-9a-f]{64}$/.test(clean) ? clean : null;
}

function argumentsView(decoded, params = null) {
  if (!decoded) return h("span", { class: "muted" }, "not decodable as msgpack");
  const render = (value) => {
    if (value instanceof Uint8Array) {
      const hex = Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
      return value.length === 20 ? addressLink(`0x${hex}`, { copy: false }) : h("span", { class: "mono", title: hex }, hex.length > 40 ? `${hex.slice(0, 40)}…` : hex || "empty");
    }
    if (Array.isArray(value)) return h("ol", { class: "args" }, value.map((v) => h("li", {}, render(v))));
    if (typeof value === "bigint") return fmtInt(value);
    return fieldValue(value);
  };
  if (params && Array.isArray(decoded) && decoded.length === params.length) {
    return h("div", {}, kv(params.map((p, i) => [h("span", {}, p.name, " ", h("span", { class: "hint mono" }, p.type)), render(decoded[i])])),
      h("p", { class: "hint" }, "Decoded in your browser from the signed bytes; named by the contract's ABI."));
  }
  return h("div", {}, render(decoded), h("p", { class: "hint" }, "Decoded in your browser from the signed bytes: the fields by position, as signed (the module's argument struct)."));
}

// The parameters a contract's ABI gives `method`, or null (a module, or no such contract any more).
async function contractParams(target, method) {
  if (MODULES.has(target)) return null;
  try {
    const info = (await getJSON(`/v1/contracts/${target}`)).value;
    return info.abi.methods.find((m) => m.name === method)?.params || null;
  } catch {
    return null;
  }
}

// An event no module declares (a contract's): its data decoded as msgpack, when it is.
function rawEventFields(data) {
  try {
    const value = decode(hexToBytes(data));
    if (Array.isArray(value) && value.every((pair) => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === "string")) {
      const plain = (v) => {
        if (!(v instanceof Uint8Array)) return typeof v === "bigint" ? Number(v) : v;
        const hex = Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("");
        return v.length === 20 ? `0x${hex}` : hex; // a contract's Address is its 20 bytes
      };
      return kv(value.map(([k, v]) => [k, fieldValue(plain(v))]));
    }
  } catch {
    // not msgpack: the raw data below says it all
  }
  return null;
}

async function renderPending(main, hash, waits) {
  main.append(card("Waiting to be committed", h("p", {}, "This transaction is in this node's mempool: the validators have not put it in a block yet. This page updates when they do.")));
  if (waits >= WAITS_MAX) {
    main.append(h("p", { class: "hint" }, "Still pending after a minute. Reload the page to look again."));
    return false;
  }
  try {
    await getJSON(`/v1/txs/${hash}/wait?timeout_ms=${WAIT_MS}`);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.code === "timeout") return renderPending(clear(main), hash, waits + 1);
    throw error;
  }
}

export async function renderTx(main, [param]) {
  const hash = parseTxHash(param);
  if (!hash) throw new Error(`“${param}” is not a transaction hash: one is 64 hex digits.`);
  let tx = await getJSON(`/v1/txs/${hash}`);
  if (tx.status === "pending") {
    const head = pageTitle("Transaction", statusBadge("pending"));
    main.append(head, kv([["Hash", ident(hash, { what: "transaction hash" })]]));
    const box = h("div");
    main.append(box);
    if (!(await renderPending(box, hash, 0))) return;
    clear(main);
    tx = await getJSON(`/v1/txs/${hash}`);
  }
  // Everything the page checks, asked for at once: the block's header and certificate (`txs` is how
  // many it holds), the set that voted at its height, the proof (and a contract's ABI for the call).
  const [heads, status, set, proved] = await Promise.all([
    getJSON(`/v1/blocks?before=${tx.height + 1}&limit=1`),
    statusOnce(),
    validatorsFor(tx.height, statusOnce()),
    Promise.all([getJSON(`/v1/txs/${hash}/proof`), contractParams(tx.target, tx.method)]).catch((error) => ({ error })),
  ]);
  const [block] = heads.blocks;
  main.append(pageTitle("Transaction", statusBadge(tx.status)));

  const outcome = tx.ok
    ? h("p", { class: "banner banner-good" }, "Committed in block ", blockLink(tx.height), `, ${fmtAgo(block.time_ms)}; it did what it asked.`)
    : h("p", { class: "banner banner-bad" }, "Committed in block ", blockLink(tx.height), ` but refused by the chain: ${tx.status}${tx.error ? ` — ${tx.error}` : ""}.`);
  main.append(outcome);

  const argsBox = h("div", {}, h("span", { class: "muted" }, "loading…"));
  main.append(card("Call", kv([
    ["Hash", ident(hash, { what: "transaction hash" })],
    ["Status", statusBadge(tx.status)],
    ["Block", h("span", {}, blockLink(tx.height), h("span", { class: "hint" }, ` ${fmtTime(block.time_ms)}`))],
    ["Position", `${fmtInt(tx.index + 1)} of ${fmtInt(block.txs)} in its block`],
    ["Sender", addressLink(tx.sender)],
    ["Called", MODULES.has(tx.target) ? h("code", {}, `${tx.target}.${tx.method}`) : h("span", {}, "contract ", h("a", { href: `/contracts/${tx.target}` }, h("code", {}, `${tx.target}.${tx.method}`)))],
    ["Arguments", argsBox],
    ["Gas used", fmtInt(tx.gas_used)],
    ["Valid until", h("span", {}, "height ", fmtInt(tx.valid_until))],
    tx.error ? ["Error", h("span", { class: "bad-text" }, tx.error)] : null,
  ])));

  const events = tx.events.map((e, i) => h("li", { class: "event" },
    h("div", { class: "event-head" }, h("span", { class: "muted" }, `${i + 1}. `), eventSummary(e)),
    e.fields ? kv(Object.entries(e.fields).map(([k, v]) => [k, fieldValue(v)])) : rawEventFields(e.data),
    h("details", {}, h("summary", {}, "Raw event data"), h("p", { class: "mono wrap" }, e.data || "empty"))));
  main.append(card(`Events (${fmtInt(tx.events.length)})`, events.length
    ? h("ol", { class: "events" }, events)
    : empty("No events.", tx.ok ? "The call changed state without announcing anything." : "A refused transaction changes nothing and announces nothing.")));

  const checksBox = h("div", {}, h("p", { class: "muted" }, "Checking…"));
  main.append(card("Checked in your browser", checksBox));

  let proofItem;
  if (proved.error) {
    // Without a proof (a node that serves none, or fails to) the transaction is not tied to the block.
    proofItem = check(null, "Inclusion proof.", `Not checked: this node gave no proof (${PROOF_ROUTE}): ${proved.error.message} Without it the page cannot tie this transaction to the block's tx_root.`);
    clear(argsBox).append(h("span", { class: "muted" }, "Not decoded: the signed bytes come with the proof. The events below show what the call did."));
  } else {
    const [proof, params] = proved;
    const verdict = await proofCheck(proof, hash, block);
    proofItem = check(verdict.state, "Inclusion proof.", verdict.text);
    clear(argsBox).append(verdict.tx ? argumentsView(verdict.tx.decodedArgs, params) : h("span", { class: "muted" }, "not available"));
  }
  const { items } = await blockCheckItems(block, status, set);
  clear(checksBox).append(checksPanel([proofItem, ...items]));
}
