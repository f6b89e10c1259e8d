// The planner page's emergency staffing (紧急排班, docs/planning.md "Emergency staffing"): for
// the form's queue, today's calls so far against the forecast (the ratio over the last closed
// intervals), the coming intervals re-forecast by it with the agents they need against the
// published plan and the gap, and who could be called in. Read again every 30 s (?poll=
// seconds) and after each forecast. An ES module over planning.js's page.
import { $, el } from "./common.js";
import { page, row } from "./planning.js";

const api = page.api;
const EM_I18N = {
  zh: { em_title: "紧急排班（今日实况与预测）", em_horizon: "未来时段数", em_window: "比较时段数",
    em_shrinkage: "缩减率 %", em_refresh: "刷新", em_now: "当前", em_window_calls: "已结束时段",
    em_actual: "实际", em_forecast: "预测", em_ratio: "实际/预测", em_no_ratio: "无法比较（预测来电太少）",
    em_open: "本时段已进线", em_storm: "来电高于预测", em_calm: "未高于预测", em_time: "时段",
    em_fc_col: "原预测", em_reforecast: "重新预测", em_planned_need: "原需坐席", em_need: "现需坐席",
    em_scheduled: "排班在线", em_gap: "缺口", em_short: "缺员（人·时段）", em_callins: "可召回坐席",
    em_agent: "坐席", em_name: "姓名", em_team: "班组", em_level: "技能等级", em_state: "状态",
    em_available: "可到岗", em_covers: "可补缺时段", em_hours: "本周剩余合同工时",
    em_within: "合同内", em_overtime: "加班", em_no_contract: "无合同", em_note: "备注",
    em_early: "提前上班，原定上班", em_worked: "今日已上过班", em_none: "无可召回坐席",
    em_excluded: "不可召回", on_shift: "在班", on_break: "休息/午餐中", on_the_phones: "已在线",
    rest: "休息时间不足", consecutive_days: "连续上班天数超限", em_updated: "更新于",
    logged_out: "已签出", not_ready: "示忙", ready: "就绪" },
  en: { em_title: "Emergency staffing (today live against the forecast)",
    em_horizon: "Coming intervals", em_window: "Intervals compared", em_shrinkage: "Shrinkage %",
    em_refresh: "Refresh", em_now: "now", em_window_calls: "closed intervals",
    em_actual: "actual", em_forecast: "forecast", em_ratio: "actual / forecast",
    em_no_ratio: "no ratio (too few forecast calls)", em_open: "this interval so far",
    em_storm: "above forecast", em_calm: "not above forecast", em_time: "Interval",
    em_fc_col: "Forecast", em_reforecast: "Re-forecast", em_planned_need: "Planned need", em_need: "Need now",
    em_scheduled: "On the phones (plan)", em_gap: "Gap", em_short: "short (agent-intervals)",
    em_callins: "Who could be called in", em_agent: "Agent", em_name: "Name", em_team: "Team",
    em_level: "Level", em_state: "State", em_available: "Available", em_covers: "Short intervals covered",
    em_hours: "Contract hours left", em_within: "within contract", em_overtime: "overtime",
    em_no_contract: "no contract", em_note: "Note", em_early: "come in early, shift at",
    em_worked: "worked today already", em_none: "nobody to call in", em_excluded: "not callable",
    on_shift: "on shift", on_break: "on a break", on_the_phones: "on the phones already",
    rest: "rest too short", consecutive_days: "too many days in a row", em_updated: "updated",
    logged_out: "logged out", not_ready: "not ready", ready: "ready" },
};
const et = (k) => EM_I18N[page.lang][k] ?? k;
const POLL_S = Math.max(2, Number(page.params.get("poll")) || 30);
let data = null, error = "", timer = null, loading = false;

