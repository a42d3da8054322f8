/*
 * The console's settings page (admins): the account's settings as a JSON document, changed
 * with a JSON Merge Patch sent with If-Match (the version read); a conflict says which version
 * is current without replacing what the admin is looking at. Also the header's view buttons
 * (Workspace, Settings, Reports). console.js calls RelayConsoleSettings(api) with the core's HTTP.
 */
window.RelayConsoleSettings = function (api) {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { t } = window.RelayConsoleI18n;
  let settingsVersion = null;

  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const t of document.querySelectorAll(".tab")) {
        t.classList.toggle("active", t === tab);
        t.setAttribute("aria-pressed", String(t === tab));
      }
      for (const view of ["workspace", "settings", "reports"]) $(view).hidden = tab.dataset.view !== view;
      if (tab.dataset.view === "settings") loadSettings();
    });
  }

  async function loadSettings() {
    try {
      const result = await api("GET", "/v1/settings");
      settingsVersion = result.version;
      $("settings-version").textContent = t("version", { version: result.version });
      $("settings-if-match").textContent = String(result.version);
      $("settings-document").textContent = JSON.stringify(result.settings, null, 2);
    } catch (e) {
      $("settings-result").textContent = t("cannotRead", { reason: e.message });
    }
  }

  $("settings-reload").addEventListener("click", loadSettings);
  $("settings-apply").addEventListener("click", async () => {
    let patch;
    try {
      patch = JSON.parse($("settings-patch").value);
    } catch (e) {
      $("settings-result").textContent = t("notJson");
      return;
    }
    try {
      const result = await api("PATCH", "/v1/settings", patch, { headers: { "if-match": String(settingsVersion) } });
      $("settings-result").textContent = t("saved", { version: result.version });
      await loadSettings();
    } catch (e) {
      if (e.code !== "version_conflict") {
        $("settings-result").textContent = t("notApplied", { code: e.code || e.status, reason: e.message });
        return;
      }
      // Say which version is current without replacing what the admin is looking at.
      let now = t("newerVersion");
      try {
        now = t("version", { version: (await api("GET", "/v1/settings")).version });
      } catch (ignored) {
        /* the message below still holds */
      }
      $("settings-result").textContent = t("conflict", { read: settingsVersion, now });
    }
  });
};
