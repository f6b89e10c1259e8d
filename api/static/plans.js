// The planner page's plans (排班计划, docs/planning.md "Plans"): for the queue and day of the
// page's form, build the week from that day (the CP-SAT model, POST /api/plans/week),
// publish it, and see the day: its shifts with breaks and lunch, and per 15-minute interval
// the agents needed, on the phones and the gap (a chart and a table); then the day's
// adherence report. An ES module: takes the page (its language and signed-in fetch), the
// form's query and the drawing helpers from planning.js; planning.js fires "planning:loaded"
// after each forecast and "planning:lang" on a language switch.
import { $, el } from "./common.js";
import { page, pct, query, row, svg } from "./planning.js";

const api = page.api;
const PLAN_I18N = {
  zh: { plans_title: "排班计划（周排班 · 日微调 · 缺口）", plan_shrinkage: "计划缩减率 %",
    time_limit: "求解时限 s", build: "从该日起排一周", publish: "发布该周", building: "求解中…",
    published_n: "已发布班次", agent: "坐席", start: "上班", end: "下班", breaks: "休息/午餐",
    paid: "计薪", published: "已发布", yes: "是", no: "否", time: "时段", need: "需要",
    scheduled: "在线排班", gap: "缺口", short: "缺员（人·时段）", over: "超员",
    unpublished: "未发布改动", shifts: "班次", status: "结果", optimal: "最优", feasible: "可行",
    lunch: "午餐", break: "小休", adherence_title: "当日遵从度报告", adherence: "遵从度",
    conformance: "符合度", shift: "班次", state: "当前状态", activity: "应在", work: "工作",
    off: "休班", all: "全体", no_shifts: "该日无班次", week_built: "周排班完成",
    logged_out: "已签出", not_ready: "示忙", ready: "就绪", reserved: "分配中", ringing: "振铃",
    on_call: "通话中", after_call_work: "话后处理" },
  en: { plans_title: "Plans (week's shifts · day's fine-tuning · gaps)",
    plan_shrinkage: "Plan shrinkage %", time_limit: "Solver limit s",
    build: "Build the week from this day", publish: "Publish the week", building: "solving…",
    published_n: "shifts published", agent: "Agent", start: "Start", end: "End",
    breaks: "Breaks / lunch", paid: "Paid", published: "Published", yes: "yes", no: "no",
    time: "Interval", need: "Needed", scheduled: "On the phones", gap: "Gap",
    short: "short (agent-intervals)", over: "over", unpublished: "unpublished changes",
    shifts: "shifts", status: "result", optimal: "optimal", feasible: "feasible",
    lunch: "lunch", break: "break", adherence_title: "The day's adherence",
    adherence: "Adherence", conformance: "Conformance", shift: "Shift", state: "State now",
    activity: "Scheduled now", work: "work", off: "off", all: "all agents",
    no_shifts: "no shifts this day", week_built: "week built", logged_out: "logged out",
    not_ready: "not ready", ready: "ready", reserved: "reserved", ringing: "ringing",
    on_call: "on call", after_call_work: "wrap-up" },
};
const pt = (k) => PLAN_I18N[page.lang][k] ?? k;
const hm = (m) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
let planDay = null, planAdh = null, planQuery = null;