function dom() {
  if ($("emergency-pane")) return;
  const sec = el("section"); sec.id = "emergency-pane";
  sec.innerHTML = `<h2 data-e="em_title"></h2>
    <form id="em-form" class="bar">
      <label><span data-e="em_horizon"></span> <input id="em-horizon" type="number" min="1" max="16" step="1" value="8" required></label>
      <label><span data-e="em_window"></span> <input id="em-window" type="number" min="1" max="16" step="1" value="4" required></label>
      <label><span data-e="em_shrinkage"></span> <input id="em-shrinkage" type="number" min="0" max="90" step="any" value="0" required></label>
      <button type="submit" data-e="em_refresh"></button>
      <span id="em-updated" class="muted"></span>
    </form>
    <p id="em-status" class="summary"></p>
    <div class="panes">
      <div class="scroll"><table id="em-coming"><thead><tr><th data-e="em_time"></th><th data-e="em_fc_col"></th>
        <th data-e="em_reforecast"></th><th data-e="em_planned_need"></th><th data-e="em_need"></th>
        <th data-e="em_scheduled"></th><th data-e="em_gap"></th></tr></thead><tbody></tbody></table></div>
      <div class="scroll"><table id="em-callins"><thead><tr><th data-e="em_agent"></th><th data-e="em_name"></th>
        <th data-e="em_team"></th><th data-e="em_level"></th><th data-e="em_state"></th><th data-e="em_available"></th>
        <th data-e="em_covers"></th><th data-e="em_hours"></th><th data-e="em_note"></th></tr></thead><tbody></tbody></table>
        <p id="em-excluded" class="muted"></p></div>
    </div>`;
  $("summary").after(sec);
  $("em-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
}

async function load() {
  dom();
  if (loading) return;
  const queue = $("queue").value.trim();
  if (!queue) return;
  loading = true;
  const q = new URLSearchParams({ queue, horizon: $("em-horizon").value, window: $("em-window").value,
    shrinkage: Number($("em-shrinkage").value) / 100, erlang: $("erlang").value });
  try { data = await api("GET", "/api/plans/emergency?" + q); error = ""; }
  catch (err) { data = null; error = err.message; }
  finally { loading = false; }
  render();
}

function render() {
  if (!$("emergency-pane")) return;
  for (const e of $("emergency-pane").querySelectorAll("[data-e]")) e.textContent = et(e.dataset.e);
  const d = data;
  $("em-updated").textContent = d ? `${et("em_updated")} ${new Date().toLocaleTimeString(page.lang === "zh" ? "zh-CN" : "en-GB")}` : error;
  const st = $("em-status");
  if (!d) { st.textContent = ""; delete st.dataset.storm; }
  else {
    const storm = d.ratio != null && d.ratio > 1;
    st.dataset.storm = storm ? "yes" : "no";
    const first = d.window.length ? d.window[0].time : "", last = d.window.length ? d.window[d.window.length - 1].time : "";
    const ratio = d.ratio == null ? et("em_no_ratio")
      : `${et("em_ratio")} ${d.actual} / ${d.forecast.toFixed(1)} = ×${d.ratio.toFixed(2)}`;
    st.replaceChildren(el("span", storm ? et("em_storm") : et("em_calm"), storm ? "badge storm" : "badge"),
      ` ${d.queue} · ${et("em_now")} ${d.now_time} · ${et("em_window_calls")} ${first}–${last}: ${ratio}` +
      ` · ${et("em_open")} ${d.open_offered ?? "—"} · ${et("em_short")} ${d.short}`);
  }
  $("em-coming").tBodies[0].replaceChildren(...(d ? d.coming : []).map((c) => {
    const tr = row([c.time, c.forecast.toFixed(1), c.calls.toFixed(1), String(c.planned_need),
      String(c.need), String(c.scheduled), (c.gap > 0 ? "+" : "") + c.gap], { time: c.time });
    tr.lastChild.className = c.gap < 0 ? "short" : c.gap > 0 ? "over" : "";
    return tr;
  }));
  const calls = d ? d.call_ins : [];
  $("em-callins").tBodies[0].replaceChildren(...(d && !calls.length ? [row([et("em_none")])] : []),
    ...calls.map((c) => {
      const hours = c.hours_left != null ? `${c.hours_left.toFixed(1)}h` : "";
      const contract = c.within_contract == null ? et("em_no_contract") : c.within_contract ? et("em_within") : et("em_overtime");
      const note = [c.later_shift ? `${et("em_early")} ${c.later_shift}` : "", c.worked_today ? et("em_worked") : ""]
        .filter(Boolean).join("; ");
      return row([c.agent_id, c.name, c.team, String(c.level), et(c.state), `${c.from_time}–${c.until_time}`,
        String(c.covers_short), [hours, contract].filter(Boolean).join(" · "), note], { agent: c.agent_id });
    }));
  const ex = d ? Object.entries(d.excluded) : [];
  $("em-excluded").textContent = ex.length ? `${et("em_excluded")}: ` + ex.map(([k, n]) => `${et(k)} ${n}`).join(", ") : "";
}

function start() {
  load();
  if (timer === null) timer = setInterval(() => { if (!$("board").hidden && page.signedIn()) load(); }, POLL_S * 1000);
}

document.addEventListener("planning:shown", start);
document.addEventListener("planning:loaded", start);
document.addEventListener("planning:lang", render);
if (!$("board").hidden) start();  // signed in already: planning.js showed the board first
