// Dashboard figures from the REST API, refreshed when devices change; recent events live.

import { api, query } from "./api.js";
import { onConnection, onEvent } from "./events.js";
import { el, t } from "./i18n.js";

const MAX_EVENTS = 50;

async function count(path, params = {}) {
  const page = await api(`${path}?${query({ ...params, limit: 1 })}`);
  return page.count;
}

function setStat(name, value) {
  const node = document.querySelector(`[data-stat="${name}"]`);
  if (node) node.textContent = value;
}

async function loadFigures() {
  const [devices, online, channels, channelsOnline] = await Promise.all([
    count("/api/devices/"),
    count("/api/devices/", { online: "true" }),
    count("/api/channels/"),
    count("/api/channels/", { online: "true" }),
  ]);
  setStat("devices-total", devices);
  setStat("devices-online", online);
  setStat("channels-total", channels);
  setStat("channels-online", channelsOnline);
  if (document.getElementById("streams-card")) {
    const streams = await api("/api/streams/");
    setStat("streams", Array.isArray(streams) ? streams.length : streams.count);
  }
}

async function loadHealth() {
  const health = await api("/api/health/");
  for (const node of document.querySelectorAll("[data-health]")) {
    const state = health[node.dataset.health] || "";
    const ok = state === "ok";
    node.textContent = ok ? t("healthOk") : state;
    node.className = ok ? "ok" : "bad";
  }
}

function eventDetails(event) {
  const skip = new Set(["type", "at", "device_id"]);
  return Object.entries(event)
    .filter(([key]) => !skip.has(key))
    .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`)
    .join(" · ");
}

const tbody = document.getElementById("events");
let refreshTimer = null;

onEvent("*", (event) => {
  if (event.type === "hello" || event.type === "pong") return;
  const at = event.at ? new Date(event.at) : new Date();
  tbody.prepend(el("tr", { dataset: { type: event.type } },
    el("td", {}, at.toLocaleTimeString()),
    el("td", {}, t(`events.${event.type}`)),
    el("td", {}, event.device_id || ""),
    el("td", {}, eventDetails(event)),
  ));
  while (tbody.rows.length > MAX_EVENTS) tbody.deleteRow(-1);
  document.getElementById("events-empty").hidden = true;
  if (event.type.startsWith("device.") || event.type.startsWith("channel.") || event.type === "catalog.updated") {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => loadFigures().catch(() => {}), 1000);
  }
});
onConnection((connected) => {
  document.getElementById("events-state").textContent = t(connected ? "eventsConnected" : "eventsDisconnected");
});

loadFigures().catch((error) => setStat("devices-total", t("failed", { detail: error.message })));
loadHealth().catch(() => {});
setInterval(() => loadHealth().catch(() => {}), 10000);
