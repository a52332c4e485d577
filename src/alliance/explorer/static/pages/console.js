// The console's action panel (only under `alliance console`): transfer, propose, vote and the
// supervisor's freeze, each signed by the console with a key of its alliance directory, each
// answered with the transaction's receipt.
//
// Theory of operation. The page never sees a key: it names one (the console lists their names and
// addresses), and the console signs and submits through the SDK, waits for the block and answers
// with the node's own view of the transaction. The forms for proposals are built from the kinds
// the console describes (GET /console/api/session), so the page and the console cannot disagree
// about what a kind takes. Without the console's login (the one-time URL it printed) the session
// says so and every action is refused by the console itself.

import { getJSON, postJSON } from "../api.js";
import { blockLink, card, clear, empty, errorBox, fmtInt, h, ident, pageTitle, statusBadge, txLink } from "../ui.js";
import { eventSummary } from "./checks.js";

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
      answer.proposal ? h("div", { class: "kv-row" }, h("dt", {}, "Proposal"), h("dd", {}, h("a", { href: `/proposals/${answer.proposal}` }, `#${answer.proposal}`))) : null),
    tx.events && tx.events.length ? h("ul", { class: "plain" }, tx.events.map((e) => h("li", {}, eventSummary(e)))) : null);
}

// A form that posts its fields as JSON to an action and shows the receipt (or the refusal) under it.
// `submit` is the submit button's label, or the buttons themselves (a named button adds its value).
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
      else payload[el.name] = el.type === "radio" ? choice(el.value) : el.value;
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
  main.append(card("Keys of this alliance", session.keys.length
    ? h("ul", { class: "plain keys" }, session.keys.map((k) => h("li", {}, h("strong", {}, k.name), " ", ident(k.address, { href: `/accounts/${k.address}`, what: "address" }))))
    : empty("No keys.", "Create one with alliance keys new NAME.")));
}
