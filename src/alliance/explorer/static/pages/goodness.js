// Goodness: the reference application's figures (docs/decisions/016-goodness.md), read from the
// contract `goodness` like any client reads it: carbon avoided and points per clearing period, points
// issued, redeemed and expired, each distributor's, exchange's and sponsor pool's numbers, the
// clearing periods' statements and settlement, and the anomalies the contract recorded.
//
// Theory of operation. The application adds no route: every figure is a view of the contract, run by
// GET /v1/contracts/goodness/views/{method}?args=<hex of the canonical msgpack argument list>, the
// arguments encoded in the page (verify.js). The first view (`status`) fixes the height; every other
// view is read at that height, so the page is one consistent state even while blocks are committed.
// The points' supply (issued, redeemed, expired and swept) is the passes module's
// (GET /v1/passes/{symbol}). Requests are bounded: one page of PERIODS clearing periods (two views
// each: `totals(p)`, `period(p)`), one page of ANOMALIES anomalies, and the role lists (`pools`,
// `role_accounts`), which hold one row per account of a role (bounded by the view's gas).
// Refused duplicate trip reports leave no state; `alliance goodness supervise` finds them in receipts.

import { ApiError, getJSON, mapLimit } from "../api.js";
import {
  addressLink, badge, blockLink, card, clear, empty, fmtInt, fmtNum, fmtTime, fmtUnits, h, kv,
  pageTitle, pager, table, tile,
} from "../ui.js";
import { bytesToHex, encode } from "../verify.js";

export const CONTRACT = "goodness";
const PERIODS = 14;
const ANOMALIES = 20;
const IN_FLIGHT = 4;
const SVG = "http://www.w3.org/2000/svg";

function argsHex(args) {
  return bytesToHex(encode(args));
}

function viewPath(method, args, height) {
  const at = height === null ? "" : `&height=${height}`;
  return `/v1/contracts/${CONTRACT}/views/${method}?args=${argsHex(args)}${at}`;
}

async function view(method, args, height) {
  return (await getJSON(viewPath(method, args, height))).result;
}

function parseCount(text) {
  return /^\d{1,12}$/.test(text || "") ? Number(text) : null;
}

const kg = (grams) => `${fmtNum(grams / 1000)} kg`;

function svg(tag, attrs = {}, text = null) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== null) el.textContent = text;
  return el;
}

// Carbon avoided per period as bars, drawn at the container's own width (readable on a phone).
function carbonChart(container, rows) {
  clear(container);
  const width = Math.max(280, container.clientWidth || 600);
  const heightPx = 180;
  const pad = { top: 24, right: 12, bottom: 26, left: 56 };
  const innerW = width - pad.left - pad.right;
  const innerH = heightPx - pad.top - pad.bottom;
  const peak = Math.max(1, ...rows.map((r) => r.carbon_g));
  const total = rows.reduce((n, r) => n + r.carbon_g, 0);
  const summary = rows.length
    ? `Carbon avoided in periods ${rows[0].period} to ${rows.at(-1).period}: ${kg(total)} in all, at most ${kg(peak)} in a period.`
    : "No periods yet.";
  const root = svg("svg", { width, height: heightPx, viewBox: `0 0 ${width} ${heightPx}`, role: "img", "aria-label": summary });
  root.append(svg("title", {}, summary));
  for (const fraction of [0, 0.5, 1]) {
    const y = pad.top + innerH * (1 - fraction);
    root.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: fraction === 0 ? "axis" : "grid" }));
    root.append(svg("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, fmtNum((peak * fraction) / 1000)));
  }
  root.append(svg("text", { x: 4, y: 11, class: "tick" }, "kg CO2 avoided"));
  const slot = innerW / Math.max(1, rows.length);
  const barW = Math.max(4, Math.min(36, slot * 0.7));
  rows.forEach((r, i) => {
    const barH = (r.carbon_g / peak) * innerH;
    const x = pad.left + slot * i + (slot - barW) / 2;
    const bar = svg("rect", { x, y: pad.top + innerH - Math.max(barH, 2), width: barW, height: Math.max(barH, 2), rx: 2, class: r.carbon_g ? "bar" : "bar bar-empty" });
    bar.append(svg("title", {}, `Period ${r.period}: ${kg(r.carbon_g)} avoided, ${fmtInt(r.points)} points`));
    root.append(bar);
    root.append(svg("text", { x: x + barW / 2, y: heightPx - 8, "text-anchor": "middle", class: "tick" }, String(r.period)));
  });
  container.append(root);
}

