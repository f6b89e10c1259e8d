// The supervisor page's adherence panel (排班遵从): each agent with a published shift today,
// what it is scheduled to do now against its live state (the live socket's view, kept by
// supervisor.js; the report's last logged state before the first message), in adherence or
// not, and today's adherence and conformance so far (GET /api/plans/adherence every 15 s;
// definitions: docs/planning.md, "Adherence"). An ES module: supervisor.js starts it with
// startAdherence({ token, view, lang, t }), each a function giving the page's current one.
"use strict";
const ADH_I18N = {
  zh: { adherence_title: "排班遵从", agent: "坐席", shift: "班次", activity: "应在",
    state: "实际状态", now: "当前", adherence: "遵从度", conformance: "符合度", work: "工作",
    break: "小休", lunch: "午餐", off: "休班", yes: "遵从", no: "偏离", all: "全体",
    none: "今日无已发布班次" },
  en: { adherence_title: "Schedule adherence", agent: "Agent", shift: "Shift",
    activity: "Scheduled", state: "State", now: "Now", adherence: "Adherence",
    conformance: "Conformance", work: "work", break: "break", lunch: "lunch", off: "off",
    yes: "in", no: "out", all: "all agents", none: "no published shift today" },
};
let page = { token: () => "", view: () => null, lang: () => "zh", t: (k) => k };
const at = (k) => (ADH_I18N[page.lang()] || ADH_I18N.en)[k] ?? k;
const ON_PHONE = ["ready", "reserved", "ringing", "on_call", "after_call_work"];
let adh = null;

function adhDom() {
  let sec = document.getElementById("adherence");
  if (!sec) {
    sec = document.createElement("section");
    sec.id = "adherence";
    document.getElementById("floor").append(sec);
  }
  if (!sec.querySelector("table")) {
    sec.innerHTML = `<h2><span data-a="adherence_title"></span> <span id="adh-total" class="note"></span></h2>
      <table class="grid"><thead><tr><th data-a="agent"></th><th data-a="shift"></th><th data-a="activity"></th>
      <th data-a="state"></th><th data-a="now"></th><th data-a="adherence"></th><th data-a="conformance"></th></tr></thead>
      <tbody id="adh-rows"></tbody></table>`;
  }
  return sec;
}

function fitsNow(activity, state) {  // hotline/planning/adherence.py fits()
  if (activity === "work") return ON_PHONE.includes(state);
  if (activity === "break" || activity === "lunch") return !ON_PHONE.includes(state);
  return null;
}

const adhPct = (v) => (v == null ? "—" : (v * 100).toFixed(1) + "%");

function renderAdherence() {
  const sec = adhDom();
  for (const e of sec.querySelectorAll("[data-a]")) e.textContent = at(e.dataset.a);
  if (!adh) { sec.hidden = true; return; }
  sec.hidden = false;
  document.getElementById("adh-total").textContent =
    `${at("all")}: ${at("adherence")} ${adhPct(adh.adherence)} · ${at("conformance")} ${adhPct(adh.conformance)}`;
  const rows = adh.agents.filter((a) => a.start);
  const view = page.view();
  const live = view && view.agents ? view.agents : {};
  const body = document.getElementById("adh-rows");
  if (!rows.length) {
    const tr = document.createElement("tr"); const td = document.createElement("td");
    td.colSpan = 7; td.textContent = at("none"); tr.append(td); body.replaceChildren(tr); return;
  }
  body.replaceChildren(...rows.map((a) => {
    const state = live[a.agent_id] ? live[a.agent_id].state : a.state;
    const ok = fitsNow(a.activity, state);
    const tr = document.createElement("tr");
    tr.dataset.agent = a.agent_id;
    const cells = [a.agent_id, `${a.start}-${a.end}`, at(a.activity || "off"),
      page.t(state), ok == null ? "—" : at(ok ? "yes" : "no"),
      adhPct(a.adherence), adhPct(a.conformance)];
    for (const [i, v] of cells.entries()) {
      const td = document.createElement("td"); td.textContent = v;
      if (i === 4) { td.dataset.field = "in-adherence"; td.className = ok === false ? "out" : ok ? "in" : ""; }
      if (i === 5) td.dataset.field = "adherence";
      tr.append(td);
    }
    return tr;
  }));
}

async function loadAdherence() {
  const token = page.token();
  if (!token) return;
  try {
    const res = await fetch("/api/plans/adherence?limit=500", { headers: { Authorization: "Bearer " + token } });
    adh = res.ok ? await res.json() : null;
  } catch { adh = null; }
  renderAdherence();
}

export function startAdherence(of) {
  page = of;
  setInterval(loadAdherence, 15_000);
  setInterval(() => { if (adh) renderAdherence(); else if (page.token()) loadAdherence(); }, 1000);
  loadAdherence();
}
