// The hub's dashboards: each figure is fetched from the node's own GET /v1/stats/{figure}
// (counts only, with the page's session cookie) and drawn with the vendored uPlot; a table
// under each chart gives the same numbers to a screen reader or anyone who prefers them.
import uPlot from "../../vendor/uplot/uPlot.esm.js";

const root = document.querySelector('meta[name="root"]')?.content ?? "";
const texts = JSON.parse(document.getElementById("admin-texts").textContent);
const labels = JSON.parse(document.getElementById("admin-labels").textContent);

// Colour-blind-safe palette (Okabe–Ito), each series also with its own dash pattern.
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3]];
const CODE_COLOURS = { green: "#0a6b2d", yellow: "#b07800", red: "#b3121b" };
const DECISIONS = { PASS: "#0a6b2d", DENY: "#b3121b", CHECK: "#8a5a00" };

function text(key, values = {}) {
  let s = texts[`admin.dash.${key}`] ?? key;
  for (const [k, v] of Object.entries(values)) s = s.replace(`{${k}}`, String(v));
  return s;
}

function seriesName(figure, s) {
  if (figure === "colours") return `${s.key} ${labels.colour[`colour.${s.label}`] ?? s.label}`;
  if (figure === "scans") return s.label;
  if (figure === "results") return `${s.key} ${text(`outcome.${s.label}`)}`;
  const call = text(s.label);
  return s.key ? `${s.key} ${call}` : call;
}

function seriesColour(figure, s, i) {
  if (figure === "colours" && CODE_COLOURS[s.label]) return CODE_COLOURS[s.label];
  if (figure === "scans" && DECISIONS[s.label]) return DECISIONS[s.label];
  return PALETTE[i % PALETTE.length];
}

function when(seconds, bucket) {
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return bucket === "day" ? day : `${day} ${pad(d.getHours())}:00`;
}

// Axis labels in 24-hour China-style dates: "11-20" for days, "11-20 14:00" for hours.
function tick(seconds, bucket) {
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  const day = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return bucket === "day" ? day : `${day} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function table(figure, data) {
  const t = document.createElement("table");
  const head = t.createTHead().insertRow();
  for (const h of [text("series"), text("sum")]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    head.append(th);
  }
  const body = t.createTBody();
  for (const s of data.series) {
    const row = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = seriesName(figure, s);
    row.append(th);
    row.insertCell().textContent = String(s.values.reduce((a, b) => a + b, 0));
  }
  return t;
}

function draw(section, data) {
  const figure = data.figure;
  const state = section.querySelector(".figure-state");
  const chart = section.querySelector(".chart");
  section.querySelector(".figure-table .table-wrap").replaceChildren(table(figure, data));
  if (!data.series.length) {
    state.textContent = text("empty");
    return;
  }
  state.textContent = text("total", { n: data.total });
  const width = Math.max(280, chart.clientWidth || section.clientWidth - 32);
  const options = {
    width,
    height: 260,
    scales: { x: { time: true } },
    axes: [
      { space: data.bucket === "day" ? 60 : 90, values: (u, ticks) => ticks.map((v) => tick(v, data.bucket)) },
      { values: (u, ticks) => ticks.map((v) => (Number.isInteger(v) ? v : "")) },
    ],
    legend: { live: false },
    series: [
      { value: (u, v) => (v == null ? "" : when(v, data.bucket)) },
      ...data.series.map((s, i) => ({
        label: seriesName(figure, s),
        stroke: seriesColour(figure, s, i),
        width: 2,
        dash: DASHES[i % DASHES.length],
        points: { show: data.times.length < 40 },
      })),
    ],
  };
  const plot = new uPlot(options, [data.times, ...data.series.map((s) => s.values)], chart);
  section.dataset.drawn = String(data.series.length);
  new ResizeObserver(() => {
    const w = Math.max(280, chart.clientWidth);
    if (Math.abs(w - plot.width) > 8) plot.setSize({ width: w, height: 260 });
  }).observe(chart);
}

async function load(section) {
  const figure = section.dataset.figure;
  try {
    const answer = await fetch(`${root}/v1/stats/${figure}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!answer.ok) throw new Error(String(answer.status));
    draw(section, await answer.json());
  } catch (error) {
    section.querySelector(".figure-state").textContent = text("failed");
    section.dataset.drawn = "failed";
  }
}

for (const section of document.querySelectorAll("section.figure")) load(section);