function planDom() {
  if ($("plans-pane")) return;
  const sec = el("section"); sec.id = "plans-pane"; sec.hidden = true;
  sec.innerHTML = `<h2 data-p="plans_title"></h2>
    <form id="plan-form" class="bar">
      <label><span data-p="plan_shrinkage"></span> <input id="plan-shrinkage" type="number" min="0" max="90" step="any" value="10" required></label>
      <label><span data-p="time_limit"></span> <input id="plan-limit" type="number" min="1" max="60" step="1" value="10" required></label>
      <button id="plan-build" type="submit" data-p="build"></button>
      <button id="plan-publish" type="button" data-p="publish"></button>
      <span id="plan-status" class="muted"></span>
    </form>
    <p id="plan-summary" class="summary"></p>
    <div class="legend"><span class="key need"></span><span data-p="need"></span>
      <span class="key onphone"></span><span data-p="scheduled"></span>
      <span class="key gapneg"></span><span data-p="short"></span>
      <span class="key gappos"></span><span data-p="over"></span></div>
    <svg id="plan-chart" class="chart" viewBox="0 0 960 240" role="img"></svg>
    <div class="panes">
      <div class="scroll"><table id="plan-shifts"><thead><tr><th data-p="agent"></th><th data-p="start"></th>
        <th data-p="end"></th><th data-p="breaks"></th><th data-p="paid"></th><th data-p="published"></th></tr></thead><tbody></tbody></table></div>
      <div class="scroll"><table id="plan-gaps"><thead><tr><th data-p="time"></th><th data-p="need"></th>
        <th data-p="scheduled"></th><th data-p="gap"></th></tr></thead><tbody></tbody></table></div>
    </div>
    <h2><span data-p="adherence_title"></span> <span id="plan-adh-total" class="muted"></span></h2>
    <table id="plan-adherence"><thead><tr><th data-p="agent"></th><th data-p="shift"></th><th data-p="activity"></th>
      <th data-p="state"></th><th data-p="adherence"></th><th data-p="conformance"></th></tr></thead><tbody></tbody></table>`;
  $("board").append(sec);
  $("plan-form").addEventListener("submit", buildWeek);
  $("plan-publish").addEventListener("click", publishWeek);
}

function planParams() {
  const q = planQuery;
  const p = new URLSearchParams({ queue: q.queue, day: q.day, weeks: q.weeks, erlang: q.erlang,
    shrinkage: Number($("plan-shrinkage").value) / 100 });
  if (q.sl_target !== undefined) p.set("sl_target", q.sl_target);
  if (q.sl_seconds !== undefined) p.set("sl_seconds", q.sl_seconds);
  return p;
}

async function loadPlan() {
  planDom();
  planQuery = query();
  $("plans-pane").hidden = false;
  const [d, a] = await Promise.allSettled([api("GET", "/api/plans/day?" + planParams()),
    api("GET", "/api/plans/adherence?" + new URLSearchParams({ day: planQuery.day }))]);
  planDay = d.status === "fulfilled" ? d.value : null;
  planAdh = a.status === "fulfilled" ? a.value : null;
  $("plan-status").textContent = d.status === "rejected" ? d.reason.message : $("plan-status").textContent;
  renderPlan();
}

async function buildWeek(ev) {
  ev.preventDefault();
  const q = planQuery || query();
  const body = { first: q.day, queues: [q.queue], weeks: q.weeks, erlang: q.erlang,
    shrinkage: Number($("plan-shrinkage").value) / 100, time_limit_s: Number($("plan-limit").value) };
  if (q.sl_target !== undefined) body.sl_target = q.sl_target;
  if (q.sl_seconds !== undefined) body.sl_seconds = q.sl_seconds;
  $("plan-build").disabled = true; $("plan-status").textContent = pt("building");
  delete $("plan-status").dataset.status;
  try {
    const w = await api("POST", "/api/plans/week", body);
    $("plan-status").textContent = `${pt("week_built")}: ${w.shifts} ${pt("shifts")}, ` +
      `${pt("status")} ${pt(w.status)}, ${pt("short")} ${w.short} · ${w.solve_s}s`;
    $("plan-status").dataset.status = w.status;
    await loadPlan();
  } catch (err) { $("plan-status").textContent = err.message; $("plan-status").dataset.status = "error"; }
  finally { $("plan-build").disabled = false; }
}

async function publishWeek() {
  try {
    const r = await api("POST", "/api/plans/publish", { first: (planQuery || query()).day, days: 7 });
    $("plan-status").textContent = `${pt("published_n")}: ${r.shifts}`;
    $("plan-status").dataset.published = r.shifts;
    await loadPlan();
  } catch (err) { $("plan-status").textContent = err.message; }
}

