// Passes: the schemes (what each entitles its holder to, who issues it, how much exists against its
// cap, who holds it and how it may circulate), and one scheme's page: its declared rights with their
// hash checked in the page, every rule, the supply broken down, holders and history a page at a time,
// and the gateway's reconciliation for a settlement scheme.
//
// API calls. List: one GET /v1/passes?start=&limit=PAGE. Scheme: GET /v1/passes/{symbol}, one page
// of GET /v1/passes/{symbol}/holders and one of GET /v1/passes/{symbol}/history (the API reads back
// over at most 1,000 blocks and 200 events a page, never the whole chain), and for a settlement
// scheme GET /v1/passes/{symbol}/report (its CSV is a link, fetched only when followed).

import { getJSON } from "../api.js";
import {
  addressLink, badge, blockLink, card, check, empty, errorBox, fmtInt, fmtPercent, fmtTime, fmtUnits,
  h, ident, kv, pageTitle, pager, table, tile, txLink,
} from "../ui.js";
import { rightsHash } from "../verify.js";
import { schemeActions } from "./console.js";

const PAGE = 50;
const HOLDERS_PAGE = 20;

export function parseSymbol(text) {
  const clean = String(text || "").trim().toUpperCase();
  return /^[A-Z][A-Z0-9]{0,15}$/.test(clean) ? clean : null;
}

function parseStart(text) {
  return /^\d{1,12}$/.test(text || "") ? Number(text) : 0;
}

function supplyBar(supply, cap) {
  if (!cap) return null;
  const share = Math.min(1, supply / cap);
  return h("div", { class: "meter", role: "img", "aria-label": `${fmtPercent(share)} of the cap` }, h("span", { style: { width: `${100 * share}%` } }));
}

export function circulationText(rules) {
  const moves = { free: "moves freely between eligible holders", closed: "moves only between eligible holders, as the issuer allows", none: "cannot be moved once held" }[rules.circulation] || rules.circulation;
  const who = rules.eligibility === "any" ? "anyone" : rules.eligibility === "members" ? "accounts of member organisations" : rules.eligibility === "allow-list" ? "accounts on the issuer's allow-list" : rules.eligibility.startsWith("role:") ? `accounts with the role ${rules.eligibility.slice(5)}` : rules.eligibility;
  return `Held by ${who}; it ${moves}.`;
}

function expiryText(rules) {
  if (rules.expiry === "lot") return `Each minted lot expires ${fmtInt(rules.lot_days)} days after it was minted.`;
  if (rules.expiry === "fixed") return `Every unit expires at ${fmtTime(rules.expires_at_ms)}.`;
  return "Units never expire.";
}

function schemeState(rules) {
  return h("span", { class: "badges" },
    rules.paused ? badge("paused", "bad") : badge("active", "good"),
    rules.settlement ? badge("settlement", "info") : null);
}

export async function renderPasses(main, _params, query) {
  const start = parseStart(query.get("start"));
  const answer = await getJSON(`/v1/passes?start=${start}&limit=${PAGE}`);
  const schemes = answer.value;
  main.append(pageTitle("Passes", h("span", { class: "muted" }, "read at height ", blockLink(answer.height))));
  main.append(h("p", { class: "lead" }, "Token schemes members issue: each declares what a unit entitles its holder to, who may hold it and how it circulates."));
  const rows = schemes.map(({ scheme, rules, supply, holders }) => [
    h("a", { href: `/passes/${scheme.symbol}`, class: "strong" }, scheme.symbol),
    h("div", {}, h("div", {}, scheme.name), h("div", { class: "hint" }, `${scheme.kind}${scheme.decimals ? `, ${scheme.decimals} decimals` : ""}`)),
    scheme.issuer_org || h("span", { class: "muted" }, "none"),
    h("div", { class: "supply" }, h("div", {}, fmtUnits(supply.supply, scheme.decimals), rules.cap ? h("span", { class: "hint" }, ` of ${fmtUnits(rules.cap, scheme.decimals)}`) : h("span", { class: "hint" }, " no cap")), supplyBar(supply.supply, rules.cap)),
    fmtInt(holders),
    h("div", {}, h("div", {}, rules.circulation), h("div", { class: "hint" }, rules.eligibility)),
    schemeState(rules),
  ]);
  main.append(card(`Schemes (${fmtInt(schemes.length)}${schemes.length === PAGE ? "+" : ""})`,
    table([{ label: "Symbol" }, { label: "Name" }, { label: "Issuer" }, { label: "Supply", class: "num" }, { label: "Holders", class: "num" }, { label: "Circulation", class: "opt" }, { label: "State" }], rows,
      { empty: empty("No pass schemes yet.", "An account with the issuer role of a member organisation declares one (alliance pass create, or the console)."), caption: "Pass schemes" }),
    start > 0 || schemes.length === PAGE
      ? pager("Pages of schemes", start > 0 ? `/passes?start=${Math.max(0, start - PAGE)}` : null, schemes.length === PAGE ? `/passes?start=${start + PAGE}` : null, `${fmtInt(start + 1)} – ${fmtInt(start + schemes.length)}`, { newest: "First", oldest: "Last" })
      : null));
}

