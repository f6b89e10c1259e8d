// The supervisor page: agents live (state, time in it, current call), queues live (waiting,
// longest wait, today's service level), listen / whisper / barge for an agent on a call
// (rings "my phone", a PJSIP endpoint), state changes, and a skill editor (levels 1-5, save
// -> PUT /api/agents/{id}/skills). Queues and agents' states come live from the live socket
// (where: GET /api/live-endpoint)
// (docs/live-api.md, live.js); skills and current calls from GET /api/roster every second.
// ?lang=zh|en. Sign-in, language and token: common.js (sessionStorage "supervisor.token").
// The reserve and adherence panels are modules of their own, given what they use.
"use strict";
import { $, mmss, page } from "./common.js";
import { liveView, socketUrl } from "./live.js";
import { renderReserve } from "./reserve.js";
import { startAdherence } from "./adherence.js";

const I18N = {
  zh: {
    title: "班长席", my_phone: "我的话机", offline: "未连接", online: "在线", signout: "退出登录",
    queues: "队列", queue: "队列", waiting: "排队", longest: "最长等待", sl: "服务水平",
    target: "目标", agents: "坐席", agent: "坐席", state: "状态", in_state: "持续",
    call: "当前通话", monitor: "监听", change_state: "改状态", skills: "技能",
    new_skill: "新技能", add: "添加", save: "保存", saved: "已保存", remove: "删除",
    listen: "监听", whisper: "耳语", barge: "强插", apply: "执行",
    login: "登录", username: "用户名", password: "密码", signin: "登录",
    bad_login: "用户名或密码错误",
    logged_out: "已签出", not_ready: "示忙", ready: "就绪", reserved: "分配中",
    ringing: "振铃", on_call: "通话中", after_call_work: "话后处理",
    cmd_login: "签入", cmd_ready: "就绪", cmd_not_ready: "示忙(会议)", cmd_logout: "签出",
    cmd_end_wrap_up: "结束话后",
    general: "综合", billing: "电量电费", fault: "故障报修", business: "业务咨询",
    complaint: "投诉", ev: "电动汽车", outage_info: "停电信息",
    survey_alerts: "满意度预警", when: "时间", satisfaction: "满意度", nps: "推荐度",
    callback_order: "回访工单", none: "无",
    aht: "平均处理时长", fcr: "一次解决率", sat_rate: "满意率",
    reserve: "应急梯队", team: "梯队", since: "起始", level: "服务水平(30分钟)",
    reserve_agents: "坐席", action: "操作", proposed: "建议启用", dismissed: "已忽略",
    applied: "已启用", recovered: "已恢复，可撤回", auto: "自动", by: "操作人",
    reserve_apply: "启用", reserve_dismiss: "忽略", reserve_take_back: "撤回",
    reserve_none: "各队列服务水平正常", system: "系统",
  },
  en: {
    title: "Supervisor", my_phone: "My phone", offline: "offline", online: "online",
    signout: "Sign out", queues: "Queues", queue: "Queue", waiting: "Waiting",
    longest: "Longest wait", sl: "Service level", target: "Target", agents: "Agents",
    agent: "Agent", state: "State", in_state: "In state", call: "Current call",
    monitor: "Monitor", change_state: "Change state", skills: "Skills", new_skill: "new skill",
    add: "Add", save: "Save", saved: "saved", remove: "Remove", listen: "Listen",
    whisper: "Whisper", barge: "Barge", apply: "Apply",
    login: "Sign in", username: "User", password: "Password", signin: "Sign in",
    bad_login: "Unknown user or wrong password",
    logged_out: "Logged out", not_ready: "Not ready", ready: "Ready", reserved: "Reserved",
    ringing: "Ringing", on_call: "On call", after_call_work: "Wrap-up",
    cmd_login: "Log in", cmd_ready: "Ready", cmd_not_ready: "Not ready (meeting)",
    cmd_logout: "Log out", cmd_end_wrap_up: "End wrap-up",
    survey_alerts: "Low survey answers", when: "When", satisfaction: "Satisfaction",
    nps: "NPS", callback_order: "Callback order", none: "none",
    aht: "AHT", fcr: "FCR", sat_rate: "Satisfaction",
    reserve: "Emergency reserve", team: "Team", since: "Since", level: "SL (30 min)",
    reserve_agents: "Agents", action: "Action", proposed: "proposed", dismissed: "dismissed",
    applied: "applied", recovered: "recovered: take back?", auto: "auto", by: "By",
    reserve_apply: "Apply", reserve_dismiss: "Dismiss", reserve_take_back: "Take back",
    reserve_none: "Every queue is at its level", system: "system",
  },
};
const COMMANDS = ["login", "ready", "not_ready", "end_wrap_up", "logout"];
let roster = [];       // GET /api/roster: state, call_id, skills per agent
let socket = null;
let backoff = 500;
let callers = {};      // call_id -> desk call (caller, queue)
let editing = null;    // {agent_id, skills} in the skill editor
let pollTimer = null;
const chosenCommand = {};  // agent_id -> the command picked in its row (rows are redrawn)
const live = liveView(() => render());  // the live view of /ws/live: queues and agent rows

