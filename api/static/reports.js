// The reports page (运营报表, #17.4): the centre's figures over a day, week, month or any
// dates by centre, vendor, team, agent, queue, service type or unit, exported as CSV or XLSX
// (the API's own file: GET /api/reports/export); the balanced scorecard (#17.5) by agent,
// team or vendor with exam, typing and conduct entries; the warning lists; the reports
// made on schedule. Dates are the browser's local days. Formulas: docs/metrics.md.
// Drilling down (docs/metrics.md, "Drilling down"): a group's row opens its days or hours
// (GET /api/reports/breakdown), a bucket's row or bar the next step down, to 15 minutes; the
// breadcrumb goes back up, and the exports write the view shown.
"use strict";
import { $, el, page } from "./common.js";

const I18N = {
  zh: { title: "运营报表", username: "用户名", password: "密码", signin: "登录",
    bad_login: "用户名或密码错误", from: "开始", to: "结束（含）", day: "日", week: "周",
    month: "月", by: "维度", centre: "中心", vendor: "供应商（自营/外包）", team: "班组",
    agent: "坐席", queue: "队列", service: "业务类型", unit: "责任单位", show: "查询",
    csv: "导出 CSV", xlsx: "导出 XLSX", figures_title: "指标", key: "分组",
    answer_rate: "接通率", first_call_resolution: "一次解决率", repeat_call_rate: "重复来电率",
    complaint_rate: "投诉率", substantiated_complaint_rate: "属实投诉率",
    complaint_timeliness: "投诉处理及时率", callback_timeliness: "回访及时率",
    callbacks_done: "回访量", report_orders: "举报工单", report_orders_last_year: "去年同期",
    report_orders_yoy: "举报同比", utilisation: "利用率", occupancy: "占用率",
    offered: "呼入", answered: "接通", rules: "重复来电窗口 {w} 小时；不计入利用率的示忙原因：{r}",
    none: "无", scorecard_title: "平衡计分卡", business: "业务得分", conduct: "奖惩",
    total: "总分", errors: "差错（一般/重要/重大）", fatal: "致命", qa_score: "质检得分",
    non_fatal_error_rate: "非致命差错率", exam: "月度考试", typing: "打字（字/分）",
    target: "目标", weight: "权重", enter_score: "录入成绩", enter_conduct: "奖惩",
    points: "分（扣分为负）", reason: "原因", save: "保存", saved: "已保存",
    warnings_title: "预警清单", monthly: "月度预警（超期、属实投诉）", slow: "周慢单",
    order: "工单", created: "创建", resolve_by: "办结时限", replied: "答复",
    overdue: "超期", substantiated: "属实投诉", slow_reason: "慢单",
    schedules_title: "定时报表", daily: "日报", weekly: "周报", monthly_report: "月报",
    add_schedule: "添加", period: "周期", format: "格式", created_by: "创建人", delete: "删除",
    files_title: "已生成报表", name: "文件", made_at: "生成时间", size: "大小",
    download: "下载", no_rows: "无数据", charts_title: "趋势", step: "粒度",
    quarter: "15分钟", hour: "小时", all_queues: "全部", sl: "服务水平", sl_target: "目标",
    abandoned: "放弃", nps: "NPS", satisfaction_rate: "满意率", states_title: "坐席状态时间线",
    ready: "空闲", reserved: "预占", ringing: "振铃", on_call: "通话", after_call_work: "话后",
    not_ready: "示忙", all_groups: "全部分组", drill_hint: "点击分组行向下钻取到日、小时、15分钟",
    drill_more: "点击行或柱向下钻取", start: "时段" },
  en: { title: "Reports", username: "User", password: "Password", signin: "Sign in",
    bad_login: "unknown user or wrong password", from: "From", to: "To (incl.)", day: "Day",
    week: "Week", month: "Month", by: "By", centre: "Centre", vendor: "Vendor (own/outsourced)",
    team: "Team", agent: "Agent", queue: "Queue", service: "Service type", unit: "Unit",
    show: "Show", csv: "Export CSV", xlsx: "Export XLSX", figures_title: "Figures",
    key: "Group", answer_rate: "Answer rate", first_call_resolution: "First-call resolution",
    repeat_call_rate: "Repeat calls", complaint_rate: "Complaint rate",
    substantiated_complaint_rate: "Substantiated", complaint_timeliness: "Complaints on time",
    callback_timeliness: "Callbacks on time", callbacks_done: "Callbacks",
    report_orders: "Report orders", report_orders_last_year: "Last year",
    report_orders_yoy: "Year on year", utilisation: "Utilisation", occupancy: "Occupancy",
    offered: "Offered", answered: "Answered",
    rules: "Repeat window {w} h; not-ready reasons excused from utilisation: {r}", none: "none",
    scorecard_title: "Balanced scorecard", business: "Business", conduct: "Conduct",
    total: "Total", errors: "Errors (minor/important/major)", fatal: "Fatal",
    qa_score: "QA score", non_fatal_error_rate: "Non-fatal errors", exam: "Monthly exam",
    typing: "Typing (chars/min)", target: "target", weight: "weight",
    enter_score: "Enter a score", enter_conduct: "Conduct", points: "points (deduction < 0)",
    reason: "Reason", save: "Save", saved: "saved", warnings_title: "Warning lists",
    monthly: "Monthly (overdue, substantiated)", slow: "Weekly slow orders", order: "Order",
    created: "Created", resolve_by: "Due", replied: "Replied", overdue: "overdue",
    substantiated: "substantiated complaint", slow_reason: "slow",
    schedules_title: "Reports on schedule", daily: "Daily", weekly: "Weekly",
    monthly_report: "Monthly", add_schedule: "Add", period: "Period", format: "Format",
    created_by: "Created by", delete: "Delete", files_title: "Reports made", name: "File",
    made_at: "Made", size: "Size", download: "Download", no_rows: "nothing",
    charts_title: "Trends", step: "Step", quarter: "15 minutes", hour: "Hour",
    all_queues: "all", sl: "Service level", sl_target: "Target", abandoned: "Abandoned",
    nps: "NPS", satisfaction_rate: "Satisfaction rate", states_title: "Agent states",
    ready: "ready", reserved: "reserved", ringing: "ringing", on_call: "on call",
    after_call_work: "after-call work", not_ready: "not ready", all_groups: "All groups",
    drill_hint: "Click a group's row to drill down to days, hours and 15 minutes",
    drill_more: "Click a row or a bar to drill down", start: "Period" },
};
const FIGURES = ["answer_rate", "first_call_resolution", "repeat_call_rate", "complaint_rate",
  "substantiated_complaint_rate", "complaint_timeliness", "callback_timeliness",
  "callbacks_done", "report_orders", "report_orders_last_year", "report_orders_yoy",
  "utilisation", "occupancy"];
