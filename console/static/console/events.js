// One WebSocket to /ws/events/ per page, reconnecting with backoff; handlers by event type.

const handlers = new Map();
const stateHandlers = [];
let socket = null;
let retry = 500;

function emit(type, event) {
  for (const handler of handlers.get(type) || []) handler(event);
  for (const handler of handlers.get("*") || []) handler(event);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${scheme}//${location.host}/ws/events/`);
  socket.addEventListener("open", () => {
    retry = 500;
    stateHandlers.forEach((handler) => handler(true));
  });
  socket.addEventListener("message", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (event && typeof event.type === "string") emit(event.type, event);
  });
  socket.addEventListener("close", () => {
    stateHandlers.forEach((handler) => handler(false));
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 15000);
  });
}

export function onEvent(type, handler) {
  if (!handlers.has(type)) handlers.set(type, []);
  handlers.get(type).push(handler);
  if (!socket) connect();
}

export function onConnection(handler) {
  stateHandlers.push(handler);
  if (!socket) connect();
}