async function rightsCard(scheme) {
  const computed = await rightsHash(scheme.rights);
  const ok = computed === scheme.rights_hash;
  return card("Declared rights",
    h("blockquote", { class: "rights" }, scheme.rights),
    kv([["Rights hash", ident(scheme.rights_hash, { what: "rights hash" })]]),
    h("ul", { class: "checks" }, check(ok, "Rights hash.", ok
      ? "Recomputed in your browser: the SHA-256 of the text above is the hash the ledger records."
      : "The SHA-256 of the text above differs from the hash the ledger records: do not rely on this text.")));
}

function rulesCard(scheme, rules) {
  return card("Rules", kv([
    ["Kind", rules.kind === "unique" ? "unique items (each unit is one identified item)" : `fungible${scheme.decimals ? `, ${scheme.decimals} decimal places` : ""}`],
    ["Issuer", h("span", {}, `${rules.issuer_org} `, addressLink(rules.issuer, { shortForm: true }))],
    ["Minted by", rules.settlement ? "the gateway, against deposits only" : rules.minter_role ? `accounts with the role ${rules.minter_role}` : `the issuers of ${rules.issuer_org}`],
    ["Cap", rules.cap ? fmtUnits(rules.cap, scheme.decimals) : "none"],
    ["Eligibility", h("code", {}, rules.eligibility)],
    ["Circulation", h("span", {}, h("code", {}, rules.circulation), " ", circulationText(rules))],
    ["Redemption", rules.redeemer_role ? `at accounts with the role ${rules.redeemer_role}; redeemed units are ${rules.redeem_burns ? "burned" : "moved to the redeemer"}` : "none"],
    ["Expiry", expiryText(rules)],
    ["State", h("span", {}, schemeState(rules), rules.paused ? " nothing moves until it is resumed" : "")],
    ["Declared at", blockLink(scheme.created_height)],
  ]));
}

function supplyCard(scheme, rules, supply, holders) {
  const u = (n) => fmtUnits(n, scheme.decimals);
  return card("Supply", h("div", { class: "tiles tiles-inline" },
    tile("In existence", u(supply.supply), rules.cap ? `of a cap of ${u(rules.cap)}` : "no cap"),
    tile("Holders", fmtInt(holders)),
    tile("Minted", u(supply.minted)),
    tile("Redeemed", u(supply.redeemed)),
    tile("Burned", u(supply.burned)),
    tile("Expired, swept", u(supply.swept)),
    rules.settlement ? tile("Locked", u(supply.locked), "pending withdrawals") : null),
  supplyBar(supply.supply, rules.cap),
  h("p", { class: "hint" }, "In existence = minted − redeemed (when burned) − burned − swept; it includes expired units not yet swept and units locked by pending withdrawals."));
}

function holdersCard(symbol, scheme, page, start) {
  const rows = page.map((holder) => [
    addressLink(holder.account, { shortForm: true }),
    fmtUnits(holder.balance, scheme.decimals),
    holder.expired ? fmtUnits(holder.expired, scheme.decimals) : h("span", { class: "muted" }, "0"),
    holder.locked ? fmtUnits(holder.locked, scheme.decimals) : h("span", { class: "muted" }, "0"),
    scheme.kind === "unique" ? fmtInt(holder.items) : null,
    holder.frozen ? badge("frozen", "bad") : badge("may move", "good"),
  ].filter((cell) => cell !== null));
  const columns = [{ label: "Holder" }, { label: "Balance", class: "num" }, { label: "Expired", class: "num opt" }, { label: "Locked", class: "num opt" }];
  if (scheme.kind === "unique") columns.push({ label: "Items", class: "num" });
  columns.push({ label: "State" });
  const base = `/passes/${symbol}`;
  return card("Holders",
    table(columns, rows, { empty: empty(start ? "No more holders." : "Nobody holds it yet.", start ? null : "Units appear here once they are minted.") }),
    start > 0 || page.length === HOLDERS_PAGE
      ? pager("Pages of holders", start > 0 ? `${base}?holders=${Math.max(0, start - HOLDERS_PAGE)}` : null, page.length === HOLDERS_PAGE ? `${base}?holders=${start + HOLDERS_PAGE}` : null, `${fmtInt(start + 1)} – ${fmtInt(start + page.length)}`, { newest: "First", oldest: "Last" })
      : null);
}

