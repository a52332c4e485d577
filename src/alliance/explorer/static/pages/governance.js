// Governance: the committee (members, weights, CA fingerprints), nodes, validators, the access table,
// frozen accounts, and the proposals with every vote, the threshold and the outcome.
//
// API calls. Governance: GET /v1/gov, then one GET /v1/gov/proposals page of at most PROPOSALS_PAGE.
// Proposal: GET /v1/gov/proposals/{id} and GET /v1/gov (the members' weights). CA fingerprints are
// SHA-256 of the DER certificate the ledger records, computed in the page.

import { getJSON } from "../api.js";
import {
  addressLink, badge, blockLink, card, clear, empty, fmtInt, fmtPercent, h, ident, kv, pageTitle, short, statusBadge,
  table,
} from "../ui.js";
import { fingerprint } from "../verify.js";
import { votePanel } from "./console.js";

const PROPOSALS_PAGE = 20;

export function parseProposalId(text) {
  const clean = String(text).trim().replace(/^#/, "");
  return /^\d{1,18}$/.test(clean) && Number(clean) >= 1 ? Number(clean) : null;
}

function weightsOf(gov) {
  return new Map(gov.members.map((m) => [m.org, m.weight]));
}

export function tally(proposal, weights) {
  let yes = 0;
  let no = 0;
  for (const v of proposal.votes) {
    const w = weights.get(v.org) || 0;
    if (v.yes) yes += w;
    else no += w;
  }
  const total = [...weights.values()].reduce((n, w) => n + w, 0);
  const [num, den] = String(proposal.threshold).split("/").map(Number);
  const needed = den > 0 ? num / den : 2 / 3;
  return { yes, no, total, needed, enough: den > 0 && yes * den > num * total };
}

function progress(proposal, weights, { compact = false } = {}) {
  const t = tally(proposal, weights);
  const pct = (x) => (t.total ? (100 * x) / t.total : 0);
  const label = `Yes ${fmtInt(t.yes)} of ${fmtInt(t.total)} weight (${fmtPercent(t.total ? t.yes / t.total : 0)}), no ${fmtInt(t.no)}; more than ${proposal.threshold} (${fmtPercent(t.needed)}) is needed.`;
  return h("div", { class: "progress-block" },
    h("div", { class: "progress", role: "img", "aria-label": label },
      h("span", { class: "progress-yes", style: { width: `${pct(t.yes)}%` } }),
      h("span", { class: "progress-no", style: { width: `${pct(t.no)}%` } }),
      h("span", { class: "progress-mark", style: { left: `${100 * t.needed}%` }, title: `threshold ${proposal.threshold}` })),
    compact ? null : h("p", { class: "hint", "aria-hidden": "true" }, label));
}

export function actionSummary(kind, a) {
  const who = (address) => addressLink(address, { shortForm: true, copy: false });
  switch (kind) {
    case "add-member": return h("span", {}, `Admit ${a.org} with weight ${fmtInt(a.weight)}`, a.nodes && a.nodes.length ? ` and ${a.nodes.length} node(s)` : "");
    case "remove-member": return `Remove ${a.org} from the committee`;
    case "add-validator": return `Make ${a.name} (${a.org}) a validator with power ${fmtInt(a.power)}`;
    case "remove-validator": return h("span", {}, "Take validator ", h("span", { class: "mono" }, short(a.node_id, 8, 4)), " out of the set");
    case "add-node": return `Record node ${a.name} of ${a.org}`;
    case "remove-node": return h("span", {}, "Remove node ", h("span", { class: "mono" }, short(a.node_id, 8, 4)));
    case "set-param": return h("span", {}, "Set ", h("code", {}, a.name), " to ", h("code", {}, a.value));
    case "grant-role": return h("span", {}, `Grant role ${a.role} to `, who(a.account), a.org ? ` (${a.org})` : "");
    case "revoke-role": return h("span", {}, `Revoke role ${a.role} from `, who(a.account));
    case "set-access": return h("span", {}, "Allow ", h("code", {}, `${a.module}.${a.method}`), ` to ${a.roles && a.roles.length ? a.roles.join(", ") : "every account"}`);
    case "freeze": return h("span", {}, "Freeze ", who(a.account), `: ${a.reason}`);
    case "unfreeze": return h("span", {}, "Unfreeze ", who(a.account));
    default: return h("code", {}, kind);
  }
}

function proposalRow(p, weights) {
  const t = tally(p, weights);
  return [
    h("a", { href: `/proposals/${p.id}` }, `#${fmtInt(p.id)}`),
    h("div", {}, h("div", {}, h("code", {}, p.kind)), h("div", { class: "hint" }, actionSummary(p.kind, p.action))),
    statusBadge(p.status),
    h("div", { class: "votes" },
      progress(p, weights, { compact: true }),
      h("span", { class: "badges" }, p.votes.map((v) => badge(`${v.org} ${v.yes ? "yes" : "no"}`, v.yes ? "good" : "bad"))),
      h("span", { class: "hint" }, ` yes ${fmtInt(t.yes)} of ${fmtInt(t.total)}`)),
    h("span", {}, p.proposer_org),
    p.decided_height ? blockLink(p.decided_height) : h("span", { class: "muted" }, `until ${fmtInt(p.deadline_height)}`),
  ];
}

async function memberRows(gov) {
  const total = gov.members.reduce((n, m) => n + m.weight, 0);
  return Promise.all(gov.members.map(async (m) => [
    h("strong", {}, m.org),
    fmtInt(m.weight),
    fmtPercent(total ? m.weight / total : NaN),
    h("span", { class: "ident" }, h("span", { class: "ok-mark", title: "Computed in your browser from the certificate the ledger records" }, "✓ "), ident(await fingerprint(m.ca_certificate), { what: "CA fingerprint", shortForm: true, head: 17, tail: 9 })),
  ]));
}

export async function renderGovernance(main, _params, query) {
  const gov = await getJSON("/v1/gov");
  const weights = weightsOf(gov);
  const count = gov.proposals;
  let last = count;
  const asked = query.get("before");
  if (asked) {
    const parsed = parseProposalId(asked);
    if (parsed === null) throw new Error(`“${asked}” is not a proposal id: ids are whole numbers from 1.`);
    last = Math.min(parsed, count);
  }
  const first = Math.max(1, last - PROPOSALS_PAGE + 1);
  const proposals = count && last >= 1 ? await getJSON(`/v1/gov/proposals?from_id=${first}&limit=${last - first + 1}`) : [];
  const totalWeight = gov.members.reduce((n, m) => n + m.weight, 0);
  const powers = new Map(gov.validators.map((v) => [v.node_id, v.power]));
  const totalPower = gov.validators.reduce((n, v) => n + v.power, 0);

  main.append(pageTitle("Governance", h("span", { class: "muted" }, "read at height ", blockLink(gov.height))));
  main.append(h("div", { class: "tiles" },
    h("div", { class: "tile" }, h("div", { class: "tile-label" }, "Members"), h("div", { class: "tile-value" }, fmtInt(gov.members.length)), h("div", { class: "tile-sub" }, `total weight ${fmtInt(totalWeight)}`)),
    h("div", { class: "tile" }, h("div", { class: "tile-label" }, "Validators"), h("div", { class: "tile-value" }, fmtInt(gov.validators.length)), h("div", { class: "tile-sub" }, `total power ${fmtInt(totalPower)}`)),
    h("div", { class: "tile" }, h("div", { class: "tile-label" }, "Proposals"), h("div", { class: "tile-value" }, fmtInt(count)), h("div", { class: "tile-sub" }, "ever made")),
    h("div", { class: "tile" }, h("div", { class: "tile-label" }, "Frozen accounts"), h("div", { class: "tile-value" }, fmtInt(gov.frozen.length)), h("div", { class: "tile-sub" }, gov.frozen.length ? "see below" : "none"))));

  const proposalsCard = card("Proposals", table(
    [{ label: "Id" }, { label: "Change" }, { label: "Status" }, { label: "Votes" }, { label: "By", class: "opt" }, { label: "Decided", class: "opt" }],
    [...proposals].reverse().map((p) => proposalRow(p, weights)),
    { empty: empty("No proposals yet.", "Members change the alliance by proposing and voting: admitting organisations, validators, roles, access rules, parameters and freezes.") },
  ));
  if (count > PROPOSALS_PAGE) {
    proposalsCard.append(h("nav", { class: "pager", "aria-label": "Pages of proposals" },
      last < count ? h("a", { href: last + PROPOSALS_PAGE >= count ? "/governance" : `/governance?before=${last + PROPOSALS_PAGE}` }, "← Newer") : h("span", { class: "muted" }, "Newest"),
      h("span", { class: "muted" }, `#${fmtInt(first)} – #${fmtInt(last)} of ${fmtInt(count)}`),
      first > 1 ? h("a", { href: `/governance?before=${first - 1}` }, "Older →") : h("span", { class: "muted" }, "First")));
  }
  main.append(proposalsCard);

  const membersBox = h("div", {}, h("p", { class: "muted" }, "Computing fingerprints…"));
  main.append(card("Members", membersBox, h("p", { class: "hint" }, "CA fingerprint: SHA-256 of the organisation's CA certificate (DER) as the ledger records it, computed in your browser. Compare it with the fingerprint the organisation gave you.")));
  const named = new Set(gov.nodes.map((n) => n.node_id));
  main.append(
    h("div", { class: "columns" },
      card("Nodes", table([{ label: "Node" }, { label: "Organisation" }, { label: "Power", class: "num" }],
        gov.nodes.map((n) => [h("span", {}, n.name, " ", ident(n.node_id, { shortForm: true, what: "node id", head: 8, tail: 4 })), n.org, powers.has(n.node_id) ? fmtInt(powers.get(n.node_id)) : h("span", { class: "muted" }, "not a validator")]),
        { empty: empty("No node records.", "The ledger names no node: every node of the genesis configuration is admitted.") })),
      card("Validators", table([{ label: "Validator" }, { label: "Power", class: "num" }, { label: "Share", class: "num" }],
        gov.validators.map((v) => [h("span", {}, v.name || h("span", { class: "muted" }, "unnamed"), " ", ident(v.node_id, { shortForm: true, what: "node id", head: 8, tail: 4 }), named.has(v.node_id) ? null : h("span", { class: "hint" }, " no node record")), fmtInt(v.power), fmtPercent(totalPower ? v.power / totalPower : NaN)]),
        { empty: empty("No validators.", "The ledger records no validator set.") }))),
    h("div", { class: "columns" },
      card("Access table", table([{ label: "Call" }, { label: "Allowed roles" }],
        gov.access.map((r) => [h("code", {}, `${r.module}.${r.method}`), r.roles.length ? h("span", { class: "badges" }, r.roles.map((role) => badge(role, "info"))) : h("span", { class: "muted" }, "every account")]),
        { empty: empty("No access rules.", "Every call is open to every account that is not frozen.") })),
      card("Frozen accounts", table([{ label: "Account" }, { label: "Reason" }, { label: "By", class: "opt" }, { label: "Height", class: "num" }],
        gov.frozen.map((f) => [addressLink(f.address, { shortForm: true }), f.reason, addressLink(f.by, { shortForm: true, copy: false }), blockLink(f.height)]),
        { empty: empty("No account is frozen.", "The supervisor or the committee can freeze an account; it then can neither send nor receive.") }))),
  );
  const rows = await memberRows(gov);
  clear(membersBox).append(table([{ label: "Organisation" }, { label: "Weight", class: "num" }, { label: "Share", class: "num opt" }, { label: "CA fingerprint (SHA-256)" }], rows,
    { stack: true, empty: empty("No members.", "The ledger records no committee: this chain is not governed.") }));
}

async function actionFields(action) {
  const rows = [];
  for (const [name, value] of Object.entries(action)) {
    if (name === "kind") continue;
    if (name === "ca_certificate" && typeof value === "string") {
      rows.push(["CA certificate", h("span", {}, `${fmtInt(value.length / 2)} bytes, SHA-256 `, ident(await fingerprint(value), { what: "CA fingerprint", shortForm: true, head: 17, tail: 9 }))]);
    } else if (typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value)) {
      rows.push([name, addressLink(value)]);
    } else if (name === "node_id") {
      rows.push([name, ident(value, { what: "node id" })]);
    } else if (name === "nodes" && Array.isArray(value)) {
      rows.push([name, value.length ? h("ul", { class: "plain" }, value.map((n) => h("li", {}, `${n.name} (${n.org}) `, ident(n.node_id, { shortForm: true, what: "node id" })))) : h("span", { class: "muted" }, "none")]);
    } else if (Array.isArray(value)) {
      rows.push([name, value.length ? value.join(", ") : h("span", { class: "muted" }, "none")]);
    } else if (value === null) {
      rows.push([name, h("span", { class: "muted" }, "none")]);
    } else {
      rows.push([name, typeof value === "number" ? fmtInt(value) : String(value)]);
    }
  }
  return rows;
}

