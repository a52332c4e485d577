// The overview: where the chain is, how fast it goes, who validates it and who this node talks to.
//
// API calls: GET /v1/status once, then one GET /v1/blocks?before=&limit= for the headers of the last
// WINDOW_BLOCKS + 1 blocks (counts and certificates, not their lists of transaction hashes), then the
// stream from the next height. Per new block: at most one GET /v1/blocks?before=h+1&limit=1 (its
// proposer and signers, skipped while one is in flight) and at most one GET /v1/status every
// STATUS_REFRESH_MS (mempool, peers). Nothing grows without bound: the chart and the lists keep a
// fixed number of blocks.

import { getJSON, statusOnce, subscribe } from "../api.js";
import {
  badge, blockLink, card, clear, empty, fmtAgo, fmtBytes, fmtDuration, fmtInt, fmtNum, fmtPercent, fmtTime, h,
  ident, kv, nodeLabel, nodeNames, pageTitle, short, table, tile,
} from "../ui.js";
import { drawChart } from "./chart.js";

const WINDOW_BLOCKS = 20;
const LATEST_ROWS = 8;
const STATUS_REFRESH_MS = 3000;

function seriesOf(blocks) {
  const points = [];
  for (let i = 1; i < blocks.length; i++) {
    const intervalMs = blocks[i].time_ms - blocks[i - 1].time_ms;
    points.push({ height: blocks[i].height, txs: blocks[i].txs, intervalMs, tps: intervalMs > 0 ? blocks[i].txs / (intervalMs / 1000) : 0 });
  }
  return points;
}

