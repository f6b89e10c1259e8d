// The wallboard: a snapshot then deltas over the live socket (GET /api/live-endpoint says where:
// the dedicated live server's port, or /ws/live of the API itself); no build step, no framework.
// Token: #token=... in the URL, else sessionStorage, else the login form. ?lang=zh|en,
// ?queues=a,b. The longest wait ticks here every second from `oldest_since`. An ES module: the
// live view is live.js's.
"use strict";
import { liveView, socketUrl } from "./live.js";

const I18N = {
  zh: {
    title: "95598 服务热线实时监控", connecting: "连接中", live: "实时", offline: "已断开",
    login: "登录", username: "用户名", password: "密码", signin: "登录",
    bad_login: "用户名或密码错误", all: "全部队列", sl: "服务水平", target: "目标",
    waiting: "排队", longest: "最长等待", asa: "平均应答", abandon: "放弃率",
    offered: "呼入", answered: "接通", interval: "本时段", today: "今日",
    lost_node_failure: "节点故障掉线",
    ready: "空闲", on_call: "通话", after_call_work: "话后", not_ready: "示忙",
    ringing: "振铃", reserved: "预占", logged_out: "离线", occupancy: "占用率",
    fault: "故障报修", outage_info: "停电信息", billing: "电量电费", business: "业务咨询",
    complaint: "投诉", report: "举报", opinion: "意见建议", praise: "表扬", ev: "电动汽车",
    general: "综合", aht: "平均处理时长", fcr: "一次解决率", satisfaction: "满意率",
    nps: "净推荐值",
  },
  en: {
    title: "95598 Hotline Live", connecting: "connecting", live: "live", offline: "offline",
    login: "Sign in", username: "User", password: "Password", signin: "Sign in",
    bad_login: "unknown user or wrong password", all: "All queues", sl: "Service level",
    target: "target", waiting: "Waiting", longest: "Longest wait", asa: "ASA",
    abandon: "Abandon rate", offered: "Offered", answered: "Answered", interval: "interval",
    lost_node_failure: "Lost to node failure",
    today: "today", ready: "Ready", on_call: "On call", after_call_work: "Wrap-up",
    not_ready: "Not ready", ringing: "Ringing", reserved: "Reserved", logged_out: "Logged out",
    occupancy: "Occupancy", fault: "Fault repair", outage_info: "Outage info",
    billing: "Billing", business: "Business", complaint: "Complaints", report: "Reports",
    opinion: "Opinions", praise: "Praise", ev: "EV charging", general: "General",
    aht: "AHT", fcr: "First-call resolution", satisfaction: "Satisfaction", nps: "NPS",
  },
};
const STATES = ["ready", "on_call", "after_call_work", "ringing", "reserved", "not_ready"];
const params = new URLSearchParams(location.search);
let lang = params.get("lang") || localStorage.getItem("wallboard.lang") || "zh";
if (!I18N[lang]) lang = "zh";
const t = (key) => I18N[lang][key] ?? key;

let token = new URLSearchParams(location.hash.slice(1)).get("token") ||
  sessionStorage.getItem("wallboard.token") || "";
if (location.hash) {  // keep the token out of the address bar and the history
  sessionStorage.setItem("wallboard.token", token);
  history.replaceState(null, "", location.pathname + location.search);
}
const live = liveView(() => render());  // merged from the snapshot and deltas
let socket = null;
let backoff = 500;
let refreshTimer = null;

// ---- formatting
const pct = (x) => (x === null || x === undefined) ? "—" : (100 * x).toFixed(1) + "%";
const secs = (x) => (x === null || x === undefined) ? "—" : Math.round(x) + "s";
const score = (x) => (x === null || x === undefined) ? "—" : x.toFixed(1);
// today's AHT, first-call resolution, satisfaction and NPS (docs/metrics.md, "Live quality")
const quality = (today) =>
  kpi("aht", "aht", secs(today.aht)) + kpi("fcr", "fcr", pct(today.fcr)) +
  kpi("satisfaction", "satisfaction_rate", pct(today.satisfaction_rate)) +
  kpi("nps", "nps", score(today.nps));
function mmss(s) {
  s = Math.max(0, Math.floor(s));
  return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
}
const serverNow = () => live.now();
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");

function kpi(key, field, value, alert) {
  return `<div class="kpi${alert ? " alert" : ""}"><span class="l">${t(key)}</span>` +
    `<span class="v" data-field="${field}">${value}</span></div>`;
}

function trendSvg(state, queue) {
  // Today's closed intervals; one without calls has no service level and is left out.
  const points = (state.sl_trend || []).filter((p) => p.queue === queue);
  if (!points.some((p) => p.service_level !== null)) return "";
  const target = points[points.length - 1].sl_target ?? 0.8;
  const n = Math.max(points.length - 1, 1);
  const xy = points.map((p, i) => p.service_level === null ? null :
    `${(100 * i / n).toFixed(1)},${(30 - 28 * p.service_level).toFixed(1)}`).filter(Boolean);
  const ty = (30 - 28 * target).toFixed(1);
  return `<svg class="trend" viewBox="0 0 100 31" preserveAspectRatio="none">` +
    `<line class="target" x1="0" x2="100" y1="${ty}" y2="${ty}"/>` +
    `<polyline points="${xy.join(" ")}"/></svg>`;
}

function chips(byState) {
  return STATES.filter((s) => byState && byState[s]).map((s) =>
    `<span class="chip ${s}" data-state="${s}">${t(s)} ${byState[s]}</span>`).join("");
}

