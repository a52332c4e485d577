// Contracts: the live ones, and one contract's page: its record (account, version, the proposal
// that approved it), its code hash checked in the page against the source shown, its interface (the
// ABI its type hints declare), its source highlighted, and a form that runs any view method.
//
// API calls. List: one GET /v1/contracts?start=&limit=PAGE. Contract: GET /v1/contracts/{name}; each
// run of a view one GET /v1/contracts/{name}/views/{method}?args=<hex>, the arguments typed by the
// ABI and encoded to canonical msgpack in the page (verify.js), so what runs is exactly what was typed.

import { getJSON } from "../api.js";
import {
  addressLink, badge, blockLink, card, check, copyButton, empty, fmtInt, h, ident, kv, pageTitle, pager, table,
} from "../ui.js";
import { bytesToHex, contractCodeHash, encode } from "../verify.js";
import { methodForm, resultView } from "./abi.js";
import { contractActions } from "./console.js";
import { highlighted } from "./highlight.js";

const PAGE = 50;

export function parseContractName(text) {
  const clean = String(text || "").trim();
  return /^[a-z][a-z0-9_-]{0,31}$/.test(clean) ? clean : null;
}

export async function renderContracts(main, _params, query) {
  const start = /^\d{1,12}$/.test(query.get("start") || "") ? Number(query.get("start")) : 0;
  const answer = await getJSON(`/v1/contracts?start=${start}&limit=${PAGE}`);
  const listed = answer.value;
  main.append(pageTitle("Contracts", h("span", { class: "muted" }, "read at height ", blockLink(answer.height))));
  main.append(h("p", { class: "lead" }, "Plain Python run by every node, live once the committee approved it. Each has an account of its own."));
  main.append(card(`Live contracts (${fmtInt(listed.length)}${listed.length === PAGE ? "+" : ""})`,
    table([{ label: "Name" }, { label: "Version", class: "num" }, { label: "Account", class: "opt" }, { label: "Code hash", class: "opt" }, { label: "Approved by" }, { label: "Live since" }],
      listed.map((c) => [
        h("a", { href: `/contracts/${c.name}`, class: "strong" }, c.name),
        fmtInt(c.version),
        addressLink(c.address, { shortForm: true, copy: false }),
        h("span", { class: "mono", title: c.code_hash }, `${c.code_hash.slice(0, 12)}…`),
        h("a", { href: `/proposals/${c.proposal}` }, `proposal #${fmtInt(c.proposal)}`),
        blockLink(c.upgraded_height || c.deployed_height),
      ]),
      { empty: empty("No contract is live yet.", "A deployer submits a source and proposes it (alliance contract deploy, or the console); the committee's vote makes it live."), caption: "Live contracts" }),
    start > 0 || listed.length === PAGE
      ? pager("Pages of contracts", start > 0 ? `/contracts?start=${Math.max(0, start - PAGE)}` : null, listed.length === PAGE ? `/contracts?start=${start + PAGE}` : null, null, { newest: "First", oldest: "Last" })
      : null));
}

function abiTable(methods) {
  return table([{ label: "Method" }, { label: "Kind" }, { label: "Parameters" }, { label: "Returns" }],
    methods.map((m) => [
      h("code", {}, m.name),
      badge(m.kind, m.kind === "view" ? "info" : m.kind === "init" ? "neutral" : "good"),
      m.params.length ? h("span", { class: "mono" }, m.params.map((p) => `${p.name}: ${p.type}`).join(", ")) : h("span", { class: "muted" }, "none"),
      h("span", { class: "mono" }, m.returns),
    ]),
    { stack: true, empty: empty("No methods.", "The contract declares no public or view function.") });
}

function viewPanel(name, methods) {
  const views = methods.filter((m) => m.kind === "view");
  const form = methodForm(views, "Run", async (method, values) => {
    const args = bytesToHex(encode(values.map((v) => v.encoded)));
    const answer = await getJSON(`/v1/contracts/${name}/views/${method.name}?args=${args}`);
    return h("div", { class: "receipt receipt-good view-result", role: "status" },
      h("p", { class: "receipt-head" }, `${name}.${method.name} answered`),
      h("div", { class: "result" }, resultView(method.returns, answer.result)),
      kv([["Read at", blockLink(answer.height)], ["Gas used", fmtInt(answer.gas_used)], ["Arguments (msgpack)", h("span", { class: "mono wrap" }, args)]]));
  });
  return card("Read a view", form
    ? [h("p", { class: "hint" }, "Runs on this node's committed state; no transaction, nothing signed. Arguments are encoded in your browser."), form]
    : empty("No view methods.", "This contract answers nothing without a transaction."));
}

export async function renderContract(main, [param], _query, ctx) {
  const name = parseContractName(param);
  if (!name) throw new Error(`“${param}” is not a contract name: one is lower case, starts with a letter, and is up to 32 letters, digits, _ or -.`);
  const answer = await getJSON(`/v1/contracts/${name}`);
  const { contract, abi, source } = answer.value;
  main.append(pageTitle(`Contract ${contract.name}`, badge(`version ${contract.version}`, "info")));
  main.append(h("p", { class: "lead" }, "Account ", ident(contract.address, { href: `/accounts/${contract.address}`, what: "contract account" }),
    contract.name === "goodness" ? h("span", {}, " · its figures: ", h("a", { href: "/goodness" }, "the Goodness page")) : null));
  const computed = await contractCodeHash(source);
  const codeOk = computed === contract.code_hash;
  main.append(h("div", { class: "columns" },
    card("Record", kv([
      ["Code hash", ident(contract.code_hash, { what: "code hash" })],
      ["Version", fmtInt(contract.version)],
      ["Approved by", h("a", { href: `/proposals/${contract.proposal}` }, `proposal #${fmtInt(contract.proposal)}`)],
      ["Deployed at", blockLink(contract.deployed_height)],
      ["Upgraded at", contract.version > 1 ? blockLink(contract.upgraded_height) : h("span", { class: "muted" }, "never (its first version)")],
      ["Read at", blockLink(answer.height)],
    ]), h("ul", { class: "checks" }, check(codeOk, "Code hash.", codeOk
      ? "Recomputed in your browser from the source below: it is the hash the ledger keeps, so this is the code every node runs."
      : "The source below does not hash to the code hash the ledger keeps: it is not the code that runs."))),
    card("Interface", abiTable(abi.methods))));
  main.append(viewPanel(name, abi.methods));
  if (ctx.console) main.append(contractActions(contract.name, abi.methods));
  const lines = source.split("\n").length;
  main.append(card("Source", h("p", { class: "hint" }, `${fmtInt(lines)} lines of Python. `, copyButton(source, "source")), highlighted(source)));
}
