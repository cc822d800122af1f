// fieldsync device app: live sync progress and small comforts; every page works without it.
"use strict";

const PHASES = {
  starting: "Starting…",
  pushing: "Sending…",
  pulling: "Receiving…",
  done: "Synced",
  offline: "Offline",
  signed_out: "Signed out",
  failed: "Sync failed",
};

function showStatus(status) {
  const section = document.getElementById("sync");
  if (!section) return;
  section.className = `sync ${status.phase}`;
  section.dataset.syncs = status.syncs;
  const phase = PHASES[status.phase];
  if (phase) document.getElementById("sync-phase").textContent = phase;
  document.getElementById("sync-detail").textContent = status.running
    ? `${status.pushed} sent · ${status.pulled} received`
    : status.message || (status.last_sync ? `${status.last_sync.slice(0, 16).replace("T", " ")} UTC` : "");
  document.getElementById("sync-button").disabled = status.running;
  const banner = document.getElementById("errors-banner");
  document.getElementById("error-count").textContent = status.errors;
  banner.classList.toggle("hidden", status.errors === 0);
}

function formIsDirty() {
  return [...document.querySelectorAll("form[data-dirty-guard]")].some((form) => form.dataset.dirty);
}

let lastSyncs = null;
let timer = null;

async function poll() {
  window.clearTimeout(timer);
  let next = 2000;
  try {
    const response = await fetch("/sync/status", { cache: "no-store" });
    const status = await response.json();
    const finished = lastSyncs !== null && status.syncs > lastSyncs;
    if (finished && document.body.dataset.reloadOnSync !== undefined && !formIsDirty()) {
      window.location.reload(); // the new page shows the new records and counts
      return;
    }
    showStatus(status);
    lastSyncs = status.syncs;
    if (status.running) next = 300;
  } catch (error) {
    next = 5000; // the app itself stopped; keep trying quietly
  }
  timer = window.setTimeout(poll, next);
}

document.addEventListener("DOMContentLoaded", () => {
  const syncForm = document.getElementById("sync-form");
  if (syncForm) {
    syncForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      document.getElementById("sync-button").disabled = true;
      document.getElementById("sync-phase").textContent = "Starting…";
      await fetch("/sync", { method: "POST", body: new FormData(syncForm) });
      poll();
    });
    poll();
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const form of document.querySelectorAll("form[data-dirty-guard]")) {
    form.addEventListener("input", () => { form.dataset.dirty = "yes"; });
  }
});
