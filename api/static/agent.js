// The agent panel: log in (common.js: token in sessionStorage "agent.token", the agent's id in
// "agent.id", which shift.js and kb.js read too), see your state and its timer, go ready /
// not ready (with a reason) / log out, see the ringing or current call (caller, service type,
// queue, IVR path, the caller's recent calls), end after-call work. Polls
// GET /api/agents/{id}/desk twice a second, so changes show within a second. ?lang=zh|en;
// ?agent=ID lets a supervisor open an agent's panel (an agent always sees itself).
// An ES module (deferred, in order with the page's other scripts): softphone.js (before it)
// is started and stopped through window.hotlineSoftphone; story.js and kb.js (after it) hear
// of the call by the "hotline:desk" and "desk:call" events.
"use strict";
import { $, mmss, page } from "./common.js";

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
let currentCall = null; // the call the work-order form refers to
const field = (name) => document.querySelector(`[data-field="${name}"]`);
let agentId = sessionStorage.getItem("agent.id") || "";
let desk = null;            // the last GET /desk answer
let clockOffset = 0;        // server clock minus ours, seconds
let pollTimer = null;

const p = page({
  name: "agent", i18n: I18N, board: "desk", renew: true,
  // a supervisor may open an agent's panel with ?agent=; an agent always sees itself
  onSignIn(signed) {
    const isAgent = signed.roles.length === 1 && signed.roles[0] === "agent";
    agentId = (!isAgent && p.params.get("agent")) || signed.username;
    sessionStorage.setItem("agent.id", agentId);
  },
  onShow() {
    if (!agentId) { p.signOut(); return; }
    $("who").textContent = agentId;
    poll();
    window.hotlineSoftphone?.start(agentId, api);  // the page's own phone (softphone.js), if any
  },
  onSignOut() {
    agentId = "";
    sessionStorage.removeItem("agent.id");
    clearTimeout(pollTimer);
    window.hotlineSoftphone?.stop();
  },
  onLang() {
    window.hotlineSoftphone?.render();
    fillReasons(desk ? desk.reasons : ["break", "meal", "training", "meeting", "callback_work", "other"]);
    render();
  },
});
const t = (key) => I18N[p.lang][key] ?? I18N.en[key] ?? key;
const api = (method, path, body) => p.api(method, path, body);

function fillReasons(reasons) {
  const select = $("reason");
  const chosen = select.value;
  select.replaceChildren(...reasons.map((r) => new Option(t(r), r)));
  if (chosen) select.value = chosen;
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
    p.online(true);
    if ($("reason").options.length !== desk.reasons.length) fillReasons(desk.reasons);
    render();
  } catch (err) {
    p.online(false);
  }
  if (p.signedIn()) pollTimer = setTimeout(poll, 500);
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
  document.dispatchEvent(new CustomEvent("hotline:desk",
    { detail: { call, lang: p.lang, token: p.token } }));
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
        p.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false }) : "—";
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

$("btn-login").addEventListener("click", () => command("login"));
$("btn-ready").addEventListener("click", () => command("ready"));
$("btn-not-ready").addEventListener("click", () => command("not-ready", { reason: $("reason").value }));
$("btn-logout").addEventListener("click", () => command("logout"));
$("btn-end-wrap-up").addEventListener("click", () => command("end-wrap-up"));

setInterval(tick, 250);
p.start();

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
