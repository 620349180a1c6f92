// The device tree: one level at a time from /api/tree/, pages of PAGE children appended as the
// operator scrolls (so 10,000 channels under one device never render at once), search through
// /api/devices/ and /api/channels/, and online state kept current from /ws/events/.

import { api, query } from "./api.js";
import { onEvent } from "./events.js";
import { el, t } from "./i18n.js";

const PAGE = 200;
const SEARCH_LIMIT = 50;
const THUMBNAILS_EVERY_MS = 10000;

function nodeKey(node) {
  if (node.kind === "device") return `device:${node.device_id}`;
  if (node.kind === "channel") return `channel:${node.device_id}:${node.channel_id}`;
  return null;
}

function stateClass(node) {
  if (node.kind === "device") return node.online ? "on" : "off";
  if (node.kind === "channel") return node.status === "on" ? "on" : "off";
  return "";
}

export class DeviceTree {
  constructor(panel, { onChannel = null } = {}) {
    this.panel = panel;
    this.rootList = panel.querySelector("#tree-root");
    this.results = panel.querySelector("#tree-results");
    this.search = panel.querySelector("#tree-search");
    this.deviceUrl = panel.dataset.deviceUrl;
    this.onChannel = onChannel;
    this.thumbnails = panel.dataset.thumbnails === "on"; // only where /api/streams/ exists
    this.rows = new Map(); // node key -> Set of <li> showing it (tree and search results)
    this.searchSerial = 0;
    this.moreObserver = new IntersectionObserver(
      (entries) => entries.filter((e) => e.isIntersecting).forEach((e) => e.target.click()),
      { root: panel, rootMargin: "300px" },
    );
  }

