// Search: a height, a transaction or block hash, an address or a proposal id, resolved with at most
// two requests and never by scanning the chain.
//
// A plain number is a height (with a link in case a proposal was meant); "#3", "p3" or "proposal 3" is
// a proposal; 0x and 40 hex digits an address; 64 hex digits a transaction hash, or else a block
// hash, which the API cannot look up yet: the page compares it with the latest block only and says
// so. The page found is rendered in place and its own URL replaces /search?q=... in the address bar.

import { ApiError, getJSON } from "../api.js";
import { card, h, pageTitle } from "../ui.js";
import { parseAddress } from "./account.js";
import { parseHeight } from "./blocks.js";
import { parseProposalId } from "./governance.js";
import { parseTxHash } from "./tx.js";

export const BLOCK_BY_HASH_ROUTE = "/v1/blocks/by-hash/{hash}";

// What the text names: {kind, value} or null.
export function classify(text) {
  const q = String(text || "").trim();
  let match;
  if ((match = /^(?:#|p|proposal\s*#?\s*)(\d[\d,]*)$/i.exec(q))) return { kind: "proposal", value: parseProposalId(match[1].replace(/,/g, "")) };
  if ((match = /^(?:block|height)\s*#?\s*(\d[\d,]*)$/i.exec(q))) return { kind: "height", value: parseHeight(match[1]) };
  if (parseHeight(q) !== null) return { kind: "height", value: parseHeight(q) };
  if (parseAddress(q)) return { kind: "address", value: parseAddress(q) };
  if (parseTxHash(q)) return { kind: "hash", value: parseTxHash(q) };
  return null;
}

function help(main, q) {
  main.append(pageTitle("Search"), card("Nothing to look up",
    h("p", {}, q ? `“${q}” is not something the explorer can look up.` : "Type something to look up."),
    h("ul", {},
      h("li", {}, "a block height: ", h("code", {}, "42")),
      h("li", {}, "a transaction hash or block hash: 64 hex digits"),
      h("li", {}, "an account address: ", h("code", {}, "0x"), " and 40 hex digits"),
      h("li", {}, "a proposal: ", h("code", {}, "#3"), " or ", h("code", {}, "proposal 3")))));
}

async function go(path, main, ctx) {
  history.replaceState(null, "", path);
  const url = new URL(path, location.origin);
  await ctx.renderPath(main, url.pathname, url.searchParams);
}

export async function renderSearch(main, _params, query, ctx) {
  const q = (query.get("q") || "").trim();
  const found = classify(q);
  if (!found || found.value === null) {
    help(main, q);
    return;
  }
  if (found.kind === "proposal") return go(`/proposals/${found.value}`, main, ctx);
  if (found.kind === "address") return go(`/accounts/${found.value}`, main, ctx);
  if (found.kind === "height") {
    await go(`/blocks/${found.value}`, main, ctx);
    main.append(h("p", { class: "hint" }, "Looking for a proposal instead? ", h("a", { href: `/proposals/${found.value}` }, `Proposal #${found.value}`), "."));
    return;
  }
  // 64 hex digits: a transaction, else perhaps a block.
  try {
    await getJSON(`/v1/txs/${found.value}`);
    return go(`/txs/${found.value}`, main, ctx);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  const latest = await getJSON("/v1/blocks/latest").catch(() => null);
  if (latest && latest.hash === found.value) return go(`/blocks/${latest.height}`, main, ctx);
  main.append(pageTitle("Search"), card("Not found",
    h("p", {}, "No transaction has this hash, on this node or in its mempool."),
    h("p", {}, `If it is a block hash: this node cannot look blocks up by hash yet (no route such as ${BLOCK_BY_HASH_ROUTE}), and the explorer does not scan the chain for it. It is not the latest block. Search the block by its height instead.`),
    h("p", { class: "mono wrap" }, found.value)));
}
