"use strict";
// The knowledge base's editors' page (/kb): the articles by state (what waits for review,
// what is stale), an article's latest version in a form, saving a new version, and the life
// cycle's actions (submit, publish: not your own version, reject with a note, confirm,
// retire), with the version history. The rules are the API's (docs/knowledge-base.md).
// Signs in as the other pages do (common.js); the page is bilingual as it stands.
import { $, page } from "./common.js";

const p = page({ name: "kb", board: "editor",
  i18n: { zh: { bad_login: "用户名或密码错误 / wrong user or password" } },
  onShow: () => list().catch((err) => { $("message").textContent = err.message; }) });
const { api } = p;
let current = null;  // the article open in the form, or null for a new one

async function list() {
  const filter = $("filter").value;
  const items = await api("GET", `/api/kb/articles?limit=200${filter ? "&" + filter : ""}`);
  $("articles").replaceChildren(...items.map((a) => {
    const li = document.createElement("li");
    li.dataset.article = a.id;
    const b = document.createElement("button");
    b.type = "button"; b.className = "kb-title";
    b.textContent = `#${a.id} ${a.title || "(未发布 unpublished)"}`;
    b.addEventListener("click", () => open(a.id));
    const st = document.createElement("span");
    st.className = "kb-state";
    st.textContent = `${a.state} · v${a.latest} ${a.latest_state}${a.stale ? " · stale" : ""}`;
    li.append(b, st);
    return li;
  }));
}

function fill(v) {
  const f = $("edit");
  f.title.value = v ? v.title : ""; f.body.value = v ? v.body : "";
  f.service.value = v ? v.service : ""; f.kind.value = v ? v.kind : "policy";
  f.tags.value = v ? v.tags.join(" ") : ""; f.ivr_keys.value = v ? v.ivr_keys.join(" ") : "";
  f.note.value = "";
}

async function open(id) {
  $("message").textContent = "";
  current = await api("GET", `/api/kb/articles/${id}`);
  const versions = await api("GET", `/api/kb/articles/${id}/versions`);
  fill(versions[0]);
  $("edit-title").textContent = `#${id} · ${current.state} · v${current.latest} ${current.latest_state}` +
    (current.stale ? " · 待复核 stale" : "");
  $("versions").replaceChildren(...versions.map((v) => {
    const p = document.createElement("div");
    p.textContent = `v${v.version} ${v.state} — ${v.written_by} ${new Date(v.written_at * 1000).toLocaleString()}` +
      (v.published_by ? `, published by ${v.published_by}` : "") + (v.note ? ` — ${v.note}` : "");
    return p;
  }));
  const acts = { draft: ["submit", "retire"], in_review: ["publish", "reject", "retire"] };
  const names = current.state === "retired" ? [] :
    [...(acts[current.latest_state] || ["retire"]), ...(current.state === "published" ? ["confirm"] : [])];
  $("actions").replaceChildren(...[...new Set(names)].map((action) => {
    const b = document.createElement("button");
    b.type = "button"; b.dataset.action = action; b.textContent = action;
    b.addEventListener("click", () => act(action));
    return b;
  }));
}

async function act(action) {
  try {
    await api("POST", `/api/kb/articles/${current.id}/actions`, {
      action, version: current.latest, note: $("edit").note.value });
    await open(current.id);
    await list();
  } catch (err) { $("message").textContent = err.message; }
}

$("edit").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const words = (s) => s.split(/\s+/).filter(Boolean);
  const body = { title: f.title.value, body: f.body.value, service: f.service.value,
    kind: f.kind.value, tags: words(f.tags.value), ivr_keys: words(f.ivr_keys.value) };
  try {
    const a = current
      ? await api("PUT", `/api/kb/articles/${current.id}`, { ...body, base_version: current.latest })
      : await api("POST", "/api/kb/articles", body);
    await open(a.id);
    await list();
  } catch (err) { $("message").textContent = err.message; }
});
$("new").addEventListener("click", () => {
  current = null; fill(null);
  $("edit-title").textContent = "新文章 new article";
  $("actions").replaceChildren(); $("versions").replaceChildren();
});
$("filter").addEventListener("change", list);

p.start();