const p = page({
  name: "supervisor", i18n: I18N, board: "floor", renew: true,
  onShow() { connect(); poll(); },
  onSignOut() { clearTimeout(pollTimer); if (socket) socket.close(); },
  onToken(token) {  // the socket goes on with the renewed token
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "token", token }));
  },
  onLang() { render(); renderSkills(); },
});
const t = (key) => I18N[p.lang][key] ?? I18N.en[key] ?? key;
const api = (method, path, body) => p.api(method, path, body);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(node.dataset, v); else node[k] = v;
  }
  node.append(...children);
  return node;
}

const pct = (v) => (v == null ? "—" : (v * 100).toFixed(1) + "%");
const secs = (v) => (v == null ? "—" : Math.round(v) + "s");

async function poll() {
  clearTimeout(pollTimer);
  try {
    roster = await api("GET", "/api/roster");
    const onCall = roster.filter((x) => x.call_id && !callers[x.call_id]);
    for (const x of onCall) {  // the caller's number of each new call, once
      const desk = await api("GET", `/api/agents/${encodeURIComponent(x.agent_id)}/desk`);
      if (desk.call) callers[desk.call.call_id] = desk.call;
    }
    render();
  } catch (err) { $("message").textContent = err.message; }
  if (p.signedIn()) pollTimer = setTimeout(poll, 1000);
}

// ---- the live socket (live.js keeps the view)
let connecting = false;  // asking where the live socket is
async function connect() {
  if (!p.signedIn() || socket || connecting) return;
  connecting = true;
  let ep;
  try { ep = await api("GET", "/api/live-endpoint"); }  // a 401 signs out
  catch (err) { if (p.signedIn()) setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000); return; }
  finally { connecting = false; }
  socket = new WebSocket(socketUrl(ep, p.token));
  socket.onopen = () => { p.online(true); backoff = 500; };
  socket.onmessage = (ev) => live.onMessage(JSON.parse(ev.data));
  socket.onclose = (ev) => {
    p.online(false); socket = null;
    if (ev.code === 4401 || ev.code === 4403) { p.signOut(); return; }
    if (p.signedIn()) setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10000);
  };
}

function renderQueues() {
  const view = live.view;
  const queues = view ? Object.entries(view.queues || {}).sort() : [];
  $("queues").replaceChildren(...queues.map(([name, q]) => {
    const sl = q.today ? q.today.service_level : null;
    const under = sl != null && q.sl_target != null && sl < q.sl_target;
    return el("tr", { dataset: { queue: name } },
      el("td", {}, t(name)),
      el("td", { dataset: { field: "waiting" } }, String(q.waiting ?? 0)),
      el("td", { dataset: { field: "longest", since: q.oldest_since ?? "" } }, ""),
      el("td", { dataset: { field: "sl" }, className: under ? "under" : "" }, pct(sl)),
      el("td", {}, pct(q.sl_target)),
      // today's AHT, first-call resolution, satisfaction and NPS (docs/metrics.md)
      el("td", { dataset: { field: "aht" } }, secs(q.today?.aht)),
      el("td", { dataset: { field: "fcr" } }, pct(q.today?.fcr)),
      el("td", { dataset: { field: "satisfaction_rate" } }, pct(q.today?.satisfaction_rate)),
      el("td", { dataset: { field: "nps" } },
        q.today?.nps != null ? q.today.nps.toFixed(1) : "—"));
  }));
}

function agentRow(a) {
  const view = live.view;
  const row = view && view.agents ? view.agents[a.agent_id] : null;  // live, else the roster
  const state = row ? row.state : a.state;
  const since = row && row.since > 0 && state !== "logged_out" ? row.since : null;
  const callId = row ? row.call_id : a.call_id;
  const call = callId ? callers[callId] : null;
  const spy = ["listen", "whisper", "barge"].map((mode) => {
    const b = el("button", { type: "button", className: "spy", disabled: !callId,
      dataset: { mode } }, t(mode));
    b.addEventListener("click", () => spyOn(a.agent_id, mode));
    return b;
  });
  const select = el("select", { className: "cmd" },
    ...COMMANDS.map((c) => new Option(t("cmd_" + c), c)));
  select.value = chosenCommand[a.agent_id] || "ready";
  select.addEventListener("change", () => { chosenCommand[a.agent_id] = select.value; });
  const go = el("button", { type: "button", className: "apply" }, t("apply"));
  go.addEventListener("click", () => changeState(a.agent_id, select.value));
  return el("tr", { dataset: { agent: a.agent_id } },
    el("td", {}, a.name ? `${a.agent_id} ${a.name}` : a.agent_id),
    el("td", {}, el("span", { className: `st ${state}`, dataset: { field: "state" } }, t(state))),
    el("td", { dataset: { field: "timer", since: since ?? "" } }, ""),
    el("td", { dataset: { field: "call" } }, call
      ? el("span", {}, el("span", { className: "caller" }, call.caller), ` ${t(call.queue)}`)
      : (callId || "")),
    el("td", {}, ...spy),
    el("td", {}, select, go));
}

