"use strict";
// The agent panel: log in (token in sessionStorage), see your state and its timer, go ready /
// not ready (with a reason) / log out, see the ringing or current call (caller, service type,
// queue, IVR path, the caller's recent calls), end after-call work. Polls
// GET /api/agents/{id}/desk twice a second, so changes show within a second. ?lang=zh|en;
// ?agent=ID lets a supervisor open an agent's panel (an agent always sees itself).

const I18N = {
  zh: {
    title: "坐席工作台", offline: "未连接", online: "在线", signout: "退出登录",
    cmd_login: "签入", cmd_ready: "就绪", cmd_not_ready: "示忙", cmd_logout: "签出",
    cmd_end_wrap_up: "结束话后处理", acw: "话后处理", current_call: "当前来电",
    caller: "来电号码", service: "业务类型", queue: "队列", ivr_path: "IVR 路径",
    open_orders: "未结工单", final_answer: "最终答复", new_order: "新建工单",
    answered_orders: "已答复工单", answered_repeat: "重复来电：该事项已有最终答复，工单",
    create_order: "创建工单", account: "户号", area: "区域", description: "问题描述",
    order_created: "已创建工单", link_call: "关联本次来电",
    call_id: "呼叫编号", recent_calls: "近期来电", when: "时间", agent: "坐席", outcome: "结果",
    talk: "通话", login: "登录", username: "工号", password: "密码", signin: "登录",
    bad_login: "工号或密码错误", none: "无",
    logged_out: "已签出", not_ready: "示忙", ready: "就绪", reserved: "分配中",
    ringing: "振铃", on_call: "通话中", after_call_work: "话后处理",
    break: "小休", meal: "用餐", training: "培训", meeting: "会议", callback_work: "回访",
    other: "其他", login_reason: "刚签入", missed: "未接", "failsafe call": "应急队列来电",
    unreachable: "话机离线",
    general: "综合", billing: "电量电费", fault: "故障报修", business: "业务咨询",
    complaint: "投诉", ev: "电动汽车", outage_info: "停电信息", report: "举报",
    opinion: "意见建议", praise: "表扬",
    answered: "已接", abandoned: "放弃", short_abandoned: "短放弃", self_served: "自助",
    failsafe: "应急", node_failure: "节点故障",
  },
  en: {
    title: "Agent desk", offline: "offline", online: "online", signout: "Sign out",
    cmd_login: "Log in", cmd_ready: "Ready", cmd_not_ready: "Not ready", cmd_logout: "Log out",
    cmd_end_wrap_up: "End wrap-up", acw: "After-call work", current_call: "Current call",
    caller: "Caller", service: "Service", queue: "Queue", ivr_path: "IVR path",
    open_orders: "Open work orders", final_answer: "final answer", new_order: "New work order",
    answered_orders: "Answered work orders",
    answered_repeat: "Repeat call: this matter already has a final answer, order",
    create_order: "Create", account: "Account", area: "Area", description: "What happened",
    order_created: "work order created", link_call: "link this call",
    call_id: "Call id", recent_calls: "Recent calls", when: "When", agent: "Agent",
    outcome: "Outcome", talk: "Talk", login: "Sign in", username: "Agent id",
    password: "Password", signin: "Sign in", bad_login: "Unknown user or wrong password",
    none: "none",
    logged_out: "Logged out", not_ready: "Not ready", ready: "Ready", reserved: "Reserved",
    ringing: "Ringing", on_call: "On call", after_call_work: "Wrap-up",
    break: "Break", meal: "Meal", training: "Training", meeting: "Meeting",
    callback_work: "Callback work", other: "Other", login_reason: "just logged in",
    missed: "missed call", "failsafe call": "failsafe call", unreachable: "phone unreachable",
  },
};
const params = new URLSearchParams(location.search);
let lang = params.get("lang") || localStorage.getItem("hotline.lang") || "zh";
if (!I18N[lang]) lang = "zh";
const t = (key) => I18N[lang][key] ?? I18N.en[key] ?? key;

const $ = (id) => document.getElementById(id);
let currentCall = null; // the call the work-order form refers to
const field = (name) => document.querySelector(`[data-field="${name}"]`);
let token = sessionStorage.getItem("agent.token") || "";
let agentId = sessionStorage.getItem("agent.id") || "";
let desk = null;            // the last GET /desk answer
let clockOffset = 0;        // server clock minus ours, seconds
let pollTimer = null;

