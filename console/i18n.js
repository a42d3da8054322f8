/*
 * The console's languages: one table per language in locales/ (English and French), chosen
 * by the header's Language menu (remembered in this browser), else `?lang=`, else the
 * browser's languages. `t(key, values)` fills `{name}`s; `apply()` sets the page's own texts
 * from its `data-i18n`, `data-i18n-placeholder`, `data-i18n-aria-label` and
 * `data-i18n-title` attributes; `formatTime` uses Intl in the chosen language.
 */
window.RelayConsoleI18n = (function () {
  "use strict";
  const tables = self.RelayConsoleLocales;
  const KEY = "relay-console-locale";
  const pick = (tags) =>
    tags.map((tag) => String(tag || "").toLowerCase().split("-")[0]).find((l) => tables[l]) || "en";
  let locale = pick([localStorage.getItem(KEY), new URLSearchParams(location.search).get("lang"), ...navigator.languages]);

  const t = (key, values) =>
    String(tables[locale][key] ?? tables.en[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => (values || {})[name] ?? "");

  function apply() {
    document.documentElement.lang = locale;
    document.title = t("pageTitle");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const attribute of ["placeholder", "aria-label", "title"]) {
      for (const node of document.querySelectorAll(`[data-i18n-${attribute}]`)) {
        node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
      }
    }
    const menu = document.getElementById("language");
    if (menu) menu.value = locale;
  }

  function set(tag) {
    locale = pick([tag]);
    localStorage.setItem(KEY, locale);
    apply();
  }

  const formatTime = (iso) => new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));

  apply();
  return { t, apply, set, formatTime, languages: Object.keys(tables) };
})();
