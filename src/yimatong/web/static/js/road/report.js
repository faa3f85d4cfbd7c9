// A citizen's phone reports a jolt it felt (a bump event), with the SHA-256 of a photo if one
// is chosen (the photo itself stays on the phone), to POST /v1/road/observations — the same
// API as the vehicles', unsigned and never trusted. The phone's id is random, kept in this
// browser; its points are at /v1/road/points/{id}.
const form = document.getElementById("report");
const api = form.dataset.api;
const result = document.getElementById("report-result");
const points = document.getElementById("my-points");
const shown = document.getElementById("my-device");

function device() {
  let id = localStorage.getItem("ymt-road-device");
  if (!id) {
    const raw = crypto.getRandomValues(new Uint8Array(8));
    id = "app-" + Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem("ymt-road-device", id);
  }
  return id;
}

function nextSeq() {
  const seq = Number(localStorage.getItem("ymt-road-seq") || "0");
  localStorage.setItem("ymt-road-seq", String(seq + 1));
  return seq;
}

async function sha256(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function refreshPoints() {
  const answer = await fetch(`${api}/points/${device()}`);
  if (answer.ok) points.textContent = String((await answer.json()).points);
  shown.textContent = device();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const photo = data.get("photo");
  const row = {
    kind: "bump",
    device_id: device(),
    seq: nextSeq(),
    observed_at: new Date().toISOString(),
    lon: Number(data.get("lon")),
    lat: Number(data.get("lat")),
    datum: "WGS84",
    magnitude_g: Number(data.get("magnitude")),
    image_sha256: photo && photo.size ? await sha256(photo) : null,
  };
  const answer = await fetch(`${api}/observations`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ observations: [row] }),
  });
  const body = await answer.json();
  if (answer.ok && body.accepted === 1) {
    result.textContent = form.dataset.ok || "✓";
    result.dataset.state = "accepted";
  } else {
    const why = answer.ok ? body.errors.map((e) => e.detail).join("; ") : body.detail;
    result.textContent = why;
    result.dataset.state = "refused";
  }
  refreshPoints();
});

refreshPoints();