function renderAgents() {
  $("agents").replaceChildren(...roster.map(agentRow));
  tick();
  const picker = $("skill-agent");
  if (picker.options.length !== roster.length) {
    const chosen = picker.value;
    picker.replaceChildren(...roster.map((a) => new Option(a.agent_id, a.agent_id)));
    picker.value = chosen || (roster[0] && roster[0].agent_id) || "";
    loadSkills();
  }
}

// low survey answers (view.survey_alerts, newest first): satisfaction as n/scale (1 = very
// satisfied), the NPS answer, and the callback order (回访) made for it
function renderAlerts() {
  const view = live.view;
  const alerts = view && Array.isArray(view.survey_alerts) ? view.survey_alerts : [];
  const when = (at) => new Date(at * 1000).toLocaleTimeString(
    p.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  $("survey-alerts").replaceChildren(...alerts.map((a) => el("tr", { dataset: { call: a.call_id } },
    el("td", {}, when(a.at)),
    el("td", {}, a.agent_id || "—"),
    el("td", {}, a.queue ? t(a.queue) : "—"),
    el("td", {}, a.satisfaction != null ? `${a.satisfaction}/${a.scale}` : "—"),
    el("td", {}, a.nps != null ? String(a.nps) : "—"),
    el("td", {}, a.order_id != null ? `#${a.order_id}` : t("none")))));
}

function render() {
  renderQueues(); renderAgents(); renderAlerts();
  renderReserve(live.view, { api, el, t, pct, lang: p.lang });
}

function tick() {
  const now = live.now();
  document.querySelectorAll('[data-field="timer"], [data-field="longest"]').forEach((td) => {
    const none = td.dataset.field === "longest" ? "00:00" : "--:--";
    td.textContent = td.dataset.since ? mmss(now - Number(td.dataset.since)) : none;
  });
}

async function spyOn(agentId, mode) {
  const endpoint = $("sup-endpoint").value.trim();
  $("message").textContent = "";
  // empty: the server rings the supervisor's own phone (api/spy_target.py)
  localStorage.setItem("supervisor.endpoint", endpoint);
  try {
    await api("POST", `/api/agents/${encodeURIComponent(agentId)}/spy`,
      endpoint ? { mode, supervisor_endpoint: endpoint } : { mode });
  } catch (err) { $("message").textContent = err.message; }
}

async function changeState(agentId, command) {
  $("message").textContent = "";
  const body = command === "not_ready" ? { command, reason: "meeting" } : { command };
  try { await api("POST", `/api/agents/${encodeURIComponent(agentId)}/state`, body); }
  catch (err) { $("message").textContent = err.message; }
  poll();
}

// ---- the skill editor

function loadSkills() {
  const agent = roster.find((a) => a.agent_id === $("skill-agent").value);
  editing = agent ? { agent_id: agent.agent_id, skills: { ...agent.skills } } : null;
  $("skills-note").textContent = "";
  renderSkills();
}

function renderSkills() {
  const rows = editing ? Object.entries(editing.skills).sort() : [];
  $("skill-rows").replaceChildren(...rows.map(([skill, level]) => {
    const select = el("select", { className: "level", dataset: { skill } },
      ...[1, 2, 3, 4, 5].map((n) => new Option(String(n), String(n))));
    select.value = String(level);
    select.addEventListener("change", () => { editing.skills[skill] = Number(select.value); });
    const remove = el("button", { type: "button" }, t("remove"));
    remove.addEventListener("click", () => { delete editing.skills[skill]; renderSkills(); });
    return el("tr", { dataset: { skill } }, el("td", {}, `${t(skill)} (${skill})`),
      el("td", {}, select), el("td", {}, remove));
  }));
}

$("skill-agent").addEventListener("change", loadSkills);
$("skill-add").addEventListener("click", () => {
  const name = $("skill-new").value.trim().toLowerCase();
  if (!editing || !/^[A-Za-z0-9_]{1,40}$/.test(name)) return;  // hotline/core/ids.py
  editing.skills[name] = editing.skills[name] || 1;
  $("skill-new").value = "";
  renderSkills();
});
$("skills-save").addEventListener("click", async () => {
  if (!editing) return;
  $("skills-note").textContent = "";
  try {
    const agent = await api("PUT", `/api/agents/${encodeURIComponent(editing.agent_id)}/skills`,
      { skills: editing.skills });
    const i = roster.findIndex((a) => a.agent_id === agent.agent_id);
    if (i >= 0) roster[i] = agent;
    $("skills-note").textContent = `${agent.agent_id} ${t("saved")}`;
  } catch (err) { $("message").textContent = err.message; }
});

$("sup-endpoint").value = localStorage.getItem("supervisor.endpoint") || "";

setInterval(tick, 250);
p.start();
startAdherence({ token: () => p.token, view: () => live.view, lang: () => p.lang, t });
