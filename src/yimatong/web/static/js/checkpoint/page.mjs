// The checkpoint page: settings on the device, scans from the camera, a photo or the keyboard,
// the answer as a full-width panel, and the state of the connection and the lists.
import { Camera, decodePhoto } from "./camera.mjs";
import { Store } from "./store.mjs";
import { DATE_OF_BIRTH, OUTCOME } from "./texts.mjs";
import { Verifier } from "./verifier.mjs";

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("checkpoint-config").textContent);
const words = JSON.parse($("texts").textContent);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const t = (key, values = {}) => (words[`checkpoint.${key}`] ?? key).replace(/\{(\w+)\}/g, (_, k) => values[k]);
const SETTINGS = `ymt-checkpoint-settings:${config.worker_scope}`;

function settings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS)) || {};
  } catch {
    return {};
  }
}

function ago(seconds) {
  const lang = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
  const units = lang === "zh" ? ["秒", "分钟", "小时", "天"] : [" s", " min", " h", " days"];
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))}${units[0]}`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}${units[1]}`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}${units[2]}`;
  return `${Math.floor(seconds / 86400)}${units[3]}`;
}

const store = await new Store().open();
let verifier = null;

async function build() {
  const s = settings();
  $("region").value =
    s.region || (config.scope && config.scope.length === 6 ? config.scope : "") || config.home_region || "";
  $("area").value = s.area || "";
  $("place-kind").value = s.place_kind || "any";
  $("gate").value = s.gate || "";
  const region = $("region").value;
  $("unset").hidden = Boolean(region);
  if (!region) $("settings").open = true;
  verifier = new Verifier(
    {
      api: config.api,
      hubKeys: config.hub_keys,
      csrf,
      checkpoint: config.checkpoint,
      gate: s.gate || null,
      region: region || null,
      area: s.area || null,
      placeKind: s.place_kind || "any",
    },
    { store },
  );
  await verifier.load();
  window.checkpoint = { verifier, timings: [], results: [] };
  await showStatus();
  if (navigator.onLine) await sync();
}

async function sync() {
  if (!verifier) return;
  try {
    await verifier.refresh();
    await verifier.upload();
  } finally {
    await showStatus();
  }
}

async function showStatus() {
  const online = navigator.onLine && verifier.link === null;
  const net = $("net");
  net.textContent = online ? t("online") : `${t("offline")} · ${t("offline_note")}`;
  net.className = `badge ${online ? "online" : "offline"}`;
  const age = verifier.oldestListAge();
  $("lists-age").textContent = age === null ? t("no_lists") : t("lists_age", { age: ago(age) });
  const pending = await store.count("pending");
  $("queue").textContent = pending ? t("queue", { n: pending }) : "";
  document.body.dataset.online = online ? "yes" : "no";
}

function list(id, items) {
  const ul = $(id);
  ul.replaceChildren(...items.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
}

function show(result) {
  const panel = $("result");
  const d = result.decision;
  const outcome = d ? d.outcome : result.pending ? "MORE" : result.valid ? "VALID" : "INVALID";
  panel.className = `result ${d ? d.outcome : "CHECK"}`;
  panel.dataset.outcome = outcome;
  panel.dataset.mode = result.mode;
  panel.dataset.ms = result.ms.toFixed(2);
  $("outcome").textContent = outcome;
  const [zh, en] = OUTCOME[outcome] ?? [outcome, outcome];
  $("outcome-label").textContent = zh;
  $("outcome-label-en").textContent = en;
  const shown = result.display || {};
  $("colour").textContent = shown.colour_zh ? `${shown.colour_zh} ${shown.colour_en}` : "";
  $("colour").hidden = !shown.colour_zh;
  $("masked-name").textContent = shown.masked_name || "";
  $("masked-id").textContent = shown.masked_id || "";
  // An international certificate: the date of birth in full, for the comparison with the passport.
  $("date-of-birth").textContent = shown.date_of_birth ? `${DATE_OF_BIRTH[0]} ${DATE_OF_BIRTH[1]}: ${shown.date_of_birth}` : "";
  $("date-of-birth").hidden = !shown.date_of_birth;
  $("notes").textContent = (result.notes || []).join(" · ");
  list("reasons-zh", d ? d.reasons_zh : []);
  list("reasons-en", d ? d.reasons_en : []);
  $("mode").textContent = t(result.mode === "online" ? "mode_online" : "mode_offline");
  $("issuer").textContent = result.issuer ? `${t("issuer")} ${result.issuer}` : "";
  $("took").textContent = t("took", { ms: result.ms.toFixed(1) });
  $("policy").textContent = d && d.policy ? `${t("policy")}: ${d.policy.region} · v${d.policy.version} · ${d.policy.description}` : "";
  panel.hidden = false;
}

async function scan(text) {
  if (!verifier.config.region) {
    $("unset").hidden = false;
    $("settings").open = true;
    return null;
  }
  const raw = $("temperature").value.trim();
  const temperature = raw === "" ? null : Number(raw);
  const result = await verifier.verify(text, { temperature: Number.isFinite(temperature) ? temperature : null });
  window.checkpoint.timings.push({ mode: result.mode, ms: result.ms });
  window.checkpoint.results.push({
    outcome: result.decision?.outcome ?? null,
    mode: result.mode,
    scan_id: result.scan_id ?? null,
    kind: result.kind ?? null,
    notes: result.notes ?? [],
    reasons_en: result.decision?.reasons_en ?? [],
    display: result.display ?? null,
  });
  show(result);
  $("temperature").value = "";
  await showStatus();
  if (result.mode === "online" && navigator.onLine) verifier.upload().then(showStatus, () => {});
  return result;
}

$("scan-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("code").value;
  if (!text.trim()) return;
  await scan(text);
  $("code").value = "";
  $("code").focus();
});

$("settings-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  if (!form.reportValidity()) return;
  localStorage.setItem(
    SETTINGS,
    JSON.stringify({ region: $("region").value, area: $("area").value, place_kind: $("place-kind").value, gate: $("gate").value }),
  );
  $("saved").textContent = t("saved");
  await build();
});

const camera = new Camera($("video"), $("frame"), (text) => scan(text));
$("camera").addEventListener("click", async () => {
  $("camera-error").hidden = true;
  if (camera.running) {
    camera.stop();
    $("camera").textContent = t("camera_start");
    return;
  }
  try {
    await camera.start();
    $("camera").textContent = t("camera_stop");
  } catch (exc) {
    $("camera-error").textContent = t("camera_failed", { why: exc.name });
    $("camera-error").hidden = false;
  }
});

$("photo").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  $("photo-error").hidden = true;
  if (!file) return;
  const text = await decodePhoto(file, $("frame"));
  event.target.value = "";
  if (text === null) {
    $("photo-error").textContent = t("photo_none");
    $("photo-error").hidden = false;
    return;
  }
  await scan(text);
});

window.addEventListener("online", () => sync());
window.addEventListener("offline", () => showStatus());
setInterval(() => showStatus(), 15000);
setInterval(() => {
  if (navigator.onLine) sync();
}, 60000);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(config.worker, { scope: config.worker_scope, type: "classic" }).catch(() => {});
}
await build();
document.body.dataset.ready = "yes";