function notDeployed(main) {
  main.append(pageTitle("Goodness"));
  main.append(h("section", { class: "card", "aria-labelledby": "card-no-goodness" },
    h("h2", { id: "card-no-goodness" }, "No Goodness contract on this alliance"),
    h("p", {}, `No contract is live under the name ${CONTRACT}, so there are no Goodness figures to show. `,
      "The committee deploys it by a deploy-contract vote; ", h("code", {}, "alliance demo goodness"), " does it on a local alliance and plays every role."),
    h("p", {}, h("a", { href: "/contracts" }, "All contracts"))));
}

function periodState(state) {
  const kinds = { open: "info", closed: "warn", stated: "warn", final: "good" };
  return badge(state, kinds[state] || "neutral");
}

function periodsCard(rows, first, last, current, good, cny) {
  const chart = h("div", { class: "chart", id: "goodness-chart" });
  const table_ = table(
    [{ label: "Period" }, { label: "State" }, { label: "Carbon avoided", class: "num" }, { label: "Points issued", class: "num" },
      { label: "Redeemed", class: "num" }, { label: "Value", class: "num opt" }, { label: "Statement", class: "opt" }, { label: "Settled", class: "opt" }],
    rows.slice().reverse().map((r) => [
      h("span", { class: "strong" }, fmtInt(r.period)),
      periodState(r.state),
      kg(r.carbon_g),
      fmtUnits(r.points, good.decimals),
      fmtUnits(r.points_redeemed, good.decimals),
      fmtUnits(r.value, cny.decimals),
      r.state === "stated" || r.state === "final"
        ? h("span", {}, `${fmtUnits(r.numbers.debits, cny.decimals)} owed by sponsors, ${fmtUnits(r.numbers.credits, cny.decimals)} to platforms `,
          r.numbers.balanced ? badge("balanced", "good") : badge("unbalanced", "bad"),
          h("span", { class: "hint" }, ` ${fmtInt(r.confirmed)} of ${fmtInt(r.parties)} parties confirmed`))
        : h("span", { class: "muted" }, r.state === "open" ? "open for trips" : "closed, not yet stated"),
      r.numbers.settled_height ? blockLink(r.numbers.settled_height) : h("span", { class: "muted" }, "no"),
    ]),
    { empty: empty("No periods yet."), caption: "Clearing periods" });
  const older = first > 1 ? `/goodness?before=${first}` : null;
  const newer = last < current ? `/goodness?before=${Math.min(current + 1, last + 1 + PERIODS)}` : null;
  const section = card("Clearing periods", chart,
    h("p", { class: "hint" }, "A period is a day of trips: the clearing bank closes it, states what each sponsor pool owes each platform, the parties confirm and it settles."),
    table_,
    pager("Pages of periods", newer, older, `periods ${fmtInt(first)} – ${fmtInt(last)}`, { newest: "Newest", oldest: "First" }));
  // Drawn once the card is in the page (it takes its width from the layout).
  queueMicrotask(() => carbonChart(chart, rows));
  return section;
}

function distributorsCard(rows, good) {
  return card("Distributors",
    table([{ label: "Distributor" }, { label: "Trips", class: "num" }, { label: "Carbon avoided", class: "num" }, { label: "Points", class: "num" }, { label: "State" }],
      rows.map(([account, n]) => [addressLink(account, { shortForm: true }), fmtInt(n.trips), kg(n.carbon_g), fmtUnits(n.points, good.decimals),
        n.suspended ? badge("suspended", "bad") : badge("reporting", "good")]),
      { empty: empty("No distributor has reported a trip yet."), caption: "Distributors" }));
}

