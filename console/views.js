/*
 * Pieces of the console's page drawn from data alone (no network, no state): elements built
 * with text only, never parsed from strings holding data, and the visitor context panel.
 */
window.RelayConsoleViews = (function () {
  "use strict";

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
      const when = new Date(p.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      pages.append(el("li", {}, el("span", { text: p.title || p.path }), " ", el("code", { text: p.path }), " ", el("time", { text: when })));
    }
    return el(
      "details",
      { class: "visitor", "data-testid": "visitor" },
      el("summary", { text: "Visitor: " + (device || "unknown browser") + " · " + v.pages.length + " pages" }),
      pages
    );
  }

  return { el, visitorNode };
})();
