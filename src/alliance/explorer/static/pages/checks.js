// The "checked in your browser" panels shared by the block and transaction pages, and the one-line
// summaries of events.

import { getJSON } from "../api.js";
import { checkBlock, hexToBytes, proofRoot, readTransaction, bytesToHex } from "../verify.js";
import { addressLink, check, fmtInt, fmtPercent, h } from "../ui.js";
import { passEventText } from "./passes.js";

const SECURE_HINT = "this page has no WebCrypto Ed25519 here (browsers offer it on https and on 127.0.0.1 or localhost)";

// The validator set that had to sign the block at `height`: GET /v1/validators?height=h (the node
// keeps every set the chain has had); when the node cannot answer it (an old store), today's set from
// GET /v1/status (`status`, or a promise of it), which the checks then say may not be the right one.
// Answers {validators, ofHeight}.
export async function validatorsFor(height, status) {
  try {
    const set = await getJSON(`/v1/validators?height=${height}`);
    return { validators: set.validators, ofHeight: true };
  } catch {
    return { validators: (await status).validators, ofHeight: false };
  }
}

// The checks of one block (GET /v1/blocks/{h}) against the set that voted at its height.
export async function blockCheckItems(block, status, set = null) {
  const { validators, ofHeight } = set || (await validatorsFor(block.height, status));
  const result = await checkBlock(block, validators);
  const items = [
    check(result.headerOk, "Block hash.", result.headerOk
      ? "Recomputed here from the header's fields: it is the hash the node gave."
      : "Recomputed here from the header's fields, it differs from the hash the node gave: do not trust this block."),
  ];
  if (!block.certificate) {
    items.push(check(null, "Commit certificate.", "This node has no certificate for this block yet."));
    return { items, result };
  }
  const signers = result.signers;
  const unchecked = signers.some((s) => s.valid === null);
  const bad = signers.filter((s) => s.valid === false).length;
  if (!result.certificateForBlock) {
    items.push(check(false, "Commit certificate.", "The certificate names another block or height than this one."));
  } else if (unchecked) {
    items.push(check(null, "Signatures.", `Not checked: ${SECURE_HINT}.`));
  } else {
    items.push(check(bad === 0, "Signatures.", bad === 0
      ? `All ${fmtInt(signers.length)} precommit signatures verify (Ed25519, each against its signer's node id).`
      : `${fmtInt(bad)} of ${fmtInt(signers.length)} precommit signatures do not verify.`));
  }
  if (ofHeight) {
    items.push(check(result.setMatches, "Validator set.", result.setMatches
      ? `The set that voted at height ${fmtInt(block.height)} hashes to this block's validators_hash, so it is the set that had to sign it.`
      : "The set this node gives for this height does not hash to the block's validators_hash: the signers' power cannot be trusted."));
  } else {
    items.push(check(result.setMatches ? true : null, "Validator set.", result.setMatches
      ? "Today's validator set hashes to this block's validators_hash, so it is the set that had to sign it."
      : "This block was made under an earlier validator set, which this node no longer keeps, so the signers' power cannot be weighed here."));
  }
  if (result.quorum !== null && result.totalPower > 0) {
    const share = result.signedPower / result.totalPower;
    items.push(check(result.quorum, "Quorum.", `The valid signatures hold ${fmtInt(result.signedPower)} of ${fmtInt(result.totalPower)} voting power (${fmtPercent(share)}); more than two thirds is needed.`));
  }
  return { items, result };
}

export function checksPanel(items) {
  return h("ul", { class: "checks" }, items);
}

// An inclusion proof (GET /v1/txs/{hash}/proof) checked against the block's tx_root (the header's,
// whose hash is checked too: so the transaction is in the block the validators signed). Answers
// {state, text, tx} where tx is the decoded signed transaction when the proof carried it.
export async function proofCheck(proof, txHash, block) {
  try {
    const raw = hexToBytes(proof.tx);
    const tx = await readTransaction(raw);
    if (tx.hash !== txHash) {
      return { state: false, text: "The transaction bytes in the proof do not hash to this transaction's hash.", tx: null };
    }
    const root = await proofRoot(raw, proof.index, proof.total, proof.siblings.map(hexToBytes));
    if (root === null) {
      return { state: false, text: `The proof's shape does not fit position ${fmtInt(proof.index)} of ${fmtInt(proof.total)}.`, tx };
    }
    // `block` is a whole block (its hashes listed) or its header (`txs` a count): the proof's root
    // binds the count and the position, so either is enough.
    const listed = Array.isArray(block.txs);
    const total = listed ? block.txs.length : block.txs;
    if (proof.total !== total || (listed && block.txs[proof.index] !== txHash)) {
      return { state: false, text: "The proof's position does not match the block's transactions.", tx };
    }
    const ok = bytesToHex(root) === block.tx_root;
    return {
      state: ok,
      text: ok
        ? `The signed transaction hashes to this hash, and its Merkle path (${fmtInt(proof.siblings.length)} sibling hashes, position ${fmtInt(proof.index + 1)} of ${fmtInt(proof.total)}) leads to the block's tx_root.`
        : "Its Merkle path leads to another root than the block's tx_root: the node's proof is wrong.",
      tx,
    };
  } catch (error) {
    return { state: false, text: `The proof could not be read: ${error.message}.`, tx: null };
  }
}

// One line for an event, from the fields the API decodes (raw data otherwise).
export function eventSummary(event) {
  const f = event.fields;
  const name = `${event.emitter}.${event.name}`;
  if (!f) return h("span", {}, h("code", {}, name));
  switch (name) {
    case "accounts.transfer":
      return h("span", { class: "summary" }, "Transfer of ", h("strong", {}, fmtInt(f.amount)), " from ", addressLink(f.sender, { shortForm: true, copy: false }), " to ", addressLink(f.to, { shortForm: true, copy: false }));
    case "gov.proposed":
      return h("span", {}, "Proposal ", h("a", { href: `/proposals/${f.id}` }, `#${f.id}`), ` (${f.kind}) made, ${f.status}`);
    case "gov.voted":
      return h("span", {}, `${f.org} voted ${f.yes ? "yes" : "no"} on `, h("a", { href: `/proposals/${f.id}` }, `#${f.id}`));
    case "gov.passed":
    case "gov.rejected":
      return h("span", {}, "Proposal ", h("a", { href: `/proposals/${f.id}` }, `#${f.id}`), ` (${f.kind}) ${event.name}`);
    case "gov.frozen":
      return h("span", {}, "Froze ", addressLink(f.account, { shortForm: true, copy: false }), `: ${f.reason}`);
    case "gov.unfrozen":
      return h("span", {}, "Unfroze ", addressLink(f.account, { shortForm: true, copy: false }));
    case "contracts.submitted":
      return h("span", {}, `Submitted a contract source (${fmtInt(f.size)} bytes)`);
    case "contracts.deployed":
    case "contracts.upgraded":
      return h("span", {}, "Contract ", h("a", { href: `/contracts/${f.name}` }, f.name), ` ${event.name} (version ${fmtInt(f.version)}, `, h("a", { href: `/proposals/${f.proposal}` }, `proposal #${f.proposal}`), ")");
    default:
      if (event.emitter === "passes") return h("span", {}, h("a", { href: `/passes/${f.symbol}` }, f.symbol), " ", passEventText(event.name, f));
      return h("span", {}, h("code", {}, name));
  }
}