const COUNTS = new Set(["callbacks_done", "report_orders", "report_orders_last_year"]);
const RATIO_LINES = new Set(["first_call_resolution", "complaint_rate", "callback_timeliness",
  "utilisation", "non_fatal_error_rate"]);

const p = page({ name: "reports", i18n: I18N, onShow: show, onLang: render });
const { params, t } = p;
let figures = null, card = null, warned = null, schedules = [], files = [];
let buckets = [], npsDays = [], spans = [];
// the drill-down: null (the groups), or one group's levels, each {from, to, step}, the last
// one shown with its answer (`view`)
let drill = null, view = null;
const STATE_COLOURS = { ready: "#5fd39a", reserved: "#8fd3ff", ringing: "#ffd27a",
  on_call: "#3d6fb6", after_call_work: "#b48cf2", not_ready: "#ff8080" };
const charts = {};

const pct = (v) => v == null ? "—" : (v * 100).toFixed(1) + "%";
const num = (v, d = 1) => v == null ? "—" : Number(v).toFixed(d);
const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
const epoch = (day, plus = 0) => { const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + plus).getTime() / 1000; };
const when = (s) => s == null ? "—" : new Date(s * 1000).toLocaleString(p.lang === "zh" ? "zh-CN" : "en-GB");
const row = (cells, attrs = {}) => { const tr = el("tr");
  for (const [k, v] of Object.entries(attrs)) tr.dataset[k] = v;
  for (const c of cells) tr.append(c instanceof Node ? c : el("td", c));
  return tr; };
