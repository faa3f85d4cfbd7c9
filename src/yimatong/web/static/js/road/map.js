// The road map: the district's roads and its non-green cells, drawn in SVG from the node's own
// vector data (/v1/road/network, /v1/road/cells), in the zone's metres (north up).
const SVG = "http://www.w3.org/2000/svg";
const map = document.getElementById("road-map");
const api = map.dataset.api;
const cellUrl = map.dataset.cellUrl;
const filters = document.getElementById("filters");
const list = document.getElementById("cell-list");
const count = document.getElementById("cell-count");
const none = document.getElementById("no-cells");
const MARK = 22; // a cell is 1 m: its mark is drawn larger to be seen at district scale

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

async function getJson(url) {
  const answer = await fetch(url, { headers: { Accept: "application/json" } });
  if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
  return answer.json();
}

let cellLayer;

async function drawNetwork() {
  const network = await getJson(`${api}/network`);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const road of network.roads) {
    for (const [x, y] of road.points) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x);
      minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
  }
  const pad = 40;
  map.setAttribute("viewBox", `${minX - pad} ${-maxY - pad} ${maxX - minX + 2 * pad} ${maxY - minY + 2 * pad}`);
  const roads = el("g", { class: "roads" }, map);
  for (const road of network.roads) {
    const points = road.points.map(([x, y]) => `${x},${-y}`).join(" ");
    const line = el("polyline", { class: "road", points, "stroke-width": road.width_m }, roads);
    el("title", {}, line).textContent = `${road.name} (${road.team})`;
  }
  cellLayer = el("g", { class: "cells" }, map);
}

async function drawCells() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(filters)) if (v) params.set(k, v);
  const cells = await getJson(`${api}/cells?${params}`);
  cellLayer.replaceChildren();
  list.replaceChildren();
  for (const f of cells.features) {
    const [[x, y]] = f.geometry.coordinates[0];
    const p = f.properties;
    const link = el("a", { href: cellUrl + f.id, "data-cell": f.id }, cellLayer);
    el("title", {}, link).textContent = `${f.id} ${p.colour} ${p.defects.join(", ")}`;
    el("circle", { class: `cell-mark ${p.colour}`, cx: x + 0.5, cy: -(y + 0.5), r: MARK }, link);
    el("rect", { class: "cell", x, y: -(y + 1), width: 1, height: 1 }, link);
    const row = document.createElement("tr");
    const a = document.createElement("a");
    a.href = cellUrl + f.id;
    a.textContent = f.id;
    const cols = [a, p.colour, p.defects.join(", ") + ` (${p.severity})`, p.work_order || ""];
    for (const c of cols) {
      const td = document.createElement("td");
      if (typeof c === "string") td.textContent = c; else td.appendChild(c);
      row.appendChild(td);
    }
    row.dataset.colour = p.colour;
    list.appendChild(row);
  }
  count.textContent = `(${cells.features.length})`;
  none.hidden = cells.features.length > 0;
  map.dataset.drawn = String(cells.features.length);
}

filters.addEventListener("change", () => { drawCells(); });
drawNetwork().then(drawCells);
