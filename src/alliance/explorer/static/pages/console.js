// The console's action panel (only under `alliance console`): transfer, propose, vote, the
// supervisor's freeze; declare a pass scheme, mint, freeze a holder, pause a scheme; deploy a
// contract (a source file from this computer) and call one (its arguments typed by its ABI). Each
// is signed by the console with a key of its alliance directory and answered with the receipt.
//
// Theory of operation. The page never sees a key: it names one (the console lists their names and
// addresses), and the console signs and submits through the SDK, waits for the block and answers
// with the node's own view of the transaction. The forms for proposals are built from the kinds
// the console describes (GET /console/api/session), so the page and the console cannot disagree
// about what a kind takes. Without the console's login (the one-time URL it printed) the session
// says so and every action is refused by the console itself.

import { getJSON, postJSON } from "../api.js";
import { blockLink, card, clear, empty, errorBox, fmtInt, h, ident, pageTitle, statusBadge, txLink } from "../ui.js";
import { methodForm } from "./abi.js";
import { eventSummary } from "./checks.js";

const SOURCE_BYTES_MAX = 60 * 1024;

let sessionPromise = null;
export function sessionOnce() {
  if (!sessionPromise) sessionPromise = getJSON("/console/api/session");
  return sessionPromise;
}

let fieldCounter = 0;
function field(label, control, hint = null) {
  const id = `f${++fieldCounter}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("p", { class: "hint" }, hint) : null);
}

function keySelect(session, name, preferred = null) {
  const select = h("select", { name, required: true });
  for (const key of session.keys) {
    const option = h("option", { value: key.name }, `${key.name} — ${key.address.slice(0, 10)}…`);
    if (key.name === preferred) option.selected = true;
    select.append(option);
  }
  return select;
}

function accountsList(session) {
  return h("datalist", { id: "known-accounts" }, session.keys.map((k) => h("option", { value: k.name }, k.address)));
}

export function receiptView(answer) {
  const tx = answer.tx;
  const committed = tx.height !== null && tx.height !== undefined;
  return h("div", { class: `receipt ${tx.ok ? "receipt-good" : "receipt-bad"}`, role: "status" },
    h("p", { class: "receipt-head" }, statusBadge(tx.status), " ", answer.summary || ""),
    h("dl", { class: "kv" },
      h("div", { class: "kv-row" }, h("dt", {}, "Transaction"), h("dd", {}, txLink(tx.hash, { shortForm: false, copy: true }))),
      committed ? h("div", { class: "kv-row" }, h("dt", {}, "Block"), h("dd", {}, blockLink(tx.height))) : null,
      tx.gas_used !== undefined ? h("div", { class: "kv-row" }, h("dt", {}, "Gas used"), h("dd", {}, fmtInt(tx.gas_used))) : null,
      tx.error ? h("div", { class: "kv-row" }, h("dt", {}, "Error"), h("dd", { class: "bad-text" }, tx.error)) : null,
      answer.proposal ? h("div", { class: "kv-row" }, h("dt", {}, "Proposal"), h("dd", {}, h("a", { href: `/proposals/${answer.proposal}` }, `#${answer.proposal}`))) : null,
      answer.code_hash ? h("div", { class: "kv-row" }, h("dt", {}, "Code hash"), h("dd", {}, ident(answer.code_hash, { what: "code hash", shortForm: true }))) : null),
    tx.events && tx.events.length ? h("ul", { class: "plain" }, tx.events.map((e) => h("li", {}, eventSummary(e)))) : null);
}

