"use strict";
// The caller's whole story (客户 360) on the agent page, shown as soon as a call is offered:
// flags (VIP, sensitive customer, repeat caller), the accounts registered to the number
// (holder, address, area and the outages in force there now), past calls (a recording plays
// where the reader may hear it), work orders with their final answers, survey scores.
// GET /api/calls/{call_id}/story once per call; the agent page tells this file about its
// current call with the "hotline:desk" event (agent.js render()). docs/customer-story.md.

(() => {
  const I18N = {
    zh: {
      story: "客户全景", loading: "加载中…", vip: "VIP", sensitive: "敏感客户",
      repeat: "重复来电", accounts: "户号与地址", no_account: "该号码未登记户号",
      holder: "户名", address: "地址", area: "区域", outages_now: "该区域当前停电",
      no_outage: "当前无停电", planned: "计划停电", unplanned: "故障停电",
      past_calls: "历史来电", orders: "工单", surveys: "满意度", none: "无",
      when: "时间", agent: "坐席", outcome: "结果", talk: "通话", recording: "录音",
      play: "播放", final_answer: "最终答复", satisfaction: "满意度", nps: "推荐度",
      open_order: "未结工单", answered_order: "已答复工单", since: "起",
      answered: "已接通", abandoned: "放弃", failed: "失败", callback: "回拨",
      fault: "故障报修", outage_info: "停电信息", billing: "电量电费", business: "业务咨询",
      complaint: "投诉", report: "举报", opinion: "意见建议", praise: "表扬", ev: "电动汽车",
      general: "综合", created: "新建", dispatched: "已派单", accepted: "已接单",
      in_progress: "处理中", replied: "已回复", callback_due: "待回访", closed: "已办结",
    },
    en: {
      story: "Caller's story", loading: "Loading…", vip: "VIP", sensitive: "Sensitive customer",
      repeat: "Repeat caller", accounts: "Accounts", no_account: "No account registered to this number",
      holder: "Holder", address: "Address", area: "Area", outages_now: "Outages in the area now",
      no_outage: "No outage now", planned: "planned", unplanned: "unplanned",
      past_calls: "Past calls", orders: "Work orders", surveys: "Survey scores", none: "None",
      when: "When", agent: "Agent", outcome: "Outcome", talk: "Talk", recording: "Recording",
      play: "Play", final_answer: "Final answer", satisfaction: "Satisfaction", nps: "NPS",
      open_order: "open order", answered_order: "answered order", since: "since",
      answered: "answered", abandoned: "abandoned", failed: "failed", callback: "callback",
      outage_info: "outage info", ev: "EV", in_progress: "in progress", callback_due: "call-back due",
    },
  };
  const box = document.getElementById("story");
  let lang = "zh", token = "", shownFor = null, story = null;
  const t = (key) => I18N[lang][key] ?? I18N.en[key] ?? key;

  document.addEventListener("hotline:desk", (ev) => {
    const { call } = ev.detail;
    const relabel = ev.detail.lang !== lang;
    lang = ev.detail.lang; token = ev.detail.token;
    if (!call) { box.hidden = true; shownFor = null; story = null; return; }
    if (call.call_id !== shownFor) load(call.call_id);
    else if (relabel && story) render();
  });

  function make(tag, text, cls) {
    const el = document.createElement(tag);
    if (text != null) el.textContent = text;
    if (cls) el.className = cls;
    return el;
  }
  const when = (at) => at ? new Date(at * 1000).toLocaleString(
    lang === "zh" ? "zh-CN" : "en-GB", { hour12: false }) : "—";
  const mmss = (s) => s == null ? "—" :
    `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

  async function load(callId) {
    shownFor = callId; story = null;
    box.hidden = false; box.dataset.call = callId; box.dataset.state = "loading";
    box.replaceChildren(make("h2", t("story")), make("p", t("loading"), "muted"));
    try {
      const res = await fetch(`/api/calls/${encodeURIComponent(callId)}/story`,
        { headers: { Authorization: "Bearer " + token } });
      const data = await res.json().catch(() => ({}));
      if (callId !== shownFor) return;  // another call came meanwhile
      if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText);
      story = data;
      render();
    } catch (err) {
      if (callId !== shownFor) return;
      box.dataset.state = "error";
      box.replaceChildren(make("h2", t("story")), make("p", err.message, "error"));
    }
  }

  function render() {
    const s = story;
    box.dataset.state = "shown";
    const flags = make("div", null, "flags");
    const flag = (name, on, note) => {
      if (!on) return;
      const f = make("span", t(name) + (note ? ` · ${note}` : ""), `flag ${name}`);
      f.dataset.flag = name;
      flags.append(f);
    };
    flag("vip", s.flags.vip, s.flags.vip_note);
    flag("sensitive", s.flags.sensitive, s.flags.sensitive_notes.join("; "));
    const about = s.flags.repeat_open_order != null ? `${t("open_order")} #${s.flags.repeat_open_order}`
      : s.flags.repeat_answered_order != null ? `${t("answered_order")} #${s.flags.repeat_answered_order}` : "";
    flag("repeat", s.flags.repeat, about);

    const accounts = make("div", null, "accounts");
    if (!s.accounts.length) accounts.append(make("p", t("no_account"), "muted"));
    for (const a of s.accounts) {
      const card = make("div", null, "account");
      card.dataset.account = a.account_no;
      card.append(make("div", `${a.account_no} · ${a.holder}`, "holder"),
        make("div", `${t("address")}: ${a.address || "—"}`),
        make("div", `${t("area")}: ${a.area_code}`));
      const outages = make("ul", null, "outages");
      for (const o of a.outages) {
        const li = make("li", `${t(o.kind)} ${t("since")} ${when(o.starts_at)}` +
          (o.ends_at ? ` – ${when(o.ends_at)}` : "") + ` · ${(lang === "zh" ? o.description_zh : o.description_en) || o.description_zh || o.description_en}`);
        li.dataset.outage = o.id;
        outages.append(li);
      }
      card.append(make("div", t("outages_now"), "outages-title"),
        a.outages.length ? outages : make("p", t("no_outage"), "muted"));
      accounts.append(card);
    }

    const calls = make("table", null, "story-calls");
    const head = make("tr");
    for (const h of ["when", "agent", "outcome", "talk", "recording"]) head.append(make("th", t(h)));
    calls.append(head);
    for (const c of s.calls) {
      const tr = make("tr");
      tr.dataset.call = c.call_id;
      for (const v of [when(c.entered_at), c.agent_id || "—", c.outcome ? t(c.outcome) : "—", mmss(c.talk_s)])
        tr.append(make("td", v));
      const rec = make("td");
      if (c.recording_url) {
        const play = make("button", t("play"));
        play.type = "button"; play.dataset.recording = c.recording_url;
        play.addEventListener("click", () => listen(c.recording_url, rec));
        rec.append(play);
      } else rec.textContent = "—";
      tr.append(rec);
      calls.append(tr);
    }

    const orders = make("ul", null, "story-orders");
    for (const o of s.orders) {
      const li = make("li", `#${o.id} ${t(o.service)} · ${t(o.state)} · ${o.description}`);
      li.dataset.order = o.id;
      if (o.final_answer) li.append(make("div", `${t("final_answer")}: ${o.final_answer}`, "answer"));
      orders.append(li);
    }
    const surveys = make("ul", null, "story-surveys");
    for (const v of s.surveys) {
      const parts = [when(v.at)];
      if (v.satisfaction != null) parts.push(`${t("satisfaction")} ${v.satisfaction}/${v.scale}`);
      if (v.nps != null) parts.push(`${t("nps")} ${v.nps}/10`);
      if (v.score != null) parts.push(`${v.score}/10`);
      surveys.append(make("li", parts.join(" · ")));
    }
    const none = () => make("p", t("none"), "muted");
    box.replaceChildren(make("h2", t("story")), flags,
      make("h3", t("accounts")), accounts,
      make("h3", `${t("past_calls")} (${s.calls.length})`), s.calls.length ? calls : none(),
      make("h3", `${t("orders")} (${s.orders.length})`), s.orders.length ? orders : none(),
      make("h3", t("surveys")), s.surveys.length ? surveys : none());
  }

  // a recording needs the bearer token: fetched, then played from memory
  async function listen(url, cell) {
    try {
      const res = await fetch(url, { headers: { Authorization: "Bearer " + token } });
      if (!res.ok) throw new Error(res.statusText);
      const audio = make("audio");
      audio.controls = true;
      audio.src = URL.createObjectURL(await res.blob());
      cell.replaceChildren(audio);
      audio.play().catch(() => {});
    } catch (err) { cell.replaceChildren(make("span", err.message, "error")); }
  }
})();
