/*
 * The console's Reports page (admins): GET /v1/reports/messaging for a date range, drawn as
 * plain SVG (no library, nothing inline, so the console's strict CSP holds): conversations per
 * day, first reply and wait to accept (p50 and p90) per day, the CSAT distribution, and a
 * table per day, agent or group; "Download CSV" asks the API for the same rows as CSV.
 * console.js calls RelayConsoleReports(api, { base, token }).
 */
window.RelayConsoleReports = function (api, http) {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { el } = window.RelayConsoleViews;
  const { t } = window.RelayConsoleI18n;
  const SVG = "http://www.w3.org/2000/svg";

  const svg = (tag, attrs, ...children) => {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  };

  const minutes = (ms) =>
    ms == null ? "–" : ms < 10000 ? (ms / 1000).toFixed(1) + " s" : ms < 60000 ? Math.round(ms / 1000) + " s" : (ms / 60000).toFixed(1) + " min";
  const day = (offset) => new Date(Date.now() - offset * 86400000).toISOString().slice(0, 10);

  function query(groupBy) {
    const q = new URLSearchParams({ from: $("report-from").value, to: $("report-to").value, group_by: groupBy });
    return "/v1/reports/messaging?" + q;
  }

  /**
   * A bar chart of `series` ([{label, values: [number|null…]}]) over `keys`, one group of bars
   * per key; `format` renders a value for its tooltip and the chart's text alternative.
   */
  function barChart(title, keys, series, format) {
    const width = 640, height = 180, left = 44, bottom = 22;
    const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v != null)));
    const slot = (width - left) / Math.max(1, keys.length);
    const bar = Math.max(1, (slot - 2) / series.length);
    const y = (v) => height - bottom - ((height - bottom - 8) * v) / max;
    const summary = series
      .map((s) => s.label + ": " + s.values.map((v, i) => keys[i] + " " + format(v)).join(", "))
      .join("; ");
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title + ". " + summary, class: "chart" });
    chart.append(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }));
    chart.append(svg("text", { x: left - 4, y: 12, class: "tick end", text: format(max) }));
    chart.append(svg("text", { x: left - 4, y: height - bottom, class: "tick end", text: format(0) }));
    keys.forEach((key, i) => {
      series.forEach((s, j) => {
        const v = s.values[i];
        if (v == null) return;
        chart.append(
          svg("rect", { x: left + i * slot + j * bar, y: y(v), width: bar, height: height - bottom - y(v), class: "bar s" + j },
            svg("title", { text: `${key} · ${s.label}: ${format(v)}` }))
        );
      });
      // A label every few days, so they never overlap.
      if (i % Math.ceil(keys.length / 8) === 0) {
        chart.append(svg("text", { x: left + i * slot, y: height - 6, class: "tick", text: key.slice(5) }));
      }
    });
    const legend = el("p", { class: "legend" }, ...series.map((s, j) => el("span", { class: "key s" + j, text: s.label })));
    return el("figure", { class: "report-chart" }, el("figcaption", { text: title }), chart, legend);
  }

  function tile(label, value) {
    return el("div", { class: "tile" }, el("span", { class: "tile-value", text: String(value) }), el("span", { class: "tile-label", text: label }));
  }

  function table(report) {
    const keyName = { day: t("reportDay"), agent: t("reportAgent"), group: t("reportGroup") }[report.group_by];
    const keyField = { day: "day", agent: "agent_id", group: "group" }[report.group_by];
    const head = [keyName, t("reportStarted"), t("reportHandoffs"), t("reportBotResolutions"), t("reportSolved"),
      t("reportFirstReply"), t("reportWait"), t("reportHandle"), t("reportOneTouch"), t("reportTimedOut"), t("reportCsat")];
    const cells = (r, key) => [key, r.conversations_started, r.handoffs, r.bot_resolutions, r.solved_by_agents,
      minutes(r.first_reply.p50_ms) + " / " + minutes(r.first_reply.p90_ms),
      minutes(r.wait_to_accept.p50_ms) + " / " + minutes(r.wait_to_accept.p90_ms),
      minutes(r.handle_time.average_ms), r.one_touch_resolutions, r.offers_timed_out,
      r.csat.responses ? r.csat.average + " (" + r.csat.responses + ")" : "–"];
    const row = (values, tag) => el("tr", null, ...values.map((v, i) => el(i === 0 && tag === "td" ? "th" : tag, i === 0 && tag === "td" ? { scope: "row" } : tag === "th" ? { scope: "col" } : null, String(v))));
    return el("table", { class: "report-table", "data-testid": "report-table" },
      el("caption", { text: t("reportTableCaption") }),
      el("thead", null, row(head, "th")),
      el("tbody", null, ...report.rows.map((r) => row(cells(r, r[keyField] ?? t("reportNone")), "td"))),
      el("tfoot", null, row(cells(report.total, t("reportTotal")), "td")));
  }

  async function load() {
    $("report-result").textContent = t("reportLoading");
    try {
      const groupBy = $("report-group").value;
      const daily = await api("GET", query("day"));
      const chosen = groupBy === "day" ? daily : await api("GET", query(groupBy));
      draw(daily, chosen);
      $("report-result").textContent = t("reportReady", { from: daily.from, to: daily.to, tz: daily.tz });
    } catch (e) {
      $("report-result").textContent = t("reportFailed", { reason: e.message });
    }
  }

  function draw(daily, chosen) {
    const total = daily.total;
    const days = daily.rows.map((r) => r.day);
    const pick = (f) => daily.rows.map(f);
    $("report-tiles").replaceChildren(
      tile(t("reportStarted"), total.conversations_started),
      tile(t("reportHandoffs"), total.handoffs),
      tile(t("reportSolved"), total.solved_by_agents),
      tile(t("reportFirstReply"), minutes(total.first_reply.p50_ms)),
      tile(t("reportWait"), minutes(total.wait_to_accept.p50_ms)),
      tile(t("reportCsat"), total.csat.average == null ? "–" : total.csat.average)
    );
    const count = (v) => String(v ?? 0);
    $("report-charts").replaceChildren(
      barChart(t("reportVolume"), days, [
        { label: t("reportStarted"), values: pick((r) => r.conversations_started) },
        { label: t("reportHandoffs"), values: pick((r) => r.handoffs) },
      ], count),
      barChart(t("reportFirstReply"), days, [
        { label: "p50", values: pick((r) => r.first_reply.p50_ms) },
        { label: "p90", values: pick((r) => r.first_reply.p90_ms) },
      ], minutes),
      barChart(t("reportWait"), days, [
        { label: "p50", values: pick((r) => r.wait_to_accept.p50_ms) },
        { label: "p90", values: pick((r) => r.wait_to_accept.p90_ms) },
      ], minutes),
      barChart(t("reportCsatDistribution"), ["1", "2", "3", "4", "5"].map((s) => "· " + s),
        [{ label: t("reportResponses"), values: ["1", "2", "3", "4", "5"].map((s) => total.csat.distribution[s] || 0) }], count)
    );
    $("report-table-box").replaceChildren(table(chosen));
  }

  async function downloadCsv() {
    try {
      const response = await fetch(http.base + query($("report-group").value), {
        headers: { authorization: "Bearer " + http.token(), accept: "text/csv" },
        credentials: "omit",
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const name = (response.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name ? name[1] : "report.csv" });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (e) {
      $("report-result").textContent = t("reportFailed", { reason: e.message });
    }
  }

  $("report-from").value = day(30);
  $("report-to").value = day(0);
  $("report-run").addEventListener("click", load);
  $("report-csv").addEventListener("click", downloadCsv);
  $("reports-tab").addEventListener("click", load);
};
