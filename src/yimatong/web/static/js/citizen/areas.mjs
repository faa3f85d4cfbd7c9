// The declaration's area picker: province → city → county → street selects that fill the
// validated code field beside them. Without script the code field alone does the job.
const texts = JSON.parse(document.getElementById("texts").textContent);
const LEVELS = ["province", "city", "county", "township"];

async function children(endpoint, parent) {
  const url = parent ? `${endpoint}?parent=${encodeURIComponent(parent)}` : endpoint;
  const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!answer.ok) return [];
  return answer.json();
}

function picker(box) {
  const field = document.getElementById(box.dataset.for);
  const endpoint = box.dataset.endpoint;
  const selects = LEVELS.map((level) => {
    const id = `${box.dataset.for}-${level}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = texts[`citizen.pick.${level}`];
    const select = document.createElement("select");
    select.id = id;
    select.disabled = true;
    box.append(label, select);
    return select;
  });

  async function fill(index, parent) {
    for (const later of selects.slice(index)) {
      later.replaceChildren();
      later.disabled = true;
    }
    if (index >= selects.length) return;
    const found = await children(endpoint, parent);
    if (!found.length) return;
    const select = selects[index];
    const none = document.createElement("option");
    none.value = "";
    none.textContent = texts["citizen.pick.choose"];
    select.append(none, ...found.map((area) => {
      const option = document.createElement("option");
      option.value = area.code;
      option.textContent = area.name;
      return option;
    }));
    select.disabled = false;
  }

  selects.forEach((select, index) => {
    select.addEventListener("change", async () => {
      if (!select.value) return;
      if (index >= 2) field.value = select.value; // a county or a street is a stay's area
      await fill(index + 1, select.value);
    });
  });
  box.hidden = false;
  fill(0, "");
}

document.querySelectorAll(".area-picker").forEach(picker);