function applyLang() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  $("lang").textContent = lang === "zh" ? "EN" : "中文";
  window.hotlineSoftphone?.render();
  fillReasons(desk ? desk.reasons : ["break", "meal", "training", "meeting", "callback_work", "other"]);
  render();
}

function fillReasons(reasons) {
  const select = $("reason");
  const chosen = select.value;
  select.replaceChildren(...reasons.map((r) => new Option(t(r), r)));
  if (chosen) select.value = chosen;
}

function mmss(s) {
  if (s == null || !isFinite(s)) return "--:--";
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return (h ? `${h}:${two(m)}` : two(m)) + ":" + two(sec);
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { Authorization: "Bearer " + token, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401) { signOut(); throw new Error("not signed in"); }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText);
  return data;
}

async function command(path, body) {
  $("message").textContent = "";
  try {
    await api("POST", `/api/agents/${encodeURIComponent(agentId)}/${path}`, body);
  } catch (err) {
    $("message").textContent = err.message;
  }
  await poll();
}

async function poll() {
  clearTimeout(pollTimer);
  try {
    desk = await api("GET", `/api/agents/${encodeURIComponent(agentId)}/desk`);
    clockOffset = desk.now - Date.now() / 1000;
    setStatus(true);
    if ($("reason").options.length !== desk.reasons.length) fillReasons(desk.reasons);
    render();
  } catch (err) {
    setStatus(false);
  }
  if (token) pollTimer = setTimeout(poll, 500);
}

function setStatus(ok) {
  const el = $("status");  // data-i18n too, so a language switch keeps the right word
  el.classList.toggle("offline", !ok);
  el.dataset.i18n = ok ? "online" : "offline";
  el.textContent = t(el.dataset.i18n);
}

