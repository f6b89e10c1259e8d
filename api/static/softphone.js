"use strict";
// The agent page's softphone: SIP over Asterisk's secure websocket (JsSIP, vendor/), WebRTC
// media (DTLS-SRTP, ICE). It registers with the agent's own SIP account
// (GET /api/agents/{id}/phone: only the agent itself gets it), rings in the page, answers,
// holds, mutes, sends DTMF (RFC 4733), transfers the caller to a queue (a blind transfer to
// *8<queue>, as any agent phone does: asterisk-config/extensions.conf [hotline-agent]) and
// hangs up. It keeps no state of its own about the agent: the state panel (agent.js) shows
// the controller's view of the same call, and the phone shows the SIP session's.
//
// The page's hook: hotlineSoftphone.start(agentId, api, t) when the desk shows,
// hotlineSoftphone.stop() when the agent signs out; hotlineSoftphone.restart() starts it again
// for the same agent (tests). An agent whose phone is a desk phone (404 no-softphone) sees no
// panel.

(() => {
  const WORDS = {
    zh: { phone: "软电话", unregistered: "未注册", registering: "注册中", registered: "已注册",
      ringing: "来电振铃", talking: "通话中", held: "保持中", failed: "注册失败",
      answer: "接听", decline: "拒接", hangup: "挂断", hold: "保持", resume: "恢复",
      mute: "静音", unmute: "取消静音", transfer: "转队列", from: "来电" },
    en: { phone: "Softphone", unregistered: "not registered", registering: "registering",
      registered: "registered", ringing: "ringing", talking: "talking", held: "on hold",
      failed: "registration failed", answer: "Answer", decline: "Decline", hangup: "Hang up",
      hold: "Hold", resume: "Resume", mute: "Mute", unmute: "Unmute",
      transfer: "Transfer to queue", from: "from" },
  };
  const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
  let ua = null, session = null, account = null, panel = null, muted = false, held = false;
  let state = "unregistered";
  let startedWith = null;  // [agentId, api] of the last start
  const word = (key) => {
    const lang = document.documentElement.lang === "en" ? "en" : "zh";
    return WORDS[lang][key] ?? key;
  };

  function build() {
    panel = document.getElementById("softphone");
    panel.innerHTML = `
      <h2 data-sp="title"></h2>
      <div class="sp-line"><span class="sp-state" data-sp="state"></span>
        <span class="sp-peer" data-sp="peer"></span></div>
      <div class="sp-buttons">
        <button type="button" class="go" data-sp-do="answer"></button>
        <button type="button" class="pause" data-sp-do="decline"></button>
        <button type="button" data-sp-do="hold"></button>
        <button type="button" data-sp-do="mute"></button>
        <button type="button" class="pause" data-sp-do="hangup"></button>
      </div>
      <div class="sp-keypad">${KEYS.map((k) => `<button type="button" data-sp-key="${k}">${k}</button>`).join("")}</div>
      <div class="sp-transfer"><select data-sp="queue"></select>
        <button type="button" data-sp-do="transfer"></button></div>
      <audio data-sp="audio" autoplay></audio>`;
    panel.querySelector('[data-sp-do="answer"]').addEventListener("click", answer);
    panel.querySelector('[data-sp-do="decline"]').addEventListener("click", () => session?.terminate({ status_code: 486 }));
    panel.querySelector('[data-sp-do="hangup"]').addEventListener("click", () => session?.terminate());
    panel.querySelector('[data-sp-do="hold"]').addEventListener("click", () => {
      if (!session) return;
      if (held) session.unhold(); else session.hold();
    });
    panel.querySelector('[data-sp-do="mute"]').addEventListener("click", () => {
      if (!session) return;
      if (muted) session.unmute({ audio: true }); else session.mute({ audio: true });
    });
    panel.querySelector('[data-sp-do="transfer"]').addEventListener("click", transfer);
    panel.querySelectorAll("[data-sp-key]").forEach((b) => b.addEventListener("click", () => {
      session?.sendDTMF(b.dataset.spKey, { transportType: JsSIP.C.DTMF_TRANSPORT.RFC2833 });
    }));
  }

  function render() {
    if (!panel) return;
    panel.dataset.phoneState = state;
    panel.dataset.muted = String(muted);
    panel.querySelector('[data-sp="title"]').textContent = word("phone");
    panel.querySelector('[data-sp="state"]').textContent = word(state);
    const peer = session ? session.remote_identity.uri.user : "";
    panel.querySelector('[data-sp="peer"]').textContent = peer ? `${word("from")} ${peer}` : "";
    const live = state === "talking" || state === "held";
    const show = (what, on, label) => {
      const b = panel.querySelector(`[data-sp-do="${what}"]`);
      b.hidden = !on;
      b.textContent = word(label || what);
    };
    show("answer", state === "ringing");
    show("decline", state === "ringing");
    show("hold", live, held ? "resume" : "hold");
    show("mute", live, muted ? "unmute" : "mute");
    show("hangup", live);
    show("transfer", live);
    panel.querySelector(".sp-keypad").hidden = !live;
    panel.querySelector(".sp-transfer").hidden = !live;
  }

  function setState(next) { state = next; render(); }

  function answer() {
    if (!session || state !== "ringing") return;
    session.answer({
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: [] },  // host candidates: Asterisk is reached directly
    });
  }

  function transfer() {
    const queue = panel.querySelector('[data-sp="queue"]').value;
    if (!session || !queue) return;
    // A blind transfer: the caller's leg goes back to the queue. Once Asterisk reports it
    // done (NOTIFY 200), the transferor hangs up its own leg (RFC 5589), so the phone leaves
    // the call as the agent does (after-call work); a refused transfer keeps the call.
    const s = session;
    const host = new URL(account.websocket_url).hostname;
    s.refer(`sip:${account.transfer_prefix}${queue}@${host}`, {
      eventHandlers: { accepted: () => { if (!s.isEnded()) s.terminate(); } },
    });
  }

  function attach(s) {
    session = s; muted = false; held = false;
    s.on("peerconnection", (e) => watchMedia(e.peerconnection));
    s.on("accepted", () => setState("talking"));
    s.on("confirmed", () => setState("talking"));
    s.on("hold", () => { held = true; setState("held"); });
    s.on("unhold", () => { held = false; setState("talking"); });
    s.on("muted", () => { muted = true; render(); });
    s.on("unmuted", () => { muted = false; render(); });
    const end = () => {
      if (session !== s) return;
      session = null; muted = false; held = false;
      setState(ua && ua.isRegistered() ? "registered" : "unregistered");
    };
    s.on("ended", end);
    s.on("failed", end);
    setState("ringing");
  }

  function watchMedia(pc) {
    pc.addEventListener("track", (e) => {
      const audio = panel.querySelector('[data-sp="audio"]');
      audio.srcObject = e.streams[0] || new MediaStream([e.track]);
    });
  }

  async function fillQueues(api) {
    try {
      const queues = await api("GET", "/api/queues");
      const select = panel.querySelector('[data-sp="queue"]');
      select.replaceChildren(...queues.map((q) => new Option(q.name, q.name)));
    } catch (err) { /* the transfer list stays empty */ }
  }

  async function start(agentId, api) {
    stop();
    startedWith = [agentId, api];
    try {
      account = await api("GET", `/api/agents/${encodeURIComponent(agentId)}/phone`);
    } catch (err) {
      return;  // no softphone for this agent (a desk phone) or no account: no panel
    }
    build();
    document.getElementById("softphone").hidden = false;
    fillQueues(api);
    JsSIP.debug.disable("JsSIP:*");
    ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(account.websocket_url)],
      uri: account.sip_uri,
      authorization_user: account.username,
      password: account.password,
      display_name: account.display_name,
      register: true,
      register_expires: 300,
      session_timers: false,
      user_agent: "hotline-softphone",
    });
    ua.on("registered", () => { if (!session) setState("registered"); });
    ua.on("unregistered", () => { if (!session) setState("unregistered"); });
    ua.on("registrationFailed", () => setState("failed"));
    ua.on("newRTCSession", (e) => {
      if (e.originator !== "remote") return;
      if (session) { e.session.terminate({ status_code: 486 }); return; }  // one call at a time
      attach(e.session);
    });
    setState("registering");
    ua.start();
  }

  function stop() {
    if (ua) { ua.stop(); ua = null; }
    session = null; account = null;
    const box = document.getElementById("softphone");
    if (box) { box.hidden = true; box.replaceChildren(); }
    panel = null; state = "unregistered";
  }

  // RTP counted by the browser: audio packets sent and received on the call, from the
  // peer connection's statistics (tests and the page's own diagnostics read it)
  async function mediaStats() {
    const pc = session?.connection;
    if (!pc) return null;
    const out = { packetsSent: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0 };
    (await pc.getStats()).forEach((r) => {
      if (r.kind !== "audio") return;
      if (r.type === "outbound-rtp") { out.packetsSent += r.packetsSent; out.bytesSent += r.bytesSent; }
      if (r.type === "inbound-rtp") { out.packetsReceived += r.packetsReceived; out.bytesReceived += r.bytesReceived; }
    });
    return out;
  }

  const restart = () => (startedWith ? start(...startedWith) : undefined);
  window.hotlineSoftphone = { start, stop, restart, render, mediaStats, state: () => state };
})();