// One line for a passes event (its decoded fields, alliance/abi/passes.py EVENTS).
export function passEventText(name, f, decimals = 0) {
  const who = (address) => (address ? addressLink(address, { shortForm: true, copy: false }) : h("span", { class: "muted" }, "nobody"));
  const n = (amount) => fmtUnits(amount, decimals);
  const what = (fields) => (fields.item ? `item ${fields.item}` : n(fields.amount));
  switch (name) {
    case "created": return h("span", {}, "Declared by ", f.issuer_org, " (", who(f.issuer), ")");
    case "minted": return h("span", {}, `Minted ${what(f)} to `, who(f.to), f.memo ? h("span", { class: "hint" }, ` (${f.memo})`) : null);
    case "transferred": return h("span", {}, `Moved ${what(f)} from `, who(f.sender), " to ", who(f.to));
    case "burned": return h("span", {}, `Burned ${what(f)} of `, who(f.sender));
    case "swept": return h("span", {}, `Swept ${what(f)} expired from `, who(f.sender));
    case "redeemed": return h("span", {}, `${who(f.holder)} redeemed ${what(f)} at `, who(f.redeemer), f.burned ? " (burned)" : " (moved)");
    case "frozen": return h("span", {}, "Froze holder ", who(f.account));
    case "unfrozen": return h("span", {}, "Unfroze holder ", who(f.account));
    case "allowed": return h("span", {}, "Allowed ", who(f.account));
    case "disallowed": return h("span", {}, "Disallowed ", who(f.account));
    case "paused": return h("span", {}, "Paused by ", who(f.by));
    case "resumed": return h("span", {}, "Resumed by ", who(f.by));
    case "approved": return h("span", {}, who(f.holder), ` let `, who(f.spender), ` move up to ${n(f.amount)}`);
    case "deposited": return h("span", {}, `Deposit #${fmtInt(f.seq)}: ${n(f.amount)} to `, who(f.to), h("span", { class: "hint" }, ` (${f.reference})`));
    case "withdrawal": return h("span", {}, `Withdrawal #${fmtInt(f.id)} of ${n(f.amount)} by `, who(f.holder), `: ${f.status}`);
    default: return h("code", {}, name);
  }
}

function historyCard(symbol, scheme, history, asked) {
  const base = `/passes/${symbol}`;
  const rows = history.events.map((e) => [blockLink(e.height), h("code", {}, e.name), e.fields ? passEventText(e.name, e.fields, scheme.decimals) : h("span", { class: "muted" }, "not decoded"), txLink(e.tx_hash)]);
  const span = `heights ${fmtInt(history.next_before || 1)} to ${fmtInt(history.from_height)}`;
  return card("History",
    h("p", { class: "hint" }, `Newest first, read back over ${span}.`),
    table([{ label: "Block" }, { label: "Event" }, { label: "What happened" }, { label: "Transaction", class: "opt" }], rows,
      { empty: empty("No events in these blocks.", history.next_before ? "Older blocks may hold some: look further back." : "Nothing has happened to this scheme since it was declared.") }),
    pager("Pages of history", asked ? base : null, history.next_before ? `${base}?history=${history.next_before}` : null, null, { oldest: "Reached the first block" }));
}