function render() {
  if (!desk) return;
  const state = desk.state;
  $("state-box").dataset.state = state;
  field("state").textContent = t(state);
  const reason = desk.reason === "login" ? "login_reason" : desk.reason;
  field("reason").textContent = state === "not_ready" && reason ? t(reason) : "";
  $("btn-login").disabled = state !== "logged_out";
  $("btn-ready").disabled = !["not_ready", "after_call_work"].includes(state);
  $("btn-not-ready").disabled = !["ready", "not_ready", "after_call_work"].includes(state);
  $("btn-logout").disabled = !["ready", "not_ready", "after_call_work"].includes(state);
  $("acw").hidden = state !== "after_call_work";
  const call = desk.call;
  if (call?.call_id !== currentCall?.call_id || call?.ivr_path?.length !== currentCall?.ivr_path?.length) {
    document.dispatchEvent(new CustomEvent("desk:call", { detail: call }));  // kb.js and others
  }
  currentCall = call;
  document.dispatchEvent(new CustomEvent("hotline:desk", { detail: { call, lang, token } }));
  $("call").hidden = !call;
  if (call) {
    field("caller").textContent = call.caller || "—";
    field("service").textContent = call.service ? t(call.service) : "—";
    field("queue").textContent = call.queue ? t(call.queue) : "—";
    field("ivr").textContent = call.ivr_path.length ? call.ivr_path.join(" → ") : t("none");
    field("call-id").textContent = call.call_id;
    const none = document.createElement("tr");
    none.innerHTML = '<td colspan="5"></td>';
    none.firstChild.textContent = t("none");
    $("recent").replaceChildren(...(desk.recent_calls.length ? [] : [none]), ...desk.recent_calls.map((c) => {
      const tr = document.createElement("tr");
      const when = c.entered_at ? new Date(c.entered_at * 1000).toLocaleString(
        lang === "zh" ? "zh-CN" : "en-GB", { hour12: false }) : "—";
      for (const v of [when, c.queue ? t(c.queue) : "—", c.agent_id || "—",
        c.outcome ? t(c.outcome) : "—", c.talk_s != null ? mmss(c.talk_s) : "—"]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    }));
    // a repeat caller's open work orders: what this call is most likely about
    const orders = desk.open_orders || [];
    const noOrder = document.createElement("li");
    noOrder.textContent = t("none");
    $("orders").replaceChildren(...(orders.length ? [] : [noOrder]), ...orders.map((o) => {
      const li = document.createElement("li");
      const answer = o.final_answer ? ` — ${t("final_answer")}: ${o.final_answer}` : "";
      li.textContent = `#${o.id} ${t(o.service)} · ${o.state} · ${o.description}${answer} `;
      const link = document.createElement("button");
      link.type = "button"; link.dataset.order = o.id; link.textContent = t("link_call");
      link.addEventListener("click", async () => {
        try {
          await api("POST", `/api/work-orders/${o.id}/calls`, { call_id: call.call_id });
          link.disabled = true;
        } catch (err) { $("message").textContent = err.message; }
      });
      li.append(link);
      return li;
    }));
    // closed orders with a final answer (最终答复); the one this call repeats is flagged
    const answered = desk.answered_orders || [];
    const flag = $("answered-repeat");
    flag.hidden = desk.final_answer_repeat == null;
    flag.textContent = flag.hidden ? "" : `${t("answered_repeat")} #${desk.final_answer_repeat}`;
    const noAnswer = document.createElement("li");
    noAnswer.textContent = t("none");
    $("answered").replaceChildren(...(answered.length ? [] : [noAnswer]), ...answered.map((o) => {
      const li = document.createElement("li");
      li.dataset.order = o.id;
      if (o.id === desk.final_answer_repeat) li.className = "repeat";
      li.textContent = `#${o.id} ${t(o.service)} · ${o.description} — ${t("final_answer")}: ` +
        o.final_answer;
      return li;
    }));
  }
  tick();
}

function tick() {  // the timers move every quarter second between polls
  if (!desk || desk.since == null) { field("timer").textContent = "--:--"; return; }
  const inState = Date.now() / 1000 + clockOffset - desk.since;
  field("timer").textContent = mmss(inState);
  field("acw-timer").textContent = mmss(inState);
}

async function scheduleRefresh(expiresAt) {  // renew the token at two thirds of its life
  const life = expiresAt - (Date.now() / 1000 + clockOffset);
  setTimeout(async () => {
    if (!token) return;
    try {
      const res = await api("POST", "/api/auth/refresh");
      token = res.access_token;
      sessionStorage.setItem("agent.token", token);
      scheduleRefresh(res.expires_at);
    } catch (err) { /* the next poll's 401 shows the login form */ }
  }, Math.max(5, life * 2 / 3) * 1000);
}

function showDesk() {
  $("login").hidden = true;
  $("desk").hidden = false;
  $("signout").hidden = false;
  $("who").textContent = agentId;
  poll();
  window.hotlineSoftphone?.start(agentId, api);  // the page's own phone (softphone.js), if any
}

function signOut() {
  token = ""; agentId = "";
  sessionStorage.removeItem("agent.token");
  sessionStorage.removeItem("agent.id");
  clearTimeout(pollTimer);
  window.hotlineSoftphone?.stop();
  $("desk").hidden = true;
  $("signout").hidden = true;
  $("login").hidden = false;
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const res = await fetch("/api/auth/token", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
  });
  if (!res.ok) { $("login-error").textContent = t("bad_login"); return; }
  const data = await res.json();
  token = data.access_token;
  const isAgent = data.roles.length === 1 && data.roles[0] === "agent";
  agentId = (!isAgent && params.get("agent")) || data.username;
  sessionStorage.setItem("agent.token", token);
  sessionStorage.setItem("agent.id", agentId);
  $("login-error").textContent = "";
  scheduleRefresh(data.expires_at);
  showDesk();
});
$("btn-login").addEventListener("click", () => command("login"));
$("btn-ready").addEventListener("click", () => command("ready"));
$("btn-not-ready").addEventListener("click", () => command("not-ready", { reason: $("reason").value }));
$("btn-logout").addEventListener("click", () => command("logout"));
$("btn-end-wrap-up").addEventListener("click", () => command("end-wrap-up"));
$("signout").addEventListener("click", signOut);
$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("hotline.lang", lang);
  applyLang();
});

applyLang();
setInterval(tick, 250);
if (token && agentId) showDesk(); else signOut();

// a work order from the current call (during the call or its after-call work)
$("order-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!currentCall) return;
  const form = new FormData(ev.target);
  try {
    const order = await api("POST", "/api/work-orders", {
      service: form.get("service"), caller: currentCall.caller, call_id: currentCall.call_id,
      description: form.get("description"), account: form.get("account") || "",
      area: form.get("area") || "" });
    $("order-result").textContent = `${t("order_created")} #${order.id}`;
    ev.target.reset();
  } catch (err) { $("order-result").textContent = err.message; }
});