// A form that posts its fields as JSON to an action and shows the receipt (or the refusal) under it.
// `submit` is the submit button's label, or the buttons themselves (a named button adds its value).
// A field marked data-json is sent parsed; a checkbox as true or false.
function actionForm(action, build, submit) {
  const out = h("div", { class: "action-out", "aria-live": "polite" });
  const buttons = typeof submit === "string" ? [h("button", { type: "submit" }, submit)] : submit;
  const form = h("form", { class: "action", "data-action": action }, build(), h("div", { class: "actions" }, buttons), out);
  const choice = (value) => (value === "true" ? true : value === "false" ? false : value);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.type === "submit") continue;
      if (el.type === "radio" && !el.checked) continue;
      if (el.type === "number") payload[el.name] = el.value === "" ? null : Number(el.value);
      else if (el.type === "checkbox") payload[el.name] = el.checked;
      else if (el.dataset.json !== undefined) {
        try {
          payload[el.name] = JSON.parse(el.value || el.dataset.json);
        } catch (error) {
          clear(out).append(errorBox(new Error(`${el.name} is not JSON: ${error.message}.`)));
          return;
        }
      } else payload[el.name] = el.type === "radio" ? choice(el.value) : el.value;
    }
    if (event.submitter && event.submitter.name) payload[event.submitter.name] = choice(event.submitter.value);
    for (const b of buttons) b.disabled = true;
    clear(out).append(h("p", { class: "muted" }, "Signing, sending and waiting for the block…"));
    try {
      const answer = await postJSON(`/console/api/actions/${action}`, payload);
      clear(out).append(receiptView(answer));
    } catch (error) {
      clear(out).append(errorBox(error));
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
  return form;
}

function kindFields(session, kind, box) {
  clear(box);
  for (const spec of session.kinds[kind] || []) {
    let control;
    if (spec.type === "org" && session.orgs.length) {
      control = h("select", { name: spec.name, required: spec.required }, session.orgs.map((o) => h("option", { value: o }, o)));
    } else if (spec.type === "node" && session.nodes.length) {
      control = h("select", { name: spec.name, required: spec.required }, session.nodes.map((n) => h("option", { value: n.name }, `${n.name} (${n.org})`)));
    } else if (spec.type === "number") {
      control = h("input", { name: spec.name, type: "number", min: spec.min ?? 0, value: spec.default ?? "", required: spec.required, inputmode: "numeric" });
    } else {
      control = h("input", { name: spec.name, type: "text", required: spec.required, value: spec.default ?? "", list: spec.type === "account" ? "known-accounts" : null, autocomplete: "off", spellcheck: "false" });
    }
    box.append(field(spec.label, control, spec.help || null));
  }
}

export function votePanel(proposal) {
  const box = h("div", {}, h("p", { class: "muted" }, "Loading the console's keys…"));
  sessionOnce().then((session) => {
    clear(box);
    if (!session.authenticated) {
      box.append(h("p", {}, "Open the login URL that ", h("code", {}, "alliance console"), " printed to vote from here."));
      return;
    }
    box.append(actionForm("vote", () => [
      h("input", { type: "hidden", name: "proposal", value: proposal.id }),
      field("Vote as", keySelect(session, "from", session.keys.find((k) => k.name.endsWith("-admin"))?.name)),
    ], [
      h("button", { type: "submit", name: "yes", value: "true" }, "Vote yes"),
      h("button", { type: "submit", name: "yes", value: "false", class: "secondary" }, "Vote no"),
    ]));
  }, (error) => clear(box).append(errorBox(error)));
  return card("Vote", box);
}

function signedOut(what) {
  return h("p", {}, "Open the login URL that ", h("code", {}, "alliance console"), ` printed to ${what} from here.`);
}

const textInput = (name, attrs = {}) => h("input", { name, type: "text", autocomplete: "off", spellcheck: "false", ...attrs });
const numberInput = (name, attrs = {}) => h("input", { name, type: "number", inputmode: "numeric", ...attrs });
const issuerKey = (session) => session.keys.find((k) => k.name.endsWith("-admin"))?.name;

function mintForm(session, symbol = null) {
  return actionForm("pass-mint", () => [
    symbol ? h("input", { type: "hidden", name: "symbol", value: symbol }) : field("Symbol", textInput("symbol", { required: true, maxlength: 16 })),
    field("Minter", keySelect(session, "from", issuerKey(session))),
    field("To", textInput("to", { required: true, list: "known-accounts" }), "An address (0x…) or the name of a key of this alliance."),
    field("Amount", numberInput("amount", { min: 1, value: 1, required: true })),
    field("Item", textInput("item", { maxlength: 64 }), "A unique scheme's item id; empty for a fungible scheme."),
    field("Memo", textInput("memo", { maxlength: 256 }), "Why (recorded in the event)."),
  ], "Mint");
}

