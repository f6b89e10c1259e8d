"use strict";
// The knowledge base (知识库) on the agent desk: suggestions for the ringing or current call
// (its service type and IVR path: GET /api/kb/suggestions), a search box (GET /api/kb/search),
// an article opened in place, and "this helped" (POST /api/kb/articles/{id}/helped, counted
// once per user and call). Self-contained: agent.js only announces the call it shows with a
// "desk:call" event on document (detail: the desk's call, or null); the token is the desk's
// (sessionStorage "agent.token"), the language the page's <html lang>.

(() => {
  const I18N = {
    zh: {
      kb: "知识库", suggestions: "来电推荐", search: "搜索", placeholder: "输入问题，如：阶梯电价怎么计算",
      results: "搜索结果", nothing: "没有找到相关知识", no_call: "来电时将按业务类型和 IVR 路径推荐",
      helped: "有帮助", counted: "已记录，谢谢", stale: "待复核", close: "关闭", times: "次有帮助",
      policy: "政策法规", tariff: "电价电费", outage_script: "停电话术",
      sensitive_script: "敏感场景话术", forbidden_phrases: "服务忌语", procedure: "业务流程",
    },
    en: {
      kb: "Knowledge base", suggestions: "For this call", search: "Search",
      placeholder: "Type a question, e.g. 阶梯电价怎么计算", results: "Results",
      nothing: "Nothing found", no_call: "When a call rings: articles for its service and IVR path",
      helped: "This helped", counted: "Counted, thank you", stale: "due review", close: "Close",
      times: "found it helpful",
      policy: "Policy", tariff: "Tariff", outage_script: "Outage script",
      sensitive_script: "Sensitive scenario", forbidden_phrases: "Forbidden phrases",
      procedure: "Procedure",
    },
  };
  const t = (key) => {
    const lang = document.documentElement.lang === "en" ? "en" : "zh";
    return I18N[lang][key] ?? key;
  };
  const panel = document.getElementById("kb");
  if (!panel) return;
  panel.innerHTML = `
    <h2 data-kb="kb"></h2>
    <h3 data-kb="suggestions"></h3>
    <p class="kb-hint" id="kb-hint"></p>
    <ul class="kb-list" id="kb-suggestions"></ul>
    <form id="kb-search" class="kb-search" role="search">
      <input name="q" id="kb-q" maxlength="200" autocomplete="off">
      <button type="submit" data-kb="search"></button>
    </form>
    <ul class="kb-list" id="kb-results" hidden></ul>
    <article class="kb-article" id="kb-article" hidden></article>`;
  const $ = (id) => document.getElementById(id);
  let call = null;          // the desk's call, or null
  let callKey = "";         // what the suggestions were asked for
  let results = null;       // the last search's hits, or null before any search
  let suggestions = [];

  async function api(method, path, body) {
    const token = sessionStorage.getItem("agent.token") || "";
    const res = await fetch(path, {
      method,
      headers: { Authorization: "Bearer " + token, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText);
    return data;
  }

  function item(hit) {
    const li = document.createElement("li");
    li.dataset.article = hit.id;
    const title = document.createElement("button");
    title.type = "button"; title.className = "kb-title"; title.textContent = hit.title;
    title.addEventListener("click", () => open(hit.id));
    const meta = document.createElement("span");
    meta.className = "kb-meta";
    meta.textContent = `${t(hit.kind)}${hit.helped ? ` · ${hit.helped} ${t("times")}` : ""}`;
    li.append(title, meta);
    if (hit.stale) {
      const badge = document.createElement("span");
      badge.className = "kb-stale"; badge.textContent = t("stale");
      li.append(badge);
    }
    const snippet = document.createElement("div");
    snippet.className = "kb-snippet"; snippet.textContent = hit.snippet;
    li.append(snippet);
    return li;
  }

  function render() {
    panel.querySelectorAll("[data-kb]").forEach((el) => { el.textContent = t(el.dataset.kb); });
    $("kb-q").placeholder = t("placeholder");
    $("kb-hint").textContent = call ? "" : t("no_call");
    $("kb-hint").hidden = !!call;
    $("kb-suggestions").replaceChildren(...suggestions.map(item));
    const list = $("kb-results");
    list.hidden = results === null;
    if (results !== null) {
      const none = document.createElement("li");
      none.className = "kb-none"; none.textContent = t("nothing");
      list.replaceChildren(...(results.length ? results.map(item) : [none]));
    }
  }

  async function suggest() {
    const key = call ? [call.call_id, call.service || "", ...(call.ivr_path || [])].join("|") : "";
    if (key === callKey) return;
    callKey = key;
    if (!call) { suggestions = []; render(); return; }
    const params = new URLSearchParams();
    if (call.service) params.set("service", call.service);
    for (const step of call.ivr_path || []) params.append("ivr", step);
    try {
      suggestions = await api("GET", `/api/kb/suggestions?${params}`);
    } catch (err) { suggestions = []; callKey = ""; }  // asked again on the next poll
    render();
  }

  async function open(id) {
    const box = $("kb-article");
    const callId = call ? call.call_id : "";  // it helped on the call it was opened during
    try {
      const a = await api("GET", `/api/kb/articles/${id}`);
      const h = document.createElement("h3"); h.textContent = a.title;
      const body = document.createElement("div"); body.className = "kb-body"; body.textContent = a.body;
      const helped = document.createElement("button");
      helped.type = "button"; helped.className = "kb-helped go"; helped.textContent = t("helped");
      const note = document.createElement("span"); note.className = "kb-counted";
      helped.addEventListener("click", async () => {
        try {
          const r = await api("POST", `/api/kb/articles/${id}/helped`, { call_id: callId });
          helped.disabled = true;
          note.textContent = `${t("counted")} (${r.helped})`;
        } catch (err) { note.textContent = err.message; }
      });
      const close = document.createElement("button");
      close.type = "button"; close.textContent = t("close");
      close.addEventListener("click", () => { box.hidden = true; });
      box.dataset.article = id;
      box.replaceChildren(h, body, helped, note, close);
      box.hidden = false;
    } catch (err) { box.textContent = err.message; box.hidden = false; }
  }

  $("kb-search").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = $("kb-q").value.trim();
    if (!q) { results = null; render(); return; }
    const params = new URLSearchParams({ q });
    try { results = await api("GET", `/api/kb/search?${params}`); } catch (err) { results = []; }
    render();
  });
  document.addEventListener("desk:call", (ev) => { call = ev.detail; suggest(); });
  new MutationObserver(render).observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
  render();
})();
