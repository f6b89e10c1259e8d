// The agent page's "today's shift" panel (今日班次): the agent's published shift of today
// (GET /api/agents/{id}/shift) with its breaks and lunch, the current part highlighted. The
// desk's token and agent (sessionStorage "agent.token", "agent.id": agent.js), the language
// the page's <html lang>; reads again every minute and on a language switch.
"use strict";
(() => {  // own names: other panels share the page's global scope
const SHIFT_I18N = {
  zh: { today_shift: "今日班次", no_shift: "今日无班次", break: "小休", lunch: "午餐",
    work: "工作", queue: "队列" },
  en: { today_shift: "Today's shift", no_shift: "no shift today", break: "Break",
    lunch: "Lunch", work: "Work", queue: "Queue" },
};
const st = (k) => (SHIFT_I18N[document.documentElement.lang] || SHIFT_I18N.en)[k] ?? k;
const desk = () => ({ token: sessionStorage.getItem("agent.token") || "",
  agentId: sessionStorage.getItem("agent.id") || "" });
const shiftHm = (m) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
let todayShift = null, loadedAt = 0, loadedFor = "";

function shiftBox() {
  let box = document.getElementById("shift-today");
  if (!box) {  // agent.html holds the placeholder; a page without it gets one after the state
    box = document.createElement("section");
    box.id = "shift-today";
    document.getElementById("state-box").after(box);
  }
  box.className = "shift-today";
  return box;
}

function renderShift() {
  const box = shiftBox();
  if (!todayShift) { box.hidden = true; return; }
  box.hidden = false;
  const s = todayShift.shift;
  const h = document.createElement("h3");
  h.textContent = st("today_shift") + (s ? ` ${s.start}–${s.end}` : "");
  const list = document.createElement("ul");
  if (!s) {
    const li = document.createElement("li"); li.textContent = st("no_shift"); list.append(li);
  } else {
    // the centre's local minute (the server's: the browser may sit in another time zone)
    const minute = todayShift.now_min == null ? null
      : todayShift.now_min + (Date.now() - loadedAt) / 60000;
    const parts = [];
    let at = s.start_min;
    for (const b of [...s.breaks].sort((x, y) => x.start_min - y.start_min)) {
      if (b.start_min > at) parts.push(["work", at, b.start_min]);
      parts.push([b.kind, b.start_min, b.start_min + b.length_min]);
      at = b.start_min + b.length_min;
    }
    if (at < s.end_min) parts.push(["work", at, s.end_min]);
    for (const [kind, a, b] of parts) {
      const li = document.createElement("li");
      li.dataset.kind = kind;
      if (minute != null && a <= minute && minute < b) li.className = "now";
      li.textContent = `${shiftHm(a)}–${shiftHm(b)} ${st(kind)}`;
      list.append(li);
    }
    const q = document.createElement("li");
    q.className = "queue"; q.textContent = `${st("queue")}: ${s.queue}`;
    list.append(q);
  }
  box.replaceChildren(h, list);
}

async function loadShift() {
  const { token, agentId } = desk();
  if (!token || !agentId) { todayShift = null; loadedFor = ""; renderShift(); return; }
  loadedFor = agentId;
  try {
    const res = await fetch(`/api/agents/${encodeURIComponent(agentId)}/shift`,
      { headers: { Authorization: "Bearer " + token } });
    todayShift = res.ok ? await res.json() : null;
    loadedAt = Date.now();
  } catch { todayShift = null; }
  renderShift();
}

document.getElementById("lang").addEventListener("click", renderShift);
setInterval(loadShift, 60_000);
setInterval(renderShift, 15_000);  // the part of the shift now moves on
// just signed in (agent.js sets the token): read it without waiting the minute
setInterval(() => {
  const { token, agentId } = desk();
  if (token && agentId && loadedFor !== agentId) loadShift();
}, 2000);
loadShift();
})();