function holderFreezeForm(session, symbol = null) {
  return actionForm("pass-freeze", () => [
    symbol ? h("input", { type: "hidden", name: "symbol", value: symbol }) : field("Symbol", textInput("symbol", { required: true, maxlength: 16 })),
    field("Issuer", keySelect(session, "from", issuerKey(session))),
    field("Holder", textInput("account", { required: true, list: "known-accounts" })),
  ], [
    h("button", { type: "submit", name: "freeze", value: "true" }, "Freeze holder"),
    h("button", { type: "submit", name: "freeze", value: "false", class: "secondary" }, "Unfreeze"),
  ]);
}

function pauseForm(session, symbol = null, paused = false) {
  return actionForm("pass-pause", () => [
    symbol ? h("input", { type: "hidden", name: "symbol", value: symbol }) : field("Symbol", textInput("symbol", { required: true, maxlength: 16 })),
    field("Issuer or supervisor", keySelect(session, "from", issuerKey(session))),
  ], [
    h("button", { type: "submit", name: "pause", value: "true", class: paused ? "secondary" : null }, "Pause the scheme"),
    h("button", { type: "submit", name: "pause", value: "false", class: paused ? null : "secondary" }, "Resume"),
  ]);
}

function createSchemeForm(session) {
  const select = (name, options) => h("select", { name }, options.map(([value, label]) => h("option", { value }, label)));
  return actionForm("pass-create", () => [
    field("Issuer", keySelect(session, "from", issuerKey(session)), "An account with the issuer role of a member organisation."),
    h("div", { class: "field-row" },
      field("Symbol", textInput("symbol", { required: true, maxlength: 16, pattern: "[A-Z][A-Z0-9]{0,15}", placeholder: "e.g. GOLD" })),
      field("Kind", select("kind", [["fungible", "fungible units"], ["unique", "unique items"]]))),
    field("Name", textInput("name", { required: true, maxlength: 64 })),
    field("Rights", h("textarea", { name: "rights", required: true, rows: 3, maxlength: 4096 }), "What a holder is entitled to: shown everywhere the scheme is, and hashed on the ledger."),
    h("div", { class: "field-row" },
      field("Decimals", numberInput("decimals", { min: 0, max: 18, value: 0 })),
      field("Cap", numberInput("cap", { min: 0, value: 0 }), "0: no cap.")),
    h("div", { class: "field-row" },
      field("Eligibility", textInput("eligibility", { value: "any", list: "eligibility-kinds" }), "any, members, allow-list or role:R."),
      field("Circulation", select("circulation", [["free", "free"], ["closed", "closed"], ["none", "none (not transferable)"]]))),
    h("datalist", { id: "eligibility-kinds" }, ["any", "members", "allow-list", "role:holder"].map((v) => h("option", { value: v }))),
    h("div", { class: "field-row" },
      field("Minter role", textInput("minter_role", { maxlength: 64 }), "Empty: the issuer's organisation."),
      field("Redeemer role", textInput("redeemer_role", { maxlength: 64 }), "Empty: no redemption.")),
    field("Lot lifetime (days)", numberInput("lot_days", { min: 0, max: 36500, value: 0 }), "0: units never expire."),
  ], "Declare the scheme");
}

