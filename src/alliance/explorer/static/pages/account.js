// The page of one account: balance, organisation, roles, whether it is frozen; the passes it holds
// with their lots and expiry; its recent transactions, a page at a time.
//
// API calls: GET /v1/accounts/{address}, GET /v1/accounts/{address}/passes (its first PASSES_PAGE
// holdings), GET /v1/passes?limit=SCHEMES_PAGE when it holds any (the schemes' decimal places, to
// show amounts in their units) and GET /v1/accounts/{address}/txs (TXS_PAGE transactions from the node's account
// index: one cursor walk, whatever the chain's length; ?before=H&index=I pages back).

import { getJSON } from "../api.js";
import {
  addressLink, badge, blockLink, card, empty, errorBox, fmtInt, h, ident, kv, pageTitle, pager, statusBadge, table, tile,
  txLink,
} from "../ui.js";
import { holdingsTable } from "./passes.js";

const PASSES_PAGE = 100;
const SCHEMES_PAGE = 500;
const TXS_PAGE = 20;

export function parseAddress(text) {
  const clean = String(text).trim();
  const hex = clean.replace(/^0x/i, "");
  return /^[0-9a-fA-F]{40}$/.test(hex) ? `0x${hex}` : null;
}

function cursorOf(query) {
  const before = query.get("before");
  const index = query.get("index");
  if (!/^\d{1,18}$/.test(before || "")) return null;
  return { before: Number(before), index: /^\d{1,10}$/.test(index || "") ? Number(index) : 0 };
}

function txsCard(address, page, cursor) {
  const rows = page.txs.map((t) => [
    txLink(t.hash),
    blockLink(t.height),
    h("code", {}, `${t.target}.${t.method}`),
    t.sent ? badge("signed", "info") : badge("named", "neutral"),
    statusBadge(t.status),
  ]);
  const older = page.next_before !== null ? `/accounts/${address}?before=${page.next_before}&index=${page.next_before_index}` : null;
  return card("Recent transactions",
    h("p", { class: "hint" }, "Newest first: the transactions it signed, and those whose events name it (a transfer it received, a pass minted to it…). ",
      `This node has indexed every transaction up to height ${fmtInt(page.indexed_height)}.`),
    table([{ label: "Transaction" }, { label: "Block" }, { label: "Call" }, { label: "Role", class: "opt" }, { label: "Status" }], rows,
      { empty: cursor ? empty("No older transactions.", null) : empty("No transactions yet.", "Nothing this node has indexed was signed by this account or names it.") }),
    cursor || older ? pager("Pages of transactions", cursor ? `/accounts/${address}` : null, older, null, { oldest: "First transaction" }) : null);
}

export async function renderAccount(main, [param], query) {
  const address = parseAddress(param);
  if (!address) throw new Error(`“${param}” is not an address: one is 0x followed by 40 hex digits.`);
  const cursor = cursorOf(query);
  const txsPath = `/v1/accounts/${address}/txs?limit=${TXS_PAGE}${cursor ? `&before=${cursor.before}&before_index=${cursor.index}` : ""}`;
  const [account, holdings, txs] = await Promise.all([
    getJSON(`/v1/accounts/${address}`),
    getJSON(`/v1/accounts/${address}/passes?limit=${PASSES_PAGE}`).catch((error) => ({ error })),
    getJSON(txsPath).catch((error) => ({ error })),
  ]);
  // Only when it holds something: the schemes' decimal places, to show amounts in their units.
  const schemes = holdings.value && holdings.value.length ? await getJSON(`/v1/passes?limit=${SCHEMES_PAGE}`).catch(() => ({ value: [] })) : { value: [] };
  const decimals = new Map(schemes.value.map((v) => [v.scheme.symbol, v.scheme.decimals]));
  // The address bar shows the address as the API checksums it (a search may have typed it in lower case).
  const canonical = `/accounts/${account.address}${location.search}`;
  if (`${location.pathname}${location.search}` !== canonical) history.replaceState(null, "", canonical);
  const frozen = account.frozen;
  main.append(pageTitle("Account", frozen ? badge("frozen", "bad") : badge("active", "good")));
  main.append(h("p", { class: "lead" }, ident(account.address, { what: "address" })));
  const held = holdings.error ? null : holdings.value;
  main.append(h("div", { class: "tiles" },
    tile("Balance", h("span", { id: "account-balance" }, fmtInt(account.balance)), `at height ${fmtInt(account.height)}`),
    tile("Organisation", account.org || h("span", { class: "muted" }, "none"), account.org ? "named by governance" : "governance has not named one"),
    tile("Roles", account.roles.length ? h("span", { class: "badges" }, account.roles.map((r) => badge(r, "info"))) : h("span", { class: "muted" }, "none"), account.roles.length ? null : "it may call what is open to every account"),
    tile("Passes", held ? fmtInt(held.length) : "—", held && held.length ? "schemes it holds" : "none held"),
    tile("State", frozen ? h("span", { class: "bad-text" }, "Frozen") : "Active", frozen ? `since height ${fmtInt(frozen.height)}` : "it may send and receive")));
  if (frozen) {
    main.append(card("Frozen", kv([
      ["Reason", frozen.reason],
      ["Frozen by", addressLink(frozen.by)],
      ["At height", blockLink(frozen.height)],
      ["What it means", "It can neither send nor receive until the committee unfreezes it (a governance proposal)."],
    ])));
  }
  main.append(card("Passes", held ? holdingsTable(held, decimals) : errorBox(holdings.error),
    held && held.length === PASSES_PAGE ? h("p", { class: "hint" }, `The first ${fmtInt(PASSES_PAGE)} schemes it holds.`) : null));
  main.append(txs.error ? card("Recent transactions", errorBox(txs.error)) : txsCard(account.address, txs, cursor));
}