function poolsCard(rows, cny) {
  const u = (n) => fmtUnits(n, cny.decimals);
  return card("Sponsor pools",
    table([{ label: "Sponsor" }, { label: "Funded", class: "num" }, { label: "Paid", class: "num" }, { label: "Owed", class: "num" }, { label: "Free", class: "num" }, { label: "State" }],
      rows.map(([sponsor, pool]) => [addressLink(sponsor, { shortForm: true }), u(pool.funded), u(pool.paid), u(pool.owed), u(pool.free),
        pool.low ? badge("near empty", "warn") : badge("funded", "good")]),
      { empty: empty("No sponsor has funded a pool yet."), caption: "Sponsor pools" }),
    h("p", { class: "hint" }, `In ${cny.symbol}. Free = funded − paid − owed: a redemption is refused unless its pool has its value free.`));
}

function platformsCard(rows, good, cny) {
  return card("Exchange platforms",
    table([{ label: "Platform" }, { label: "Redemptions", class: "num" }, { label: "Points redeemed", class: "num" }, { label: "Value", class: "num" }],
      rows.map(([account, n]) => [addressLink(account, { shortForm: true }), fmtInt(n.redemptions), fmtUnits(n.points, good.decimals), fmtUnits(n.value, cny.decimals)]),
      { empty: empty("No platform has redeemed points yet."), caption: "Exchange platforms" }));
}

function anomaliesCard(rows, end, total) {
  const start = Math.max(0, end - ANOMALIES);
  const newer = end < total ? `/goodness?anomalies=${Math.min(total, end + ANOMALIES)}#card-anomalies` : null;
  const older = start > 0 ? `/goodness?anomalies=${start}#card-anomalies` : null;
  return card("Anomalies",
    table([{ label: "#", class: "num" }, { label: "Kind" }, { label: "Account" }, { label: "Period", class: "num" }, { label: "Block" }, { label: "Detail", class: "opt" }],
      rows.slice().reverse().map(([index, kind, account, period, height, timeMs, detail]) => [
        fmtInt(index), badge(kind.replaceAll("_", " "), kind === "volume_spike" ? "bad" : "warn"), addressLink(account, { shortForm: true }),
        fmtInt(period), h("span", { title: fmtTime(timeMs) }, blockLink(height)), detail]),
      { empty: empty("No anomalies recorded.", "Over-limit trips, a distributor's volume spike and a pool near empty are recorded here as they happen."), caption: "Anomalies" }),
    total ? pager("Pages of anomalies", newer, older, `${fmtInt(start + 1)} – ${fmtInt(end)} of ${fmtInt(total)}`) : null,
    h("p", { class: "hint" }, "Refused duplicate trip reports leave no state: ", h("code", {}, "alliance goodness supervise"), " finds them in the blocks' receipts."));
}