function deployForm(session) {
  const source = h("textarea", { name: "source", required: true, rows: 4, spellcheck: "false", class: "mono", placeholder: "Choose a file above, or paste the source here." });
  const file = h("input", { type: "file", id: "deploy-file", accept: ".py,text/x-python,text/plain" });
  const note = h("p", { class: "hint" });
  file.addEventListener("change", async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    if (chosen.size > SOURCE_BYTES_MAX) {
      note.textContent = `${chosen.name} is ${fmtInt(chosen.size)} bytes; a contract is at most ${fmtInt(SOURCE_BYTES_MAX)}.`;
      return;
    }
    source.value = await chosen.text();
    note.textContent = `${chosen.name}: ${fmtInt(source.value.split("\n").length)} lines read.`;
  });
  return actionForm("contract-deploy", () => [
    field("Deployer", keySelect(session, "from", issuerKey(session)), "An admin or an account with the deployer role; the committee votes on it."),
    field("Name", textInput("name", { required: true, maxlength: 32, pattern: "[a-z][a-z0-9_\\-]{0,31}" }), "Lower case; its account and its calls go by this name."),
    h("div", { class: "field" }, h("label", { for: "deploy-file" }, "Source file"), file, note),
    field("Source", source),
    field("Init arguments", textInput("init_args", { "data-json": "[]", placeholder: "[]" }), "A JSON array, typed by its init's parameters (addresses and bytes as hex)."),
  ], "Submit and propose");
}

function callForm(session, name, methods) {
  const callable = methods.filter((m) => m.kind === "public");
  const form = methodForm(callable, "Call", async (method, values, formElement) => {
    const sender = formElement.querySelector("select[name=from]").value;
    const answer = await postJSON("/console/api/actions/contract-call", { from: sender, name, method: method.name, args: values.map((v) => v.json) });
    return receiptView(answer);
  }, { extra: () => [field("Caller", keySelect(session, "from", "dev"))] });
  if (form) form.dataset.action = "contract-call";
  return form || empty("No public methods.", "Nothing to call with a transaction.");
}

// Console actions on a scheme's own page: mint, freeze a holder, pause.
export function schemeActions(scheme, rules) {
  const box = h("div", {}, h("p", { class: "muted" }, "Loading the console's keys…"));
  sessionOnce().then((session) => {
    clear(box);
    if (!session.authenticated) {
      box.append(signedOut("act on this scheme"));
      return;
    }
    box.append(accountsList(session), h("div", { class: "columns" },
      h("div", {}, h("h3", {}, "Mint"), mintForm(session, scheme.symbol)),
      h("div", {}, h("h3", {}, "Freeze a holder"), holderFreezeForm(session, scheme.symbol), h("h3", {}, "Pause"), pauseForm(session, scheme.symbol, rules.paused))));
  }, (error) => clear(box).append(errorBox(error)));
  return card("Act on this scheme", box);
}

// Console actions on a contract's own page: call a public method.
export function contractActions(name, methods) {
  const box = h("div", {}, h("p", { class: "muted" }, "Loading the console's keys…"));
  sessionOnce().then((session) => {
    clear(box);
    if (!session.authenticated) {
      box.append(signedOut("call it"));
      return;
    }
    box.append(h("p", { class: "hint" }, "Signed by the caller's key and sent as a transaction; the receipt shows what it did."), callForm(session, name, methods));
  }, (error) => clear(box).append(errorBox(error)));
  return card("Call a method", box);
}

async function contractPicker(session) {
  const box = h("div");
  let listed = [];
  try {
    listed = (await getJSON("/v1/contracts?limit=200")).value;
  } catch (error) {
    return errorBox(error);
  }
  if (!listed.length) return empty("No contract is live yet.", "Deploy one above; it is callable once the committee passes it.");
  const select = h("select", { name: "contract", id: "call-contract" }, listed.map((c) => h("option", { value: c.name }, c.name)));
  const formBox = h("div");
  const load = async () => {
    clear(formBox).append(h("p", { class: "muted" }, "Reading its interface…"));
    try {
      const info = (await getJSON(`/v1/contracts/${select.value}`)).value;
      clear(formBox).append(callForm(session, select.value, info.abi.methods));
    } catch (error) {
      clear(formBox).append(errorBox(error));
    }
  };
  select.addEventListener("change", load);
  await load();
  box.append(h("div", { class: "field" }, h("label", { for: "call-contract" }, "Contract"), select), formBox);
  return box;
}