function renderPlan() {
  if (!$("plans-pane")) return;
  for (const e of $("plans-pane").querySelectorAll("[data-p]")) e.textContent = pt(e.dataset.p);
  const d = planDay;
  $("plan-summary").textContent = d ? `${d.queue} · ${d.day} · ${d.shifts.length} ${pt("shifts")} · ` +
    `${pt("short")} ${d.short} · ${pt("over")} ${d.over} · ${pt("unpublished")} ${d.unpublished}` : "";
  const shifts = d ? d.shifts : [];
  const none = row([pt("no_shifts")]);
  $("plan-shifts").tBodies[0].replaceChildren(...(shifts.length ? [] : [none]), ...shifts.map((s) => row([
    s.agent_id, s.start, s.end,
    s.breaks.map((b) => `${pt(b.kind)} ${hm(b.start_min)}-${hm(b.start_min + b.length_min)}`).join(", "),
    `${(s.paid_min / 60).toFixed(1)}h`, s.published ? pt("yes") : pt("no")], { agent: s.agent_id })));
  const rows = d ? d.intervals.filter((i) => i.need || i.scheduled) : [];
  $("plan-gaps").tBodies[0].replaceChildren(...rows.map((i) => {
    const tr = row([i.time, String(i.need), String(i.scheduled), (i.gap > 0 ? "+" : "") + i.gap], { time: i.time });
    tr.lastChild.className = i.gap < 0 ? "short" : i.gap > 0 ? "over" : "";
    return tr;
  }));
  drawPlan(d);
  const a = planAdh;
  $("plan-adh-total").textContent = a ? `${pt("all")}: ${pt("adherence")} ${pct(a.adherence)} · ${pt("conformance")} ${pct(a.conformance)}` : "";
  $("plan-adherence").tBodies[0].replaceChildren(...(a ? a.agents : []).map((x) => row([
    x.agent_id, x.start ? `${x.start}-${x.end}` : "—", x.activity ? pt(x.activity) : "—",
    x.state ? pt(x.state) : "—", pct(x.adherence), pct(x.conformance)], { agent: x.agent_id })));
}

function drawPlan(d) {
  const chart = $("plan-chart");
  chart.replaceChildren();
  if (!d) return;
  const W = 960, L = 36, R = 10, top = 10, mid = 150, bottom = 230, n = 96;
  const bw = (W - L - R) / n;
  const maxv = Math.max(1, ...d.intervals.map((i) => Math.max(i.need, i.scheduled)));
  const maxg = Math.max(1, ...d.intervals.map((i) => Math.abs(i.gap)));
  const y = (v) => mid - (v / maxv) * (mid - top);
  const zero = (mid + 12 + bottom) / 2, gh = (bottom - mid - 12) / 2;
  chart.append(svg("line", { x1: L, x2: W - R, y1: mid, y2: mid, class: "axis" }),
    svg("line", { x1: L, x2: W - R, y1: zero, y2: zero, class: "axis" }),
    svg("text", { x: 2, y: y(maxv) + 4 }, String(maxv)), svg("text", { x: 2, y: zero + 4 }, "0"));
  let path = "";
  d.intervals.forEach((i, k) => {
    const x = L + k * bw;
    if (i.scheduled) chart.append(svg("rect", { x, y: y(i.scheduled), width: Math.max(1, bw - 1),
      height: mid - y(i.scheduled), class: "onphone" }));
    path += `${k ? "L" : "M"}${x},${y(i.need)} L${x + bw},${y(i.need)} `;
    if (i.gap) {
      const h = (Math.abs(i.gap) / maxg) * gh;
      chart.append(svg("rect", { x, y: i.gap > 0 ? zero - h : zero, width: Math.max(1, bw - 1),
        height: h, class: i.gap > 0 ? "gappos" : "gapneg" }));
    }
    if (k % 8 === 0) chart.append(svg("text", { x, y: bottom + 9 }, i.time));
  });
  chart.append(svg("path", { d: path, class: "need" }));
}

document.addEventListener("planning:loaded", () => { loadPlan().catch(() => {}); });
document.addEventListener("planning:lang", renderPlan);