export async function renderProposal(main, [param], _query, ctx) {
  const id = parseProposalId(param);
  if (id === null) throw new Error(`“${param}” is not a proposal id: ids are whole numbers from 1.`);
  const [p, gov] = await Promise.all([getJSON(`/v1/gov/proposals/${id}`), getJSON("/v1/gov")]);
  const weights = weightsOf(gov);
  main.append(pageTitle(`Proposal #${fmtInt(p.id)}`, statusBadge(p.status)));
  main.append(h("p", { class: "lead" }, actionSummary(p.kind, p.action)));
  const t = tally(p, weights);
  const outcome = {
    open: `Open: votes are taken until height ${fmtInt(p.deadline_height)}. It passes as soon as yes votes hold more than ${p.threshold} of the committee's weight.`,
    passed: `Passed at height ${fmtInt(p.decided_height)}${p.error ? `, but its action could not be applied: ${p.error}` : " and applied."}`,
    rejected: `Rejected at height ${fmtInt(p.decided_height)}: yes votes can no longer reach more than ${p.threshold} of the weight.`,
    expired: `Expired: the deadline (height ${fmtInt(p.deadline_height)}) passed without enough yes votes.`,
  }[p.status] || p.status;
  main.append(card("Outcome", progress(p, weights), h("p", {}, outcome)));
  if (ctx.console && p.status === "open") main.append(votePanel(p));
  main.append(card("Votes", table([{ label: "Organisation" }, { label: "Vote" }, { label: "Weight", class: "num" }, { label: "Voter", class: "opt" }, { label: "Height", class: "num" }],
    p.votes.map((v) => [v.org, v.yes ? badge("yes", "good") : badge("no", "bad"), fmtInt(weights.get(v.org) || 0), addressLink(v.voter, { shortForm: true }), blockLink(v.height)]),
    { empty: empty("No votes yet.", "The proposer's organisation votes yes when it proposes.") })));
  const missing = gov.members.filter((m) => !p.votes.some((v) => v.org === m.org)).map((m) => m.org);
  if (p.status === "open" && missing.length) main.append(h("p", { class: "hint" }, `Not voted yet: ${missing.join(", ")}. Yes weight so far ${fmtInt(t.yes)} of ${fmtInt(t.total)}.`));
  main.append(card("Change", kv([["Kind", h("code", {}, p.kind)], ...(await actionFields(p.action))])));
  main.append(card("Record", kv([
    ["Proposer", h("span", {}, `${p.proposer_org} `, addressLink(p.proposer, { shortForm: true }))],
    ["Created at", blockLink(p.created_height)],
    ["Deadline", h("span", {}, "height ", fmtInt(p.deadline_height))],
    ["Threshold", `more than ${p.threshold} of the committee's weight`],
    ["Decided at", p.decided_height ? blockLink(p.decided_height) : h("span", { class: "muted" }, "not decided")],
    p.error ? ["Not applied because", h("span", { class: "bad-text" }, p.error)] : null,
  ])));
}
