// A bar chart of transactions per second per block, drawn as SVG at the container's own pixel width
// (so its text stays readable on a phone), one link per bar to its block.

import { clear, fmtInt, fmtNum } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT_PX = 190;
const PAD = { top: 14, right: 12, bottom: 26, left: 48 };

function svg(tag, attrs = {}, text = null) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== null) el.textContent = text;
  return el;
}

// A round upper bound for the axis: 1, 2 or 5 times a power of ten.
function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

export function drawChart(container, series) {
  clear(container);
  const width = Math.max(280, container.clientWidth || 600);
  const innerW = width - PAD.left - PAD.right;
  const innerH = HEIGHT_PX - PAD.top - PAD.bottom;
  const peak = Math.max(0, ...series.map((p) => p.tps));
  const top = niceMax(peak);
  const total = series.reduce((n, p) => n + p.txs, 0);
  const root = svg("svg", { width, height: HEIGHT_PX, viewBox: `0 0 ${width} ${HEIGHT_PX}`, role: "img" });
  const summary = series.length
    ? `Transactions per second for blocks ${series[0].height} to ${series.at(-1).height}: peak ${fmtNum(peak)}, ${fmtInt(total)} transactions in all.`
    : "No blocks to chart yet.";
  root.setAttribute("aria-label", summary);
  root.append(svg("title", {}, summary));
  for (const fraction of [0, 0.5, 1]) {
    const y = PAD.top + innerH * (1 - fraction);
    root.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: fraction === 0 ? "axis" : "grid" }));
    root.append(svg("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, fmtNum(top * fraction)));
  }
  root.append(svg("text", { x: 4, y: PAD.top - 3, class: "tick" }, "tx/s"));
  if (series.length) {
    const slot = innerW / series.length;
    const barW = Math.max(2, Math.min(28, slot * 0.7));
    series.forEach((p, i) => {
      const barH = top ? (p.tps / top) * innerH : 0;
      const x = PAD.left + slot * i + (slot - barW) / 2;
      const link = svg("a", { href: `/blocks/${p.height}` });
      link.setAttribute("aria-label", `Block ${p.height}: ${p.txs} transactions, ${fmtNum(p.tps)} per second`);
      link.append(svg("title", {}, `Block ${fmtInt(p.height)}: ${fmtInt(p.txs)} txs in ${fmtNum(p.intervalMs / 1000)} s = ${fmtNum(p.tps)} tx/s`));
      // A zero bar still gets a sliver, so every block has something to point at.
      link.append(svg("rect", { x, y: PAD.top + innerH - Math.max(barH, 2), width: barW, height: Math.max(barH, 2), rx: 2, class: p.txs ? "bar" : "bar bar-empty" }));
      root.append(link);
    });
    const labels = series.length > 1 ? [0, series.length - 1] : [0];
    for (const i of labels) {
      root.append(svg("text", { x: PAD.left + slot * i + slot / 2, y: HEIGHT_PX - 8, "text-anchor": i === 0 && series.length > 1 ? "start" : "end", class: "tick" }, `#${fmtInt(series[i].height)}`));
    }
    if (total === 0) {
      root.append(svg("text", { x: PAD.left + innerW / 2, y: PAD.top + innerH / 2, "text-anchor": "middle", class: "chart-empty" }, "No transactions in these blocks"));
    }
  }
  container.append(root);
}