export async function renderGoodness(main, _params, query) {
  let first;
  try {
    first = await getJSON(viewPath("status", [], null));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return notDeployed(main);
    throw error;
  }
  const at = first.height;
  const status = first.result;
  const current = status.period;
  const before = Math.min(current + 1, Math.max(2, parseCount(query.get("before")) ?? current + 1));
  const last = before - 1;
  const firstShown = Math.max(1, last - PERIODS + 1);
  const anomaliesEnd = Math.min(status.anomalies, parseCount(query.get("anomalies")) ?? status.anomalies);
  const numbers = [];
  for (let p = firstShown; p <= last; p += 1) numbers.push(p);
  const [symbols, all, pools, distributors, platforms, anomalies] = await Promise.all([
    view("symbols", [], at),
    view("totals", [0], at),
    view("pools", [], at),
    view("role_accounts", ["distributor", 0], at),
    view("role_accounts", ["exchange", 0], at),
    anomaliesEnd ? view("anomalies", [Math.max(0, anomaliesEnd - ANOMALIES), ANOMALIES], at) : Promise.resolve([]),
  ]);
  const [goodSymbol, cnySymbol] = symbols;
  const [goodAnswer, cnyAnswer, periods] = await Promise.all([
    getJSON(`/v1/passes/${goodSymbol}`),
    getJSON(`/v1/passes/${cnySymbol}`),
    mapLimit(numbers, IN_FLIGHT, async (p) => {
      const [totals, record] = await Promise.all([view("totals", [p], at), view("period", [p], at)]);
      const [state, periodNumbers, , , , parties, confirmed] = record;
      return {
        period: p, state, numbers: periodNumbers, parties: parties.length, confirmed: confirmed.length,
        carbon_g: totals.distributor.carbon_g, points: totals.issuer.points_issued,
        points_redeemed: totals.exchange.points_redeemed, value: totals.exchange.value,
      };
    }),
  ]);
  const good = { symbol: goodSymbol, decimals: goodAnswer.value.scheme.decimals };
  const cny = { symbol: cnySymbol, decimals: cnyAnswer.value.scheme.decimals };
  const supply = goodAnswer.value.supply;
  main.append(pageTitle("Goodness", h("span", { class: "muted" }, "read at height ", blockLink(at))));
  main.append(h("p", { class: "lead" }, "Low-carbon trips counted by distributors, rewarded in ",
    h("a", { href: `/passes/${goodSymbol}` }, goodSymbol), " points that users redeem at exchange platforms against sponsors' pools, cleared period by period. Every figure is a view of the contract ",
    h("a", { href: `/contracts/${CONTRACT}` }, CONTRACT), "."));
  main.append(h("div", { class: "tiles", id: "goodness-tiles" },
    tile("Carbon avoided", kg(all.distributor.carbon_g), `${fmtInt(all.distributor.trips)} trips`),
    tile("Points issued", fmtUnits(all.issuer.points_issued, good.decimals), `${fmtUnits(supply.minted, good.decimals)} minted as ${goodSymbol}`),
    tile("Points redeemed", fmtUnits(all.exchange.points_redeemed, good.decimals), `${fmtInt(all.exchange.redemptions)} redemptions, ${fmtUnits(all.exchange.value, cny.decimals)} ${cnySymbol}`),
    tile("Points expired", fmtUnits(supply.swept, good.decimals), "swept from holders after their lots expired"),
    tile("Users", fmtInt(status.users), `${fmtInt(all.user.consents)} consents, ${fmtInt(all.user.revocations)} revoked`),
    tile("Open period", fmtInt(current), `rules version ${fmtInt(status.version)}`),
    tile("Anomalies", fmtInt(status.anomalies), `${fmtInt(all.supervisor.suspensions)} suspensions`)));
  main.append(card("Points", kv([
    ["In existence", h("span", {}, fmtUnits(supply.supply, good.decimals), " ", h("a", { href: `/passes/${goodSymbol}` }, `${goodSymbol} holders`))],
    ["Issued for trips", fmtUnits(all.issuer.points_issued, good.decimals)],
    ["Redeemed (burned)", fmtUnits(supply.redeemed, good.decimals)],
    ["Expired and swept", fmtUnits(supply.swept, good.decimals), " (expired units not yet swept show per holder)"],
    ["Offers published", fmtInt(all.sponsor.offers)],
    ["Pools funded", `${fmtUnits(all.sponsor.funded, cny.decimals)} ${cnySymbol}`],
    ["Settled to platforms", `${fmtUnits(all.clearing.settled, cny.decimals)} ${cnySymbol}`],
  ])));
  main.append(periodsCard(periods, firstShown, last, current, good, cny));
  main.append(distributorsCard(distributors, good));
  main.append(poolsCard(pools, cny));
  main.append(platformsCard(platforms, good, cny));
  main.append(anomaliesCard(anomalies, anomaliesEnd, status.anomalies));
}
