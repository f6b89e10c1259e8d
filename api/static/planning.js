// The planner's page (排班规划): a queue's forecast day per 15-minute interval with the agents
// it needs (Erlang A or C, shrinkage, the service-level target), the forecast's accuracy on
// the days before it, the event days that scale a day, and a what-if: the same day run
// through the simulator (the real router) with the forecast's agents and with a staffing
// change, side by side. The API: docs/planning.md.
"use strict";
import { $, el, page } from "./common.js";
const I18N = {
  zh: { title: "排班规划", username: "用户名", password: "密码", signin: "登录",
    bad_login: "用户名或密码错误", queue: "队列", day: "日期", weeks: "历史周数",
    shrinkage: "缩减率 %", sl_target: "服务水平目标 %", sl_seconds: "秒内", queue_default: "队列设定",
    erlang: "模型", erlang_a: "Erlang A（含放弃）", erlang_c: "Erlang C", forecast: "预测",
    forecast_title: "每15分钟来电预测与所需坐席", calls: "来电量", agents: "所需坐席",
    scheduled: "排班人数（含缩减）", intervals_note: "有来电的时段（无来电时段略）", time: "时段",
    aht: "AHT", sl: "服务水平", asa: "平均应答", occupancy: "占用率", p_abandon: "放弃率",
    accuracy_title: "预测准确度（前14天）", date: "日期", forecast_calls: "预测", actual: "实际",
    observed_factor: "实际系数", event: "特殊日", events_title: "特殊日（台风、高温、节假日…）",
    all_queues: "所有队列", factor: "系数", note: "备注", save: "保存", kind: "类型",
    delete: "删除", whatif_title: "假设分析（仿真：真实路由）", delta: "每时段坐席 ±",
    percent: "坐席 ±%", variant_shrinkage: "方案缩减率 %", same: "同上", seed: "种子",
    run: "运行仿真", running: "仿真中…", baseline: "基准", variant: "方案",
    sl_target_line: "服务水平目标", agents_floor: "在线坐席", abandoned: "放弃",
    offered: "来电", answered: "接通", abandon_rate: "放弃率",
    holiday: "节假日", heat_wave: "高温", typhoon: "台风", outage: "停电", other: "其他",
    total: "全天预测", history_days: "学习天数", trend: "趋势", per_day: "通/天",
    patience: "耐心时长", none_hung_up: "无放弃记录（Erlang C）", range_wape: "区间 WAPE",
    no_events: "无特殊日", drawn: "抽样来电", weekdays: "一二三四五六日", weekday: "星期",
    whatif_note: "同一批来电（种子），基准为预测所需坐席" },
  en: { title: "Workforce planning", username: "User", password: "Password", signin: "Sign in",
    bad_login: "unknown user or wrong password", queue: "Queue", day: "Day", weeks: "Weeks",
    shrinkage: "Shrinkage %", sl_target: "SL target %", sl_seconds: "within s",
    queue_default: "queue's", erlang: "Model", erlang_a: "Erlang A (abandons)",
    erlang_c: "Erlang C", forecast: "Forecast",
    forecast_title: "Calls per 15 minutes and the agents they need", calls: "Calls",
    agents: "Required agents", scheduled: "Scheduled (with shrinkage)",
    intervals_note: "Intervals with calls (empty ones left out)", time: "Interval", aht: "AHT",
    sl: "Service level", asa: "ASA", occupancy: "Occupancy", p_abandon: "Abandons",
    accuracy_title: "Forecast accuracy (14 days before)", date: "Day", forecast_calls: "Forecast",
    actual: "Actual", observed_factor: "Observed factor", event: "Event",
    events_title: "Event days (typhoon, heat wave, holiday...)", all_queues: "all queues",
    factor: "Factor", note: "Note", save: "Save", kind: "Kind", delete: "Delete",
    whatif_title: "What-if (simulated through the real router)", delta: "Agents ± per interval",
    percent: "Agents ±%", variant_shrinkage: "Variant shrinkage %", same: "same", seed: "Seed",
    run: "Run simulation", running: "simulating…", baseline: "Baseline", variant: "Variant",
    sl_target_line: "SL target", agents_floor: "Agents on the floor", abandoned: "Abandoned",
    offered: "Offered", answered: "Answered", abandon_rate: "Abandon rate",
    holiday: "holiday", heat_wave: "heat wave", typhoon: "typhoon", outage: "outage",
    other: "other", total: "Day's forecast", history_days: "days learnt from", trend: "trend",
    per_day: "calls/day", patience: "patience", none_hung_up: "nobody hung up (Erlang C)",
    range_wape: "range WAPE", no_events: "no event days", drawn: "calls drawn",
    weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], weekday: "",
    whatif_note: "the same drawn calls (seed); the baseline is the forecast's agents" },
};
const KINDS = ["typhoon", "heat_wave", "holiday", "outage", "other"];
const p = page({ name: "planning", i18n: I18N, onShow: show, onLang });
const { params, t } = p;
const api = p.api;
const SVG = "http://www.w3.org/2000/svg";
let fc = null, acc = null, events = [], whatIf = null;

