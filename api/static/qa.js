// The quality inspector's page (质检): draw a sample (each call says why it was picked),
// listen to a call, see its work orders, score it with a form and see the agent's scorecard.
// The recording is fetched with the Authorization header into a blob URL: an <audio src>
// cannot send the header, and a token in a URL would end up in logs and history.
"use strict";
import { $, el, page } from "./common.js";

const I18N = {
  zh: { title: "质检", username: "用户名", password: "密码", signin: "登录",
    bad_login: "用户名或密码错误", since: "开始", until: "结束", percentage: "随机比例 %",
    seed: "种子", draw: "抽样", sampled: "抽检通话", call: "通话", agent: "坐席",
    talk: "通话时长", why: "抽取原因", scored: "已评", no_recording: "无录音", orders: "工单",
    no_orders: "无关联工单", evaluations: "评分记录", no_evaluations: "尚未评分", form: "评分表", comment: "评语", save: "提交评分",
    scorecard: "坐席平衡计分卡", fatal: "致命差错", score: "得分", none: "无抽检通话",
    no_form: "尚无评分表", more: "更多",
    random: "随机", complaint: "投诉", long_call: "长通话", short_call: "短通话",
    new_agent: "新坐席", repeat_caller: "重复来电",
    qa_score: "质检得分", evaluations: "质检量", fatal_errors: "致命差错",
    non_fatal_error_rate: "非致命差错率", callback_timeliness: "回访及时率",
    callbacks_done: "回访量", utilisation: "利用率", avg_talk_s: "平均通话时长",
    avg_acw_s: "平均话后处理", calls: "接听量" },
  en: { title: "Quality assurance", username: "User", password: "Password", signin: "Sign in",
    bad_login: "unknown user or wrong password", since: "From", until: "To",
    percentage: "Random %", seed: "Seed", draw: "Draw sample", sampled: "Sampled calls",
    call: "Call", agent: "Agent", talk: "Talk", why: "Why", scored: "Scored",
    no_recording: "no recording", orders: "Work orders", no_orders: "no linked orders", evaluations: "Evaluations", no_evaluations: "not scored yet",
    form: "Form", comment: "Comment", save: "Save score", scorecard: "Agent scorecard",
    fatal: "fatal error", score: "Score", none: "no calls sampled", no_form: "no form yet",
    more: "more",
    random: "random", complaint: "complaint", long_call: "long call",
    short_call: "short call", new_agent: "new agent", repeat_caller: "repeat caller",
    qa_score: "QA score", evaluations: "Evaluations", fatal_errors: "Fatal errors",
    non_fatal_error_rate: "Non-fatal error rate", callback_timeliness: "Callback timeliness",
    callbacks_done: "Callbacks done", utilisation: "Utilisation", avg_talk_s: "Avg talk",
    avg_acw_s: "Avg after-call work", calls: "Calls" },
};
const p = page({ name: "qa", i18n: I18N, onShow: openSaved,
  onLang: () => { if (sample) renderCalls(); } });