const head = (table, names) => table.tHead.replaceChildren(row(names.map((n) => el("th", n))));
const cellOf = (text, field, cls) => { const td = el("td", text, cls); td.dataset.field = field; return td; };
const period = () => ({ from: epoch($("from").value), to: epoch($("to").value, 1) });

function setPeriod(kind) {
  const d = $("to").value ? new Date(epoch($("to").value) * 1000) : new Date();
  let from = d, to = d;
  if (kind === "week") { from = new Date(d.getFullYear(), d.getMonth(), d.getDate() - (d.getDay() + 6) % 7);
    to = new Date(from.getFullYear(), from.getMonth(), from.getDate() + 6); }
  if (kind === "month") { from = new Date(d.getFullYear(), d.getMonth(), 1);
    to = new Date(d.getFullYear(), d.getMonth() + 1, 0); }
  $("from").value = iso(from); $("to").value = iso(to);
  $("warn-kind").value = kind === "week" ? "slow" : "monthly";
  load();
}

async function load(ev) {
  if (ev) ev.preventDefault();
  $("message").textContent = "";
  drill = null; view = null;
  const q = { ...period(), by: $("by").value };
  const [f, c, w] = await Promise.allSettled([
    p.api("GET", "/api/reports/figures?" + new URLSearchParams(q)),
    p.api("GET", "/api/reports/scorecard?" + new URLSearchParams({ ...period(), by: $("card-by").value })),
    p.api("GET", "/api/reports/warnings?" + new URLSearchParams({ ...period(), kind: $("warn-kind").value }))]);
  figures = f.status === "fulfilled" ? f.value : null;
  card = c.status === "fulfilled" ? c.value : null;
  warned = w.status === "fulfilled" ? w.value : null;
  const failed = [f, c, w].find((r) => r.status === "rejected");
  if (failed) $("message").textContent = failed.reason.message;
  await Promise.all([loadSchedules(), loadCharts()]);
  render();
}

const HOUR_SPAN = 4 * 86400;  // up to four days open by the hour (96 steps), longer by day

