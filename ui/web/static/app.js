// disclose's own progressive enhancement. Everything works without it: forms post, links navigate.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// --- background runs (ingest, bundle): poll the JSON API and reload when the run ends ----------
for (const box of document.querySelectorAll(".disclose-run[data-run]")) {
  const status = box.dataset.status;
  if (status !== "running" && status !== "waiting") continue;
  const poll = async () => {
    let run;
    try {
      const response = await fetch(`/runs/${encodeURIComponent(box.dataset.run)}`, { headers: { Accept: "application/json" } });
      if (!response.ok) return setTimeout(poll, 3000);
      run = await response.json();
    } catch (error) {
      return setTimeout(poll, 3000);
    }
    const tag = box.querySelector("[data-run-status]");
    if (tag) tag.textContent = run.status;
    const stage = box.querySelector("[data-run-stage]");
    if (stage && run.progress && run.progress.stage) {
      stage.textContent = run.progress.total ? `${run.progress.stage} ${run.progress.done} of ${run.progress.total}` : run.progress.stage;
    }
    for (const [index, file] of ((run.progress && run.progress.files) || []).entries()) {
      const row = box.querySelector(`tr[data-file="${index}"]`);
      if (!row) continue;
      for (const cell of row.querySelectorAll("[data-field]")) cell.textContent = String(file[cell.dataset.field] ?? "");
    }
    if (run.status === "done" || run.status === "failed") window.location.reload();
    else setTimeout(poll, 1000);
  };
  setTimeout(poll, 500);
}

// --- review: text selection to character offsets, keyboard shortcuts ---------------------------
const codePoints = (text) => Array.from(text).length;

function selectionOffsets(container) {
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
  const range = selection.getRangeAt(0);
  if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) return null;
  const page = (node) => (node.nodeType === 1 ? node : node.parentElement).closest(".disclose-page");
  const startPage = page(range.startContainer);
  if (!startPage || page(range.endContainer) !== startPage) return null;
  const before = document.createRange();
  before.setStart(startPage, 0);
  before.setEnd(range.startContainer, range.startOffset);
  const text = range.toString();
  const start = Number(startPage.dataset.start) + codePoints(before.toString());
  return { start, end: start + codePoints(text), text };
}

const reviewText = document.querySelector(".disclose-review-text #item-text");
const redactForm = document.getElementById("redact-form");
function captureSelection() {
  if (!reviewText || !redactForm) return false;
  const found = selectionOffsets(reviewText);
  if (!found || !found.text.trim()) return false;
  document.getElementById("redact-text").value = found.text;
  document.getElementById("redact-start").value = String(found.start);
  document.getElementById("redact-end").value = String(found.end);
  return true;
}
if (reviewText) {
  reviewText.addEventListener("mouseup", captureSelection);
  reviewText.addEventListener("keyup", captureSelection);
  document.getElementById("redact-text").addEventListener("input", () => {
    document.getElementById("redact-start").value = "";
    document.getElementById("redact-end").value = "";
  });
}

const typing = (target) => target.closest("input, textarea, select, [contenteditable]") !== null;
document.addEventListener("keydown", (event) => {
  if (!document.getElementById("decision-form") || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  const follow = (id) => { const link = document.getElementById(id); if (link) window.location.assign(link.href); };
  const choose = (key) => document.querySelector(`#decision-form input[data-key="${key}"]`);
  switch (event.key) {
    case "j": follow("next-item"); break;
    case "k": follow("previous-item"); break;
    case "r": { const radio = choose("r"); radio.checked = true; document.getElementById("decision-form").requestSubmit(); break; }
    case "p": case "w": case "n": case "d": {
      const radio = choose(event.key); radio.checked = true; radio.focus();
      if (event.key === "p" || event.key === "w") document.querySelector("#exemptions input")?.focus();
      break;
    }
    case "x": if (captureSelection()) document.getElementById("redact-code").focus(); break;
    default: return;
  }
  event.preventDefault();
});
