// What the signed-in pages share (planning, reports, qa, orders, kb): the language (zh / en,
// ?lang= or the last one chosen), the development-style sign-in form (#login, #login-error;
// drawn here into an empty <form id="login">) with the token kept in sessionStorage per page,
// fetch with the bearer token (401 signs out), the page head (#lang toggles, [data-i18n] and
// [data-i18n-placeholder] texts; a page may have no #lang, or a #who and a #signout button),
// and small DOM helpers.
// A page: `const p = page({ name, i18n, board, onShow, onLang })`, then `p.start()`; `board`
// is the id of what signing in shows ("board").
"use strict";
export const $ = (id) => document.getElementById(id);
export const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

const LOGIN_FORM = `
  <input name="username" data-i18n-placeholder="username" placeholder="用户名" autocomplete="username">
  <input name="password" type="password" data-i18n-placeholder="password" placeholder="密码" autocomplete="current-password">
  <button type="submit" data-i18n="signin">登录</button>
  <span id="login-error" class="error"></span>`;

export function page({ name, i18n, board = "board", onShow = () => {}, onLang = () => {} }) {
  const params = new URLSearchParams(location.search);
  const tokenKey = `${name}.token`, userKey = `${name}.user`;
  let lang = params.get("lang") || localStorage.getItem("hotline.lang") || "zh";
  if (!i18n[lang]) lang = "zh";
  let token = sessionStorage.getItem(tokenKey) || "";
  if (!$("login").children.length) $("login").innerHTML = LOGIN_FORM;
  // the optional parts of the head: who is signed in, and a button to sign out
  const headShows = (signedIn) => {
    if ($("signout")) $("signout").hidden = !signedIn;
    if ($("who") && signedIn) $("who").textContent = sessionStorage.getItem(userKey) || "";
  };

  const p = {
    params,
    get lang() { return lang; },
    t: (k) => i18n[lang][k] ?? k,
    signedIn: () => token !== "",
    // JSON in and out; an error's message is the API's (docs/live-api.md, "Errors")
    async api(method, path, body) {
      const res = await p.request(method, path, body);
      if (res.status === 204) return null;
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText);
      return data;
    },
    async request(method, path, body) {
      const res = await fetch(path, { method, headers: { Authorization: "Bearer " + token,
        ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined });
      if (res.status === 401) { p.signOut(); throw new Error("not signed in"); }
      return res;
    },
    // a file the API sends (an export): fetched with the token, saved under its name
    async download(path) {
      const res = await p.request("GET", path);
      if (!res.ok) throw new Error(res.statusText);
      const name = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
      const a = el("a");
      a.href = URL.createObjectURL(await res.blob());
      a.download = name ? name[1] : "report";
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    },
    applyLang() {
      document.documentElement.lang = lang;
      for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = p.t(e.dataset.i18n);
      for (const e of document.querySelectorAll("[data-i18n-placeholder]")) e.placeholder = p.t(e.dataset.i18nPlaceholder);
      if ($("lang")) $("lang").textContent = lang === "zh" ? "EN" : "中文";
      onLang();
    },
    signOut() {
      token = ""; sessionStorage.removeItem(tokenKey);
      $(board).hidden = true; $("login").hidden = false; headShows(false);
    },
    show() { $("login").hidden = true; $(board).hidden = false; headShows(true); onShow(); },
    start() {
      $("login").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const form = new FormData(ev.target);
        const res = await fetch("/api/auth/token", { method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ username: form.get("username"), password: form.get("password") }) });
        if (!res.ok) { $("login-error").textContent = p.t("bad_login"); return; }
        const signed = await res.json();
        token = signed.access_token;
        sessionStorage.setItem(tokenKey, token);
        sessionStorage.setItem(userKey, signed.username);
        p.show();
      });
      if ($("lang")) $("lang").addEventListener("click", () => {
        lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("hotline.lang", lang); p.applyLang();
      });
      if ($("signout")) $("signout").addEventListener("click", () => p.signOut());
      p.applyLang();
      if (token) p.show(); else p.signOut();
    },
  };
  return p;
}