function card(state, name, q) {
  const today = q.today || {};
  const sl = today.service_level;
  const under = sl !== null && sl !== undefined && q.sl_target !== null && sl < q.sl_target;
  const label = I18N[lang][name] ? t(name) : name;
  const cls = under ? " under" : (sl === null || sl === undefined) ? " nodata" : "";
  return `<section class="card${cls}" data-queue="${esc(name)}">` +
    `<h2>${esc(label)} <small>${t("target")} ${pct(q.sl_target)} / ${q.sl_seconds ?? 20}s</small></h2>` +
    `<div class="sl"><span class="v" data-field="service_level">${pct(sl)}</span>` +
    `<span class="t">${t("sl")} · ${t("interval")} ${pct((q.interval || {}).service_level)}</span></div>` +
    `<div class="grid">` +
    kpi("waiting", "waiting", q.waiting ?? 0, (q.waiting ?? 0) > 0) +
    kpi("longest", "longest", q.oldest_since ? mmss(serverNow() - q.oldest_since) : "00:00") +
    kpi("asa", "asa", secs(today.asa)) +
    kpi("abandon", "abandon_rate", pct(today.abandon_rate)) + quality(today) +
    `</div><div class="states">${chips(state.agents_by_state?.[name])}</div>` +
    trendSvg(state, name) + `</section>`;
}

function render() {
  const state = live.view;
  if (!state) return;
  const all = state.all || {};
  const sl = all.today?.service_level;
  const under = sl !== null && sl !== undefined && all.sl_target !== null && sl < all.sl_target;
  document.getElementById("summary").innerHTML =
    `<div class="kpi${under ? " under" : ""}"><span class="l">${t("all")} · ${t("sl")}</span>` +
    `<span class="v" data-field="service_level">${pct(sl)}</span></div>` +
    kpi("waiting", "waiting", all.waiting ?? 0, (all.waiting ?? 0) > 0) +
    kpi("longest", "longest", all.oldest_since ? mmss(serverNow() - all.oldest_since) : "00:00") +
    kpi("offered", "offered", all.today?.offered ?? 0) +
    kpi("abandon", "abandon_rate", pct(all.today?.abandon_rate)) +
    // callers the platform dropped (an Asterisk node stopped or crashed): not abandons
    kpi("lost_node_failure", "lost_node_failure", all.today?.lost_node_failure ?? 0,
        (all.today?.lost_node_failure ?? 0) > 0) +
    kpi("occupancy", "occupancy", pct(state.occupancy?.today)) + quality(all.today || {});
  const names = Object.keys(state.queues || {}).sort();
  document.getElementById("board").innerHTML =
    names.map((n) => card(state, n, state.queues[n])).join("");
}

function tick() {  // the clock and every longest wait, once a second between messages
  const now = serverNow();
  document.getElementById("clock").textContent = new Date(now * 1000).toLocaleTimeString(
    lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  const state = live.view;
  if (!state) return;
  for (const el of document.querySelectorAll("[data-queue]")) {
    const name = el.dataset.queue;
    const q = name === "__all" ? state.all : state.queues?.[name];
    const cell = el.querySelector('[data-field="longest"]');
    if (q && cell) cell.textContent = q.oldest_since ? mmss(now - q.oldest_since) : "00:00";
  }
}

// ---- connection and login
function setStatus(key) {
  const el = document.getElementById("status");
  el.dataset.i18n = key; el.textContent = t(key);
  el.classList.toggle("offline", key !== "live");
}

function retry() { setStatus("offline"); setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000); }

async function liveEndpoint() {  // the socket's address, asked anew before every connection
  const res = await fetch("/api/live-endpoint", { headers: { Authorization: "Bearer " + token } });
  if (res.status === 401 || res.status === 403) return null;  // log in again
  if (!res.ok) throw new Error(res.statusText);
  return socketUrl(await res.json(), token);
}

async function connect() {
  if (!token) { showLogin(); return; }
  let url;
  try { url = await liveEndpoint(); } catch (err) { retry(); return; }  // the API is away
  if (!url) { token = ""; showLogin(); return; }
  if (params.get("queues")) url.searchParams.set("queues", params.get("queues"));
  socket = new WebSocket(url);
  socket.onopen = () => { setStatus("live"); backoff = 500; };
  socket.onmessage = (ev) => live.onMessage(JSON.parse(ev.data));
  socket.onclose = (ev) => {
    socket = null;
    if (ev.code === 4401 || ev.code === 4403) { setStatus("offline"); token = ""; showLogin(); return; }
    retry();
  };
  scheduleRefresh();
}

async function scheduleRefresh() {  // renew the token at two thirds of its life
  clearTimeout(refreshTimer);
  const r = await fetch("/api/auth/me", { headers: { Authorization: "Bearer " + token } });
  if (!r.ok) return;
  const me = await r.json();
  const wait = Math.max(5, (me.expires_at - serverNow()) * 2 / 3);
  refreshTimer = setTimeout(async () => {
    const res = await fetch("/api/auth/refresh", {
      method: "POST", headers: { Authorization: "Bearer " + token } });
    if (!res.ok) return;
    token = (await res.json()).access_token;
    sessionStorage.setItem("wallboard.token", token);
    if (socket && socket.readyState === WebSocket.OPEN)
      socket.send(JSON.stringify({ type: "token", token }));
    scheduleRefresh();
  }, wait * 1000);
}

function showLogin() { document.getElementById("login").hidden = false; }

document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const res = await fetch("/api/auth/token", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
  });
  if (!res.ok) { document.getElementById("login-error").textContent = t("bad_login"); return; }
  token = (await res.json()).access_token;
  sessionStorage.setItem("wallboard.token", token);
  ev.target.hidden = true;
  connect();
});

function applyLang() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  document.getElementById("lang").textContent = lang === "zh" ? "EN" : "中文";
  render(); tick();
}
document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("wallboard.lang", lang); applyLang();
});

applyLang();
setInterval(tick, 1000);
connect();
