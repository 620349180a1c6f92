// The live view grid: 1, 4, 9 or 16 cells; a channel clicked or dropped from the tree is played
// in a cell (POST .../play/), closing the cell releases the stream (DELETE /api/streams/{id}/).

import { api } from "./api.js";
import { t } from "./i18n.js";
import { play } from "./player.js";
import { DeviceTree } from "./tree.js";

const STATS_EVERY_MS = 2000;
const grid = document.getElementById("grid");
const template = document.getElementById("cell-template");
const cells = [];
let selected = 0;

function makeCell(index) {
  const cell = template.content.firstElementChild.cloneNode(true);
  cell.dataset.index = index;
  cell.querySelector(".cell-empty").textContent = t("emptyCell");
  cell.addEventListener("click", () => select(index));
  cell.addEventListener("dragover", (event) => {
    if (event.dataTransfer.types.includes("application/x-gb-channel")) event.preventDefault();
  });
  cell.addEventListener("drop", (event) => {
    event.preventDefault();
    select(index);
    open(index, JSON.parse(event.dataTransfer.getData("application/x-gb-channel")));
  });
  cell.querySelector(".cell-close").addEventListener("click", (event) => {
    event.stopPropagation();
    close(index);
  });
  cell.querySelector(".cell-sound").addEventListener("click", (event) => {
    event.stopPropagation();
    setSound(cell, cell.querySelector("video").muted);
  });
  return { element: cell, stream: null, player: null };
}

// Cells start muted (browsers only autoplay muted video); a stream with an audio track gets a
// button to hear it. The click is the user gesture that lets the browser play sound.
function setSound(element, on) {
  const video = element.querySelector("video");
  video.muted = !on;
  if (on) video.play().catch(() => {});
  element.querySelector(".cell-sound").setAttribute("aria-pressed", String(on));
}

function select(index) {
  selected = index;
  cells.forEach((cell, i) => cell.element.classList.toggle("selected", i === index));
}

function setLayout(count) {
  grid.dataset.layout = count;
  for (const button of document.querySelectorAll("[data-layout]")) {
    button.setAttribute("aria-pressed", String(button.dataset.layout === String(count)));
  }
  while (cells.length < count) {
    const cell = makeCell(cells.length);
    cells.push(cell);
    grid.append(cell.element);
  }
  for (let i = cells.length - 1; i >= count; i -= 1) {
    close(i);
    cells.pop().element.remove();
  }
  if (selected >= count) select(0);
}

async function open(index, node) {
  await close(index);
  const cell = cells[index];
  const title = cell.element.querySelector(".cell-title");
  const empty = cell.element.querySelector(".cell-empty");
  title.textContent = node.name;
  empty.textContent = t("playing");
  let stream;
  try {
    stream = await api(`/api/devices/${node.device_id}/channels/${node.channel_id}/play/`, { method: "POST" });
  } catch (error) {
    empty.textContent = t("failed", { detail: error.message });
    return;
  }
  cell.stream = stream;
  const video = cell.element.querySelector("video");
  cell.player = await play(video, stream);
  if (!cell.player) {
    empty.textContent = t("noPlayer");
    return;
  }
  empty.textContent = "";
  cell.element.classList.add("playing");
  cell.element.dataset.mode = cell.player.mode;
  cell.element.querySelector(".cell-close").hidden = false;
  cell.element.querySelector(".cell-sound").hidden = !stream.audio;
  const header = cell.player.header || stream;
  cell.element.querySelector(".cell-stats").textContent =
    [header.codec || stream.codec, stream.width && stream.height ? `${stream.width}×${stream.height}` : ""]
      .filter(Boolean).join(" · ");
  select((index + 1) % cells.length);
  tree.refreshThumbnails();
}

async function close(index) {
  const cell = cells[index];
  if (!cell || !cell.stream) return;
  const { stream, player } = cell;
  cell.stream = null;
  cell.player = null;
  if (player) player.stop();
  const video = cell.element.querySelector("video");
  video.removeAttribute("src");
  video.load();
  cell.element.classList.remove("playing");
  cell.element.querySelector(".cell-close").hidden = true;
  cell.element.querySelector(".cell-sound").hidden = true;
  setSound(cell.element, false);
  cell.element.querySelector(".cell-title").textContent = "";
  cell.element.querySelector(".cell-stats").textContent = "";
  cell.element.querySelector(".cell-empty").textContent = t("emptyCell");
  await api(`/api/streams/${stream.stream_id}/`, { method: "DELETE" }).catch(() => {});
}

// The media worker's receive statistics: bitrate in bit/s, fps, RTP packets received and lost.
function formatStats(stats, base) {
  const parts = [base];
  if (stats.bitrate != null) parts.push(t("bitrate", { kbps: Math.round(stats.bitrate / 1000) }));
  if (stats.fps != null) parts.push(t("fps", { fps: Math.round(stats.fps) }));
  if (stats.lost != null && stats.packets != null) {
    const expected = stats.packets + stats.lost;
    parts.push(t("loss", { percent: expected ? ((100 * stats.lost) / expected).toFixed(1) : "0.0" }));
  }
  return parts.filter(Boolean).join(" · ");
}

async function refreshStats() {
  if (!cells.some((cell) => cell.stream)) return;
  const answer = await api("/api/streams/");
  const streams = Array.isArray(answer) ? answer : answer.results || [];
  const byId = new Map(streams.map((stream) => [stream.stream_id, stream]));
  for (const cell of cells) {
    const stats = cell.stream && byId.get(cell.stream.stream_id);
    if (!stats) continue;
    const base = [cell.stream.codec, cell.stream.width ? `${cell.stream.width}×${cell.stream.height}` : ""]
      .filter(Boolean).join(" · ");
    cell.element.querySelector(".cell-stats").textContent = formatStats(stats.stats || {}, base);
  }
}

for (const button of document.querySelectorAll("[data-layout]")) {
  button.addEventListener("click", () => setLayout(Number(button.dataset.layout)));
}
window.addEventListener("pagehide", () => cells.forEach((_, i) => close(i)));
setLayout(4);
select(0);
const tree = new DeviceTree(document.getElementById("tree-panel"), { onChannel: (node) => open(selected, node) });
tree.start();
setInterval(() => refreshStats().catch(() => {}), STATS_EVERY_MS);
