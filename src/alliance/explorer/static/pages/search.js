// Search: a height, a transaction or block hash, an address, a proposal id, a pass symbol or a
// contract name, resolved with at most three requests and never by scanning the chain.
//
// A plain number is a height (with a link in case a proposal was meant); "#3", "p3" or "proposal 3" is
// a proposal; 0x and 40 hex digits an address; 64 hex digits a transaction hash, or else a block hash
// (GET /v1/blocks/by-hash/{hash}: the store's index of every block). A word is a pass symbol when it
// is in capitals (GOLD), a contract name in lower case (token); either case is tried as the other
// when the first is not found; `goodness` (the Goodness contract) opens the Goodness page. The page
// found is rendered in place and its own URL replaces /search?q=... in the address bar.

import { ApiError, getJSON } from "../api.js";
import { card, h, pageTitle } from "../ui.js";
import { parseAddress } from "./account.js";
import { parseHeight } from "./blocks.js";
import { parseContractName } from "./contracts.js";
import { CONTRACT as GOODNESS } from "./goodness.js";
import { parseProposalId } from "./governance.js";
import { parseSymbol } from "./passes.js";
import { parseTxHash } from "./tx.js";

// What the text names: {kind, value} or null.
export function classify(text) {
  const q = String(text || "").trim();
  let match;
  if ((match = /^(?:#|p|proposal\s*#?\s*)(\d[\d,]*)$/i.exec(q))) return { kind: "proposal", value: parseProposalId(match[1].replace(/,/g, "")) };
  if ((match = /^(?:block|height)\s*#?\s*(\d[\d,]*)$/i.exec(q))) return { kind: "height", value: parseHeight(match[1]) };
  if (parseHeight(q) !== null) return { kind: "height", value: parseHeight(q) };
  if (parseAddress(q)) return { kind: "address", value: parseAddress(q) };
  if (parseTxHash(q)) return { kind: "hash", value: parseTxHash(q) };
  if (/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(q)) return { kind: "name", value: q };
  return null;
}

function help(main, q) {
  main.append(pageTitle("Search"), card("Nothing to look up",
    h("p", {}, q ? `“${q}” is not something the explorer can look up.` : "Type something to look up."),
    h("ul", {},
      h("li", {}, "a block height: ", h("code", {}, "42")),
      h("li", {}, "a transaction hash or block hash: 64 hex digits"),
      h("li", {}, "an account address: ", h("code", {}, "0x"), " and 40 hex digits"),
      h("li", {}, "a proposal: ", h("code", {}, "#3"), " or ", h("code", {}, "proposal 3")),
      h("li", {}, "a pass symbol: ", h("code", {}, "GOLD"), "; a contract name: ", h("code", {}, "token")))));
}

async function go(path, main, ctx) {
  history.replaceState(null, "", path);
  const url = new URL(path, location.origin);
  await ctx.renderPath(main, url.pathname, url.searchParams);
}

// True when GET `path` answers; false on 404; any other failure is thrown.
async function exists(path) {
  try {
    await getJSON(path);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}

async function byName(main, ctx, word) {
  const symbol = parseSymbol(word);
  const name = parseContractName(word.toLowerCase());
  const symbolFirst = word === word.toUpperCase();
  const tries = [];
  if (symbol) tries.push([`/v1/passes/${symbol}`, `/passes/${symbol}`]);
  // The Goodness contract's name finds the application's page (which links the contract's own).
  if (name) tries.push([`/v1/contracts/${name}`, name === GOODNESS ? "/goodness" : `/contracts/${name}`]);
  if (!symbolFirst) tries.reverse();
  for (const [api, page] of tries) {
    if (await exists(api)) return go(page, main, ctx);
  }
  main.append(pageTitle("Search"), card("Not found",
    h("p", {}, `No pass scheme has the symbol ${symbol || word.toUpperCase()}, and no contract is live under the name ${name || word.toLowerCase()}.`),
    h("p", {}, h("a", { href: "/passes" }, "All passes"), " · ", h("a", { href: "/contracts" }, "All contracts"))));
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
  if (found.kind === "name") return byName(main, ctx, found.value);
  if (found.kind === "height") {
    await go(`/blocks/${found.value}`, main, ctx);
    main.append(h("p", { class: "hint" }, "Looking for a proposal instead? ", h("a", { href: `/proposals/${found.value}` }, `Proposal #${found.value}`), "."));
    return;
  }
  // 64 hex digits: a transaction, else perhaps a block.
  if (await exists(`/v1/txs/${found.value}`)) return go(`/txs/${found.value}`, main, ctx);
  try {
    const block = await getJSON(`/v1/blocks/by-hash/${found.value}`);
    return go(`/blocks/${block.height}`, main, ctx);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  main.append(pageTitle("Search"), card("Not found",
    h("p", {}, "No transaction has this hash, on this node or in its mempool, and no committed block has it either."),
    h("p", { class: "mono wrap" }, found.value)));
}
