// "My code": draw the QR from the code string, keep a live clock, fetch a new code every
// refresh period (data-refresh-seconds, 60 by default) with the page's CSRF token, and show
// the colour and reasons that come with it. Without this script the page still shows the
// server's code (a <noscript> image); nothing here is needed to read the colour.
import qrcode from "../../vendor/qrcode-generator/qrcode.mjs";

const config = JSON.parse(document.getElementById("code-config").textContent);
const texts = JSON.parse(document.getElementById("texts").textContent);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const holder = document.getElementById("code-qr");
const panel = document.getElementById("code-panel");
const COLOURS = ["green", "yellow", "red", "unknown"];
const SVG = "http://www.w3.org/2000/svg";
const QUIET = 4; // modules of white around the code (ISO/IEC 18004 quiet zone)

const fill = (key, values = {}) =>
  (texts[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));

export function draw(code) {
  const qr = qrcode(0, "M");
  qr.addData(code, "Alphanumeric");
  qr.make();
  const n = qr.getModuleCount();
  const side = n + 2 * QUIET;
  let d = "";
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) d += `M${c + QUIET} ${r + QUIET}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${side} ${side}`);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const paper = document.createElementNS(SVG, "rect");
  paper.setAttribute("width", String(side));
  paper.setAttribute("height", String(side));
  paper.setAttribute("fill", "#ffffff");
  const ink = document.createElementNS(SVG, "path");
  ink.setAttribute("d", d);
  ink.setAttribute("fill", "#000000");
  svg.append(paper, ink);
  holder.replaceChildren(svg);
  holder.dataset.code = code;
}

function showColour(view) {
  const colour = COLOURS.includes(view.colour) ? view.colour : "unknown";
  for (const c of COLOURS) document.body.classList.toggle(`colour-${c}`, c === colour);
  panel.dataset.colour = colour;
  document.getElementById("code-colour").textContent = view.colour_label;
  holder.setAttribute(
    "aria-label",
    fill("citizen.qr_label", {
      name: document.querySelector("#code-panel .masked-name").textContent,
      colour: view.colour_label,
    }),
  );
  document.getElementById("code-since").textContent = fill("citizen.since", { at: view.colour_since });
  document.getElementById("code-tests").textContent =
    view.hours_since_negative_test == null
      ? fill("citizen.no_test")
      : fill("citizen.hours_test", { hours: view.hours_since_negative_test });
  document.getElementById("code-meaning").textContent =
    colour === "unknown" ? "" : fill(`citizen.meaning.${colour}`);
  const popup = view.popup ?? [];
  document.getElementById("code-popup").hidden = !popup.length;
  document.getElementById("code-popup-texts").replaceChildren(
    ...popup.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }),
  );
  const list = document.getElementById("code-reasons");
  const items = view.reasons.map((reason) => {
    const li = document.createElement("li");
    li.dataset.reason = reason.code;
    li.textContent = reason.label;
    if (reason.appeal) {
      const link = document.createElement("a");
      link.className = "appeal";
      link.href = reason.appeal;
      link.textContent = fill("citizen.appeal");
      li.append(" ", link);
    }
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.textContent = fill("citizen.no_reasons");
    items.push(li);
  }
  list.replaceChildren(...items);
  const turns = document.getElementById("code-turns");
  turns.hidden = !view.turns_green;
  document.getElementById("code-turns-text").textContent = view.turns_green ?? "";
  document.getElementById("code-turns-at").textContent = view.turns_green_at
    ? fill("citizen.turns_green_at", { at: view.turns_green_at })
    : "";
  document.getElementById("code-expires").textContent = fill("citizen.expires", { at: view.expires_local });
}

async function refresh() {
  const error = document.getElementById("refresh-error");
  try {
    const answer = await fetch(config.endpoint, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    const view = await answer.json();
    draw(view.code);
    showColour(view);
    error.hidden = true;
  } catch (exc) {
    error.hidden = false;
  }
}

const clock = document.getElementById("clock");
const format = new Intl.DateTimeFormat(config.lang === "en" ? "en-GB" : "zh-CN", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});
function tick() {
  const now = new Date();
  clock.textContent = format.format(now);
  clock.dateTime = now.toISOString();
}

function schedule() {
  // Read each time: the period is the page's data attribute, not a constant of this script.
  const seconds = Number(holder.dataset.refreshSeconds) || config.refresh_seconds || 60;
  setTimeout(async () => {
    await refresh();
    schedule();
  }, seconds * 1000);
}

draw(holder.dataset.code);
tick();
setInterval(tick, 1000);
schedule();
