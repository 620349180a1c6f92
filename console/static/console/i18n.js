// Strings translated by the server into the page's language (see console/strings.py).

const element = document.getElementById("console-strings");
export const strings = element ? JSON.parse(element.textContent) : {};

export function t(key, params = {}) {
  // "events.device.online": a group ("events") then a key that may itself hold dots.
  const dot = key.indexOf(".");
  const text = key in strings || dot < 0 ? strings[key] : (strings[key.slice(0, dot)] || {})[key.slice(dot + 1)];
  if (typeof text !== "string") return key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}
