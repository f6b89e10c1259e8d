// The orders page's deadlines (#18.5): the escalation notice (orders the deadline job sent up
// to the unit's supervisor, level 1, or the centre, level 2, in the last day) for supervisors,
// and the time limits per service type and unit: supervisors edit them (each change audited
// by the API), the back office reads them. Uses the page's sign-in (orders.js's token).
"use strict";
(() => {
  const I18N = {
    zh: { limits_title: "处理时限", service: "类型", unit: "责任单位", resolve_h: "办结时限（小时）",
      callback_h: "回访时限（小时）", centre_h: "升级至中心（超时后小时）", source: "来源",
      save: "保存", reset: "恢复默认", add: "新增", unit_all: "单位（空 = 全部）",
      src_unit: "本单位", src_service: "本类型", src_default: "默认",
      esc_title: "超时升级提醒", order: "工单", deadline_resolve: "办结超时",
      deadline_callback: "回访超时", to_1: "已升级至单位主管", to_2: "已升级至中心", saved: "已保存" },
    en: { limits_title: "Time limits", service: "Type", unit: "Unit", resolve_h: "Reply within (h)",
      callback_h: "Call back within (h)", centre_h: "To the centre after (h late)",
      source: "Set for", save: "Save", reset: "Default", add: "Add", unit_all: "unit (empty = all)",
      src_unit: "this unit", src_service: "this type", src_default: "default",
      esc_title: "Escalated orders", order: "Order", deadline_resolve: "reply late",
      deadline_callback: "callback late", to_1: "escalated to the unit's supervisor",
      to_2: "escalated to the centre", saved: "saved" },
  };
  const $ = (id) => document.getElementById(id);
  const lang = () => {
    const l = new URLSearchParams(location.search).get("lang")
      || localStorage.getItem("hotline.lang") || "zh";
    return I18N[l] ? l : "zh";
  };
  const t = (k) => I18N[lang()][k] ?? k;
  let roles = [];

  async function api(method, path, body) {
    const token = sessionStorage.getItem("orders.token") || "";
    const res = await fetch(path, { method, headers: { Authorization: "Bearer " + token,
      ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined });
    const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText);
    return data;
  }
  const steers = () => roles.includes("supervisor") || roles.includes("admin");

  function when(epoch) {
    return new Date(epoch * 1000).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB",
      { hour12: false });
  }

  async function escalations() {
    const box = $("escalations");
    if (!steers()) { box.hidden = true; return; }
    const since = Date.now() / 1000 - 86400;
    const rows = await api("GET", `/api/work-order-escalations?since=${since}`);
    box.hidden = rows.length === 0;
    const h = document.createElement("h2");
    h.textContent = `${t("esc_title")} (${rows.length})`;
    const ul = document.createElement("ul");
    for (const e of rows) {
      const li = document.createElement("li");
      li.className = `level-${e.level}`;
      li.dataset.order = e.order_id;
      li.textContent = `${t("order")} #${e.order_id} · ${e.unit} · ${t("deadline_" + e.deadline)}`
        + ` (${when(e.due_at)}) · ${t("to_" + e.level)} · ${when(e.at)}`;
      ul.append(li);
    }
    box.replaceChildren(h, ul);
  }

  const HOURS = ["resolve_s", "callback_s", "centre_after_s"];

  async function limits() {
    const section = $("limits");
    if (!steers() && !roles.includes("back_office")) { section.hidden = true; return; }
    section.hidden = false;
    for (const el of section.querySelectorAll("[data-dl-i18n]")) el.textContent = t(el.dataset.dlI18n);
    for (const el of section.querySelectorAll("[data-dl-i18n-placeholder]")) el.placeholder = t(el.dataset.dlI18nPlaceholder);
    if (section.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
    const rows = await api("GET", "/api/work-order-limits");
    $("limit-rows").replaceChildren(...rows.map((l) => {
      const tr = document.createElement("tr");
      tr.dataset.limit = `${l.service}/${l.unit}`;
      if (l.source !== "default") tr.classList.add("own");
      const cell = (node) => { const td = document.createElement("td"); td.append(node); tr.append(td); };
      cell(l.service); cell(l.unit);
      const inputs = HOURS.map((k) => {
        const input = document.createElement("input");
        input.type = "number"; input.min = "0.1"; input.step = "0.1"; input.name = k;
        input.value = String(Math.round(l[k] / 360) / 10);
        input.disabled = !steers();
        cell(input);
        return input;
      });
      cell(t("src_" + l.source));
      const td = document.createElement("td");
      if (steers()) {
        const save = document.createElement("button");
        save.type = "button"; save.dataset.action = "save"; save.textContent = t("save");
        save.addEventListener("click", async () => {
          const body = { service: l.service, unit: l.source === "service" ? "" : l.unit };
          if (l.source === "default") body.unit = l.unit;
          HOURS.forEach((k, i) => { body[k] = Number(inputs[i].value) * 3600; });
          try { await api("PUT", "/api/work-order-limits", body); $("limit-message").textContent = t("saved"); }
          catch (err) { $("limit-message").textContent = err.message; }
          await limits();
        });
        td.append(save);
        if (l.source === "unit") {
          const reset = document.createElement("button");
          reset.type = "button"; reset.textContent = t("reset");
          reset.addEventListener("click", async () => {
            try { await api("DELETE", `/api/work-order-limits/${l.service}?unit=${encodeURIComponent(l.unit)}`); }
            catch (err) { $("limit-message").textContent = err.message; }
            await limits();
          });
          td.append(reset);
        }
      }
      tr.append(td);
      return tr;
    }));
    const select = $("limit-service");
    if (!select.options.length) {
      for (const l of rows) {
        if (![...select.options].some((o) => o.value === l.service)) select.append(new Option(l.service, l.service));
      }
    }
    $("limit-add").hidden = !steers();
  }

  $("limit-add").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    const row = document.querySelector(`tr[data-limit^="${form.get("service")}/"]`);
    const body = { service: form.get("service"), unit: form.get("unit").trim() };
    for (const k of HOURS) body[k] = Number(row.querySelector(`input[name=${k}]`).value) * 3600;
    try { await api("PUT", "/api/work-order-limits", body); $("limit-message").textContent = t("saved"); }
    catch (err) { $("limit-message").textContent = err.message; }
    await limits();
  });

  async function refresh() {
    if (!sessionStorage.getItem("orders.token") || $("board").hidden) return;
    try {
      if (!roles.length) roles = (await api("GET", "/api/auth/me")).roles;
      await Promise.all([escalations(), limits()]);
    } catch (err) { $("limit-message").textContent = err.message; }
  }

  $("lang").addEventListener("click", refresh);
  // a sign-in (orders.js) shows the board: read the new user's roles then
  new MutationObserver(() => { roles = []; refresh(); })
    .observe($("board"), { attributes: true, attributeFilter: ["hidden"] });
  refresh();
  setInterval(refresh, 5000);
})();
