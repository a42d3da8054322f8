/*
 * Relay's agent console: plain JavaScript, no build step. Sign in with an agent or admin token
 * (from the URL's #token= fragment, which never reaches a server, or pasted); the API is this
 * page's origin unless ?api= names another. Text from the network is only ever set as
 * textContent: a message holding markup shows the markup, it never runs.
 */
(function (Core) {
  "use strict";

  const params = new URLSearchParams(location.search);
  const apiBase = (params.get("api") || location.origin).replace(/\/$/, "");
  const realtimeUrl = params.get("realtime") || apiBase.replace(/^http/, "ws") + "/v1/realtime";
  const $ = (id) => document.getElementById(id);

  const state = {
    token: null,
    claims: null,
    me: null,
    offers: new Map(), // conversation_id → offer
    inbox: [], // the current inbox view's items, in the server's order
    inboxView: "mine",
    current: null,
    log: new Core.MessageLog(null), // the open conversation's messages
    tabs: new Map(), // conversation id → {label, unread}: the conversations open as tabs
    connection: null, // the real-time socket (Core.connectSocket)
    noteMode: false,
  };

  // ---------------------------------------------------------------------------------------
  // HTTP.
  // HTTP and the socket come from the client core the widget uses too (widget/core.js).
  const request = Core.createHttp({ base: apiBase, token: () => state.token });
  /** `extra`: `{ headers }` (If-Match), `{ retry: true }` for idempotent POSTs. */
  const api = (method, path, body, extra) => request(method, path, body, extra);

  const { el, visitorNode, messageNode } = window.RelayConsoleViews;
  const { t } = window.RelayConsoleI18n;


  /** Says `text` to screen readers (the header's assertive live region). */
  function announce(text) {
    const region = $("announcer");
    region.textContent = "";
    // A fresh node after a tick, so the same words twice are read twice.
    setTimeout(() => region.replaceChildren(el("p", { text })), 50);
  }

  function flash(text) {
    $("conversation").querySelector(".typing")?.replaceChildren(text || "");
  }

  // ---------------------------------------------------------------------------------------
  // Sign-in.
  function decodeClaims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch (e) {
      return null;
    }
  }

  async function signIn(token) {
    state.token = token.trim();
    state.claims = decodeClaims(state.token);
    try {
      if (!state.claims || !["agent", "admin"].includes(state.claims.role)) {
        throw new Error(t("notStaffToken"));
      }
      state.me = await api("GET", "/v1/agents/me");
    } catch (e) {
      $("signin-error").textContent = t("signinFailed", { reason: e.message });
      showSignIn();
      return;
    }
    sessionStorage.setItem("relay-console-token", state.token);
    $("signin").hidden = true;
    $("app").hidden = false;
    $("who").textContent = state.claims.sub + " · " + state.claims.role + " · " + state.claims.acct;
    $("settings-tab").hidden = $("reports-tab").hidden = state.claims.role !== "admin";
    $("view-all").hidden = state.claims.role !== "admin";
    renderStatus();
    await refreshOffers();
    await loadInbox();
    connect();
  }

  function showSignIn() {
    $("signin").hidden = false;
    $("app").hidden = true;
  }

  $("signin-button").addEventListener("click", () => signIn($("token-input").value));
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem("relay-console-token");
    location.hash = "";
    location.reload();
  });

  // ---------------------------------------------------------------------------------------
  // Status and offers.
  function renderStatus() {
    for (const button of document.querySelectorAll("[data-status]")) {
      const on = Boolean(state.me && button.dataset.status === state.me.status);
      button.classList.toggle("active", on);
      button.setAttribute("aria-pressed", String(on)); // the state, not only its colour
    }
    const capacity = state.me && state.me.capacity ? state.me.capacity.messaging : 0;
    const load = state.me && state.me.load ? state.me.load.messaging : 0;
    $("capacity").textContent =
      capacity > 0
        ? t("capacity", { load, capacity })
        : t("noCapacity");
  }

  for (const button of document.querySelectorAll("[data-status]")) {
    button.addEventListener("click", async () => {
      try {
        state.me = await api("PUT", "/v1/agents/me/status", { status: button.dataset.status });
        renderStatus();
      } catch (e) {
        alert(t("statusNotChanged", { reason: e.message }));
      }
    });
  }

  async function refreshMe() {
    try {
      state.me = await api("GET", "/v1/agents/me");
      renderStatus();
    } catch (e) {
      /* the next change refreshes it */
    }
  }

  async function refreshOffers() {
    try {
      const result = await api("GET", "/v1/agents/me/offers");
      state.offers = new Map(result.offers.map((o) => [o.conversation_id, o]));
      renderOffers();
    } catch (e) {
      /* shown as empty; the WebSocket brings new ones */
    }
  }

  function renderOffers() {
    const list = $("offers");
    list.replaceChildren();
    window.RelayAlerts.count(state.offers.size);
    if (state.offers.size === 0) {
      list.append(el("li", { class: "empty", text: t("noOffers") }));
      return;
    }
    for (const offer of state.offers.values()) {
      const countdown = el("span", { class: "countdown", "data-expires": offer.expires_at });
      list.append(
        el(
          "li",
          { "data-offer": offer.conversation_id },
          el("span", { text: t("newConversation") }),
          countdown,
          el("button", { class: "primary", text: t("accept"), onclick: () => accept(offer.conversation_id) })
        )
      );
    }
    tickCountdowns();
  }

  function tickCountdowns() {
    const now = Date.now();
    for (const node of document.querySelectorAll("[data-expires]")) {
      const left = Math.max(0, Math.round((Date.parse(node.dataset.expires) - now) / 1000));
      node.textContent = left + " s";
    }
    for (const [cid, offer] of state.offers) {
      if (Date.parse(offer.expires_at) < now - 1000) {
        state.offers.delete(cid);
        renderOffers();
        return;
      }
    }
  }
  setInterval(tickCountdowns, 1000);

  async function accept(cid) {
    try {
      await api("POST", `/v1/conversations/${cid}/accept`, {});
      state.offers.delete(cid);
      renderOffers();
      await refreshMe();
      await openConversation(cid);
      reloadInboxSoon();
    } catch (e) {
      state.offers.delete(cid);
      renderOffers();
      alert(e.code === "offer_not_standing" ? t("offerWithdrawn") : t("notAccepted", { reason: e.message }));
    }
  }

  // ---------------------------------------------------------------------------------------
  // Inbox and the conversation view.
  // The inbox is the server's (GET /v1/inbox): mine, waiting, or the whole account (admins).
  async function loadInbox() {
    try {
      const page = await api("GET", `/v1/inbox?view=${state.inboxView}&limit=50`);
      state.inbox = page.conversations;
    } catch (e) {
      flash(t("inboxNotLoaded", { reason: e.message }));
    }
    renderInbox();
  }

  // Frames arrive in bursts; one reload covers a burst.
  let inboxReload = null;
  function reloadInboxSoon() {
    clearTimeout(inboxReload);
    inboxReload = setTimeout(loadInbox, 300);
  }
  setInterval(() => state.token && loadInbox(), 15000);

  for (const button of document.querySelectorAll("[data-inbox]")) {
    button.addEventListener("click", () => {
      state.inboxView = button.dataset.inbox;
      for (const b of document.querySelectorAll("[data-inbox]")) {
        b.classList.toggle("active", b === button);
        b.setAttribute("aria-pressed", String(b === button));
      }
      loadInbox();
    });
  }

  function customerName(c) {
    const who = c.end_user || {};
    return who.name || who.email || who.id || "customer";
  }

  function renderInbox() {
    const list = $("inbox");
    list.replaceChildren();
    if (state.inbox.length === 0) {
      const empty = { mine: "emptyMine", waiting: "emptyWaiting", all: "emptyAll" };
      list.append(el("li", { class: "empty", text: t(empty[state.inboxView]) }));
      return;
    }
    for (const c of state.inbox) {
      const badges = [];
      if (c.priority && c.priority !== "normal") badges.push(el("span", { class: "badge priority-" + c.priority, text: c.priority }));
      if (c.group) badges.push(el("span", { class: "badge", text: c.group }));
      list.append(
        el(
          "li",
          {
            class: state.current && state.current.id === c.id ? "selected" : "",
            "data-conversation": c.id,
            onclick: () => openConversation(c.id),
          },
          el("div", {}, el("span", { text: customerName(c) }), ...badges),
          el("div", { class: "meta", text: `${c.session} · ${c.control} · ${c.ticket_status}${c.assignee ? " · " + c.assignee : ""}` })
        )
      );
    }
  }

  async function setPriority(priority) {
    const c = state.current;
    try {
      state.current = await api("PATCH", `/v1/conversations/${c.id}`, { priority });
      renderConversation();
      reloadInboxSoon();
    } catch (e) {
      alert(t("notChanged", { reason: e.message }));
    }
  }

  async function openConversation(cid) {
    try {
      const c = await api("GET", `/v1/conversations/${cid}`);
      state.current = c;
      state.log = new Core.MessageLog(c.id);
      state.tabs.set(c.id, { label: customerName(c), unread: false });
      send({ action: "subscribe", conversation_id: c.id });
      await catchUp();
      renderConversation();
      renderInbox();
      renderTabs();
    } catch (e) {
      alert(e.status === 404 ? t("noSuchConversation") : e.message);
    }
  }

  // Several conversations open at once, as tabs: each stays subscribed, and one that gets a
  // message while another is shown is marked unread until it is shown.
  function renderTabs() {
    const nav = $("conv-tabs");
    nav.hidden = state.tabs.size === 0;
    nav.replaceChildren();
    for (const [cid, tab] of state.tabs) {
      const current = state.current && state.current.id === cid;
      const label = tab.unread ? t("newMessages", { name: tab.label }) : tab.label;
      const open = el("button", { class: "open", text: tab.label, title: label, "data-tab": cid, onclick: () => openConversation(cid) });
      if (current) open.setAttribute("aria-current", "true");
      if (tab.unread) open.setAttribute("aria-label", label);
      const close = el("button", { text: "×", "aria-label": t("closeTab", { name: tab.label }), onclick: () => closeTab(cid) });
      nav.append(el("span", { class: "conv-tab" + (current ? " current" : "") + (tab.unread ? " unread" : "") }, open, close));
    }
  }

  function closeTab(cid) {
    state.tabs.delete(cid);
    if (state.current && state.current.id === cid) {
      const next = [...state.tabs.keys()].pop();
      state.current = null;
      state.log = new Core.MessageLog(null);
      if (next) openConversation(next);
      else renderConversation();
    }
    renderTabs();
  }

  $("open-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("open-id").value.trim();
    if (id) openConversation(id);
  });

  async function catchUp() {
    if (state.current) await Core.catchUp(api, state.log);
  }

  // At least once: the log drops repeats and other conversations' messages. A redacted
  // message replaces the one of its seq.
  const addMessage = (m) => state.log.add(m);
  const replaceMessage = (m) => state.log.replace(m);

  function renderConversation() {
    const c = state.current;
    const view = $("conversation");
    if (!c) {
      view.replaceChildren(el("div", { class: "placeholder", text: t("pick") }));
      knowledge.attach(null);
      return;
    }
    const messages = el("div", { class: "messages", "data-testid": "messages" });
    for (const m of state.log.messages) messages.append(messageNode(m, api));
    const text = el("textarea", { "aria-label": t("reply"), placeholder: t(state.noteMode ? "notePlaceholder" : "replyPlaceholder"), "data-testid": "reply" });
    const noteToggle = el("input", { type: "checkbox", id: "note-toggle", "data-testid": "note-toggle" });
    noteToggle.checked = state.noteMode;
    const fileInput = el("input", { type: "file", hidden: "", "data-testid": "console-file" });
    fileInput.addEventListener("change", () => attach(fileInput.files[0]).finally(() => (fileInput.value = "")));
    const composer = el(
      "div",
      { class: "composer" + (state.noteMode ? " note" : "") },
      el("button", { text: t("attach"), title: t("attachTitle"), onclick: () => fileInput.click() }),
      fileInput,
      text,
      el("label", {}, noteToggle, t("internalNote")),
      el("button", { class: "primary", text: t("send"), "data-testid": "send-reply", onclick: () => reply(text) })
    );
    knowledge.attach(c, state.log, text, composer); // the draft, macro picker and article pane
    noteToggle.addEventListener("change", () => {
      state.noteMode = noteToggle.checked;
      composer.classList.toggle("note", state.noteMode);
      text.placeholder = t(state.noteMode ? "notePlaceholder" : "replyPlaceholder");
    });
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        reply(text);
      }
    });
    text.addEventListener("input", typingStarted);
    view.replaceChildren(
      el(
        "div",
        { class: "conv-head" },
        el("span", { class: "title", text: customerName(c) }),
        el("span", { class: "facts", "data-testid": "customer", text: [c.end_user && c.end_user.email, t("ticket", { id: c.ticket_id })].filter(Boolean).join(" · ") }),
        priorityPicker(c),
        el("span", { class: "facts", "data-testid": "facts", text: t("facts", {
            no: c.session_no,
            session: c.session,
            control: c.control,
            status: c.ticket_status,
            assignee: c.assignee ? t("assignedTo", { agent: c.assignee }) : t("unassigned"),
          }),
        }),
        el("button", { text: t("endSession"), "data-testid": "end-session", onclick: () => lifecycle("end") }),
        el("button", { text: t("closeTicket"), "data-testid": "close-ticket", onclick: () => lifecycle("close") })
      ),
      ...[visitorNode(c)].filter(Boolean), // nothing until the widget says where they are
      messages,
      el("div", { class: "typing" }),
      composer
    );
    messages.scrollTop = messages.scrollHeight;
    if (state.log.lastSeq) {
      api("POST", `/v1/conversations/${c.id}/events`, { type: "read", seq: state.log.lastSeq }).catch(() => {});
    }
  }

  function priorityPicker(c) {
    const select = el("select", { "aria-label": t("priority"), "data-testid": "priority" });
    for (const p of ["low", "normal", "high", "urgent"]) {
      const option = el("option", { value: p, text: p });
      if (p === c.priority) option.selected = true;
      select.append(option);
    }
    select.addEventListener("change", () => setPriority(select.value));
    return select;
  }

  async function reply(textarea) {
    const c = state.current;
    const text = textarea.value.trim();
    if (!c || !text) return;
    textarea.value = "";
    try {
      const result = await api("POST", `/v1/conversations/${c.id}/messages`, {
        client_message_id: Core.uuid(),
        type: state.noteMode ? "internal_note" : "text",
        text,
      }, { retry: true }); // R14: stored once per client_message_id
      if (addMessage(result.message)) renderConversation();
    } catch (e) {
      textarea.value = text;
      flash(t("notSent", { reason: e.message }));
    }
  }

  /** admit → upload → complete (widget/uploads.js, shared with the widget) → a message. */
  async function attach(file) {
    const c = state.current;
    if (!c || !file) return;
    try {
      flash(t("uploading", { name: file.name }));
      const id = await window.RelayUploads.sendFile({ request: api, conversationId: c.id, file });
      const result = await api(
        "POST",
        `/v1/conversations/${c.id}/messages`,
        { client_message_id: Core.uuid(), type: "attachment", text: file.name, attachment_ids: [id] },
        { retry: true }
      );
      flash("");
      if (addMessage(result.message)) renderConversation();
    } catch (e) {
      const why =
        e.code === "rejected"
          ? t("refused", { reason: e.reason || t("notAllowed") })
          : e.code === "upload_failed"
            ? t("uploadFailed")
            : e.message;
      flash(t("notAttached", { reason: why }));
    }
  }

  async function lifecycle(action) {
    const c = state.current;
    if (!c) return;
    try {
      await api("POST", `/v1/conversations/${c.id}/${action}`, {});
      state.current = await api("GET", `/v1/conversations/${c.id}`);
      await catchUp();
      renderConversation();
      reloadInboxSoon();
      await refreshMe();
    } catch (e) {
      flash(e.code === "session_ending_disabled" ? t("endingDisabled") : e.message);
    }
  }

  let typingUntil = 0;
  function typingStarted() {
    const c = state.current;
    if (!c || Date.now() < typingUntil) return;
    typingUntil = Date.now() + 3000;
    send({ action: "typing", conversation_id: c.id, state: "start" });
  }

  // ---------------------------------------------------------------------------------------
  // Real time.
  function send(frame) {
    if (state.connection) state.connection.send(frame);
  }

  function live(up) {
    $("live").classList.toggle("up", up);
    $("live").setAttribute("aria-label", t(up ? "liveUp" : "liveDown"));
  }

  function connect() {
    state.connection = Core.connectSocket({
      url: () => realtimeUrl + "?token=" + encodeURIComponent(state.token),
      onFrame,
      onUp() {
        live(true);
        if (state.current) {
          for (const cid of state.tabs.keys()) send({ action: "subscribe", conversation_id: cid });
          catchUp().then(renderConversation).catch(() => {});
        }
        refreshOffers();
      },
      onDown: () => live(false),
    });
  }

  function onFrame(frame) {
    const data = frame.data || {};
    switch (frame.type) {
      case "offer.created": {
        const seconds = Math.max(0, Math.round((Date.parse(data.expires_at) - Date.now()) / 1000));
        if (!state.offers.has(data.conversation_id)) {
          announce(t("offerAnnounced", { seconds }));
          window.RelayAlerts.offer(t("offerNotice", { seconds }));
        }
        state.offers.set(data.conversation_id, data);
        renderOffers();
        reloadInboxSoon();
        break;
      }
      case "offer.withdrawn":
        state.offers.delete(data.conversation_id);
        renderOffers();
        break;
      case "message.redacted":
        if (replaceMessage(data.message)) renderConversation();
        break;
      case "message.created": {
        const cid = data.message.conversation_id;
        const tab = state.tabs.get(cid);
        if (tab && !(state.current && state.current.id === cid) && !tab.unread) {
          tab.unread = true;
          renderTabs();
        }
        if (addMessage(data.message)) renderConversation();
        reloadInboxSoon(); // newest activity first
        break;
      }
      case "conversation.updated": {
        const c = data.conversation;
        if (state.current && state.current.id === c.id) {
          state.current = c;
          renderConversation();
        }
        reloadInboxSoon();
        break;
      }
      case "typing":
        if (state.current && data.conversation_id === state.current.id && data.author_id !== state.claims.sub) {
          flash(data.state === "start" ? t("typing") : "");
        }
        break;
      default:
        break;
    }
  }

  // Another language: the page's own texts, then everything drawn from data.
  $("language").addEventListener("change", (e) => {
    window.RelayConsoleI18n.set(e.target.value);
    renderStatus();
    renderOffers();
    renderInbox();
    renderTabs();
    renderConversation();
    live(Boolean(state.connection && state.connection.up));
    window.RelayAlerts.render();
  });

  // The admins' settings and reports pages (console/settings.js, console/reports.js) and the
  // offer alerts (console/alerts.js).
  window.RelayConsoleSettings(api);
  window.RelayConsoleReports(api, { base: apiBase, token: () => state.token });
  // The knowledge pane and the composer's `/` macros (console/knowledge.js).
  const knowledge = window.RelayConsoleKnowledge(api, { flash, posted: (m) => addMessage(m) && renderConversation() });

  // ---------------------------------------------------------------------------------------
  // Start.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  const saved = fromHash || sessionStorage.getItem("relay-console-token");
  if (fromHash) history.replaceState(null, "", location.pathname + location.search);
  if (saved) signIn(saved);
  else showSignIn();
})(window.RelayCore);
