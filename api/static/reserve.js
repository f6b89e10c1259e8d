// The emergency reserve (应急梯队) on the supervisor page: each queue whose reserve is proposed,
// dismissed or applied (the live view's `reserve`, docs/live-api.md), with Apply / Dismiss /
// Take back (POST /api/reserve/{queue}/apply|dismiss|take-back, audited as this supervisor).
// An ES module: supervisor.js calls renderReserve(its live view, { api, el, t, pct, lang }) on
// every change.
"use strict";
import { $ } from "./common.js";

function reserveAction(queue, step, { api, el, t }) {
  const b = el("button", { type: "button", className: step === "apply" ? "go" : "",
    dataset: { step } }, t("reserve_" + step.replace("-", "_")));
  b.addEventListener("click", async () => {
    $("reserve-message").textContent = "";
    b.disabled = true;
    try { await api("POST", `/api/reserve/${encodeURIComponent(queue)}/${step}`); }
    catch (err) { $("reserve-message").textContent = err.message; b.disabled = false; }
  });
  return b;
}

export function renderReserve(view, parts) {
  const { el, t, pct, lang } = parts;
  const entries = Object.entries((view && view.reserve) || {}).filter(([, e]) => e).sort();
  const when = (at) => new Date(at * 1000).toLocaleTimeString(
    lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  if (!entries.length) {
    $("reserve").replaceChildren(el("tr", {}, el("td", { colSpan: 8, className: "quiet" },
      t("reserve_none"))));
    return;
  }
  $("reserve").replaceChildren(...entries.map(([queue, e]) => {
    const steps = e.state === "proposed" ? ["apply", "dismiss"]
      : e.state === "dismissed" ? ["apply"] : ["take-back"];
    const state = e.state === "applied" && e.recovered ? "recovered" : e.state;
    return el("tr", { dataset: { queue, state }, className: `reserve-${state}` },
      el("td", {}, t(queue)),
      el("td", { dataset: { field: "state" } },
        t(state) + (e.auto ? ` (${t("auto")})` : "")),
      el("td", {}, e.team),
      el("td", {}, when(e.since)),
      el("td", {}, `${pct(e.level)} / ${pct(e.target)}`),
      el("td", { dataset: { field: "agents" } }, (e.agents || []).join(", ") || "—"),
      el("td", {}, e.by === "system" ? t("system") : e.by),
      el("td", {}, ...steps.map((s) => reserveAction(queue, s, parts))));
  }));
}
