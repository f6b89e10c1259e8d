// The live socket's view, as the wallboard and the supervisor page keep it (docs/live-api.md):
// a snapshot, then the deltas newer than it (seq), merged as realtime/live.py merges them
// (agent rows are whole); the server's clock from the view's `now`. Each page keeps its own
// socket (where: GET /api/live-endpoint, made into an address by socketUrl).
// `const live = liveView((view) => render())`; `socket.onmessage = (ev) =>
// live.onMessage(JSON.parse(ev.data))`; `live.view` (null before the first snapshot),
// `live.now()` (the server's time, seconds).
"use strict";

export function merge(base, delta) {
  for (const [key, value] of Object.entries(delta)) {
    const before = base[key];
    if (key === "agents" && before && typeof before === "object") Object.assign(before, value);
    else if (value && typeof value === "object" && !Array.isArray(value) &&
             before && typeof before === "object" && !Array.isArray(before)) merge(before, value);
    else base[key] = value;
  }
  return base;
}

export function liveView(onChange) {
  let offset = 0;  // server time - local time, seconds
  const live = {
    view: null,
    seq: -1,
    now: () => Date.now() / 1000 + offset,
    onMessage(msg) {
      if (msg.type === "snapshot") { live.view = msg.data; live.seq = msg.seq; }
      else if (msg.type === "delta") {
        if (live.view === null || msg.seq <= live.seq) return;  // already in the snapshot
        merge(live.view, msg.data); live.seq = msg.seq;
      } else return;
      if (typeof live.view.now === "number") offset = live.view.now - Date.now() / 1000;
      onChange(live.view);
    },
  };
  return live;
}

// GET /api/live-endpoint's {server, host, port, path} as a socket address: a null host or
// port means this page's own
export function socketUrl(ep, token) {
  const url = new URL(ep.path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (ep.host) url.hostname = ep.host;
  if (ep.port) url.port = String(ep.port);
  url.searchParams.set("token", token);
  return url;
}
