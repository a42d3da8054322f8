/*
 * Pieces of the console's page drawn from data (no state of the console's): elements built
 * with text only, never parsed from strings holding data, a message (its files' links asked of
 * the API) and the visitor context panel.
 */
window.RelayConsoleViews = (function () {
  "use strict";
  const { t, formatTime } = window.RelayConsoleI18n;

  // The widget has the same builder: shared through core.js it would cost the widget's size
  // budget more than it saves (each file is compressed on its own).
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

  /** Where the customer is: browser, OS, device and the pages they were on (newest first). */
  function visitorNode(c) {
    const v = c.visitor_context;
    if (!v) return null;
    const device = [v.browser, v.os, v.device].filter(Boolean).join(" · ");
    const pages = el("ol", { class: "pages" });
    for (const p of [...v.pages].reverse()) {
      const when = formatTime(p.at);
      pages.append(el("li", {}, el("span", { text: p.title || p.path }), " ", el("code", { text: p.path }), " ", el("time", { text: when })));
    }
    return el(
      "details",
      { class: "visitor", "data-testid": "visitor" },
      el("summary", { text: t("visitor", { device: device || t("unknownBrowser"), count: v.pages.length }) }),
      pages
    );
  }

  /** One message as staff read it; its files' links are asked of the API (`api`). */
  function messageNode(m, api) {
    const kind =
      m.type === "internal_note" ? "note" : m.type === "system" ? "system" : m.author.role === "bot" ? "bot" : m.author.role === "agent" ? "agent" : "end_user";
    const who =
      kind === "note"
        ? t("internalNoteBy", { who: m.author.id })
        : kind === "end_user"
          ? t("customerWho", { who: m.author.id })
          : m.author.role + " · " + m.author.id;
    const node = el("div", { class: "msg " + kind, "data-seq": String(m.seq), "data-type": m.type });
    if (kind !== "system") node.append(el("span", { class: "who", text: who }));
    if (m.redacted) {
      const how = m.redacted.reason === "erased" ? t("erasedText") : t("removedBy", { who: m.redacted.by || t("staff") });
      node.append(el("span", { class: "text redacted", text: how }));
    } else node.append(el("span", { class: "text", text: m.text || "" }));
    for (const aid of m.attachment_ids || []) node.append(attachmentLink(m.conversation_id, aid, api));
    return node;
  }

  function attachmentLink(cid, aid, api) {
    const holder = el("div", { class: "file", text: t("attachmentLoading") });
    api("GET", `/v1/conversations/${cid}/attachments/${aid}`)
      .then((a) => {
        holder.replaceChildren(
          a.download_url
            ? el("a", { href: a.download_url, target: "_blank", rel: "noopener noreferrer", text: t("attachment", { name: a.file_name }) })
            : t("attachmentState", { name: a.file_name, status: a.status })
        );
      })
      .catch(() => (holder.textContent = t("attachmentUnavailable")));
    return holder;
  }

  return { el, visitorNode, messageNode };
})();
