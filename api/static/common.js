// What the signed-in pages share (planning, reports, qa, orders, kb, agent, supervisor): the
// language (zh / en, ?lang= or the last one chosen), the development-style sign-in form
// (#login, #login-error; its fields drawn here into a <form id="login"> that has none, after
// a heading it may hold) with the token kept in sessionStorage per page, fetch with the
// bearer token (401 signs out), the page head (#lang toggles, [data-i18n] and
// [data-i18n-placeholder] texts; a page may have no #lang, or a #who and a #signout button,
// or a #status: p.online(true / false)), and small DOM and time helpers.
// A page: `const p = page({ name, i18n, board, onShow, onLang })`, then `p.start()`; `board`
// is the id of what signing in shows ("board"). The live pages (agent, supervisor) also give
// onSignIn(the token answer: username, roles...), onSignOut, and renew: true, which renews
// the token at two thirds of its life (then onToken(the new token)).
"use strict";
export const $ = (id) => document.getElementById(id);
export const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

// seconds as mm:ss, or h:mm:ss from an hour on; "--:--" for none
export function mmss(s) {
  if (s == null || !isFinite(s)) return "--:--";
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return (h ? `${h}:${two(m)}` : two(m)) + ":" + two(sec);
}

const LOGIN_FORM = `
  <input name="username" data-i18n-placeholder="username" placeholder="用户名" autocomplete="username">
  <input name="password" type="password" data-i18n-placeholder="password" placeholder="密码" autocomplete="current-password">
  <button type="submit" data-i18n="signin">登录</button>
  <span id="login-error" class="error"></span>`;

export function page({ name, i18n, board = "board", onShow = () => {}, onLang = () => {},
  onSignIn = () => {}, onSignOut = () => {}, renew = false, onToken = () => {} }) {
  const params = new URLSearchParams(location.search);
  const tokenKey = `${name}.token`, userKey = `${name}.user`;
  let lang = params.get("lang") || localStorage.getItem("hotline.lang") || "zh";
  if (!i18n[lang]) lang = "zh";
  let token = sessionStorage.getItem(tokenKey) || "";
  let renewTimer = null;
  // the form's fields, after what the page put in it (a heading)
  if (!$("login").querySelector("input")) $("login").insertAdjacentHTML("beforeend", LOGIN_FORM);
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
    get token() { return token; },
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
    online(ok) {  // the head's #status; data-i18n too, so a language switch keeps the word
      const e = $("status");
      e.classList.toggle("offline", !ok);
      e.dataset.i18n = ok ? "online" : "offline";
      e.textContent = p.t(e.dataset.i18n);
    },
    applyLang() {
      document.documentElement.lang = lang;
      for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = p.t(e.dataset.i18n);
      for (const e of document.querySelectorAll("[data-i18n-placeholder]")) e.placeholder = p.t(e.dataset.i18nPlaceholder);
      if ($("lang")) $("lang").textContent = lang === "zh" ? "EN" : "中文";
      onLang();
    },
    signOut() {
      token = ""; sessionStorage.removeItem(tokenKey); clearTimeout(renewTimer);
      $(board).hidden = true; $("login").hidden = false; headShows(false);
      onSignOut();
    },
    renewAt(expiresAt) {  // at two thirds of the token's life
      clearTimeout(renewTimer);
      renewTimer = setTimeout(async () => {
        if (!token) return;
        try {
          const res = await p.api("POST", "/api/auth/refresh");
          token = res.access_token; sessionStorage.setItem(tokenKey, token);
          onToken(token);
          p.renewAt(res.expires_at);
        } catch { /* the next request's 401 shows the sign-in form */ }
      }, Math.max(5, (expiresAt - Date.now() / 1000) * 2 / 3) * 1000);
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
        $("login-error").textContent = "";
        onSignIn(signed);
        if (renew) p.renewAt(signed.expires_at);
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
