// The list of blocks (newest first, one page at a time) and the page of one block.
//
// API calls. List: GET /v1/status and one GET /v1/blocks?before=&limit=PAGE_BLOCKS (headers only:
// no block's list of transaction hashes); on the newest page, one GET /v1/blocks?before=h+1&limit=1
// per new block from the stream. Block: GET /v1/blocks/{h}, GET /v1/status (node names),
// GET /v1/validators?height=h (the set that had to sign it, to weigh the signatures) and, for a block
// of at most RECEIPTS_FETCH_MAX transactions, GET /v1/blocks/{h}/receipts.

import { getJSON, statusOnce, subscribe } from "../api.js";
import {
  append, badge, blockLink, card, clear, empty, errorBox, fmtAgo, fmtInt, fmtTime, h, ident, kv, nodeLabel, nodeNames,
  pageTitle, short, statusBadge, table, txLink,
} from "../ui.js";
import { blockCheckItems, checksPanel, eventSummary, validatorsFor } from "./checks.js";

const PAGE_BLOCKS = 20;
const RECEIPTS_FETCH_MAX = 2000;
const TX_ROWS_STEP = 100;

export function parseHeight(text) {
  const clean = String(text).replace(/[\s,_.]/g, "");
  if (!/^\d{1,18}$/.test(clean)) return null;
  return Number(clean);
}

// One row of a block header (GET /v1/blocks: `txs` is a count).
function blockRow(b, names) {
  return [
    blockLink(b.height),
    h("a", { href: `/blocks/${b.height}`, class: "mono", title: b.hash }, short(b.hash, 10, 6)),
    h("span", { title: fmtTime(b.time_ms), "data-ago": b.time_ms }, fmtAgo(b.time_ms)),
    fmtInt(b.txs),
    nodeLabel(b.proposer, names),
    b.certificate ? fmtInt(b.certificate.signatures.length) : h("span", { class: "muted" }, "none yet"),
  ];
}

const LIST_COLUMNS = [
  { label: "Height" }, { label: "Hash", class: "opt" }, { label: "Time" }, { label: "Txs", class: "num" },
  { label: "Proposer", class: "opt" }, { label: "Signatures", class: "num opt" },
];

export async function renderBlocks(main, _params, query) {
  const status = await statusOnce();
  const names = nodeNames(status);
  const latest = status.height;
  const asked = query.get("before");
  let start = latest;
  if (asked !== null && asked !== "") {
    const parsed = parseHeight(asked);
    if (parsed === null) throw new Error(`“${asked}” is not a block height: a height is a whole number, the first block is 1.`);
    start = Math.min(Math.max(parsed, 1), latest);
  }
  main.append(pageTitle("Blocks"));
  if (latest < 1) {
    main.append(empty("No blocks yet.", "The validators have not committed a block; this page fills in as they do."));
    return;
  }
  let blocks = (await getJSON(`/v1/blocks?before=${start + 1}&limit=${PAGE_BLOCKS}`)).blocks;
  const body = h("div");
  const pager = h("nav", { class: "pager", "aria-label": "Pages of blocks" });
  const listCard = card("Blocks", body, pager);
  const title = listCard.querySelector("h2");
  // Drawn again when the newest page takes a new block: the oldest one leaves this page, and the
  // "Older" link moves with it, so no block falls between two pages.
  const draw = () => {
    const newest = blocks[0].height;
    const oldest = blocks.at(-1).height;
    title.textContent = `Blocks ${fmtInt(oldest)} to ${fmtInt(newest)}`;
    clear(body).append(table(
      LIST_COLUMNS,
      blocks.map((b) => blockRow(b, names)),
      { caption: "Blocks, newest first" },
    ));
    clear(pager).append(
      start < latest ? h("a", { href: start + PAGE_BLOCKS >= latest ? "/blocks" : `/blocks?before=${start + PAGE_BLOCKS}`, rel: "prev" }, "← Newer") : h("span", { class: "muted" }, "Newest"),
      h("span", { class: "muted" }, `${fmtInt(oldest)} – ${fmtInt(newest)}`),
      oldest > 1 ? h("a", { href: `/blocks?before=${oldest - 1}`, rel: "next" }, "Older →") : h("span", { class: "muted" }, "First block"));
  };
  draw();
  const jump = h("form", { class: "inline-form", action: "/blocks", method: "get" },
    h("label", { for: "before" }, "Go to height"),
    h("input", { id: "before", name: "before", type: "number", min: 1, max: latest, inputmode: "numeric", required: true }),
    h("button", { type: "submit" }, "Go"));
  main.append(listCard, jump);

  if (start === latest) {
    // The newest page follows the chain: each committed block's header is fetched once and put on top.
    subscribe(latest + 1, async (message) => {
      try {
        const [block] = (await getJSON(`/v1/blocks?before=${message.height + 1}&limit=1`)).blocks;
        blocks = [block, ...blocks.filter((b) => b.height !== block.height)].sort((a, b) => b.height - a.height).slice(0, PAGE_BLOCKS);
        draw();
      } catch {
        // the next block tries again
      }
    });
  }
  setInterval(() => {
    for (const el of document.querySelectorAll("[data-ago]")) el.textContent = fmtAgo(Number(el.dataset.ago));
  }, 1000);
}

