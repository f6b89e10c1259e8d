// The back office's work-order queue (工单处理): a unit's open orders, overdue first (red),
// with the lifecycle actions. Signs in like the other pages (common.js; token in
// sessionStorage, which orders_deadlines.js reads too).
"use strict";
import { $, page } from "./common.js";

const I18N = {
  zh: { title: "工单处理", unit: "责任单位", service: "类型", caller: "来电号码",
    description: "内容", state: "状态", deadline: "时限", actions: "操作", username: "用户名",
    password: "密码", signin: "登录", bad_login: "用户名或密码错误", none: "暂无工单",
    dispatch: "派发", accept: "受理", progress: "处理中", reply: "回复", call_back: "回访呼叫",
    callback_done: "回访完成", close: "办结", reply_text: "回复内容（将读给客户）：",
    result_text: "回访结果：", substantiated: "投诉是否属实？（确定 = 属实）",
    overdue_resolve: "处理超时", overdue_callback: "回访超时", escalated: "已升级至" },
  en: { title: "Work orders", unit: "Unit", service: "Type", caller: "Caller",
    description: "Description", state: "State", deadline: "Due", actions: "Actions",
    username: "User", password: "Password", signin: "Sign in",
    bad_login: "unknown user or wrong password", none: "no open orders",
    dispatch: "Dispatch", accept: "Accept", progress: "In progress", reply: "Reply",
    call_back: "Call back", callback_done: "Callback done", close: "Close",
    reply_text: "Reply (read back to the customer):", result_text: "Callback result:",
    substantiated: "Was the complaint substantiated? (OK = yes)",
    overdue_resolve: "late", overdue_callback: "callback late", escalated: "escalated to" },
};
const p = page({ name: "orders", i18n: I18N, onShow: show,
  onLang: () => { if (p.signedIn()) load(); } });
const { params, t, api } = p;
if (params.get("unit")) $("unit").value = params.get("unit");

// what each state allows, in the order of the lifecycle
const NEXT = {
  created: ["dispatch"], dispatched: ["accept"], accepted: ["progress", "reply"],
  in_progress: ["reply"], callback_due: ["call_back", "callback_done"], replied: ["close"],
};

async function act(order, action) {
  $("message").textContent = "";
  try {
    if (action === "call_back") {
      await api("POST", `/api/work-orders/${order.id}/call-back`);
    } else {
      // the version shown: someone else's change since then is refused (409 stale-version)
      const body = { action, version: order.version };
      if (action === "reply") body.text = prompt(t("reply_text")) || "";
      if (action === "callback_done") body.text = prompt(t("result_text")) || "";
      if (action === "close" && order.service === "complaint") body.substantiated = confirm(t("substantiated"));
      await api("POST", `/api/work-orders/${order.id}/actions`, body);
    }
  } catch (err) { $("message").textContent = err.message; }
  await load();
}

function when(epoch) {
  return epoch ? new Date(epoch * 1000).toLocaleString(p.lang === "zh" ? "zh-CN" : "en-GB",
    { hour12: false }) : "—";
}

async function load() {
  let orders;
  try { orders = await api("GET", `/api/units/${encodeURIComponent($("unit").value)}/work-orders`); }
  catch (err) { $("message").textContent = err.message; return; }
  const rows = orders.map((o) => {
    const tr = document.createElement("tr");
    tr.dataset.order = o.id;
    if (o.overdue) tr.classList.add("overdue");
    const due = o.state === "callback_due" ? o.callback_by : o.resolve_by;
    const late = o.overdue ? ` (${t("overdue_" + o.overdue)})` : "";
    const up = o.escalated_to ? ` · ${t("escalated")} ${o.escalated_to}` : "";
    const cells = [`${o.id}`, o.service, o.caller, o.description, o.state + up,
      when(due) + late];
    for (const [i, text] of cells.entries()) {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 5) td.className = "deadline";
      tr.append(td);
    }
    const td = document.createElement("td");
    td.className = "actions";
    for (const action of NEXT[o.state] || []) {
      const b = document.createElement("button");
      b.type = "button"; b.dataset.action = action; b.textContent = t(action);
      b.addEventListener("click", () => act(o, action));
      td.append(b);
    }
    tr.append(td);
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement("tr");
    tr.innerHTML = '<td colspan="7"></td>';
    tr.firstChild.textContent = t("none");
    rows.push(tr);
  }
  $("orders").replaceChildren(...rows);
}

// A back office user works its own unit's queue only: the page opens on it, fixed.
async function show() {
  try {
    const me = await api("GET", "/api/auth/me");
    if (me.unit) { $("unit").value = me.unit; $("unit").disabled = true; }
  } catch (err) { $("message").textContent = err.message; return; }
  load();
}

$("unit").addEventListener("change", load);
p.start();
setInterval(() => { if (p.signedIn()) load(); }, 5000);
