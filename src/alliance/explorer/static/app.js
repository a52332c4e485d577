// The explorer's entry point: reads the path, renders that page, keeps the chain bar current.
//
// Theory of operation. Every page has its own URL and every link is a plain link: a page load
// renders one page from the node's JSON (no client-side history to get wrong, and the back button,
// reloads and shared links just work). The search page resolves what was typed and renders the page
// it names in place, then puts that page's URL in the address bar.

import { ApiError, statusOnce } from "./api.js";
import { append, clear, errorBox, fmtInt, h, pageTitle, short, timeZone } from "./ui.js";
import { renderOverview } from "./pages/overview.js";
import { renderBlock, renderBlocks } from "./pages/blocks.js";
import { renderTx } from "./pages/tx.js";
import { renderAccount } from "./pages/account.js";
import { renderGovernance, renderProposal } from "./pages/governance.js";
import { renderPasses, renderScheme } from "./pages/passes.js";
import { renderContract, renderContracts } from "./pages/contracts.js";
import { renderGoodness } from "./pages/goodness.js";
import { renderSearch } from "./pages/search.js";
import { renderConsole } from "./pages/console.js";

const consoleMode = document.body.dataset.mode === "console";

export const ROUTES = [
  [/^\/$/, "overview", renderOverview],
  [/^\/blocks$/, "blocks", renderBlocks],
  [/^\/blocks\/([^/]+)$/, "blocks", renderBlock],
  [/^\/txs\/([^/]+)$/, "blocks", renderTx],
  [/^\/accounts\/([^/]+)$/, null, renderAccount],
  [/^\/passes$/, "passes", renderPasses],
  [/^\/passes\/([^/]+)$/, "passes", renderScheme],
  [/^\/contracts$/, "contracts", renderContracts],
  [/^\/contracts\/([^/]+)$/, "contracts", renderContract],
  [/^\/goodness$/, "goodness", renderGoodness],
  [/^\/governance$/, "governance", renderGovernance],
  [/^\/proposals\/([^/]+)$/, "governance", renderProposal],
  [/^\/search$/, null, renderSearch],
  [/^\/console$/, "console", renderConsole],
];

function notFound(main) {
  main.append(pageTitle("Page not found"), h("p", {}, "The explorer has no page at this address. ", h("a", { href: "/" }, "Go to the overview"), "."));
}

function markNav(section) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function chainBar() {
  const bar = document.getElementById("chainbar");
  try {
    const status = await statusOnce();
    append(clear(bar), [
      h("span", {}, h("span", { class: "muted" }, "chain "), h("strong", {}, status.chain_id)),
      h("span", {}, h("span", { class: "muted" }, "node "), status.node, h("span", { class: "muted" }, ` (${status.org})`)),
      h("span", { id: "chainbar-height" }, h("span", { class: "muted" }, "height "), fmtInt(status.height)),
      h("span", { class: "opt" }, h("span", { class: "muted" }, "genesis "), h("span", { class: "mono", title: status.genesis_hash }, short(status.genesis_hash, 8, 4))),
      status.halted ? h("span", { class: "halted" }, `halted: ${status.halted}`) : null,
    ]);
  } catch (error) {
    clear(bar).append(h("span", { class: "bad-text" }, error.message));
  }
}

export async function renderPath(main, path, query) {
  for (const [pattern, section, render] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (section === "console" && !consoleMode) break;
    markNav(section);
    const params = match.slice(1).map(decodeURIComponent);
    await render(main, params, query, { console: consoleMode, renderPath });
    return;
  }
  notFound(main);
}

function shortcuts() {
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      document.getElementById("q").focus();
    }
  });
}

async function start() {
  document.getElementById("zone").textContent = timeZone();
  if (consoleMode) {
    document.getElementById("brand-mode").textContent = "console";
    for (const el of document.querySelectorAll(".console-only")) el.hidden = false;
  }
  shortcuts();
  const query = new URLSearchParams(location.search);
  if (location.pathname === "/search") document.getElementById("q").value = query.get("q") || "";
  chainBar();
  const main = document.getElementById("main");
  clear(main);
  try {
    await renderPath(main, location.pathname, query);
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    main.append(errorBox(error instanceof ApiError ? error : new Error(`Something went wrong on this page: ${error.message}`)));
  }
  // When the page's content (and its checks) are drawn: benchmarks/bench_explorer.py reads it.
  performance.mark("explorer-rendered");
}

start();
