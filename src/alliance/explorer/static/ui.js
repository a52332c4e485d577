// Building pages: DOM from text only, formats for numbers, times and hashes, and the shared pieces
// (cards, tables, key-value lists, copy buttons, verification marks, empty states and errors).
//
// Theory of operation. `h` builds elements from a tag, attributes and children; strings always become
// text nodes, so nothing the node answers can ever be parsed as HTML. Numbers use the viewer's
// locale, times the viewer's time zone. Addresses are shown exactly as the API gives them (EIP-55
// checksummed) and link to their account page; every long identifier has a copy button.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// --- formats -------------------------------------------------------------------------------------------

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  timeZoneName: "short",
});
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });

export const fmtInt = (n) => (n === null || n === undefined ? "—" : integer.format(n));
export const fmtNum = (n) => (n === null || n === undefined || !Number.isFinite(n) ? "—" : decimal.format(n));
export const fmtPercent = (x) => (Number.isFinite(x) ? percent.format(x) : "—");
export const fmtTime = (ms) => dateTime.format(new Date(ms));
export const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

export function fmtAgo(ms, now = Date.now()) {
  const seconds = Math.round((ms - now) / 1000);
  if (Math.abs(seconds) < 60) return relative.format(seconds, "second");
  const minutes = Math.round(seconds / 60);
  if (Math.abs(minutes) < 60) return relative.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 48) return relative.format(hours, "hour");
  return relative.format(Math.round(hours / 24), "day");
}