const { params, t, api, request } = p;
let sample = null, current = null, forms = [], audioUrl = null;
const dayStart = (value) => { const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d).getTime() / 1000; };
const isoDay = (date) => `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
const period = () => ({ since: dayStart($("since").value), until: dayStart($("until").value) + 86400 });
const secs = (s) => s == null ? "—" : `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`;

async function drawSample(ev) {
  ev.preventDefault();
  $("message").textContent = "";
  try {
    sample = await api("POST", "/api/qa/samples", { ...period(),
      percentage: Number($("percentage").value), seed: Number($("seed").value) });
  } catch (err) { $("message").textContent = err.message; return; }
  renderCalls();
}

function renderCalls() {
  const rows = sample.calls.map((c) => {
    const tr = el("tr");
    tr.dataset.call = c.call_id;
    if (current && current.call_id === c.call_id) tr.classList.add("selected");
    tr.append(el("td", c.call_id), el("td", c.agent_id), el("td", secs(c.talk_s)));
    const why = el("td", undefined, "reasons");
    for (const r of c.reasons) { const chip = el("span", t(r), "chip " + r); chip.dataset.reason = r; why.append(chip); }
    tr.append(why, el("td", String(c.evaluations)));
    tr.addEventListener("click", () => select(c));
    return tr;
  });
  if (!rows.length) { const tr = el("tr"); const td = el("td", t("none")); td.colSpan = 5; tr.append(td); rows.push(tr); }
  if (sample.next_offset != null) {  // the API answers a page of the sample at a time
    const tr = el("tr"); const td = el("td"); td.colSpan = 5;
    const more = el("button", `${t("more")} (${sample.calls.length} / ${sample.total_calls})`);
    more.id = "more-calls"; more.type = "button";
    more.addEventListener("click", morecalls);
    td.append(more); tr.append(td); rows.push(tr);
  }
  $("calls").replaceChildren(...rows);
}

async function morecalls() {
  let page;
  try { page = await api("GET", `/api/qa/samples/${sample.id}?offset=${sample.next_offset}`); }
  catch (err) { $("message").textContent = err.message; return; }
  sample.calls.push(...page.calls);
  sample.next_offset = page.next_offset;
  renderCalls();
}

async function select(call) {
  current = call;
  renderCalls();
  $("detail").hidden = false;
  $("call-id").textContent = call.call_id;
  $("result").textContent = "";
  await Promise.all([loadRecording(call), loadOrders(call), loadEvaluations(call), loadForms(),
    loadScorecard(call.agent_id)]);
}

async function loadEvaluations(call) {
  let found = [];
  try { found = await api("GET", `/api/qa/evaluations?call_id=${encodeURIComponent(call.call_id)}`); }
  catch (err) { $("message").textContent = err.message; }
  const items = found.map((e) => {
    const li = el("li", `#${e.id} ${e.inspector} · ${e.kind} · ${t("score")} ${e.score}`
      + (e.fatal ? ` (${t("fatal")})` : "") + (e.comment ? ` · ${e.comment}` : ""),
      e.fatal ? "fatal-result" : undefined);
    li.dataset.evaluation = e.id;
    return li;
  });
  if (!items.length) items.push(el("li", t("no_evaluations"), "muted"));
  $("evaluations").replaceChildren(...items);
}

// A saved sample opened by address (?sample=ID&call=CALL_ID), e.g. from a report or a dispute.
async function openSaved() {
  const id = params.get("sample");
  if (!id) return;
  try { sample = await api("GET", `/api/qa/samples/${encodeURIComponent(id)}`); }
  catch (err) { $("message").textContent = err.message; return; }
  // the bar shows what this sample was drawn with (and the scorecard uses its days)
  $("since").value = isoDay(new Date(sample.since * 1000));
  $("until").value = isoDay(new Date((sample.until - 1) * 1000));
  $("percentage").value = sample.percentage;
  $("seed").value = sample.seed;
  renderCalls();
  const call = sample.calls.find((c) => c.call_id === params.get("call"));
  if (call) await select(call);
}

async function loadRecording(call) {
  const player = $("player");
  if (audioUrl) { URL.revokeObjectURL(audioUrl); audioUrl = null; }
  player.removeAttribute("src");
  player.hidden = true; $("no-recording").hidden = true;
  if (!call.recording_url) { $("no-recording").hidden = false; return; }
  const res = await request("GET", call.recording_url);
  if (!res.ok) { $("no-recording").hidden = false; return; }
  audioUrl = URL.createObjectURL(await res.blob());
  player.src = audioUrl; player.hidden = false;
}

async function loadOrders(call) {
  let orders = [];
  try { orders = await api("GET", `/api/qa/calls/${encodeURIComponent(call.call_id)}/work-orders`); }
  catch (err) { $("message").textContent = err.message; }
  const items = orders.map((o) => {
    const li = el("li", `#${o.id} ${o.service} · ${o.state} · ${o.description}`);
    li.dataset.order = o.id;
    return li;
  });
  if (!items.length) items.push(el("li", t("no_orders"), "muted"));
  $("orders").replaceChildren(...items);
}