  start() {
    this.loadPage(null, this.rootList, 0);
    let timer = null;
    this.search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.runSearch(this.search.value.trim()), 250);
    });
    onEvent("device.online", (e) => this.setState(`device:${e.device_id}`, "on"));
    onEvent("device.registered", (e) => this.setState(`device:${e.device_id}`, "on"));
    onEvent("device.offline", (e) => this.setState(`device:${e.device_id}`, "off"));
    onEvent("device.unregistered", (e) => this.setState(`device:${e.device_id}`, "off"));
    onEvent("channel.status", (e) =>
      this.setState(`channel:${e.device_id}:${e.channel_id}`, e.status === "on" ? "on" : "off", e.status),
    );
    if (this.thumbnails) {
      this.refreshThumbnails();
      setInterval(() => this.refreshThumbnails(), THUMBNAILS_EVERY_MS);
    }
  }

  // A snapshot beside each live channel; it stays (the last frame seen) after the stream ends.
  async refreshThumbnails() {
    let answer;
    try {
      answer = await api("/api/streams/");
    } catch {
      return;
    }
    for (const stream of answer.results || []) {
      if (!stream.snapshot) continue;
      for (const row of this.rows.get(`channel:${stream.device_id}:${stream.channel_id}`) || []) {
        if (!row.isConnected) continue;
        const picture = new Image();
        picture.addEventListener("load", () => {
          const line = row.querySelector(":scope > .row");
          let thumb = line.querySelector("img.thumb");
          if (!thumb) {
            thumb = el("img", { className: "thumb", alt: "" });
            line.querySelector(".dot").after(thumb);
          }
          thumb.src = picture.src;
        }, { once: true });
        picture.src = stream.snapshot;
      }
    }
  }

  setState(key, state, status) {
    for (const row of this.rows.get(key) || []) {
      if (!row.isConnected) {
        this.rows.get(key).delete(row); // a search result replaced since
        continue;
      }
      row.dataset.state = state;
      const dot = row.querySelector(":scope > .row > .dot");
      dot.className = `dot ${state}`;
      dot.title = status ? t(`status.${status}`) : t(state === "on" ? "online" : "offline");
    }
  }

  async loadPage(parentId, list, offset) {
    const loading = el("li", { className: "loading" }, t("loading"));
    list.append(loading);
    let answer;
    try {
      answer = await api(`/api/tree/?${query({ parent: parentId, limit: PAGE, offset })}`);
    } catch (error) {
      loading.textContent = t("failed", { detail: error.message });
      return;
    }
    const fragment = document.createDocumentFragment();
    for (const node of answer.children) fragment.append(this.renderNode(node));
    if (answer.children.length === PAGE) fragment.append(this.renderMore(parentId, list, offset + PAGE));
    if (offset === 0 && answer.children.length === 0) fragment.append(el("li", { className: "empty" }, t("noResults")));
    loading.replaceWith(fragment);
  }

  renderMore(parentId, list, offset) {
    const button = el("button", { type: "button", className: "link" }, t("loadMore"));
    const item = el("li", { className: "more" }, button);
    button.addEventListener("click", () => {
      this.moreObserver.unobserve(button);
      item.remove();
      this.loadPage(parentId, list, offset);
    }, { once: true });
    requestAnimationFrame(() => this.moreObserver.observe(button));
    return item;
  }

  renderNode(node) {
    const state = stateClass(node);
    const item = el("li", {
      role: "treeitem",
      className: `node ${node.kind}`,
      dataset: { nodeId: node.id, kind: node.kind, state },
    });
    const row = el("div", { className: "row" });
    if (node.has_children) {
      const toggle = el("button", { type: "button", className: "toggle", "aria-label": "+" }, "▸");
      toggle.addEventListener("click", () => this.toggle(item, node, toggle));
      row.append(toggle);
      item.setAttribute("aria-expanded", "false");
    } else {
      row.append(el("span", { className: "toggle-space" }));
    }
    row.append(el("span", { className: `dot ${state}`, title: state ? t(state === "on" ? "online" : "offline") : null }));
    row.append(this.renderLabel(node));
    const ident = node.channel_id || node.device_id;
    if (ident) row.append(el("small", { className: "ident" }, ident));
    item.append(row);
    const key = nodeKey(node);
    if (key) {
      if (!this.rows.has(key)) this.rows.set(key, new Set());
      this.rows.get(key).add(item);
    }
    if (node.kind === "channel" && this.onChannel) {
      item.draggable = true;
      item.addEventListener("dragstart", (event) => {
        event.dataTransfer.setData("application/x-gb-channel", JSON.stringify(node));
        event.dataTransfer.effectAllowed = "copy";
      });
    }
    return item;
  }

  renderLabel(node) {
    if (node.kind === "channel" && this.onChannel) {
      const button = el("button", { type: "button", className: "label link" }, node.name);
      button.addEventListener("click", () => this.onChannel(node));
      return button;
    }
    if (node.device_id) {
      const href = this.deviceUrl.replace("DEVICE_ID", encodeURIComponent(node.device_id));
      return el("a", { className: "label", href }, node.name);
    }
    return el("span", { className: "label" }, node.name);
  }

  toggle(item, node, toggle) {
    const open = item.getAttribute("aria-expanded") === "true";
    let children = item.querySelector(":scope > ul");
    if (!children) {
      children = el("ul", { role: "group" });
      item.append(children);
      this.loadPage(node.id, children, 0);
    }
    item.setAttribute("aria-expanded", String(!open));
    children.hidden = open;
    toggle.textContent = open ? "▸" : "▾";
  }

  async runSearch(text) {
    const serial = ++this.searchSerial;
    if (!text) {
      this.results.hidden = true;
      this.rootList.hidden = false;
      return;
    }
    this.results.replaceChildren(el("p", { className: "loading" }, t("loading")));
    this.results.hidden = false;
    this.rootList.hidden = true;
    let devices;
    let channels;
    try {
      [devices, channels] = await Promise.all([
        api(`/api/devices/?${query({ search: text, limit: SEARCH_LIMIT })}`),
        api(`/api/channels/?${query({ search: text, limit: SEARCH_LIMIT })}`),
      ]);
    } catch (error) {
      if (serial === this.searchSerial) this.results.replaceChildren(t("failed", { detail: error.message }));
      return;
    }
    if (serial !== this.searchSerial) return; // an older answer arriving after a newer query
    const sections = [];
    if (devices.results.length) {
      const list = el("ul", { className: "tree", role: "tree" });
      for (const device of devices.results) {
        list.append(this.renderNode({
          id: `device:${device.device_id}`, kind: "device", name: device.name || device.device_id,
          has_children: device.channel_count > 0, online: device.online, device_id: device.device_id,
        }));
      }
      sections.push(el("h3", {}, `${t("devices")} (${devices.count})`), list);
    }
    if (channels.results.length) {
      const list = el("ul", { className: "tree", role: "tree" });
      for (const channel of channels.results) {
        list.append(this.renderNode({
          id: `channel:${channel.device_id}:${channel.channel_id}`, kind: "channel",
          name: channel.name || channel.channel_id, has_children: false, status: channel.status,
          device_id: channel.device_id, channel_id: channel.channel_id,
        }));
      }
      sections.push(el("h3", {}, `${t("channels")} (${channels.count})`), list);
    }
    if (!sections.length) sections.push(el("p", { className: "empty" }, t("noResults")));
    this.results.replaceChildren(...sections);
  }
}
