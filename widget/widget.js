// Relay's website widget: no build step, no framework; its tag, attributes and API are in the
// README ("The widget's JavaScript API"). It draws in a shadow root; text from the network is
// only ever textContent, and only https:, mailto: and tel: links become links.
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script) return;

  // The API exists at once: calls made before the widget is ready (or queued by a site's
  // snippet in `RelayWidget.q`) run in order once it is.
  const COMMANDS = ["open", "close", "show", "hide", "identify", "logout", "setLocale", "on", "off"];
  const queue = (window.RelayWidget && window.RelayWidget.q) || [];
  const stub = (...call) => queue.push(call);
  for (const name of COMMANDS) stub[name] = (...args) => queue.push([name, ...args]);
  stub.q = queue;
  window.RelayWidget = stub;

  // Words: locales/<language>.js, loaded when needed; setLocale(), data-locale, the browser.
  const LOCALES = ["en", "fr"];
  // "fr-CA" → fr; English when none fits.
  const pickLocale = (wanted) =>
    wanted.map((tag) => String(tag || "").toLowerCase().split("-")[0]).find((l) => LOCALES.includes(l)) || "en";
  const scripts = {};
  const load = (file) =>
    (scripts[file] =
      scripts[file] ||
      new Promise((resolve, reject) => {
        const tag = document.createElement("script");
        tag.src = new URL(file, script.src).href;
        tag.onload = resolve;
        tag.onerror = reject;
        document.head.append(tag);
      }));
  const firstLocale = pickLocale([script.dataset.locale, ...(navigator.languages || [navigator.language])]);
  // core.js: HTTP, socket and message log, shared with the console.
  Promise.all([window.RelayCore || load("core.js"), load(`locales/${firstLocale}.js`)]).then(() =>
    main(window.RelayCore, firstLocale)
  );

  function main(Core, initialLocale) {
    const pageParams = new URLSearchParams(location.search);
    const widgetKey = script.dataset.key || pageParams.get("key") || "";
    const apiBase = (script.dataset.api || new URL(script.src, location.href).origin).replace(/\/$/, "");
    const realtimeUrl =
      script.dataset.realtime || apiBase.replace(/^http/, "ws") + "/v1/realtime";
    const storageKey = "relay-widget:" + widgetKey;
    const PAGE = 30; // messages loaded per step of scrolling back
    const POLL_MS = 3000; // when the WebSocket is down
    let locale = initialLocale;
    const t = (key, values) =>
      ((window.RelayLocales[locale] || {})[key] || key).replace(/\{(\w+)\}/g, (_, name) => (values || {})[name]);

    // ── State.
    const state = {
      config: null,
      token: null,
      userId: null,
      conversations: [],
      current: null, // conversation object
      log: new Core.MessageLog(null), // the loaded messages of the current conversation
      prevBefore: null, // where scrolling back continues (null: the start is loaded)
      loadingBack: false,
      agentTyping: false,
      connection: null, // the real-time socket (Core.connectSocket)
      pollTimer: null,
      unread: 0, // messages from support that arrived while the panel was closed
      identified: false, // the token is the site's user's (identify), not a visitor's
    };

    // ── HTTP.
    const request = Core.createHttp({
      base: apiBase,
      token: () => state.token,
      networkMessage: "Cannot reach support right now.", // explain() says it in the visitor's words
    });
    const api = (method, path, body, extra) => request(method, path, body, extra);
    const socketUp = () => Boolean(state.connection && state.connection.up);

    // ── The visitor: a token kept in localStorage until it expires; a new visitor otherwise.
    function savedVisitor() {
      try {
        const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
        if (saved && saved.token && saved.expires_at * 1000 > Date.now() + 60000) return saved;
      } catch (e) {
        /* storage blocked or corrupt: start a new visitor */
      }
      return null;
    }

    async function signIn() {
      let visitor = savedVisitor();
      if (!visitor) {
        visitor = await api("POST", "/v1/widget/visitors", { widget_key: widgetKey, locale }, { token: null });
        visitor = { token: visitor.token, expires_at: visitor.expires_at, user_id: visitor.visitor_id };
        try {
          localStorage.setItem(storageKey, JSON.stringify(visitor));
        } catch (e) {
          /* private mode: the visitor lasts as long as the page */
        }
      }
      state.token = visitor.token;
      state.userId = visitor.user_id;
    }

    // ── DOM helpers: elements are built, never parsed from strings holding data.
    function el(tag, attrs, ...children) {
      const node = document.createElement(tag);
      for (const [name, value] of Object.entries(attrs || {})) {
        if (name === "class") node.className = value;
        else if (name === "text") node.textContent = value;
        else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
        else node.setAttribute(name, value);
      }
      for (const child of children) if (child) node.append(child);
      return node;
    }

    // A link only for `schemes` (a message's: https:, mailto:, tel:); anything else is inert text.
    function safeLink(url, label, schemes = ["https:", "mailto:", "tel:"]) {
      let parsed = null;
      try {
        parsed = new URL(url);
      } catch (e) {
        /* not a URL */
      }
      if (parsed && schemes.includes(parsed.protocol)) {
        return el("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer", text: label });
      }
      return el("span", { class: "inert", text: label + " (" + url + ")" });
    }

    const host = el("div", { id: "relay-widget" });
    const root = host.attachShadow({ mode: "open" });
    // Constructed, and `hidden` rather than style attributes: strict CSP sites (style-src 'self').
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(
        `
        :host { all: initial; }
        [hidden] { display: none !important; }
        * { box-sizing: border-box; font-family: system-ui, sans-serif; }
        .launcher { position: fixed; right: 24px; bottom: 24px; width: 60px; height: 60px;
          border-radius: 50%; border: 0; background: #2457d6; color: #fff; font-size: 26px;
          cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.25); z-index: 2147483000; }
        .panel { position: fixed; right: 24px; bottom: 96px; width: 370px; height: 560px;
          max-height: calc(100vh - 120px); background: #fff; border-radius: 14px; display: none;
          flex-direction: column; overflow: hidden; box-shadow: 0 12px 40px rgba(0,0,0,.3);
          z-index: 2147483000; color: #1d2433; font-size: 14px; }
        .panel.open { display: flex; }
        .head { background: #2457d6; color: #fff; padding: 14px 16px; display: flex;
          align-items: center; gap: 8px; }
        .head h2 { font-size: 16px; margin: 0; flex: 1; }
        .head button { background: #183c99; color: #fff; border: 0;
          border-radius: 6px; padding: 5px 9px; cursor: pointer; font-size: 12px; }
        .status { font-size: 12px; padding: 6px 16px; background: #fff7e0; color: #6b5200; display: none; }
        .status.show { display: block; }
        .body { flex: 1; overflow-y: auto; padding: 12px 14px; background: #f5f7fb; }
        .list button.item { display: block; width: 100%; text-align: left; border: 1px solid #dde3ee;
          background: #fff; border-radius: 8px; padding: 10px; margin-bottom: 8px; cursor: pointer; }
        .list .new { width: 100%; padding: 10px; border: 0; border-radius: 8px; background: #2457d6;
          color: #fff; cursor: pointer; margin-bottom: 12px; font-size: 14px; }
        .greeting { background: #fff; border-radius: 10px; padding: 10px 12px; margin-bottom: 12px; }
        .msg { max-width: 82%; margin: 6px 0; padding: 8px 11px; border-radius: 12px;
          white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.35; }
        .msg.mine { margin-left: auto; background: #2457d6; color: #fff; border-bottom-right-radius: 3px; }
        .msg.theirs { background: #fff; border: 1px solid #dde3ee; border-bottom-left-radius: 3px; }
        .msg.system { margin: 8px auto; background: none; color: #5b6478; font-size: 12px; text-align: center; }
        .msg .who { display: block; font-size: 11px; opacity: .7; margin-bottom: 2px; }
        .msg .redacted { font-style: italic; opacity: .7; }
        .msg a { color: inherit; }
        .file { margin-top: 4px; font-size: 13px; }
        .file a { font-weight: 600; }
        .launcher svg { width: 28px; height: 28px; vertical-align: middle; }
        .inert { font-family: ui-monospace, monospace; font-size: 12px; }
        .cards { display: flex; gap: 8px; overflow-x: auto; padding: 4px 0; }
        .card { min-width: 180px; background: #fff; border: 1px solid #dde3ee; border-radius: 10px; padding: 10px; }
        .card h3 { margin: 0 0 4px; font-size: 14px; }
        .card p { margin: 0 0 6px; font-size: 12px; color: #4a5366; }
        .chip { display: inline-block; margin: 4px 4px 0 0; padding: 5px 10px; border-radius: 14px;
          border: 1px solid #2457d6; color: #2457d6; background: #fff; cursor: pointer; font-size: 12px; text-decoration: none; }
        .read { text-align: right; font-size: 11px; color: #5b6478; }
        .typing { font-size: 12px; color: #5b6478; padding: 2px 16px; min-height: 18px; }
        .more { text-align: center; font-size: 12px; color: #5b6478; padding: 4px; }
        .foot { border-top: 1px solid #dde3ee; padding: 8px; display: flex; gap: 6px; align-items: center; background: #fff; }
        .foot textarea { flex: 1; resize: none; border: 1px solid #cfd6e4; border-radius: 8px;
          padding: 8px; height: 40px; font-size: 14px; }
        .foot button { border: 0; border-radius: 8px; padding: 9px 12px; background: #2457d6; color: #fff; cursor: pointer; }
        .foot button.attach { background: #e7ecf7; color: #2457d6; }
        .progress { height: 4px; background: #e7ecf7; display: none; }
        .progress.show { display: block; }
        .progress div { height: 4px; width: 0; background: #2457d6; transition: width .1s; }
        .actions { display: flex; gap: 6px; padding: 6px 8px 0; background: #fff; }
        .head .close { display: none; }
        .panel:focus { outline: none; }
        .launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #f5a524; outline-offset: 2px; }
        .badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
          border-radius: 11px; background: #c62828; color: #fff; font-size: 12px; line-height: 22px; font-weight: 700; }
        .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        @media (max-width: 480px) {
          .panel { right: 0; bottom: 0; width: 100vw; height: 100vh; max-height: none; border-radius: 0; }
          .launcher { right: 16px; bottom: 16px; }
          .panel.open ~ .launcher { display: none; }
          .head .close { display: inline-block; }
        }
        .actions button { font-size: 12px; border: 1px solid #cfd6e4; background: #fff; border-radius: 14px;
          padding: 4px 10px; cursor: pointer; color: #1d2433; }
        `
    );
    root.adoptedStyleSheets = [sheet];

    // One SVG path (not every machine has an emoji font).
    function icon(d) {
      const svg = (tag, attrs) => {
        const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
        for (const name in attrs) node.setAttribute(name, attrs[name]);
        return node;
      };
      const shape = svg("path", { d, fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round" });
      const drawing = svg("svg", { viewBox: "0 0 24 24", width: 24, height: 24, "aria-hidden": "true" });
      drawing.append(shape);
      return drawing;
    }
    const ICONS = {
      chat: "M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z",
      close: "M6 6l12 12M18 6L6 18",
      clip: "M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9",
    };

    // Texts: applyLocale(). No <header>/<footer>: they would be the page's second landmarks.
    const badge = el("span", { class: "badge", hidden: "", "aria-hidden": "true", "data-testid": "badge" });
    const launcher = el("button", { class: "launcher", "aria-expanded": "false", "aria-controls": "relay-panel" }, icon(ICONS.chat), badge);
    const title = el("h2", {});
    const backButton = el("button", { "data-testid": "back" });
    // On a phone the panel covers the launcher; this closes it.
    const closeButton = el("button", { class: "close" });
    const statusLine = el("div", { class: "status", role: "status" });
    const body = el("div", { class: "body", "data-testid": "body" });
    const typingLine = el("div", { class: "typing", "aria-live": "polite" });
    // Screen readers hear support's new messages here (the rendering is redrawn whole).
    const announcer = el("div", { class: "sr", role: "log", "aria-live": "polite", "data-testid": "announcer" });
    const progress = el("div", { class: "progress" }, el("div"));
    const input = el("textarea", { "data-testid": "composer" });
    const sendButton = el("button", { "data-testid": "send" });
    const fileInput = el("input", { type: "file", hidden: "", tabindex: "-1", "data-testid": "file" });
    const attachButton = el("button", { class: "attach", "data-testid": "attach" }, icon(ICONS.clip));
    const handoffButton = el("button", { "data-testid": "handoff" });
    const actions = el("div", { class: "actions" }, handoffButton);
    const footer = el("div", { class: "foot" }, attachButton, fileInput, input, sendButton);
    const panel = el(
      "div",
      { class: "panel", id: "relay-panel", role: "dialog", tabindex: "-1" },
      el("div", { class: "head" }, title, backButton, closeButton),
      statusLine,
      body,
      typingLine,
      announcer,
      progress,
      actions,
      footer
    );
    root.append(panel, launcher);

    function applyLocale() {
      host.lang = locale;
      labelLauncher();
      panel.setAttribute("aria-label", t("dialog"));
      backButton.textContent = t("allChats");
      closeButton.textContent = t("close");
      closeButton.setAttribute("aria-label", t("closeChat"));
      input.placeholder = t("placeholder");
      input.setAttribute("aria-label", t("message"));
      sendButton.textContent = t("send");
      attachButton.setAttribute("aria-label", t("attach"));
      attachButton.title = t("attach");
      handoffButton.textContent = t("handoff");
      if (state.current) renderConversation(true);
      else if (state.config) renderList(); // the list is drawn once start() has read it
    }

    function showStatus(text) {
      statusLine.textContent = text || "";
      statusLine.classList.toggle("show", Boolean(text));
    }

    /** An error in the visitor's words: ours for the codes a visitor can meet, else the API's. */
    function explain(error) {
      if (["network", "origin_not_allowed", "rate_limited", "unknown_widget_key", "attachments_disabled"].includes(error.code)) {
        return t(error.code, { s: error.retryAfter });
      }
      return error.message || t("failed");
    }

    // ── Rendering.
    function renderList() {
      state.current = null;
      title.textContent = t("title");
      backButton.hidden = true;
      footer.hidden = true;
      actions.hidden = true;
      typingLine.textContent = "";
      const list = el("div", { class: "list" });
      list.append(
        el("div", { class: "greeting", text: (state.config && state.config.greeting) || t("greeting") }),
        el("button", { class: "new", text: t("newConversation"), onclick: startConversation, "data-testid": "new-conversation" })
      );
      for (const c of state.conversations) {
        const when = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(c.updated_at || c.created_at));
        const label = t(c.session === "active" ? "open" : "ended") + " · " + when;
        list.append(el("button", { class: "item", text: label, onclick: () => openConversation(c) }));
      }
      body.replaceChildren(list);
    }

    function renderRich(rich, bubble) {
      if (rich.text) bubble.append(el("div", { text: rich.text }));
      if (rich.items && rich.items.length) {
        const cards = el("div", { class: rich.layout === "carousel" ? "cards" : "" });
        for (const item of rich.items) {
          const card = el("div", { class: "card" }, el("h3", { text: item.title }));
          if (item.description) card.append(el("p", { text: item.description }));
          for (const b of item.buttons || []) card.append(renderButton(b));
          cards.append(card);
        }
        bubble.append(cards);
      }
      for (const b of rich.buttons || []) bubble.append(renderButton(b));
    }

    function renderButton(button) {
      if (button.url) {
        const link = safeLink(button.url, button.label);
        if (link.tagName === "A") link.className = "chip";
        return link;
      }
      const payload = button.payload || "";
      // relay:handoff, :resolved, :article:ID, :csat:N are ours; others send their text.
      const own = /^relay:(handoff|resolved|csat|article)(?::(\w+))?$/.exec(payload) || [];
      const act = { handoff, resolved, csat: () => rate(Number(own[2])), article: (e) => readArticle(own[2], e.target) }[own[1]];
      return el("button", { class: "chip", text: button.label, onclick: act || (() => sendText(payload || button.label)) });
    }

    /** An article, in place of its card's button. */
    async function readArticle(id, button) {
      try {
        const a = await api("GET", "/v1/articles/" + id);
        const text = el("p", { text: a.body.replace(/\]\([^)]*\)|[#*`>[]/g, ""), tabindex: "-1" });
        button.replaceWith(text);
        text.focus();
      } catch (e) {
        showStatus(explain(e));
      }
    }

    /** The satisfaction survey's answer (once per session). */
    async function rate(score) {
      const c = state.current;
      if (!c) return;
      try {
        await api("POST", `/v1/conversations/${c.id}/csat`, { score });
        showStatus(t("thanks"));
      } catch (e) {
        showStatus(e.code === "already_rated" ? t("alreadyRated") : explain(e));
      }
    }

    function messageNode(m) {
      const mine = m.author.role === "end_user";
      const system = m.type === "system";
      const bubble = el("div", { class: "msg " + (system ? "system" : mine ? "mine" : "theirs"), "data-seq": String(m.seq) });
      if (!mine && !system) {
        bubble.append(el("span", { class: "who", text: t(m.author.role === "bot" ? "bot" : "support") }));
      }
      // Rich content as sent (a bot's cards, the satisfaction survey).
      if (m.redacted) bubble.append(el("span", { class: "redacted", text: t("removed") }));
      else if (m.rich) renderRich(m.rich, bubble);
      else if (m.type === "attachment") {
        // The widget sends the file name as the text; the link says it already.
        const names = m.attachment_ids || [];
        if (m.text && names.length !== 1) bubble.append(el("div", { text: m.text }));
        for (const aid of m.attachment_ids || []) bubble.append(attachmentLink(aid));
      } else bubble.append(el("span", { text: m.text || "" }));
      return bubble;
    }

    function attachmentLink(aid) {
      const holder = el("div", { class: "file", text: t("attachmentLoading") });
      const cid = state.current && state.current.id;
      api("GET", `/v1/conversations/${cid}/attachments/${aid}`)
        .then((a) => {
          if (a.download_url) holder.replaceChildren(safeLink(a.download_url, a.file_name, ["https:", "http:"]));
          else holder.textContent = a.file_name + " (" + a.status + ")";
        })
        .catch(() => (holder.textContent = t("attachmentUnavailable")));
      return holder;
    }

    function renderConversation(keepScroll) {
      const c = state.current;
      if (!c) return;
      title.textContent = t(c.session === "active" ? "title" : "titleEnded");
      backButton.hidden = false;
      footer.hidden = false;
      actions.hidden = !(c.control === "bot" && c.session === "active");
      const before = body.scrollHeight - body.scrollTop;
      const wrap = el("div", { "data-testid": "messages" });
      if (state.prevBefore) wrap.append(el("div", { class: "more", text: t("earlier") }));
      const lastMine = [...state.log.messages].reverse().find((m) => m.author.role === "end_user");
      const agentsRead = (c.participants && c.participants.agents.read_seq) || 0;
      for (const m of state.log.messages) {
        wrap.append(messageNode(m));
        // "Read" under the visitor's last message once support has read it.
        if (m === lastMine && agentsRead >= m.seq) wrap.append(el("div", { class: "read", text: t("read"), "data-testid": "read" }));
      }
      body.replaceChildren(wrap);
      body.scrollTop = keepScroll ? body.scrollHeight - before : body.scrollHeight;
      typingLine.textContent = state.agentTyping ? t("typing") : "";
    }

    // Infinite scroll back: reaching the top loads the page before the oldest one shown.
    body.addEventListener("scroll", async () => {
      const c = state.current;
      if (!c || body.scrollTop > 20 || !state.prevBefore || state.loadingBack) return;
      state.loadingBack = true;
      try {
        const page = await api("GET", `/v1/conversations/${c.id}/messages?before_seq=${state.prevBefore}&limit=${PAGE}`);
        if (state.current !== c) return;
        for (const m of page.messages || []) addMessage(m);
        state.prevBefore = page.prev_before_seq || null;
        renderConversation(true);
      } catch (e) {
        /* scrolling up again retries */
      } finally {
        state.loadingBack = false;
      }
    });

    /** The newest page of a conversation; older pages load as the visitor scrolls up. */
    async function loadLatest() {
      const c = state.current;
      const page = await api("GET", `/v1/conversations/${c.id}/messages?before_seq=latest&limit=${PAGE}`);
      for (const m of page.messages || []) addMessage(m);
      state.prevBefore = page.prev_before_seq || null;
      state.log.lastSeq = Math.max(state.log.lastSeq, page.next_after_seq || 0);
    }

    // ── Conversations and messages.
    async function loadConversations() {
      const result = await api("GET", "/v1/conversations");
      state.conversations = result.conversations || [];
    }

    /** Everything after the log's last seq (also the catch-up after a reconnect). */
    async function catchUp() {
      if (state.current) await Core.catchUp(api, state.log);
    }

    // At least once: the log drops repeats and other conversations' messages. A redacted
    // message replaces the one of its seq.
    const addMessage = (m) => state.log.add(m);
    const replaceMessage = (m) => state.log.replace(m);

    async function openConversation(c) {
      state.current = c;
      state.log = new Core.MessageLog(c.id);
      state.prevBefore = null;
      state.agentTyping = false;
      renderConversation();
      // End users receive their own conversations' events without subscribing.
      try {
        state.current = await api("GET", `/v1/conversations/${c.id}`);
        await loadLatest();
        await catchUp();
        renderConversation();
        markRead();
        shareContext();
      } catch (e) {
        showStatus(explain(e));
      }
    }

    async function startConversation() {
      try {
        const c = await api("POST", "/v1/conversations", {});
        state.conversations.unshift(c);
        await openConversation(c);
        input.focus();
      } catch (e) {
        showStatus(explain(e));
      }
    }

    async function postMessage(payload) {
      const c = state.current;
      if (!c) return;
      const message = await api(
        "POST",
        `/v1/conversations/${c.id}/messages`,
        { client_message_id: Core.uuid(), ...payload },
        { retry: true } // R14: the same client_message_id is stored once
      );
      const m = message.message || message;
      // A new session may have started (R22): read the conversation again.
      if (m.session_no && state.current && m.session_no !== state.current.session_no) {
        state.current = await api("GET", `/v1/conversations/${c.id}`);
      }
      if (addMessage(m)) renderConversation();
      if (!socketUp()) await catchUp().then(() => renderConversation());
    }

    async function sendText(text) {
      text = (text || "").trim();
      if (!text) return;
      try {
        await postMessage({ type: "text", text });
        showStatus("");
      } catch (e) {
        showStatus(explain(e));
      }
    }

    function markRead() {
      const c = state.current;
      if (!c || !state.log.lastSeq || document.visibilityState === "hidden" || !panel.classList.contains("open")) return;
      api("POST", `/v1/conversations/${c.id}/events`, { type: "read", seq: state.log.lastSeq }).catch(() => {});
    }

    // uploads.js (shared with the console) is loaded when a visitor first picks a file.
    async function sendFile(file) {
      const c = state.current;
      if (!c || !file) return;
      const bar = progress.firstChild;
      progress.classList.add("show");
      bar.style.width = "0";
      try {
        await load("uploads.js");
        const id = await window.RelayUploads.sendFile({
          request: api,
          conversationId: c.id,
          file,
          onProgress: (fraction) => (bar.style.width = Math.round(fraction * 100) + "%"),
        });
        await postMessage({ type: "attachment", text: file.name, attachment_ids: [id] });
        showStatus("");
      } catch (e) {
        showStatus(
          e.code === "rejected"
            ? t("refused", { reason: e.reason || t("notAllowed") })
            : e.code === "upload_failed"
              ? t("uploadFailed")
              : explain(e)
        );
      } finally {
        progress.classList.remove("show");
        fileInput.value = "";
      }
    }

    async function act(step, body, note) {
      const c = state.current;
      if (!c) return;
      try {
        await api("POST", `/v1/conversations/${c.id}/${step}`, body);
        state.current = await api("GET", `/v1/conversations/${c.id}`);
        if (note) showStatus(note);
        await catchUp();
        renderConversation();
      } catch (e) {
        showStatus(explain(e));
      }
    }
    const handoff = () =>
      act("handoff", { reason: "visitor asked for a person" }, t(state.config && !state.config.business_hours_open ? "away" : "finding"));
    const resolved = () => act("close", {});

    // ── Real time: one WebSocket; polling while it is down; catch-up after every reconnect.
    function connect() {
      state.connection = Core.connectSocket({
        url: () => realtimeUrl + "?token=" + encodeURIComponent(state.token),
        onFrame,
        onUp() {
          stopPolling();
          if (state.current) catchUp().then(() => renderConversation()).catch(() => {});
        },
        onDown: startPolling,
      });
    }

    function onFrame(frame) {
      const data = frame.data || {};
      const c = state.current;
      switch (frame.type) {
        case "message.redacted":
          if (replaceMessage(data.message)) renderConversation();
          break;
        case "message.created":
          if (data.message.author.role !== "end_user") heard(data.message);
          // Older than the page shown: it comes with the older pages.
          if (state.prevBefore && state.log.messages.length && data.message.seq < state.log.oldestSeq) break;
          if (addMessage(data.message)) {
            if (data.message.author.role !== "end_user") state.agentTyping = false;
            renderConversation();
            markRead();
          }
          break;
        case "conversation.updated": {
          const updated = data.conversation;
          const i = state.conversations.findIndex((x) => x.id === updated.id);
          if (i >= 0) state.conversations[i] = updated;
          if (c && updated.id === c.id) {
            state.current = updated;
            // Someone took the conversation (or it ended): the search notice is done.
            if (updated.assignee || updated.session !== "active") showStatus("");
            renderConversation(true);
          }
          break;
        }
        case "typing":
          if (c && data.conversation_id === c.id && data.author_id !== state.userId) {
            state.agentTyping = data.state === "start";
            typingLine.textContent = state.agentTyping ? t("typing") : "";
          }
          break;
        case "read":
          if (c && data.conversation_id === c.id && data.author_id !== state.userId) {
            c.participants = c.participants || { agents: { read_seq: 0 } };
            c.participants.agents.read_seq = Math.max(c.participants.agents.read_seq || 0, data.seq);
            renderConversation(true);
          }
          break;
        default:
          break;
      }
    }

    function startPolling() {
      if (state.pollTimer) return;
      state.pollTimer = setInterval(async () => {
        if (!state.current) return;
        try {
          const before = state.log.lastSeq;
          state.current = await api("GET", `/v1/conversations/${state.current.id}`);
          await catchUp();
          if (state.log.lastSeq !== before) markRead();
          renderConversation(true);
        } catch (e) {
          /* offline: try again on the next tick */
        }
      }, POLL_MS);
    }

    function stopPolling() {
      clearInterval(state.pollTimer);
      state.pollTimer = null;
    }

    // Typing: a start when typing begins, a stop after a pause or on send.
    let typingSent = false;
    let typingTimer = null;
    function typing(stateName) {
      const c = state.current;
      if (c && state.connection) state.connection.send({ action: "typing", conversation_id: c.id, state: stateName });
    }
    input.addEventListener("input", () => {
      if (!typingSent) {
        typing("start");
        typingSent = true;
      }
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => {
        typing("stop");
        typingSent = false;
      }, 2500);
    });

    // ── Wiring.
    function submit() {
      const text = input.value;
      input.value = "";
      if (typingSent) {
        typing("stop");
        typingSent = false;
      }
      sendText(text);
    }
    sendButton.addEventListener("click", submit);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        submit();
      }
    });
    attachButton.addEventListener("click", () => fileInput.click());
    fileInput.addEventListener("change", () => sendFile(fileInput.files[0]));
    handoffButton.addEventListener("click", handoff);
    backButton.addEventListener("click", async () => {
      await loadConversations().catch(() => {});
      renderList();
    });
    document.addEventListener("visibilitychange", markRead);

    // One start at a time (open then identify at once wait for the same); a failure may retry.
    let starting = null;
    function start() {
      starting =
        starting ||
        begin().catch((e) => {
          starting = null;
          showStatus(explain(e));
        });
      return starting;
    }
    async function begin() {
      state.config = await api("GET", "/v1/widget/config?key=" + encodeURIComponent(widgetKey), undefined, { token: null });
      if (!state.config.attachments_enabled) attachButton.hidden = true;
      if (!state.config.messaging_enabled) return showStatus(t("unavailable"));
      await signIn();
      await loadConversations();
      renderList();
      connect();
      shareContext();
    }

    // ── Visitor context: this tab's last 20 pages (path and title, never the query) go with
    // the open or latest active conversation, unless the account said no (share_page_views).
    let pages = [];
    try {
      pages = JSON.parse(sessionStorage.getItem("relay-pages")) || [];
    } catch (e) {
      /* none yet, or storage blocked */
    }
    pages = pages
      .concat({ path: location.pathname, title: document.title.slice(0, 200), at: Date.now() })
      .filter((p) => p.at > Date.now() - 8e7) // the server keeps a day's
      .slice(-20);
    try {
      sessionStorage.setItem("relay-pages", JSON.stringify(pages));
    } catch (e) {
      /* private mode: this page only */
    }
    function shareContext() {
      const c = state.current || state.conversations.find((x) => x.session === "active");
      if (c && state.config.share_page_views) api("PUT", `/v1/conversations/${c.id}/visitor-context`, { pages }).catch(() => {});
    }

    // ── Opening and closing: focus goes into the panel on open, back on close; Escape closes.
    const isOpen = () => panel.classList.contains("open");
    function setOpen(open) {
      if (open === isOpen()) return;
      panel.classList.toggle("open", open);
      launcher.setAttribute("aria-expanded", String(open));
      launcher.replaceChildren(icon(open ? ICONS.close : ICONS.chat), badge);
      if (open) {
        setUnread(0);
        panel.focus();
        start().then(() => {
          markRead();
          focusInside();
        });
      } else launcher.focus();
      labelLauncher();
      emit(open ? "open" : "close");
    }
    /** The composer in a conversation, else the list's first button, else the panel. */
    function focusInside() {
      if (!isOpen() || (root.activeElement && root.activeElement !== panel)) return;
      const target = state.current ? input : body.querySelector("button");
      (target || panel).focus();
    }
    closeButton.addEventListener("click", () => setOpen(false));
    launcher.addEventListener("click", () => setOpen(!isOpen()));
    panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        setOpen(false);
      }
    });

    // Unread messages: a badge on the launcher, said in its label, and the `unread` event.
    function labelLauncher() {
      const label = t(isOpen() ? "closeChat" : "openChat");
      launcher.setAttribute("aria-label", state.unread ? label + " (" + t("unread", { n: state.unread }) + ")" : label);
      badge.hidden = !state.unread;
      badge.textContent = state.unread > 9 ? "9+" : String(state.unread);
    }
    function setUnread(n) {
      if (n === state.unread) return;
      state.unread = n;
      labelLauncher();
      emit("unread", n);
    }
    /** A message from support or the bot arrived (once per frame: the core drops repeats). */
    function heard(m) {
      emit("message", m);
      if (!isOpen() || !state.current || state.current.id !== m.conversation_id) setUnread(state.unread + 1);
      const line = el("p", { text: t(m.author.role === "bot" ? "bot" : "support") + ": " + (m.text || "") });
      announcer.append(line);
      while (announcer.childElementCount > 5) announcer.firstChild.remove();
    }

    // ── The page's API (see the top of this file for the queue).
    const listeners = {};
    function emit(event, detail) {
      for (const fn of listeners[event] || []) {
        try {
          fn(detail);
        } catch (e) {
          console.error("RelayWidget " + event + " listener:", e);
        }
      }
    }

    // `source`: a token, or a function giving one, called again a minute before expiry.
    let tokenSource = null;
    let refreshTimer = null;
    async function identify(source) {
      if (state.identified) logout();
      tokenSource = typeof source === "function" ? source : null;
      const userToken = tokenSource ? await tokenSource() : source;
      await start();
      const result = await api("POST", "/v1/widget/identify", { user_token: userToken });
      state.token = userToken;
      state.userId = result.user_id;
      state.identified = true;
      try {
        localStorage.removeItem(storageKey);
      } catch (e) {
        /* nothing stored */
      }
      if (state.connection) state.connection.restart(); // again, under the user's token
      scheduleRefresh(userToken);
      await loadConversations();
      renderList();
      return result;
    }
    function expiry(token) {
      try {
        return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp || 0;
      } catch (e) {
        return 0;
      }
    }
    function scheduleRefresh(token) {
      clearTimeout(refreshTimer);
      const exp = expiry(token);
      if (!tokenSource || !exp) return;
      refreshTimer = setTimeout(async () => {
        try {
          const next = await tokenSource();
          state.token = next; // the same user: no identify, the socket reconnects with it
          if (state.connection) state.connection.restart();
          scheduleRefresh(next);
        } catch (e) {
          refreshTimer = setTimeout(() => scheduleRefresh(token), 30000);
        }
      }, Math.max(0, exp * 1000 - Date.now() - 60000));
    }

    /** Forgets the user and the visitor: the next open starts as a new anonymous visitor. */
    function logout() {
      clearTimeout(refreshTimer);
      tokenSource = null;
      try {
        localStorage.removeItem(storageKey);
      } catch (e) {
        /* nothing stored */
      }
      if (state.connection) state.connection.close();
      stopPolling();
      Object.assign(state, { token: null, userId: null, identified: false, conversations: [], current: null, connection: null });
      state.log = new Core.MessageLog(null);
      starting = null;
      setUnread(0);
      renderList();
      if (isOpen()) start();
    }

    async function setLocale(tag) {
      const next = pickLocale([tag]);
      await load(`locales/${next}.js`);
      locale = next;
      applyLocale();
    }

    const commands = {
      open: () => setOpen(true),
      close: () => setOpen(false),
      show: () => (host.hidden = false),
      hide() {
        setOpen(false);
        host.hidden = true;
      },
      identify,
      logout,
      setLocale,
      on: (event, fn) => (listeners[event] = listeners[event] || []).push(fn),
      off: (event, fn) => (listeners[event] = (listeners[event] || []).filter((f) => f !== fn)),
    };
    const relay = (name, ...args) => {
      if (!commands[name]) throw new Error("RelayWidget: no command " + name);
      return commands[name](...args);
    };
    Object.assign(relay, commands);

    document.body.append(host);
    applyLocale();
    window.RelayWidget = relay;
    // One after the other: a queued identify finishes before a queued open.
    queue.splice(0).reduce(
      (before, call) => before.then(() => relay(...call)).catch((e) => console.error("RelayWidget", call[0], e)),
      Promise.resolve()
    );
    if (script.dataset.open === "true") setOpen(true);
    // A returning visitor connects at once, so replies that came meanwhile show as unread.
    else if (savedVisitor()) start();
  }
})();
