// The orders page's outage notice campaigns (#18.6, docs/campaigns.md), for supervisors:
// each campaign with its area, state and numbers per state, its attempts' results on demand,
// and a cancel button while it runs (the API audits it). The platform's job places the calls;
// this page only reads and cancels. Uses the page's sign-in (orders.js's token).
"use strict";
(() => {
  const I18N = {
    zh: { title: "停电通知外呼", id: "#", area: "地区", state: "状态", numbers: "号码",
      created: "创建", actions: "操作", cancel: "取消", results: "结果", hide: "收起",
      number: "号码", attempt: "次", result: "结果", started: "开始", ended: "结束",
      running: "进行中", done: "已完成", cancelled: "已取消", waiting: "待呼", calling: "呼叫中",
      unreached: "未接通", played: "已播放", hung_up: "中途挂断", no_answer: "无人接听",
      busy: "忙", failed: "失败", pending: "进行中", truncated: "（号码超出上限，部分未呼）" },
    en: { title: "Outage notice campaigns", id: "#", area: "Area", state: "State",
      numbers: "Numbers", created: "Created", actions: "", cancel: "Cancel",
      results: "Results", hide: "Hide", number: "Number", attempt: "Try", result: "Result",
      started: "Started", ended: "Ended", running: "running", done: "done",
      cancelled: "cancelled", waiting: "waiting", calling: "calling", unreached: "unreached",
      played: "played", hung_up: "hung up early", no_answer: "no answer", busy: "busy",
      failed: "failed", pending: "in progress", truncated: " (more numbers than the bound)" },
  };
  const $ = (id) => document.getElementById(id);
  const lang = () => {
    const l = new URLSearchParams(location.search).get("lang")
      || localStorage.getItem("hotline.lang") || "zh";
    return I18N[l] ? l : "zh";
  };
  const t = (k) => I18N[lang()][k] ?? k;
  const open = new Set();  // campaigns whose results are shown
  let roles = [];

  async function api(method, path) {
    const token = sessionStorage.getItem("orders.token") || "";
    const res = await fetch(path, { method, headers: { Authorization: "Bearer " + token } });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText);
    return data;
  }
  const when = (epoch) => epoch == null ? "" : new Date(epoch * 1000).toLocaleString(
    lang() === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  const td = (text) => { const c = document.createElement("td"); c.textContent = text; return c; };

  async function results(c) {
    const rows = await api("GET", `/api/campaigns/${c.id}/attempts?limit=500`);
    const table = document.createElement("table");
    table.className = "attempts";
    const head = document.createElement("tr");
    for (const k of ["number", "attempt", "result", "started", "ended"]) {
      const th = document.createElement("th"); th.textContent = t(k); head.append(th);
    }
    table.append(head);
    for (const a of rows) {
      const tr = document.createElement("tr");
      tr.dataset.attempt = `${a.number}/${a.attempt}`;
      tr.className = `result-${a.result}`;
      tr.append(td(a.number), td(String(a.attempt)), td(t(a.result)), td(when(a.started_at)),
        td(when(a.ended_at)));
      tr.title = a.detail;
      table.append(tr);
    }
    return table;
  }

  async function render() {
    const section = $("campaigns");
    if (!(roles.includes("supervisor") || roles.includes("admin"))) { section.hidden = true; return; }
    const list = await api("GET", "/api/campaigns?limit=20");
    section.hidden = list.length === 0;
    for (const el of section.querySelectorAll("[data-cp-i18n]")) el.textContent = t(el.dataset.cpI18n);
    const rows = [];
    for (const c of list) {
      const tr = document.createElement("tr");
      tr.dataset.campaign = c.id;
      tr.className = `state-${c.state}`;
      const counts = Object.entries(c.numbers).map(([k, n]) => `${t(k)} ${n}`).join(" · ");
      tr.append(td(String(c.id)), td(c.area_code), td(t(c.state)),
        td(counts + (c.truncated ? t("truncated") : "")), td(when(c.created_at)));
      const actions = document.createElement("td");
      const show = document.createElement("button");
      show.type = "button"; show.dataset.action = "results";
      show.textContent = open.has(c.id) ? t("hide") : t("results");
      show.addEventListener("click", () => {
        if (open.has(c.id)) open.delete(c.id); else open.add(c.id);
        render().catch((err) => { $("campaign-message").textContent = err.message; });
      });
      actions.append(show);
      if (c.state === "running") {
        const cancel = document.createElement("button");
        cancel.type = "button"; cancel.dataset.action = "cancel"; cancel.textContent = t("cancel");
        cancel.addEventListener("click", async () => {
          try { await api("POST", `/api/campaigns/${c.id}/cancel`); }
          catch (err) { $("campaign-message").textContent = err.message; }
          await render();
        });
        actions.append(cancel);
      }
      tr.append(actions);
      rows.push(tr);
      if (open.has(c.id)) {
        const detail = document.createElement("tr");
        detail.dataset.results = c.id;
        const cell = document.createElement("td");
        cell.colSpan = 6;
        cell.append(await results(c));
        detail.append(cell);
        rows.push(detail);
      }
    }
    $("campaign-rows").replaceChildren(...rows);
  }

  async function refresh() {
    if (!sessionStorage.getItem("orders.token") || $("board").hidden) return;
    try {
      if (!roles.length) roles = (await api("GET", "/api/auth/me")).roles;
      await render();
    } catch (err) { $("campaign-message").textContent = err.message; }
  }

  $("lang").addEventListener("click", refresh);
  new MutationObserver(() => { roles = []; refresh(); })
    .observe($("board"), { attributes: true, attributeFilter: ["hidden"] });
  refresh();
  setInterval(refresh, 5000);
})();
