// Plays one live stream in a <video>: WebSocket fMP4 through Media Source Extensions first
// (sub-second latency), HLS through hls.js (or the browser's own HLS) when MSE cannot.

const MAX_BUFFER_SECONDS = 3;

function playFmp4(video, url) {
  return new Promise((resolve, reject) => {
    if (!window.MediaSource) {
      reject(new Error("no MediaSource"));
      return;
    }
    const socket = new WebSocket(new URL(url, location.href).href.replace(/^http/, "ws"));
    socket.binaryType = "arraybuffer";
    const queue = [];
    let buffer = null;
    let started = false;

    function pump() {
      if (!buffer || buffer.updating || !queue.length) return;
      const ranges = buffer.buffered;
      if (ranges.length && video.currentTime - ranges.start(0) > MAX_BUFFER_SECONDS * 2) {
        buffer.remove(ranges.start(0), video.currentTime - MAX_BUFFER_SECONDS);
        return;
      }
      buffer.appendBuffer(queue.shift());
    }

    socket.addEventListener("message", (message) => {
      if (typeof message.data === "string") {
        const header = JSON.parse(message.data);
        if (!MediaSource.isTypeSupported(header.mime)) {
          socket.close();
          reject(new Error(`unsupported ${header.mime}`));
          return;
        }
        const source = new MediaSource();
        video.src = URL.createObjectURL(source);
        source.addEventListener("sourceopen", () => {
          buffer = source.addSourceBuffer(header.mime);
          buffer.mode = "segments";
          buffer.addEventListener("updateend", () => {
            // Live: stay near the newest frame rather than drifting behind.
            const ranges = buffer.buffered;
            if (ranges.length && ranges.end(ranges.length - 1) - video.currentTime > MAX_BUFFER_SECONDS) {
              video.currentTime = ranges.end(ranges.length - 1) - 0.3;
            }
            pump();
          });
          pump();
        }, { once: true });
        started = true;
        video.play().catch(() => {});
        resolve({ stop: () => socket.close(), header });
        return;
      }
      queue.push(message.data);
      pump();
    });
    socket.addEventListener("error", () => {
      if (!started) reject(new Error("WebSocket failed"));
    });
  });
}

function playHls(video, url) {
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ lowLatencyMode: true, liveSyncDurationCount: 2 });
    hls.loadSource(url);
    hls.attachMedia(video);
    video.play().catch(() => {});
    return { stop: () => hls.destroy() };
  }
  if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;
    video.play().catch(() => {});
    return { stop: () => video.removeAttribute("src") };
  }
  return null;
}

export async function play(video, stream) {
  if (stream.ws_fmp4) {
    try {
      return { mode: "fmp4", ...(await playFmp4(video, stream.ws_fmp4)) };
    } catch {
      // fall through to HLS
    }
  }
  const hls = stream.hls ? playHls(video, stream.hls) : null;
  return hls ? { mode: "hls", ...hls } : null;
}