export async function renderBlock(main, [param]) {
  const height = parseHeight(param);
  if (height === null || height < 1) {
    throw new Error(`“${param}” is not a block height: a height is a whole number, the first block is 1.`);
  }
  const [block, status, set] = await Promise.all([getJSON(`/v1/blocks/${height}`), statusOnce(), validatorsFor(height, statusOnce())]);
  const names = nodeNames(status);
  for (const v of set.validators) if (v.name && !names.has(v.node_id)) names.set(v.node_id, v.name);
  const nav = h("nav", { class: "pager compact", "aria-label": "Neighbouring blocks" },
    height > 1 ? h("a", { href: `/blocks/${height - 1}`, rel: "prev" }, `← ${fmtInt(height - 1)}`) : null,
    height < status.height ? h("a", { href: `/blocks/${height + 1}`, rel: "next" }, `${fmtInt(height + 1)} →`) : null);
  main.append(pageTitle(`Block ${fmtInt(height)}`, nav));

  const checksBox = h("div", {}, h("p", { class: "muted" }, "Checking…"));
  main.append(card("Checked in your browser", checksBox));

  main.append(card("Header", kv([
    ["Height", fmtInt(block.height)],
    ["Hash", ident(block.hash, { what: "block hash" })],
    ["Time", h("span", {}, fmtTime(block.time_ms), h("span", { class: "hint" }, ` ${fmtAgo(block.time_ms)}`))],
    ["Chain id", block.chain_id],
    ["Proposer", nodeLabel(block.proposer, names)],
    ["Previous block", block.prev_block_hash ? ident(block.prev_block_hash, { href: `/blocks/${height - 1}`, what: "previous block hash" }) : h("span", { class: "muted" }, "none: this is the first block")],
    ["Transactions root", ident(block.tx_root, { what: "transactions root" })],
    ["App hash", ident(block.app_hash, { what: "app hash" }), " the state after the previous block"],
    ["Results hash", ident(block.last_results_hash, { what: "results hash" }), " the receipts of the previous block"],
    ["Validators hash", ident(block.validators_hash, { what: "validators hash" })],
    ["Last commit hash", block.last_commit_hash ? ident(block.last_commit_hash, { what: "last commit hash" }) : h("span", { class: "muted" }, "none: the first block has no previous commit")],
  ])));

  const txBox = h("div");
  main.append(card(`Transactions (${fmtInt(block.txs.length)})`, txBox));
  const certBox = h("div");
  main.append(card("Commit certificate", certBox));

  // Transactions: with their receipts when the block is small enough to ask for them all at once.
  if (block.txs.length === 0) {
    txBox.append(empty("This block carries no transactions.", "Validators commit empty blocks to keep time moving and to record the previous block's results."));
  } else {
    let receipts = null;
    let receiptsNote = null;
    if (block.txs.length <= RECEIPTS_FETCH_MAX) {
      try {
        receipts = await getJSON(`/v1/blocks/${height}/receipts`);
      } catch (error) {
        receiptsNote = errorBox(error);
      }
    } else {
      receiptsNote = h("p", { class: "hint" }, `This block holds more than ${fmtInt(RECEIPTS_FETCH_MAX)} transactions, so their receipts are not loaded here; open a transaction for its own.`);
    }
    let shown = 0;
    const rowsBox = h("div");
    const more = h("button", { type: "button", class: "secondary" });
    const drawRows = () => {
      shown = Math.min(block.txs.length, shown + TX_ROWS_STEP);
      const rows = block.txs.slice(0, shown).map((hash, i) => {
        const r = receipts ? receipts[i] : null;
        return [
          fmtInt(i + 1), txLink(hash),
          r ? statusBadge(r.status) : "—",
          r ? fmtInt(r.gas_used) : "—",
          r ? (r.events.length ? r.events.slice(0, 2).map((e) => h("div", {}, eventSummary(e))) : h("span", { class: "muted" }, r.error || "no events")) : "",
        ];
      });
      clear(rowsBox).append(table([{ label: "#", class: "num" }, { label: "Transaction" }, { label: "Status" }, { label: "Gas", class: "num opt" }, { label: "What happened" }], rows));
      more.hidden = shown >= block.txs.length;
      more.textContent = `Show ${fmtInt(Math.min(TX_ROWS_STEP, block.txs.length - shown))} more of ${fmtInt(block.txs.length - shown)}`;
    };
    more.addEventListener("click", drawRows);
    drawRows();
    append(txBox, [receiptsNote, rowsBox, more]);
  }

  const { items, result } = await blockCheckItems(block, status, set);
  clear(checksBox).append(checksPanel(items));
  if (!block.certificate) {
    certBox.append(empty("No certificate yet.", "A block's certificate is the set of validator signatures that committed it; this node has not stored one for this block."));
  } else {
    const marks = { true: badge("valid", "good"), false: badge("invalid", "bad"), null: badge("not checked", "neutral") };
    certBox.append(
      kv([["Round", fmtInt(block.certificate.round)], ["Signatures", fmtInt(block.certificate.signatures.length)]]),
      table([{ label: "Validator" }, { label: "Signature", class: "opt" }, { label: "Check" }, { label: "Power", class: "num" }],
        result.signers.map((s) => [nodeLabel(s.node_id, names), h("span", { class: "mono", title: s.signature }, short(s.signature, 12, 8)), marks[String(s.valid)].cloneNode(true), result.setMatches ? fmtInt(s.power) : h("span", { class: "muted" }, "—")])),
    );
  }
}
