// The device page: edit (PATCH), delete, refresh the catalog with a progress bar fed by
// catalog.progress events, the channels table in pages, and live online state.

import { api, query } from "./api.js";
import { onEvent } from "./events.js";
import { el, t } from "./i18n.js";

const PAGE = 100;
const root = document.getElementById("device");
const deviceId = root.dataset.deviceId;
const base = `/api/devices/${deviceId}/`;

function showStatus(online) {
  const badge = document.getElementById("device-status");
  badge.className = `badge ${online ? "on" : "off"}`;
  badge.textContent = t(online ? "online" : "offline");
}

// --- channels table ---------------------------------------------------------------------------
const tbody = document.querySelector("#channels-table tbody");
const more = document.getElementById("channels-more");
let nextOffset = 0;

async function loadChannels(offset) {
  more.hidden = true;
  const page = await api(`${base}channels/?${query({ limit: PAGE, offset })}`);
  const fragment = document.createDocumentFragment();
  for (const channel of page.results) {
    fragment.append(el("tr", { dataset: { channelId: channel.channel_id } },
      el("td", {}, channel.channel_id),
      el("td", {}, channel.name),
      el("td", { className: `status ${channel.status}` }, t(`status.${channel.status}`)),
      el("td", {}, channel.manufacturer),
      el("td", {}, channel.civil_code),
      el("td", {}, channel.address),
    ));
  }
  if (offset === 0) tbody.replaceChildren(fragment);
  else tbody.append(fragment);
  nextOffset = offset + page.results.length;
  more.hidden = !page.next;
  document.getElementById("channel-count").textContent = page.count;
}
more.addEventListener("click", () => loadChannels(nextOffset));

// --- catalog refresh --------------------------------------------------------------------------
const refresh = document.getElementById("catalog-refresh");
const bar = document.getElementById("catalog-progress");
const catalogMessage = document.getElementById("catalog-message");

function showProgress(received, total) {
  bar.hidden = false;
  bar.dataset.state = "running";
  if (total > 0) {
    bar.max = total;
    bar.value = Math.min(received, total);
    catalogMessage.textContent = t("catalogProgress", { received, total });
  }
}

refresh.addEventListener("click", async () => {
  refresh.disabled = true;
  bar.hidden = false;
  bar.removeAttribute("value"); // indeterminate until the first progress event
  bar.dataset.state = "requested";
  catalogMessage.textContent = t("catalogRequested");
  try {
    await api(`${base}catalog/`, { method: "POST" });
  } catch (error) {
    bar.hidden = true;
    refresh.disabled = false;
    catalogMessage.textContent = t("failed", { detail: error.message });
  }
});

onEvent("catalog.progress", (event) => {
  if (event.device_id === deviceId) showProgress(event.received, event.total);
});
onEvent("catalog.updated", (event) => {
  if (event.device_id !== deviceId) return;
  bar.hidden = false;
  bar.max = Math.max(event.channel_count, 1);
  bar.value = bar.max;
  bar.dataset.state = "done";
  refresh.disabled = false;
  const key = event.complete ? "catalogDone" : "catalogIncomplete";
  catalogMessage.textContent = t(key, { count: event.channel_count });
  loadChannels(0);
});

// --- live state -------------------------------------------------------------------------------
onEvent("device.online", (e) => e.device_id === deviceId && showStatus(true));
onEvent("device.registered", (e) => e.device_id === deviceId && showStatus(true));
onEvent("device.offline", (e) => e.device_id === deviceId && showStatus(false));
onEvent("device.unregistered", (e) => e.device_id === deviceId && showStatus(false));
onEvent("channel.status", (event) => {
  if (event.device_id !== deviceId) return;
  const cell = tbody.querySelector(`tr[data-channel-id="${CSS.escape(event.channel_id)}"] td.status`);
  if (cell) {
    cell.className = `status ${event.status}`;
    cell.textContent = t(`status.${event.status}`);
  }
});

// --- edit and delete --------------------------------------------------------------------------
const form = document.getElementById("device-edit");
const editMessage = document.getElementById("edit-message");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { name: form.elements.name.value.trim() };
  if (form.elements.password_clear.checked) body.password = "";
  else if (form.elements.password.value) body.password = form.elements.password.value;
  try {
    const device = await api(base, { method: "PATCH", body });
    document.getElementById("device-name").textContent = device.name || device.device_id;
    form.elements.password.value = "";
    form.elements.password_clear.checked = false;
    editMessage.textContent = t("saved");
  } catch (error) {
    editMessage.textContent = t("failed", { detail: error.message });
  }
});

document.getElementById("device-delete").addEventListener("click", async () => {
  if (!window.confirm(t("confirmDelete", { id: deviceId }))) return;
  try {
    await api(base, { method: "DELETE" });
    location.assign(root.dataset.treeUrl);
  } catch (error) {
    editMessage.textContent = t("failed", { detail: error.message });
  }
});

loadChannels(0).catch((error) => {
  tbody.replaceChildren(el("tr", {}, el("td", { colspan: "6" }, t("failed", { detail: error.message }))));
});