export function fmtDuration(ms) {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${integer.format(Math.round(ms))} ms`;
  return `${decimal.format(ms / 1000)} s`;
}

export function fmtBytes(n) {
  if (n < 1024) return `${integer.format(n)} B`;
  if (n < 1024 * 1024) return `${decimal.format(n / 1024)} KiB`;
  return `${decimal.format(n / 1024 / 1024)} MiB`;
}

export function short(hex, head = 10, tail = 6) {
  if (!hex) return "—";
  return hex.length > head + tail + 1 ? `${hex.slice(0, head)}…${hex.slice(-tail)}` : hex;
}

// --- pieces ----------------------------------------------------------------------------------------------

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea", { class: "visually-hidden", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

export function copyButton(text, what = "value") {
  const button = h("button", { type: "button", class: "copy", title: `Copy the ${what}`, "aria-label": `Copy the ${what}` }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await copyText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select it";
    }
    setTimeout(() => {
      button.textContent = "Copy";
    }, 1500);
  });
  return button;
}

// A long identifier: monospace, wrapped anywhere, optionally a link, with a copy button.
export function ident(text, { href = null, shortForm = false, what = "value", copy = true, head = 10, tail = 6 } = {}) {
  if (!text) return h("span", { class: "muted" }, "none");
  const shown = shortForm ? short(text, head, tail) : text;
  const cls = shortForm ? "mono short" : "mono";
  const body = href ? h("a", { href, class: cls, title: text }, shown) : h("span", { class: cls, title: text }, shown);
  return h("span", { class: "ident" }, body, copy ? copyButton(text, what) : null);
}

export function addressLink(address, { shortForm = false, copy = true } = {}) {
  if (!address) return h("span", { class: "muted" }, "none");
  return ident(address, { href: `/accounts/${address}`, shortForm, what: "address", copy });
}

export function blockLink(height) {
  return h("a", { href: `/blocks/${height}` }, fmtInt(height));
}

export function txLink(hash, { shortForm = true, copy = false } = {}) {
  return ident(hash, { href: `/txs/${hash}`, shortForm, what: "transaction hash", copy });
}

export function card(title, ...children) {
  const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

export function kv(rows) {
  const list = h("dl", { class: "kv" });
  for (const row of rows) {
    if (!row) continue;
    const [label, value, hint] = row;
    list.append(h("div", { class: "kv-row" }, h("dt", {}, label), h("dd", {}, value, hint ? h("span", { class: "hint" }, hint) : null)));
  }
  return list;
}

// columns: [{label, class}]; rows: arrays of cells. An empty list shows `empty` instead of a table.
// Wide tables (more than three columns a phone shows) become one card per row on a phone.
export function table(columns, rows, { empty = null, caption = null, stack = columns.filter((c) => !(c.class || "").includes("opt")).length > 3 } = {}) {
  if (rows.length === 0 && empty) return empty;
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class || null }, c.label)));
  const body = h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, i) => h("td", { class: columns[i].class || null, "data-label": columns[i].label }, cell)))));
  return h("div", { class: "table-wrap" }, h("table", { class: stack ? "stack" : null }, caption ? h("caption", { class: "visually-hidden" }, caption) : null, h("thead", {}, head), body));
}

export function badge(text, kind = "neutral") {
  return h("span", { class: `badge badge-${kind}` }, text);
}

export function statusBadge(status) {
  const kinds = { ok: "good", passed: "good", open: "info", pending: "info", rejected: "bad", expired: "warn" };
  return badge(status, kinds[status] || "bad");
}

export function empty(title, text) {
  return h("div", { class: "empty" }, h("p", { class: "empty-title" }, title), text ? h("p", {}, text) : null);
}

export function errorBox(error) {
  const message = error && error.message ? error.message : String(error);
  return h("div", { class: "error", role: "alert" }, h("strong", {}, "Could not load this. "), message);
}

// A line of the verification panel: state true (checked and right), false (checked and wrong) or
// null (could not be checked, with the reason in the text).
export function check(state, title, text) {
  const mark = state === true ? "✓" : state === false ? "✗" : "•";
  const kind = state === true ? "good" : state === false ? "bad" : "unknown";
  const label = state === true ? "verified" : state === false ? "failed" : "not checked";
  return h("li", { class: `check check-${kind}` },
    h("span", { class: "check-mark", "aria-hidden": "true" }, mark),
    h("span", {}, h("strong", {}, title), h("span", { class: "visually-hidden" }, ` (${label})`), text ? ` ${text}` : ""));
}

export function tile(label, value, sub = null, attrs = {}) {
  return h("div", { class: "tile", ...attrs }, h("div", { class: "tile-label" }, label), h("div", { class: "tile-value" }, value), sub ? h("div", { class: "tile-sub" }, sub) : null);
}

export function pageTitle(title, ...extra) {
  document.title = `${title} · Alliance ${document.body.dataset.mode === "console" ? "console" : "explorer"}`;
  return h("div", { class: "page-head" }, h("h1", {}, title), ...extra);
}

// Names of nodes by id, from GET /v1/status validators and peers (and the node itself).
export function nodeNames(status) {
  const names = new Map();
  if (!status) return names;
  names.set(status.node_id, status.node);
  for (const p of status.peers || []) if (p.name) names.set(p.node_id, p.name);
  for (const v of status.validators || []) if (v.name) names.set(v.node_id, v.name);
  return names;
}

export function nodeLabel(nodeId, names) {
  const name = names.get(nodeId);
  return h("span", { class: "node", title: nodeId }, name ? h("span", {}, name, " ") : null, h("span", { class: "mono muted short" }, short(nodeId, 8, 4)));
}

// A rendered value from the API's decoded fields (addresses link, other strings and numbers as text).
export function fieldValue(value) {
  if (typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value)) return addressLink(value, { shortForm: true });
  if (typeof value === "number") return fmtInt(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.length ? value.map((v, i) => [i ? ", " : "", fieldValue(v)]) : h("span", { class: "muted" }, "none");
  if (value && typeof value === "object") return JSON.stringify(value);
  if (typeof value === "string" && /^[0-9a-f]{40,}$/.test(value)) return h("span", { class: "mono", title: value }, short(value));
  return value === "" ? h("span", { class: "muted" }, "empty") : String(value);
}

// A pass amount in its scheme's units: `decimals` places (an integer count of the smallest unit).
export function fmtUnits(n, decimals = 0) {
  if (n === null || n === undefined) return "—";
  if (!decimals) return fmtInt(n);
  const big = BigInt(n);
  const scale = 10n ** BigInt(decimals);
  const whole = big / scale;
  const frac = (big < 0n ? -big : big) % scale;
  const sep = new Intl.NumberFormat().formatToParts(1.5).find((p) => p.type === "decimal")?.value || ".";
  return `${integer.format(whole)}${sep}${frac.toString().padStart(decimals, "0")}`;
}

// A pager: newer and older links (either may be null: then a muted word says where the list ends).
export function pager(label, newer, older, middle = null, { newest = "Newest", oldest = "Oldest" } = {}) {
  return h("nav", { class: "pager", "aria-label": label },
    newer ? h("a", { href: newer, rel: "prev" }, "← Newer") : h("span", { class: "muted" }, newest),
    middle ? h("span", { class: "muted" }, middle) : null,
    older ? h("a", { href: older, rel: "next" }, "Older →") : h("span", { class: "muted" }, oldest));
}