async function loadForms() {
  forms = await api("GET", "/api/qa/forms");
  const keep = $("form-select").value;
  $("form-select").replaceChildren(...forms.map((f) => {
    const o = el("option", `${f.name} v${f.version}`); o.value = f.form_id; return o;
  }));
  if (forms.some((f) => f.form_id === keep)) $("form-select").value = keep;
  renderForm();
}

function renderForm() {
  const form = forms.find((f) => f.form_id === $("form-select").value);
  if (!form) { $("items").replaceChildren(el("p", t("no_form"), "muted")); return; }
  const out = [];
  for (const section of form.sections) {
    out.push(el("div", section.title, "section-title"));
    for (const item of section.items) {
      const row = el("div", undefined, "item");
      row.dataset.item = item.key;
      row.append(el("span", `${item.label} (×${item.weight}, ${item.error_class})`));
      const input = el("input"); input.type = "number"; input.min = 0; input.max = item.max_score;
      input.step = "any"; input.value = item.max_score; input.required = true; input.name = item.key;
      row.append(input);
      if (item.fatal) {
        const label = el("label", undefined, "fatal");
        const box = el("input"); box.type = "checkbox"; box.name = "fatal:" + item.key;
        label.append(box, " " + t("fatal"));
        row.append(label);
      } else row.append(el("span"));
      out.push(row);
    }
  }
  $("items").replaceChildren(...out);
}

async function saveScore(ev) {
  ev.preventDefault();
  const form = forms.find((f) => f.form_id === $("form-select").value);
  if (!form || !current) return;
  const marks = form.sections.flatMap((s) => s.items).map((item) => {
    const row = document.querySelector(`[data-item="${CSS.escape(item.key)}"]`);
    const box = row.querySelector("input[type=checkbox]");
    return { key: item.key, score: Number(row.querySelector("input[type=number]").value),
      fatal_error: box ? box.checked : false };
  });
  try {
    const saved = await api("POST", "/api/qa/evaluations", { call_id: current.call_id,
      form_id: form.form_id, form_version: form.version, marks, comment: $("comment").value });
    $("result").textContent = `${t("score")} ${saved.score}` + (saved.fatal ? ` (${t("fatal")})` : "");
    $("result").className = saved.fatal ? "fatal-result" : "";
    current.evaluations += 1;
    renderCalls();
    await loadEvaluations(current);
    await loadScorecard(current.agent_id);
  } catch (err) { $("result").textContent = err.message; $("result").className = "error"; }
}

const FIGURES = [["qa_score", (v) => v.toFixed(2)], ["evaluations", String],
  ["fatal_errors", String], ["non_fatal_error_rate", (v) => (v * 100).toFixed(1) + "%"],
  ["callback_timeliness", (v) => (v * 100).toFixed(1) + "%"], ["callbacks_done", String],
  ["utilisation", (v) => (v * 100).toFixed(1) + "%"], ["avg_talk_s", secs],
  ["avg_acw_s", secs], ["calls", String]];

async function loadScorecard(agent) {
  $("card-agent").textContent = agent;
  const p = period();
  let card;
  try { card = await api("GET", `/api/qa/scorecard/${encodeURIComponent(agent)}?since=${p.since}&until=${p.until}`); }
  catch (err) { $("message").textContent = err.message; return; }
  $("scorecard").tBodies[0].replaceChildren(...FIGURES.map(([key, fmt]) => {
    const tr = el("tr"); tr.dataset.figure = key;
    tr.append(el("th", t(key)), el("td", card[key] == null ? "—" : fmt(card[key])));
    return tr;
  }));
}

$("draw").addEventListener("submit", drawSample);
$("score").addEventListener("submit", saveScore);
$("form-select").addEventListener("change", renderForm);
const today = new Date();
$("since").value = params.get("since") || isoDay(new Date(today.getTime() - 86400000));
$("until").value = params.get("until") || isoDay(today);
p.start();