const svg = (tag, attrs, text) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
const addDays = (iso, n) => { const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10); };
const pct = (v) => v == null ? "—" : (v * 100).toFixed(1) + "%";
const num = (v, digits = 1) => v == null ? "—" : Number(v).toFixed(digits);
const secs = (s) => s == null ? "—" : s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`;
const optional = (id, scale = 1) => $(id).value === "" ? undefined : Number($(id).value) / scale;
const row = (cells, attrs = {}) => { const tr = el("tr");
  for (const [k, v] of Object.entries(attrs)) tr.dataset[k] = v;
  for (const c of cells) tr.append(c instanceof Node ? c : el("td", c));
  return tr; };

function query() {
  return { queue: $("queue").value.trim(), day: $("day").value, weeks: Number($("weeks").value),
    shrinkage: Number($("shrinkage").value) / 100, sl_target: optional("sl-target", 100),
    sl_seconds: optional("sl-seconds"), erlang: $("erlang").value };
}

async function loadAll(ev) {
  if (ev) ev.preventDefault();
  $("message").textContent = "";
  const q = query();
  const p = new URLSearchParams({ queue: q.queue, day: q.day, weeks: q.weeks, shrinkage: q.shrinkage, erlang: q.erlang });
  if (q.sl_target !== undefined) p.set("sl_target", q.sl_target);
  if (q.sl_seconds !== undefined) p.set("sl_seconds", q.sl_seconds);
  whatIf = null; $("whatif-result").hidden = true; $("wi-status").textContent = "";
  $("ev-day").value = q.day;
  const [f, a] = await Promise.allSettled([
    api("GET", "/api/planning/forecast?" + p),
    api("GET", "/api/planning/accuracy?" + new URLSearchParams({ queue: q.queue,
      since: addDays(q.day, -14), until: addDays(q.day, 1), weeks: q.weeks })),
    loadEvents()]);
  fc = f.status === "fulfilled" ? f.value : null;
  acc = a.status === "fulfilled" ? a.value : null;
  if (!fc) $("message").textContent = f.reason.message;
  else if (!acc) $("message").textContent = a.reason.message;
  render();
  if (fc) document.dispatchEvent(new CustomEvent("planning:loaded"));  // plans.js
}

async function loadEvents() {
  const day = $("day").value;
  events = await api("GET", "/api/planning/event-days?" + new URLSearchParams({
    since: addDays(day, -31), until: addDays(day, 62) }));
  renderEvents();
}

function render() {
  $("forecast-pane").hidden = !fc; $("whatif-pane").hidden = !fc;
  $("accuracy-pane").hidden = !acc; $("events-pane").hidden = false;
  renderSummary(); renderForecast(); renderAccuracy(); renderEvents(); renderWhatIf();
}

function renderSummary() {
  if (!fc) { $("summary").textContent = ""; return; }
  const wd = p.lang === "zh" ? t("weekday") + t("weekdays")[fc.weekday] : t("weekdays")[fc.weekday];
  const parts = [`${fc.queue} · ${fc.day} ${wd}`, `${t("total")} ${num(fc.total_calls, 0)}`,
    `${t("history_days")} ${fc.history_days}`,
    `${t("trend")} ${fc.trend_per_day >= 0 ? "+" : ""}${num(fc.trend_per_day)} ${t("per_day")}`,
    `${t("sl")} ${pct(fc.sl_target)} / ${fc.sl_seconds}s`,
    fc.patience_s == null ? t("none_hung_up") : `${t("patience")} ${secs(fc.patience_s)}`];
  if (fc.event) parts.push(`${t("event")}: ${t(fc.event.kind)} ×${fc.event.factor}`);
  $("summary").textContent = parts.join(" · ");
}

function renderForecast() {
  if (!fc) return;
  const shown = fc.intervals.filter((i) => i.calls > 0 || i.agents > 0);
  $("forecast").tBodies[0].replaceChildren(...shown.map((i) => row([i.time, num(i.calls),
    secs(i.aht_s), String(i.agents), String(i.scheduled), pct(i.service_level), secs(i.asa_s),
    pct(i.occupancy), pct(i.p_abandon)], { time: i.time })));
  forecastChart();
}

// Bars: calls per interval (left scale); steps: required and scheduled agents (right scale).
function forecastChart() {
  const c = $("forecast-chart"), W = 960, H = 220, L = 44, R = 44, T = 10, B = 26;
  const n = fc.intervals.length, w = (W - L - R) / n;
  const maxCalls = nice(Math.max(...fc.intervals.map((i) => i.calls)));
  const maxAgents = nice(Math.max(...fc.intervals.map((i) => i.scheduled)));
  const y = (v, max) => H - B - (v / max) * (H - T - B);
  const parts = [axes(W, H, L, R, T, B, n, maxCalls, maxAgents)];
  for (const [k, i] of fc.intervals.entries()) {
    if (i.calls > 0) parts.push(svg("rect", { class: "bar", x: L + k * w + 0.5, y: y(i.calls, maxCalls),
      width: Math.max(1, w - 1), height: H - B - y(i.calls, maxCalls) }));
  }
  for (const [key, cls] of [["agents", "agents"], ["scheduled", "scheduled"]]) {
    let d = "";
    for (const [k, i] of fc.intervals.entries()) {
      const yy = y(i[key], maxAgents).toFixed(1);
      d += `${k ? "L" : "M"}${(L + k * w).toFixed(1)},${yy}L${(L + (k + 1) * w).toFixed(1)},${yy}`;
    }
    parts.push(svg("path", { class: "line " + cls, d }));
  }
  c.replaceChildren(...parts.flat());
}

// A scale's top: the next 1, 2 or 5 times a power of ten (halves stay round).
const nice = (v) => { if (!(v > 2)) return 2;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v); };
const label = (v) => Number.isInteger(v) ? String(v) : v.toFixed(1);

// Frame, hour ticks every two hours, left and right scales.
function axes(W, H, L, R, T, B, n, leftMax, rightMax, leftFmt = label) {
  const out = [svg("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B })];
  const w = (W - L - R) / n;
  for (let h = 0; h <= 24; h += 2) {
    const x = L + h * 4 * w;
    if (x > W - R + 0.5) break;
    out.push(svg("line", { class: "grid", x1: x, y1: T, x2: x, y2: H - B }),
      svg("text", { x, y: H - 8, "text-anchor": "middle" }, `${String(h).padStart(2, "0")}:00`));
  }
  for (const f of [0, 0.5, 1]) {
    const yy = H - B - f * (H - T - B);
    out.push(svg("text", { x: L - 6, y: yy + 4, "text-anchor": "end" }, leftFmt(leftMax * f)));
    if (rightMax != null) out.push(svg("text", { x: W - R + 6, y: yy + 4 }, label(rightMax * f)));
  }
  return out;
}

function renderAccuracy() {
  if (!acc) return;
  $("range-wape").textContent = acc.wape == null ? "" : `${t("range_wape")} ${pct(acc.wape)}`;
  $("accuracy").tBodies[0].replaceChildren(...acc.days.map((d) => row([d.day,
    num(d.forecast, 0), d.actual == null ? "—" : String(d.actual), pct(d.wape), pct(d.mape),
    num(d.observed_factor, 2), d.event ? `${t(d.event.kind)} ×${d.event.factor}` : ""],
  { day: d.day })));
}

function renderEvents() {
  $("ev-kind").replaceChildren(...KINDS.map((k) => { const o = el("option", t(k)); o.value = k; return o; }));
  const rows = events.map((e) => {
    const del = el("button", t("delete")); del.type = "button";
    del.addEventListener("click", () => deleteEvent(e));
    const td = el("td"); td.append(del);
    return row([e.day, e.queue || t("all_queues"), t(e.kind), String(e.factor), e.note, td],
      { day: e.day, queue: e.queue });
  });
  if (!rows.length) { const td = el("td", t("no_events"), "muted"); td.colSpan = 6; rows.push(row([td])); }
  $("events").tBodies[0].replaceChildren(...rows);
}

async function saveEvent(ev) {
  ev.preventDefault();
  const kind = $("ev-kind").value;
  try {
    await api("PUT", `/api/planning/event-days/${$("ev-day").value}`, { queue: $("ev-queue").value.trim(),
      kind, factor: Number($("ev-factor").value), note: $("ev-note").value });
  } catch (err) { $("message").textContent = err.message; return; }
  await loadAll();  // the day's forecast and accuracy change with it
  $("ev-kind").value = kind;
}

async function deleteEvent(e) {
  try { await api("DELETE", `/api/planning/event-days/${e.day}?` + new URLSearchParams({ queue: e.queue })); }
  catch (err) { $("message").textContent = err.message; return; }
  await loadAll();
}

async function runWhatIf(ev) {
  ev.preventDefault();
  const q = query();
  const change = { agents_delta: Number($("wi-delta").value), agents_percent: Number($("wi-percent").value) };
  if ($("wi-shrinkage").value !== "") change.shrinkage = Number($("wi-shrinkage").value) / 100;
  $("wi-status").textContent = t("running"); $("wi-status").className = "muted";
  const button = ev.target.querySelector("button"); button.disabled = true;
  try {
    whatIf = await api("POST", "/api/planning/what-if", { ...q, change, seed: Number($("wi-seed").value) });
  } catch (err) { $("wi-status").textContent = err.message; $("wi-status").className = "error"; whatIf = null; }
  finally { button.disabled = false; }
  renderWhatIf();
}

const TOTALS = [["offered", String], ["answered", String], ["sl", pct, "service_level"],
  ["asa", secs, "asa_s"], ["abandoned", String], ["abandon_rate", pct], ["occupancy", pct]];

function renderWhatIf() {
  $("whatif-result").hidden = !whatIf;
  if (!whatIf) return;
  $("wi-status").textContent = `${t("drawn")} ${whatIf.calls} · ${t("whatif_note")}`;
  $("wi-status").className = "muted";
  $("whatif-totals").tBodies[0].replaceChildren(...TOTALS.map(([label, fmt, key = label]) => {
    const b = whatIf.baseline[key], v = whatIf.variant[key];
    const vc = el("td", v == null ? "—" : fmt(v));
    return row([el("th", t(label)), b == null ? "—" : fmt(b), vc], { figure: key });
  }));
  $("whatif-table").tBodies[0].replaceChildren(...whatIf.intervals.map((i) => {
    const b = i.baseline, v = i.variant;
    const pair = (x, y, fmt, worse) => [el("td", fmt(x)), el("td", fmt(y), worse ? "worse" : undefined)];
    return row([i.time, num(i.calls),
      ...pair(b.agents, v.agents, String), ...pair(b.service_level, v.service_level, pct,
        v.service_level != null && b.service_level != null && v.service_level < b.service_level),
      ...pair(b.asa_s, v.asa_s, secs), ...pair(b.abandoned, v.abandoned, String),
      ...pair(b.occupancy, v.occupancy, pct)], { time: i.time });
  }));
  whatIfChart();
}

// Service level per interval, baseline and variant, against the target (dashed).
function whatIfChart() {
  const c = $("whatif-chart"), W = 960, H = 220, L = 44, R = 44, T = 10, B = 26;
  const n = Math.max(96, ...whatIf.intervals.map((i) => slotOf(i) + 1));  // calls run past midnight
  const w = (W - L - R) / n;
  const y = (v) => H - B - v * (H - T - B);
  const parts = [axes(W, H, L, R, T, B, n, 1, null, (v) => `${Math.round(v * 100)}%`)];
  parts.push(svg("line", { class: "target", x1: L, x2: W - R, y1: y(whatIf.sl_target), y2: y(whatIf.sl_target) }));
  for (const side of ["baseline", "variant"]) {
    for (const i of whatIf.intervals) {
      const sl = i[side].service_level;
      if (sl == null) continue;
      const x = L + (slotOf(i) + (side === "baseline" ? 0.1 : 0.5)) * w;
      parts.push(svg("rect", { class: "sl " + side, x, y: y(sl), width: Math.max(1, w * 0.4), height: H - B - y(sl) }));
    }
  }
  c.replaceChildren(...parts.flat());
}

const slotOf = (i) => { const [h, m] = i.time.split(":").map(Number); return h * 4 + m / 15; };

async function loadQueues() {
  try {
    const queues = await api("GET", "/api/queues");
    $("queues").replaceChildren(...["*", ...queues.map((q) => q.name)].map((name) => {
      const o = el("option"); o.value = name; return o; }));
  } catch { /* the list is a convenience: any queue name may be typed */ }
}

function onLang() {
  const kind = $("ev-kind").value;
  if (!$("board").hidden) render();
  if (kind) $("ev-kind").value = kind;
  document.dispatchEvent(new CustomEvent("planning:lang"));  // plans.js
}

function show() {
  loadQueues(); loadEvents().catch((err) => { $("message").textContent = err.message; });
  $("events-pane").hidden = false;
  document.dispatchEvent(new CustomEvent("planning:shown"));  // emergency.js
  if (params.get("queue") && params.get("day")) loadAll();
}

$("query").addEventListener("submit", loadAll);
$("event-form").addEventListener("submit", saveEvent);
$("whatif").addEventListener("submit", runWhatIf);
const now = new Date();
$("day").value = params.get("day") || `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
if (params.get("queue")) $("queue").value = params.get("queue");
$("ev-day").value = $("day").value;
renderEvents();
p.start();

// for plans.js, the page's plans panel
export { p as page, pct, query, row, svg };
