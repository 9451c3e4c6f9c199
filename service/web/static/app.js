// Koshqon's web page: the few things that need a script (uploads with their progress,
// metadata edits, deletes, bringing the cited passage into view). Everything else is
// server-rendered HTML that works without it. No library, no build step.
"use strict";

const ui = JSON.parse(document.getElementById("ui-strings").textContent);
const POLL_MS = 500;

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (all, name) => (name in values ? values[name] : all));
}

// Calls the JSON API; a problem+json error becomes an Error carrying its detail.
async function api(url, options = {}) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
  return body;
}

// The form's fields that were filled in: empty ones mean "not given", not "erase".
function filledIn(form) {
  const data = new FormData(form);
  for (const [name, value] of [...data]) {
    if (value === "" || (value instanceof File && !value.name)) data.delete(name);
  }
  return data;
}

// Re-reads the document table from the server, keeping the rest of the page as it is.
async function refreshDocuments() {
  const html = await (await fetch(location.pathname + location.search)).text();
  const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("documents");
  document.getElementById("documents").replaceWith(fresh);
}

function showOutcomes(progress, results) {
  const list = progress.querySelector(".outcomes");
  list.replaceChildren(
    ...results.map((r) => {
      const item = document.createElement("li");
      item.className = r.status;
      item.textContent = `${r.filename}: ${ui["status_" + r.status]}${r.reason ? ` (${r.reason})` : ""}`;
      return item;
    }),
  );
}

// Files done, the file in hand (page read by OCR, or passage encoded) and the time left.
function showJob(progress, job) {
  const bar = progress.querySelector("progress");
  const current = job.current;
  bar.max = job.total;
  bar.value = job.done + (current ? current.done / current.total : 0) * 0.99;
  const parts = [format(ui.progress, job)];
  if (current) parts.push(format(ui["stage_" + current.stage], current));
  if (job.eta_seconds !== null) {
    parts.push(format(ui.eta, { minutes: Math.max(1, Math.round(job.eta_seconds / 60)) }));
  }
  progress.querySelector(".summary").textContent = parts.join(" · ");
  showOutcomes(progress, job.results);
}

// A title from a file name ("kandas-resettlement.kk.md" is "kandas resettlement") and its
// language, when the name says it.
function fromName(name) {
  const parts = name.replace(/\.[^.]+$/, "").split(".");
  const language = ["kk", "ru", "en"].includes(parts.at(-1)) ? parts.pop() : "";
  return { title: parts.join(".").replace(/[-_]+/g, " ").trim(), language };
}

// Several files chosen: a row of metadata for each, prefilled from its name.
function showPerFile(input) {
  const table = document.getElementById("per-file");
  const row = document.getElementById("per-file-row");
  const files = [...input.files];
  table.hidden = files.length < 2;
  table.tBodies[0].replaceChildren(
    ...files.map((file) => {
      const tr = row.content.firstElementChild.cloneNode(true);
      const guessed = fromName(file.name);
      tr.querySelector(".filename").textContent = file.name;
      tr.querySelector("[name=title]").value = guessed.title;
      tr.querySelector("[name=language]").value = guessed.language;
      return tr;
    }),
  );
}

// Each row's filled-in fields, for POST /jobs's per_file.
function perFile() {
  return [...document.querySelectorAll("#per-file tbody tr")].map((tr) => {
    const given = {};
    tr.querySelectorAll("input, select").forEach((field) => {
      if (field.value !== "") given[field.name] = field.name === "year" ? Number(field.value) : field.value;
    });
    return given;
  });
}

// One file goes to POST /documents; several become a background job whose progress is
// polled from GET /jobs/{id} until it is finished.
async function upload(form) {
  const progress = document.getElementById("progress");
  const bar = progress.querySelector("progress");
  const data = filledIn(form);
  const files = data.getAll("files");
  ["files", "title", "doc_type", "language", "year"].forEach((name) => data.delete(name));
  for (const field of form.querySelectorAll(":scope > label input, :scope > label select")) {
    if (field.type !== "file" && field.value !== "") data.set(field.name, field.value);
  }
  progress.hidden = false;
  bar.removeAttribute("value");
  progress.querySelector(".summary").textContent = ui.uploading;
  progress.querySelector(".outcomes").replaceChildren();
  if (files.length === 1) {
    data.append("file", files[0]);
    const added = await api("/documents", { method: "POST", body: data });
    bar.max = bar.value = 1;
    progress.querySelector(".summary").textContent = "";
    showOutcomes(progress, [{ filename: added.filename, status: added.status }]);
  } else {
    files.forEach((file) => data.append("files", file));
    data.append("per_file", JSON.stringify(perFile()));
    let job = await api("/jobs", { method: "POST", body: data });
    showJob(progress, job);
    while (job.state !== "finished") {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      job = await api(`/jobs/${job.id}`);
      showJob(progress, job);
    }
  }
  form.reset();
  showPerFile(form.querySelector("[name=files]"));
  await refreshDocuments();
}

// A new version of a document: PUT with the chosen file, the metadata kept.
async function replaceVersion(button) {
  const input = button.closest("form").querySelector("input[type=file]");
  if (!input.files.length) throw new Error(ui.files);
  const data = new FormData();
  data.append("file", input.files[0]);
  const replaced = await api(`/documents/${button.dataset.replace}`, { method: "PUT", body: data });
  button.closest("form").querySelector(".status").textContent = ui["status_" + replaced.status];
  await refreshDocuments();
}

// PATCH takes JSON; only the fields given are changed.
async function saveMetadata(form) {
  const changes = Object.fromEntries(filledIn(form));
  delete changes.file; // the "replace" file, sent by its own button
  if ("year" in changes) changes.year = Number(changes.year);
  await api(`/documents/${form.dataset.document}`, {
    method: "PATCH",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(changes),
  });
  await refreshDocuments();
}

async function remove(button) {
  if (!confirm(format(ui.confirm_delete, { title: button.dataset.title }))) return;
  await api(`/documents/${button.dataset.delete}`, { method: "DELETE" });
  await refreshDocuments();
}

function reportErrors(task, where) {
  task.catch((error) => {
    where.hidden = false;
    where.textContent = error.message;
    where.classList.add("error");
    const bar = document.querySelector("#progress progress");
    if (!bar.hasAttribute("value")) bar.value = 0; // stopped: no longer "in progress"
  });
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.id === "upload") {
    event.preventDefault();
    const summary = document.querySelector("#progress .summary");
    summary.classList.remove("error");
    reportErrors(upload(form), summary);
  } else if (form.dataset.document) {
    event.preventDefault();
    reportErrors(saveMetadata(form), form.querySelector(".status"));
  }
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const row = button.closest("tr");
  if (button.hasAttribute("data-edit")) {
    row.nextElementSibling.hidden = !row.nextElementSibling.hidden;
  } else if (button.hasAttribute("data-cancel")) {
    row.hidden = true;
  } else if (button.dataset.delete) {
    reportErrors(remove(button), document.getElementById("status"));
  } else if (button.dataset.replace) {
    reportErrors(replaceVersion(button), button.closest("form").querySelector(".status"));
  }
});

document.addEventListener("change", (event) => {
  if (event.target.matches("#upload [name=files]")) showPerFile(event.target);
});

document.querySelector(".passage.cited")?.scrollIntoView({ block: "center" });