export async function renderConsole(main, _params, query) {
  main.append(pageTitle("Actions"));
  const session = await sessionOnce();
  if (!session.authenticated) {
    const refused = query.get("login") === "refused";
    main.append(card("Sign in", refused ? h("p", { class: "bad-text", role: "alert" }, "That login link is not valid any more: each link works once. Restart alliance console for a new one, or use the browser that opened it first.") : null,
      h("p", {}, "Open the login URL that ", h("code", {}, "alliance console"), " printed in its terminal (it ends in ", h("code", {}, "?token=…"), "). It works once, on this browser; the console refuses every action without it."),
      h("p", { class: "hint" }, "The explorer pages work without it: they only read.")));
    return;
  }
  main.append(h("p", { class: "lead" }, "Signing with the keys of ", h("code", {}, session.dir), " and sending to ", h("code", {}, session.node), "."));
  main.append(accountsList(session));
  const kinds = Object.keys(session.kinds);
  const kindBox = h("div");
  const kindSelect = h("select", { name: "kind", required: true }, kinds.map((k) => h("option", { value: k }, k)));
  kindSelect.addEventListener("change", () => kindFields(session, kindSelect.value, kindBox));
  kindFields(session, kinds[0], kindBox);

  main.append(h("div", { class: "columns" },
    card("Transfer", actionForm("transfer", () => [
      field("From", keySelect(session, "from", "dev")),
      field("To", h("input", { name: "to", type: "text", required: true, list: "known-accounts", autocomplete: "off", spellcheck: "false" }), "An address (0x…) or the name of a key of this alliance."),
      field("Amount", h("input", { name: "amount", type: "number", min: 1, required: true, inputmode: "numeric" })),
    ], "Send")),
    card("Vote on a proposal", actionForm("vote", () => [
      field("Vote as", keySelect(session, "from", session.keys.find((k) => k.name.endsWith("-admin"))?.name)),
      field("Proposal", h("input", { name: "proposal", type: "number", min: 1, required: true, inputmode: "numeric" })),
      h("fieldset", { class: "radios" }, h("legend", {}, "Vote"),
        h("label", {}, h("input", { type: "radio", name: "yes", value: "true", checked: true }), " Yes"),
        h("label", {}, h("input", { type: "radio", name: "yes", value: "false" }), " No")),
    ], "Vote"))));
  main.append(h("div", { class: "columns" },
    card("Propose a change", actionForm("propose", () => [
      field("Proposer", keySelect(session, "from", session.keys.find((k) => k.name.endsWith("-admin"))?.name)),
      field("Kind", kindSelect),
      kindBox,
      field("Voting period", h("input", { name: "voting_blocks", type: "number", min: 0, value: 0, inputmode: "numeric" }), "In blocks; 0 means the chain's own period."),
    ], "Propose")),
    card("Supervisor's freeze", actionForm("freeze", () => [
      field("Supervisor", keySelect(session, "from", "supervisor")),
      field("Account", h("input", { name: "account", type: "text", required: true, list: "known-accounts", autocomplete: "off", spellcheck: "false" })),
      field("Reason", h("input", { name: "reason", type: "text", required: true, maxlength: 500 }), "Recorded on the ledger. Only the committee can unfreeze."),
    ], "Freeze"))));
  main.append(h("h2", { class: "section-title" }, "Passes"));
  main.append(h("div", { class: "columns" },
    card("Declare a pass scheme", createSchemeForm(session)),
    h("div", {},
      card("Mint", mintForm(session)),
      card("Freeze a holder", holderFreezeForm(session)),
      card("Pause a scheme", pauseForm(session)))));
  main.append(h("h2", { class: "section-title" }, "Contracts"));
  main.append(h("div", { class: "columns" },
    card("Deploy a contract", deployForm(session)),
    card("Call a contract", await contractPicker(session))));
  main.append(card("Keys of this alliance", session.keys.length
    ? h("ul", { class: "plain keys" }, session.keys.map((k) => h("li", {}, h("strong", {}, k.name), " ", ident(k.address, { href: `/accounts/${k.address}`, what: "address" }))))
    : empty("No keys.", "Create one with alliance keys new NAME.")));
}
