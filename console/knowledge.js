/*
 * The agent's daily tools beside the composer (#36): the knowledge pane and the `/` macro picker.
 *
 * The pane (#knowledge in index.html) suggests articles for the customer's last message
 * (GET /v1/articles/search, in the conversation's language when its end user has one), has a
 * search box over the same endpoint, and each result inserts into the reply either a link to
 * the article or its first paragraph quoted with "> " (GET /v1/articles/{id}).
 *
 * `/` at the start of the reply opens a listbox of the account's macros (GET /v1/macros) whose
 * titles hold the words typed after it; the focus stays in the reply (aria-activedescendant):
 * up and down choose, Enter previews, Escape closes. A preview is the macro filled for this
 * conversation (POST …/macros/{id}/apply with preview: true); its Send posts it under the same
 * client_message_id, so a retry never posts twice.
 *
 * console.js draws the composer anew for every change; `attach(c, log, textarea, composer)`,
 * called each time before the new composer is shown (`attach(null)` when no conversation is
 * open), carries the draft, the focus, the open picker and the preview over to it.
 * console.js calls RelayConsoleKnowledge(api, { flash, posted }) once: `flash(text)` is its
 * status line, `posted(message)` adds a message it posted to the conversation shown.
 */
window.RelayConsoleKnowledge = function (api, hooks) {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { el } = window.RelayConsoleViews;
  const { t } = window.RelayConsoleI18n;
  const Core = window.RelayCore;

  const SUGGESTIONS = 3;
  const RESULTS = 5;
  const SHOWN_MACROS = 50;
  const MAX_QUERY = 500; // the search's `q`, in characters

  // The composer shown now, and each conversation's unsent reply.
  let bound = { cid: null, textarea: null, composer: null, picker: null, preview: null };
  const drafts = new Map();

  // ---------------------------------------------------------------------------------------
  // The composer: attach, draft and focus carried over.
  function attach(c, log, textarea, composer) {
    const old = bound;
    const focused = document.activeElement;
    let refocus = null;
    if (old.textarea) {
      drafts.set(old.cid, old.textarea.value);
      if (focused === old.textarea) refocus = { testid: "reply", start: focused.selectionStart, end: focused.selectionEnd };
      else if (old.composer && old.composer.contains(focused) && focused.dataset.testid) refocus = { testid: focused.dataset.testid };
    }
    if (!c) {
      closePicker();
      bound = { cid: null, textarea: null, composer: null, picker: null, preview: null };
      $("knowledge").hidden = true;
      return;
    }
    if (old.cid !== c.id) closePicker();
    textarea.value = drafts.get(c.id) || "";
    // The combobox pattern as far as a textarea may carry it (no role: axe's aria-allowed-role).
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-haspopup", "listbox");
    textarea.addEventListener("keydown", (e) => pickerKey(e, textarea), true);
    textarea.addEventListener("input", () => pickerInput(textarea, composer));
    textarea.addEventListener("blur", () => bound.textarea === textarea && closePicker());
    const picker = el("div", { class: "macro-picker", hidden: "", "data-testid": "macro-picker" });
    const preview = el("div", { class: "macro-preview", role: "region", "aria-labelledby": "macro-preview-title", hidden: "", "data-testid": "macro-preview" });
    preview.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        cancelPreview();
      }
    });
    composer.append(picker, preview);
    bound = { cid: c.id, textarea, composer, picker, preview };
    renderPicker();
    renderPreview();
    paneFor(c, log);
    if (refocus) {
      // Once console.js has put the new composer on the page.
      queueMicrotask(() => {
        const node = refocus.testid === "reply" ? textarea : composer.querySelector(`[data-testid="${refocus.testid}"]`);
        if (!node || !node.isConnected) return;
        node.focus();
        if (refocus.start != null) node.setSelectionRange(refocus.start, refocus.end);
      });
    }
  }

  /** Puts `text` at the reply's caret: a link inline, a quote (`block`) on lines of its own. */
  function insert(text, block) {
    const area = bound.textarea;
    if (!area) return;
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? start;
    const before = area.value.slice(0, start);
    const after = area.value.slice(end);
    const lead = block ? (before && !before.endsWith("\n") ? "\n" : "") : before && !/\s$/.test(before) ? " " : "";
    const tail = block ? "\n" : after && !/^\s/.test(after) ? " " : "";
    area.setRangeText(lead + text + tail, start, end, "end");
    drafts.set(bound.cid, area.value);
    area.focus();
  }

  // ---------------------------------------------------------------------------------------
  // The macro picker.
  const picker = { open: false, dismissed: false, macros: null, loading: false, query: "", items: [], active: 0 };

  function pickerInput(textarea, composer) {
    const typed = /^\/([^\n]*)$/.exec(textarea.value.slice(0, textarea.selectionStart));
    // A note is never a macro: applying one posts to the customer.
    if (!typed || composer.classList.contains("note")) {
      picker.dismissed = false;
      closePicker();
      return;
    }
    if (textarea.value === "/") picker.dismissed = false; // a new `/`
    if (picker.dismissed) return;
    picker.query = typed[1].trim().toLowerCase();
    if (!picker.open) {
      picker.open = true;
      picker.active = 0;
      loadMacros();
    }
    filterMacros();
    renderPicker();
  }

  async function loadMacros() {
    picker.loading = true;
    renderPicker();
    try {
      picker.macros = (await api("GET", "/v1/macros")).macros || [];
    } catch (e) {
      hooks.flash(t("macrosFailed", { reason: e.message }));
      picker.macros = picker.macros || [];
    }
    picker.loading = false;
    filterMacros();
    renderPicker();
  }

  function filterMacros() {
    const all = picker.macros || [];
    picker.items = all.filter((m) => m.title.toLowerCase().includes(picker.query)).slice(0, SHOWN_MACROS);
    picker.active = Math.min(picker.active, Math.max(0, picker.items.length - 1));
  }

  function closePicker() {
    if (!picker.open) return;
    picker.open = false;
    renderPicker();
  }

  function pickerKey(e, textarea) {
    if (!picker.open || e.isComposing) return;
    const count = picker.items.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (count) picker.active = (picker.active + (e.key === "ArrowDown" ? 1 : count - 1)) % count;
      renderPicker();
    } else if (e.key === "Enter" && !e.shiftKey) {
      // Never sends the "/…" typed: Enter picks, or does nothing while nothing matches.
      e.preventDefault();
      e.stopImmediatePropagation();
      if (count) pick(picker.items[picker.active]);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopImmediatePropagation();
      picker.dismissed = true;
      closePicker();
      textarea.focus();
    }
  }

  function renderPicker() {
    const { picker: box, textarea } = bound;
    if (!box || !textarea) return;
    const status = $("macro-status");
    if (!picker.open) {
      box.hidden = true;
      box.replaceChildren();
      for (const name of ["aria-controls", "aria-activedescendant"]) textarea.removeAttribute(name);
      if (status.textContent) status.textContent = "";
      return;
    }
    box.hidden = false;
    let said;
    if (picker.items.length === 0) {
      said = picker.loading ? t("macrosLoading") : t("macroNone", { q: picker.query });
      box.replaceChildren(el("p", { class: "macro-empty", text: said }));
      for (const name of ["aria-controls", "aria-activedescendant"]) textarea.removeAttribute(name);
    } else {
      const list = el("ul", { id: "macro-listbox", role: "listbox", "aria-label": t("macros"), "data-testid": "macro-listbox" });
      picker.items.forEach((m, i) => {
        const option = el(
          "li",
          {
            id: "macro-option-" + i,
            role: "option",
            "aria-selected": String(i === picker.active),
            "data-macro": m.id,
            onmousedown: (e) => e.preventDefault(), // the focus stays in the reply
            onclick: () => pick(m),
          },
          el("span", { class: "macro-title", text: m.title }),
          el("span", { class: "macro-text", text: m.text })
        );
        list.append(option);
      });
      box.replaceChildren(list);
      textarea.setAttribute("aria-controls", "macro-listbox");
      textarea.setAttribute("aria-activedescendant", "macro-option-" + picker.active);
      list.children[picker.active].scrollIntoView({ block: "nearest" });
      said = t("macroCount", { count: picker.items.length });
    }
    if (status.textContent !== said) status.textContent = said;
  }

  // ---------------------------------------------------------------------------------------
  // The macro's preview, then Send.
  let preview = null; // { cid, macro, cmid, text, busy }
  const applyPath = (p) => `/v1/conversations/${p.cid}/macros/${encodeURIComponent(p.macro.id)}/apply`;

  async function pick(macro) {
    closePicker();
    const p = { cid: bound.cid, macro, cmid: Core.uuid(), text: null, busy: true };
    preview = p;
    renderPreview();
    try {
      const shown = await api("POST", applyPath(p), { client_message_id: p.cmid, preview: true });
      if (preview !== p) return;
      p.text = shown.text;
      p.busy = false;
      renderPreview();
      if (bound.cid === p.cid) bound.preview.querySelector("[data-testid=macro-send]").focus();
    } catch (e) {
      if (preview !== p) return;
      preview = null;
      renderPreview();
      hooks.flash(t("macroNotApplied", { reason: e.message }));
      bound.textarea?.focus();
    }
  }

  async function sendPreview() {
    const p = preview;
    if (!p || p.busy) return;
    p.busy = true;
    renderPreview();
    try {
      // R14: posted once per client_message_id, however often this is retried.
      const result = await api("POST", applyPath(p), { client_message_id: p.cmid, preview: false }, { retry: true });
      if (preview === p) preview = null;
      drafts.set(p.cid, "");
      if (bound.cid === p.cid) bound.textarea.value = "";
      renderPreview();
      hooks.posted(result.message);
      if (bound.cid === p.cid) bound.textarea.focus();
    } catch (e) {
      p.busy = false;
      renderPreview();
      hooks.flash(t("macroNotApplied", { reason: e.message }));
    }
  }

  function cancelPreview() {
    preview = null;
    renderPreview();
    bound.textarea?.focus();
  }

  function renderPreview() {
    const box = bound.preview;
    if (!box) return;
    const p = preview && preview.cid === bound.cid ? preview : null;
    box.hidden = !p;
    if (!p) {
      box.replaceChildren();
      return;
    }
    const send = el("button", { class: "primary", text: t("send"), "data-testid": "macro-send", onclick: sendPreview });
    if (p.busy) send.disabled = true;
    box.replaceChildren(
      el("p", { id: "macro-preview-title", class: "macro-preview-title", text: t("macroPreview", { title: p.macro.title }) }),
      el("p", { class: "macro-preview-text", "data-testid": "macro-preview-text", text: p.text ?? t("macroFilling") }),
      send,
      el("button", { text: t("cancel"), "data-testid": "macro-cancel", onclick: cancelPreview })
    );
  }

  // ---------------------------------------------------------------------------------------
  // The knowledge pane.
  const pane = { cid: null, seq: null, last: "", locale: null, results: [], status: () => "", lang: null, asked: 0 };

  /** The customer's last message with words in it (their files' names are not questions). */
  function lastCustomerText(log) {
    const messages = log ? log.messages : [];
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      if (m.author && m.author.role === "end_user" && m.type === "text" && !m.redacted && (m.text || "").trim()) return m;
    }
    return null;
  }

  function paneFor(c, log) {
    $("knowledge").hidden = false;
    const locale = c.end_user && c.end_user.locale;
    pane.locale = ["en", "fr"].includes(locale) ? locale : null;
    if (pane.cid !== c.id) {
      pane.cid = c.id;
      pane.seq = null;
      $("knowledge-q").value = "";
    }
    const last = lastCustomerText(log);
    const seq = last ? last.seq : 0;
    if (seq !== pane.seq) {
      pane.seq = seq;
      pane.last = last ? last.text : "";
      // The agent's own search stays until they clear it.
      if (!$("knowledge-q").value.trim()) suggest();
    } else if (pane.lang !== document.documentElement.lang) renderResults();
  }

  function suggest() {
    if (!pane.last.trim()) {
      pane.results = [];
      pane.status = () => t("knowledgeNoMessage");
      renderResults();
      return;
    }
    search(pane.last, SUGGESTIONS, true);
  }

  async function search(q, limit, suggesting) {
    const asked = ++pane.asked;
    pane.status = () => t("knowledgeSearching");
    $("knowledge-status").textContent = pane.status();
    // Published articles only: the pane offers what may be sent to the customer.
    const query = new URLSearchParams({ q: Array.from(q.trim()).slice(0, MAX_QUERY).join(""), limit: String(limit), published: "true" });
    if (pane.locale) query.set("locale", pane.locale);
    let results = [];
    let status;
    try {
      results = (await api("GET", "/v1/articles/search?" + query)).articles || [];
      const count = results.length;
      if (suggesting) status = count ? () => t("knowledgeSuggested", { count }) : () => t("knowledgeNoSuggestion");
      else status = count ? () => t("knowledgeFound", { q, count }) : () => t("knowledgeNone", { q });
    } catch (e) {
      status = () => t("knowledgeFailed", { reason: e.message });
    }
    if (asked !== pane.asked) return; // a newer search answers
    pane.results = results;
    pane.status = status;
    renderResults();
  }

  function renderResults() {
    pane.lang = document.documentElement.lang;
    $("knowledge-status").textContent = pane.status();
    $("knowledge-results").replaceChildren(
      ...pane.results.map((a, i) => {
        const title = "knowledge-article-" + i;
        return el(
          "li",
          { "data-article": a.id },
          el("h3", { id: title, text: a.title }),
          el("p", { class: "snippet", text: a.snippet || "" }),
          el(
            "div",
            { class: "article-actions" },
            el("button", { text: t("insertLink"), "aria-describedby": title, "data-testid": "insert-link", onclick: () => insert(linkTo(a)) }),
            el("button", { text: t("insertQuote"), "aria-describedby": title, "data-testid": "insert-quote", onclick: () => quote(a) })
          )
        );
      })
    );
  }

  // The article's help-centre address when the account set one (help_center.base_url), else
  // its title and id.
  const linkTo = (a) => a.url || t("articleLink", { title: a.title, id: a.id });

  async function quote(a) {
    try {
      const article = await api("GET", `/v1/articles/${encodeURIComponent(a.id)}`);
      const paragraph = firstParagraph(article.body);
      if (!paragraph) throw new Error(t("articleEmpty"));
      insert(paragraph.split("\n").map((line) => "> " + line).join("\n"), true);
    } catch (e) {
      hooks.flash(t("quoteFailed", { reason: e.message }));
    }
  }

  /**
   * The body's first paragraph of prose (headings skipped) as a message reads it: plain text,
   * a link's address after its words, no emphasis marks.
   */
  function firstParagraph(body) {
    const paragraphs = String(body || "").split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
    const prose = paragraphs.find((p) => !/^#{1,6}\s/.test(p)) || "";
    return prose
      .replace(/!?\[([^\]]*)\]\(([^)\s]+)[^)]*\)/g, (_, words, url) => (words ? `${words} (${url})` : url))
      .replace(/(\*\*|__)(.+?)\1/g, "$2")
      .replace(/\*(\S(?:[^*]*\S)?)\*/g, "$1")
      .replace(/`([^`]+)`/g, "$1");
  }

  $("knowledge-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("knowledge-q").value.trim();
    if (q) search(q, RESULTS, false);
    else suggest(); // an emptied search box: the suggestions again
  });

  return { attach };
};