function hhmm(d) { return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`; }

// a level's name on the browser's clock (the page's days are its local days): its days, or
// the hour its quarters are of
function spanLabel(from, to, step) {
  const a = new Date(from * 1000), b = new Date(to * 1000 - 1);
  if (step <= 900) return `${iso(a)} ${hhmm(a)}–${hhmm(new Date(to * 1000))}`;
  return iso(a) === iso(b) ? iso(a) : `${iso(a)} – ${iso(b)}`;
}
const bucketLabel = (b, step) => step >= 86400 ? iso(new Date(b.start * 1000))
  : `${iso(new Date(b.start * 1000)).slice(5)} ${hhmm(new Date(b.start * 1000))}`;

function drillInto(key) {
  const { from, to } = period();
  drill = { by: figures.by, key, levels: [{ from, to, step: to - from > HOUR_SPAN ? 86400 : 3600 }] };
  return loadDrill();
}

function drillBucket(b) {
  const level = drill.levels.at(-1);
  if (level.step <= 900) return;
  drill.levels.push({ from: b.start, to: b.end, step: level.step === 86400 ? 3600 : 900 });
  return loadDrill();
}

function drillUp(depth) {  // depth -1: the groups
  if (depth < 0) { drill = null; view = null; render(); return; }
  drill.levels.length = depth + 1;
  return loadDrill();
}

async function loadDrill() {
  const level = drill.levels.at(-1);
  try {
    view = await p.api("GET", "/api/reports/breakdown?" + new URLSearchParams(
      { from: level.from, to: level.to, by: drill.by, key: drill.key, step: level.step }));
  } catch (err) { $("message").textContent = err.message; drill.levels.pop();
    if (!drill.levels.length) { drill = null; view = null; } }
  render();
}

function renderCrumbs() {
  const items = [[t("all_groups") + ` (${t(figures.by)})`, -1]];
  if (drill) drill.levels.forEach((l, i) => items.push([
    (i === 0 ? `${drill.key} · ` : "") + spanLabel(l.from, l.to, l.step), i]));
  const out = [];
  items.forEach(([text, depth], i) => {
    if (i) out.push(el("span", "›", "sep"));
    const b = el("button", text); b.type = "button"; b.dataset.depth = depth;
    b.disabled = i === items.length - 1;
    b.addEventListener("click", () => drillUp(depth));
    out.push(b);
  });
  $("crumbs").replaceChildren(...out);
  $("drill-hint").textContent = t(drill ? (drill.levels.at(-1).step > 900 ? "drill_more" : "none") : "drill_hint");
  $("drill-hint").hidden = !!drill && drill.levels.at(-1).step <= 900;
}

function renderDrillChart() {
  $("chart-drill").hidden = !view;
  if (!view) return;
  const c = chart("chart-drill");
  if (!c) return;
  c.resize();
  const step = view.step;
  c.setOption({ backgroundColor: "transparent", tooltip: { trigger: "axis" }, animation: false,
    grid: { left: 50, right: 20, top: 40, bottom: 30 },
    title: { text: `${view.key} · ${t("offered")} / ${t("answered")}`, textStyle: { fontSize: 13 } },
    legend: { data: [t("offered"), t("answered"), t("answer_rate")], right: 10 },
    xAxis: { type: "category", data: view.buckets.map((b) => bucketLabel(b, step)) },
    yAxis: [{ type: "value", minInterval: 1 }, { type: "value", min: 0, max: 100, show: false }],
    series: [
      { name: t("offered"), type: "bar", data: view.buckets.map((b) => b.figures.counts.offered), itemStyle: { color: "#3d6fb6" } },
      { name: t("answered"), type: "bar", data: view.buckets.map((b) => b.figures.counts.answered), itemStyle: { color: "#5fd39a" } },
      { name: t("answer_rate"), type: "line", yAxisIndex: 1, data: view.buckets.map((b) => b.figures.answer_rate == null ? null : +(b.figures.answer_rate * 100).toFixed(1)), itemStyle: { color: "#ffd27a" } }] }, true);
  // a click anywhere in a bucket's column (its bars are thin) drills into it
  c.getZr().off("click");
  c.getZr().on("click", (e) => { const at = [e.offsetX, e.offsetY];
    if (!view || !c.containPixel("grid", at)) return;
    const b = view.buckets[c.convertFromPixel({ seriesIndex: 0 }, at)[0]];
    if (b) drillBucket(b); });
}

const figureCells = (g) => [...FIGURES.map((k) => cellOf(COUNTS.has(k) ? num(g[k], 0) : pct(g[k]), k)),
  cellOf(String(g.counts.offered), "offered"), cellOf(String(g.counts.answered), "answered")];

function renderFigures() {
  renderCrumbs();
  const body = $("figures").tBodies[0];
  if (view) {
    head($("figures"), [t("start"), ...FIGURES.map(t), t("offered"), t("answered")]);
    body.replaceChildren(...view.buckets.map((b) => {
      const tr = row([cellOf(bucketLabel(b, view.step), "start"), ...figureCells(b.figures)],
        { start: b.start });
      if (view.step > 900) { tr.classList.add("drillable"); tr.addEventListener("click", () => drillBucket(b)); }
      return tr; }));
    renderDrillChart();
    return;
  }
  renderDrillChart();
  head($("figures"), [t("key"), ...FIGURES.map(t), t("offered"), t("answered")]);
  body.replaceChildren(...figures.groups.map((g) => {
    const tr = row([cellOf(g.key, "key"), ...figureCells(g)], { key: g.key });
    tr.classList.add("drillable");
    tr.addEventListener("click", () => drillInto(g.key));
    return tr; }));
}

async function loadCharts() {
  const q = period();
  const [b, n, st] = await Promise.allSettled([
    p.api("GET", "/api/reports/intervals?" + new URLSearchParams({ ...q,
      queue: $("chart-queue").value.trim() || "*", step: $("step").value })),
    p.api("GET", "/api/reports/nps?" + new URLSearchParams(q)),
    timeline(q.from, Math.min(q.to, q.from + 86400))]);
  buckets = b.status === "fulfilled" ? b.value : [];
  npsDays = n.status === "fulfilled" ? n.value : [];
  spans = st.status === "fulfilled" ? st.value : [];
}

// the timeline of the period's first day, page by page (at most 20 pages of 500 spans)
async function timeline(from, to) {
  const all = [];
  for (let offset = 0; offset < 10_000; offset += 500) {
    const page = (await p.api("GET", "/api/reports/states?" + new URLSearchParams(
      { from, to, limit: 500, offset }))).spans;
    all.push(...page);
    if (page.length < 500) break;
  }
  return all;
}

function chart(id) {
  if (typeof echarts === "undefined") return null;  // the vendored file did not load
  charts[id] ??= echarts.init($(id), "dark", { renderer: "canvas" });
  return charts[id];
}

function label(s) {
  const d = new Date(s * 1000);
  const step = Number($("step").value);
  return step >= 86400 ? iso(d).slice(5) : `${iso(d).slice(5)} ${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

function renderCharts() {
  if ($("board").hidden) return;  // a chart drawn in a hidden box has no size
  for (const c of Object.values(charts)) c.resize();
  const base = { backgroundColor: "transparent", tooltip: { trigger: "axis" },
    grid: { left: 50, right: 20, top: 40, bottom: 30 }, animation: false };
  const x = buckets.map((b) => label(b.start));
  chart("chart-sl")?.setOption({ ...base, title: { text: t("sl"), textStyle: { fontSize: 13 } },
    legend: { data: [t("sl"), t("sl_target")], right: 10 },
    xAxis: { type: "category", data: x }, yAxis: { type: "value", min: 0, max: 100 },
    series: [
      { name: t("sl"), type: "line", data: buckets.map((b) => b.service_level == null ? null : +(b.service_level * 100).toFixed(1)), connectNulls: false },
      { name: t("sl_target"), type: "line", step: "middle", symbol: "none", lineStyle: { type: "dashed", color: "#ff8080" },
        data: buckets.map((b) => b.sl_target == null ? null : b.sl_target * 100) }] }, true);
  chart("chart-volume")?.setOption({ ...base, title: { text: `${t("offered")} / ${t("abandoned")}`, textStyle: { fontSize: 13 } },
    legend: { data: [t("offered"), t("answered"), t("abandoned")], right: 10 },
    xAxis: { type: "category", data: x }, yAxis: { type: "value" },
    series: [
      { name: t("offered"), type: "bar", data: buckets.map((b) => b.offered), itemStyle: { color: "#3d6fb6" } },
      { name: t("answered"), type: "line", data: buckets.map((b) => b.answered), itemStyle: { color: "#5fd39a" } },
      { name: t("abandoned"), type: "bar", data: buckets.map((b) => b.abandoned), itemStyle: { color: "#ff8080" } }] }, true);
  chart("chart-nps")?.setOption({ ...base, title: { text: `${t("nps")} / ${t("satisfaction_rate")}`, textStyle: { fontSize: 13 } },
    legend: { data: [t("nps"), t("satisfaction_rate")], right: 10 },
    xAxis: { type: "category", data: npsDays.map((d) => iso(new Date(d.start * 1000)).slice(5)) },
    yAxis: { type: "value", min: -100, max: 100 },
    series: [
      { name: t("nps"), type: "line", data: npsDays.map((d) => d.nps == null ? null : +d.nps.toFixed(1)), itemStyle: { color: "#ffd27a" } },
      { name: t("satisfaction_rate"), type: "line", data: npsDays.map((d) => d.satisfaction_rate == null ? null : +(d.satisfaction_rate * 100).toFixed(1)), itemStyle: { color: "#5fd39a" } }] }, true);
  const agents = [...new Set(spans.map((s) => s.agent_id))];
  chart("chart-states")?.setOption({ ...base, title: { text: t("states_title"), textStyle: { fontSize: 13 } },
    tooltip: { formatter: (i) => `${i.value[3]} ${t(i.value[4])}` },
    grid: { left: 70, right: 20, top: 40, bottom: 30 },
    xAxis: { type: "time", axisLabel: { formatter: (v) => { const d = new Date(v);
      return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`; } } },
    yAxis: { type: "category", data: agents },
    series: [{ type: "custom", encode: { x: [1, 2], y: 0 },
      data: spans.map((s) => ({ value: [agents.indexOf(s.agent_id), s.start * 1000, s.end * 1000, s.agent_id, s.state],
        itemStyle: { color: STATE_COLOURS[s.state] || "#8a97ad" } })),
      renderItem: (params, api) => { const y = api.value(0);
        const a = api.coord([api.value(1), y]), b = api.coord([api.value(2), y]);
        const h = api.size([0, 1])[1] * 0.6;
        return { type: "rect", shape: { x: a[0], y: a[1] - h / 2, width: Math.max(1, b[0] - a[0]), height: h },
          style: api.style() }; } }] }, true);
}

async function loadSchedules() {
  try {
    schedules = await p.api("GET", "/api/reports/schedules");
    files = (await p.api("GET", "/api/reports/files")).files;
  } catch { schedules = []; files = []; }
}

function render() {
  renderCharts();
  $("figures-pane").hidden = !figures;
  if (figures) {
    $("rules").textContent = t("rules").replace("{w}", figures.repeat_window_h)
      .replace("{r}", figures.utilisation_excused_reasons.join(", ") || t("none"));
    renderFigures();
  }
  $("scorecard-pane").hidden = !card;
  if (card) {
    const names = card.cards.length ? card.cards[0].lines.map((l) => l.name) : [];
    head($("scorecard"), [t("key"), ...names.map((n) => t(n)), t("business"), t("conduct"),
      t("total"), t("errors"), t("fatal")]);
    $("scorecard").tBodies[0].replaceChildren(...card.cards.map((c) => row([
      cellOf(c.key, "key"),
      ...c.lines.map((l) => { const td = cellOf(l.value == null ? "—"
          : `${RATIO_LINES.has(l.name) ? pct(l.value) : num(l.value)} · ${num(l.score, 0)}`, l.name,
        l.score == null ? "" : l.score >= 100 ? "met" : "low");
        td.title = `${t("target")} ${RATIO_LINES.has(l.name) ? pct(l.target) : l.target}, ${t("weight")} ${l.weight}`;
        return td; }),
      cellOf(num(c.business), "business"), cellOf(num(c.conduct), "conduct"),
      cellOf(num(c.total), "total", "total"),
      cellOf(["general", "important", "major"].map((k) => c.errors[k] ?? 0).join(" / "), "errors"),
      cellOf(String(c.fatal_errors), "fatal")], { key: c.key })));
  }
  $("warnings-pane").hidden = !warned;
  if (warned) {
    head($("warnings"), [t("unit"), t("reason"), t("order"), t("service"), t("created"),
      t("resolve_by"), t("replied")]);
    const body = warned.orders.map((o) => row([o.unit, t(o.reason === "slow" ? "slow_reason" : o.reason),
      `#${o.order_id}`, o.service, when(o.created_at), when(o.resolve_by), when(o.replied_at)],
      { order: o.order_id }));
    $("warnings").tBodies[0].replaceChildren(...(body.length ? body : [row([t("no_rows")])]));
  }
  $("sch-by").replaceChildren(...[...$("by").options].map((o) => {
    const c = el("option", o.textContent); c.value = o.value; return c; }));
  head($("schedules"), [t("period"), t("by"), t("format"), t("created_by"), ""]);
  $("schedules").tBodies[0].replaceChildren(...schedules.map((s) => {
    const del = el("button", t("delete")); del.type = "button";
    del.addEventListener("click", () => p.api("DELETE", `/api/reports/schedules/${s.id}`)
      .then(loadSchedules).then(render).catch((e) => { $("message").textContent = e.message; }));
    return row([t({ day: "daily", week: "weekly", month: "monthly_report" }[s.period]), t(s.by),
      s.format.toUpperCase(), s.created_by, del], { schedule: s.id }); }));
  head($("files"), [t("name"), t("period"), t("made_at"), t("size"), ""]);
  $("files").tBodies[0].replaceChildren(...files.map((f) => {
    const get = el("button", t("download")); get.type = "button";
    get.addEventListener("click", () => p.download(`/api/reports/files/${f.id}`));
    return row([f.name, `${when(f.period_start)} – ${when(f.period_end)}`, when(f.made_at),
      `${(f.size / 1024).toFixed(1)} KB`, get], { file: f.id }); }));
}

async function enter(ev, path, body) {
  ev.preventDefault();
  const say = (text, cls) => { $("card-message").textContent = text; $("card-message").className = cls; };
  say("", "");
  try { await p.api("POST", path, body); say(t("saved"), "note"); await load(); }
  catch (err) { say(err.message, "error"); }
}

function show() {
  const today = iso(new Date());
  $("from").value = params.get("from") || today;
  $("to").value = params.get("to") || $("from").value;
  if (params.get("by")) $("by").value = params.get("by");
  load();
}

$("query").addEventListener("submit", load);
for (const b of document.querySelectorAll("[data-period]")) b.addEventListener("click", () => setPeriod(b.dataset.period));
$("card-by").addEventListener("change", () => load());
addEventListener("resize", () => { for (const c of Object.values(charts)) c.resize(); });
$("step").addEventListener("change", () => loadCharts().then(render));
$("chart-queue").addEventListener("change", () => loadCharts().then(render));
$("warn-kind").addEventListener("change", () => load());
for (const [id, fmt] of [["csv", "csv"], ["xlsx", "xlsx"]]) {
  // the view shown: the groups, or the drilled-down group's buckets
  $(id).addEventListener("click", () => { const level = drill?.levels.at(-1);
    const q = level ? { from: level.from, to: level.to, by: drill.by, key: drill.key, step: level.step }
      : { ...period(), by: $("by").value };
    p.download("/api/reports/export?" + new URLSearchParams({ ...q, format: fmt }))
      .catch((e) => { $("message").textContent = e.message; }); });
}
$("score-form").addEventListener("submit", (ev) => enter(ev, "/api/reports/scorecard/scores", {
  agent_id: $("score-agent").value.trim(), kind: $("score-kind").value,
  taken_at: period().from, score: Number($("score-value").value) }));
$("conduct-form").addEventListener("submit", (ev) => enter(ev, "/api/reports/scorecard/conduct", {
  agent_id: $("conduct-agent").value.trim(), at: period().from,
  points: Number($("conduct-points").value), reason: $("conduct-reason").value.trim() }));
$("schedule-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try { await p.api("POST", "/api/reports/schedules", { period: $("sch-period").value,
    by: $("sch-by").value, format: $("sch-format").value }); await loadSchedules(); render(); }
  catch (err) { $("message").textContent = err.message; }
});
p.start();