function reportCard(symbol, decimals, report) {
  const value = report.value;
  const u = (n) => fmtUnits(n, decimals);
  return card("Gateway reconciliation",
    h("ul", { class: "checks" }, check(value.balanced, "Balanced.", value.balanced
      ? "Supply equals deposits minus confirmed withdrawals: every unit in existence is backed by money the gateway received."
      : "Supply differs from deposits minus confirmed withdrawals: the gateway's books do not match the ledger.")),
    kv([
      ["Supply", u(value.supply)],
      ["Deposits", h("span", {}, u(value.deposits), h("span", { class: "hint" }, ` in ${fmtInt(value.deposits_count)} deposits`))],
      ["Withdrawals paid out", h("span", {}, u(value.withdrawals_confirmed), h("span", { class: "hint" }, ` of ${fmtInt(value.withdrawals_count)} requested`))],
      ["Locked", h("span", {}, u(value.locked), h("span", { class: "hint" }, " by pending withdrawals"))],
      ["Read at", blockLink(report.height)],
    ]),
    h("p", {}, h("a", { href: `/v1/passes/${symbol}/report?format=csv`, download: `${symbol}-reconciliation.csv` }, "Download every deposit and withdrawal as CSV"), h("span", { class: "hint" }, " (one line each, as a bank matches them against its statement).")));
}

export async function renderScheme(main, [param], query, ctx) {
  const symbol = parseSymbol(param);
  if (!symbol) throw new Error(`“${param}” is not a pass symbol: one is a capital letter and up to 15 more capitals or digits.`);
  const holdersStart = parseStart(query.get("holders"));
  const historyBefore = /^\d{1,18}$/.test(query.get("history") || "") ? Number(query.get("history")) : null;
  const [answer, holders, history] = await Promise.all([
    getJSON(`/v1/passes/${symbol}`),
    getJSON(`/v1/passes/${symbol}/holders?start=${holdersStart}&limit=${HOLDERS_PAGE}`),
    getJSON(`/v1/passes/${symbol}/history${historyBefore ? `?before=${historyBefore}` : ""}`),
  ]);
  const { scheme, rules, supply } = answer.value;
  main.append(pageTitle(`${scheme.symbol} · ${scheme.name}`, schemeState(rules)));
  main.append(h("p", { class: "lead" }, `Issued by ${scheme.issuer_org}. ${circulationText(rules)} ${expiryText(rules)}`));
  if (ctx.console) main.append(schemeActions(scheme, rules));
  main.append(await rightsCard(scheme));
  main.append(h("div", { class: "columns" }, supplyCard(scheme, rules, supply, answer.value.holders), rulesCard(scheme, rules)));
  if (rules.settlement) {
    try {
      main.append(reportCard(symbol, scheme.decimals, await getJSON(`/v1/passes/${symbol}/report`)));
    } catch (error) {
      main.append(card("Gateway reconciliation", errorBox(error)));
    }
  }
  main.append(holdersCard(symbol, scheme, holders.value, holdersStart));
  main.append(historyCard(symbol, scheme, history, historyBefore));
}

// The account page's passes: every holding, with its lots and their expiry; amounts in each scheme's
// units where `decimals` (symbol -> decimal places) knows the scheme.
export function holdingsTable(holdings, decimals = new Map()) {
  const u = (symbol, n) => fmtUnits(n, decimals.get(symbol) || 0);
  return table(
    [{ label: "Pass" }, { label: "Balance", class: "num" }, { label: "Lots and expiry" }, { label: "Locked", class: "num opt" }, { label: "State" }],
    holdings.map((holding) => [
      h("a", { href: `/passes/${holding.symbol}`, class: "strong" }, holding.symbol),
      h("div", {}, u(holding.symbol, holding.balance), holding.expired ? h("div", { class: "hint bad-text" }, `${u(holding.symbol, holding.expired)} expired`) : null, holding.items ? h("div", { class: "hint" }, `${fmtInt(holding.items)} item(s)`) : null),
      holding.lots.length
        ? h("ul", { class: "plain lots" }, holding.lots.map((lot) => h("li", {}, u(holding.symbol, lot.amount), " ",
          lot.expires_at_ms === null ? h("span", { class: "hint" }, "never expires") : lot.expired ? badge(`expired ${fmtTime(lot.expires_at_ms)}`, "bad") : h("span", { class: "hint" }, `until ${fmtTime(lot.expires_at_ms)}`))))
        : h("span", { class: "muted" }, holding.items ? "items" : "none"),
      holding.locked ? u(holding.symbol, holding.locked) : h("span", { class: "muted" }, "0"),
      holding.frozen ? badge("frozen", "bad") : badge("may move", "good"),
    ]),
    { stack: true, empty: empty("Holds no passes.", "Passes minted to this account, or moved to it, appear here with their lots and expiry.") },
  );
}