export async function renderOverview(main) {
  main.append(pageTitle("Overview", h("span", { class: "live", id: "live", role: "status" }, "connecting…")));
  const status = await statusOnce();
  const names = nodeNames(status);
  const top = status.height;
  const loaded = top >= 1 ? (await getJSON(`/v1/blocks?before=${top + 1}&limit=${WINDOW_BLOCKS + 1}`)).blocks : [];
  // Oldest first: the chart reads left to right.
  const timeline = loaded.map((b) => ({ height: b.height, time_ms: b.time_ms, txs: b.txs })).sort((a, b) => a.height - b.height);
  const recent = [...loaded].sort((a, b) => b.height - a.height);
  const lastSigned = new Map();
  const noteSigners = (block) => {
    for (const sig of block.certificate?.signatures || []) {
      lastSigned.set(sig.node_id, Math.max(lastSigned.get(sig.node_id) || 0, block.height));
    }
  };
  recent.forEach(noteSigners);

  const state = { status, latest: recent[0] || null, timeline, recent: recent.slice(0, LATEST_ROWS) };

  const tiles = h("div", { class: "tiles" });
  const chartBox = h("div", { class: "chart", id: "tps-chart" });
  const chartNote = h("p", { class: "hint" });
  const latestBox = h("div");
  const validatorsBox = h("div");
  const peersBox = h("div");
  const chainBox = h("div");
  main.append(
    tiles,
    card("Transactions per second", chartNote, chartBox),
    h("div", { class: "columns" },
      card("Latest blocks", latestBox, h("p", { class: "more" }, h("a", { href: "/blocks" }, "All blocks →"))),
      card("Validators", validatorsBox)),
    h("div", { class: "columns" }, card("Peers of this node", peersBox), card("Chain", chainBox)),
  );

  const drawTiles = () => {
    const s = state.status;
    const series = seriesOf(state.timeline);
    const spanMs = state.timeline.length > 1 ? state.timeline.at(-1).time_ms - state.timeline[0].time_ms : 0;
    const txs = series.reduce((n, p) => n + p.txs, 0);
    const connected = s.peers.filter((p) => p.connected).length;
    const totalPower = s.validators.reduce((n, v) => n + v.power, 0);
    const latest = state.timeline.at(-1);
    clear(tiles).append(
      tile("Height", h("span", { id: "overview-height" }, fmtInt(s.height)), state.latest ? h("span", {}, "block ", h("a", { href: `/blocks/${state.latest.height}`, class: "mono short" }, short(state.latest.hash, 6, 4))) : null),
      tile("Last block", latest ? h("span", { "data-ago": latest.time_ms }, fmtAgo(latest.time_ms)) : "—", latest ? fmtTime(latest.time_ms) : null),
      tile("Block time", series.length ? fmtDuration(spanMs / series.length) : "—", `average of the last ${fmtInt(series.length)} blocks`),
      tile("Throughput", spanMs > 0 ? `${fmtNum(txs / (spanMs / 1000))} tx/s` : "—", `${fmtInt(txs)} transactions in ${fmtInt(series.length)} blocks`),
      tile("Mempool", `${fmtInt(s.mempool.txs)} txs`, fmtBytes(s.mempool.bytes)),
      tile("Validators", fmtInt(s.validators.length), `total power ${fmtInt(totalPower)}`),
      tile("Peers", `${fmtInt(connected)} of ${fmtInt(s.peers.length)}`, "connected"),
    );
  };

  const drawChartCard = () => {
    const series = seriesOf(state.timeline);
    chartNote.textContent = series.length
      ? `Each bar is one block: its transactions divided by the time since the block before it. Blocks ${fmtInt(series[0].height)} to ${fmtInt(series.at(-1).height)}.`
      : "The chart needs two blocks; it fills in as blocks are committed.";
    drawChart(chartBox, series);
  };

  const drawLatest = () => {
    clear(latestBox).append(table(
      [{ label: "Height" }, { label: "Hash", class: "opt" }, { label: "Time" }, { label: "Txs", class: "num" }, { label: "Proposer", class: "opt" }],
      state.recent.map((b) => [
        blockLink(b.height),
        h("a", { href: `/blocks/${b.height}`, class: "mono", title: b.hash }, short(b.hash, 8, 4)),
        h("span", { "data-ago": b.time_ms, title: fmtTime(b.time_ms) }, fmtAgo(b.time_ms)),
        fmtInt(b.txs),
        nodeLabel(b.proposer, names),
      ]),
      { empty: empty("No blocks yet.", "The validators have not committed a block; this list fills in as they do.") },
    ));
  };

  const drawValidators = () => {
    const s = state.status;
    const totalPower = s.validators.reduce((n, v) => n + v.power, 0);
    const oldest = state.timeline.length ? state.timeline[0].height : s.height;
    clear(validatorsBox).append(table(
      [{ label: "Validator" }, { label: "Power", class: "num" }, { label: "Share", class: "num opt" }, { label: "Last signed" }],
      s.validators.map((v) => {
        const signed = lastSigned.get(v.node_id);
        return [
          nodeLabel(v.node_id, names),
          fmtInt(v.power),
          fmtPercent(totalPower ? v.power / totalPower : NaN),
          signed ? blockLink(signed) : h("span", { class: "muted", title: "Only the blocks on this page are read, never the whole chain." }, `not since ${fmtInt(oldest)}`),
        ];
      }),
      { empty: empty("No validators.", "The ledger records no validator set at this height.") },
    ));
  };

  const drawPeers = () => {
    const s = state.status;
    clear(peersBox).append(table(
      [{ label: "Peer" }, { label: "State" }, { label: "Height", class: "num" }],
      s.peers.map((p) => [nodeLabel(p.node_id, names), p.connected ? badge("connected", "good") : badge("not connected", "bad"), p.height === null || p.height === undefined ? "—" : fmtInt(p.height)]),
      { empty: empty("No peers.", "This node knows no other node: it is an alliance of one, or its configuration lists none.") },
    ));
  };

  const drawChain = () => {
    const s = state.status;
    clear(chainBox).append(kv([
      ["Chain id", ident(s.chain_id, { what: "chain id" })],
      ["Genesis hash", ident(s.genesis_hash, { what: "genesis hash", shortForm: true })],
      ["This node", h("span", {}, s.node, h("span", { class: "muted" }, ` of ${s.org}`))],
      ["Node id", ident(s.node_id, { what: "node id", shortForm: true })],
      ["Role", s.validator ? "validator" : "follower (not a validator)"],
      ["State", s.syncing ? badge("catching up", "warn") : s.halted ? badge(`halted: ${s.halted}`, "bad") : badge("in step", "good")],
      ["App hash", ident(s.app_hash, { what: "app hash", shortForm: true })],
      ["Replay window", `${fmtInt(s.tx_window_blocks)} blocks`, " a transaction is valid for at most this many blocks"],
    ]));
  };

  drawTiles();
  drawChartCard();
  drawLatest();
  drawValidators();
  drawPeers();
  drawChain();

  // Live: the stream tells when a block commits; its details come from one block request.
  const live = document.getElementById("live");
  let fetching = false;
  let wanted = 0;
  let statusAt = Date.now();
  const fetchLatest = async () => {
    if (fetching) return;
    fetching = true;
    try {
      while (wanted && wanted !== state.latest?.height) {
        const height = wanted;
        const [block] = (await getJSON(`/v1/blocks?before=${height + 1}&limit=1`)).blocks;
        noteSigners(block);
        if (!state.latest || block.height > state.latest.height) state.latest = block;
        state.recent = [block, ...state.recent.filter((b) => b.height !== block.height)].sort((a, b) => b.height - a.height).slice(0, LATEST_ROWS);
        drawLatest();
        drawValidators();
        drawTiles();
      }
    } catch {
      // the next block tries again
    } finally {
      fetching = false;
    }
  };
  const onBlock = async (message) => {
    state.status = { ...state.status, height: Math.max(state.status.height, message.height) };
    state.timeline = [...state.timeline, { height: message.height, time_ms: message.time_ms, txs: message.txs }].slice(-(WINDOW_BLOCKS + 1));
    const barHeight = document.getElementById("chainbar-height");
    if (barHeight) barHeight.lastChild.textContent = fmtInt(state.status.height);
    drawTiles();
    drawChartCard();
    wanted = message.height;
    fetchLatest();
    if (Date.now() - statusAt > STATUS_REFRESH_MS) {
      statusAt = Date.now();
      try {
        state.status = await getJSON("/v1/status");
        drawTiles();
        drawPeers();
        drawChain();
      } catch {
        // shown again at the next refresh
      }
    }
  };
  subscribe(top + 1, onBlock, (mode) => {
    live.textContent = mode === "live" ? "live" : "reconnecting…";
    live.className = mode === "live" ? "live live-on" : "live";
  });
  setInterval(() => {
    for (const el of document.querySelectorAll("[data-ago]")) el.textContent = fmtAgo(Number(el.dataset.ago));
  }, 1000);
  let lastWidth = chartBox.clientWidth;
  window.addEventListener("resize", () => {
    if (chartBox.clientWidth !== lastWidth) {
      lastWidth = chartBox.clientWidth;
      drawChartCard();
    }
  });
}
