// Live streams with their viewers and receive statistics (/api/streams/); stop one (DELETE).

import { api } from "./api.js";
import { onEvent } from "./events.js";
import { el, t } from "./i18n.js";

const REFRESH_MS = 2000;
const tbody = document.querySelector("#streams-table tbody");
const empty = document.getElementById("streams-empty");
const problem = document.getElementById("streams-error");

function lossPercent(stats) {
  const expected = (stats.packets || 0) + (stats.lost || 0);
  return expected ? `${((100 * (stats.lost || 0)) / expected).toFixed(1)}%` : "–";
}

function row(stream) {
  const stats = stream.stats || {};
  const stop = el("button", { type: "button", className: "danger", dataset: { stop: stream.stream_id } }, t("stop"));
  stop.addEventListener("click", async () => {
    stop.disabled = true;
    try {
      await api(`/api/streams/${encodeURIComponent(stream.stream_id)}/`, { method: "DELETE" });
      await refresh();
    } catch (error) {
      stop.disabled = false;
      problem.textContent = t("failed", { detail: error.message });
    }
  });
  const video = [stream.codec, stream.width ? `${stream.width}×${stream.height}` : ""].filter(Boolean).join(" · ");
  return el("tr", { dataset: { streamId: stream.stream_id } },
    el("td", {}, stream.channel_id),
    el("td", {}, stream.device_id),
    el("td", {}, video || "–"),
    el("td", {}, stream.transport),
    el("td", { className: "viewers" }, String(stream.ws_viewers ?? stream.viewers ?? 0)),
    el("td", {}, stats.bitrate != null ? t("bitrate", { kbps: Math.round(stats.bitrate / 1000) }) : "–"),
    el("td", {}, stats.fps != null ? t("fps", { fps: Math.round(stats.fps) }) : "–"),
    el("td", {}, lossPercent(stats)),
    el("td", {}, stream.started_at ? new Date(stream.started_at * 1000).toLocaleTimeString() : "–"),
    el("td", {}, stop),
  );
}

async function refresh() {
  const answer = await api("/api/streams/");
  tbody.replaceChildren(...answer.results.map(row));
  empty.hidden = answer.results.length > 0;
  problem.textContent = "";
}

function refreshQuietly() {
  refresh().catch((error) => {
    problem.textContent = t("failed", { detail: error.message });
  });
}

onEvent("*", (event) => {
  if (event.type.startsWith("stream.")) refreshQuietly();
});
refreshQuietly();
setInterval(refreshQuietly, REFRESH_MS);
