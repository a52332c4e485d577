// The page of one account: balance, organisation, roles and whether it is frozen.
//
// API calls: GET /v1/accounts/{address}, once. Passes and recent transactions need routes the API
// does not offer yet; the page says so rather than scanning the chain.

import { getJSON } from "../api.js";
import { addressLink, badge, blockLink, card, empty, fmtInt, h, ident, kv, pageTitle, tile } from "../ui.js";

export function parseAddress(text) {
  const clean = String(text).trim();
  const hex = clean.replace(/^0x/i, "");
  return /^[0-9a-fA-F]{40}$/.test(hex) ? `0x${hex}` : null;
}

export async function renderAccount(main, [param]) {
  const address = parseAddress(param);
  if (!address) throw new Error(`“${param}” is not an address: one is 0x followed by 40 hex digits.`);
  const account = await getJSON(`/v1/accounts/${address}`);
  // The address bar shows the address as the API checksums it (a search may have typed it in lower case).
  if (location.pathname !== `/accounts/${account.address}`) history.replaceState(null, "", `/accounts/${account.address}`);
  const frozen = account.frozen;
  main.append(pageTitle("Account", frozen ? badge("frozen", "bad") : badge("active", "good")));
  main.append(h("p", { class: "lead" }, ident(account.address, { what: "address" })));
  main.append(h("div", { class: "tiles" },
    tile("Balance", h("span", { id: "account-balance" }, fmtInt(account.balance)), `at height ${fmtInt(account.height)}`),
    tile("Organisation", account.org || h("span", { class: "muted" }, "none"), account.org ? "named by governance" : "governance has not named one"),
    tile("Roles", account.roles.length ? h("span", { class: "badges" }, account.roles.map((r) => badge(r, "info"))) : h("span", { class: "muted" }, "none"), account.roles.length ? null : "it may call what is open to every account"),
    tile("State", frozen ? h("span", { class: "bad-text" }, "Frozen") : "Active", frozen ? `since height ${fmtInt(frozen.height)}` : "it may send and receive")));
  if (frozen) {
    main.append(card("Frozen", kv([
      ["Reason", frozen.reason],
      ["Frozen by", addressLink(frozen.by)],
      ["At height", blockLink(frozen.height)],
      ["What it means", "It can neither send nor receive until the committee unfreezes it (a governance proposal)."],
    ])));
  }
  main.append(
    card("Passes", empty("Passes are not shown here yet.", "This node's API has no route that lists the passes and lots an account holds; this section fills in when the passes API arrives.")),
    card("Recent transactions", empty("Recent transactions are not listed yet.", "This node does not index transactions by account, and the explorer never scans the whole chain to find them. Search a transaction by its hash to see it.")),
  );
}
