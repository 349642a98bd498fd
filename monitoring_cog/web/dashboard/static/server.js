// One server (/servers/{guild_id}): daily charts over 7, 30 or 90 days, top commands, each
// command's runs, percentiles and error rate, the weekly or monthly summary and recent failures;
// the uses of its buttons, selects and modals and its custom events per day, when it has any.
"use strict";

(function () {
  const { el } = MC;
  const RANGES = [7, 30, 90];
  const guildId = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
  const base = "/api/servers/" + encodeURIComponent(guildId);

  async function daily(days) {
    const body = await MC.api(base + "/daily", { days });
    const labels = body.days.map((d) => MC.day(d.date));
    const pick = (key) => body.days.map((d) => d[key]);
    MC.chart(document.getElementById("chart-commands"), "bar", labels, [
      { label: "succeeded", data: body.days.map((d) => d.commands - d.failed), colour: "--accent" },
      { label: "failed", data: pick("failed"), colour: "--critical" },
    ], { stacked: true });
    MC.chart(document.getElementById("chart-users"), "line", labels, [
      { label: "distinct users", data: pick("users"), colour: "--accent-4", fill: true },
    ]);
    MC.chart(document.getElementById("chart-music"), "bar", labels, [
      { label: "songs", data: pick("songs"), colour: "--accent-3" },
      { label: "playtime (h)", data: body.days.map((d) => Math.round((d.playtime / 3600) * 10) / 10),
        colour: "--accent-2", type: "line", axis: "y2" },
    ], { y2: "hours" });
    MC.chart(document.getElementById("chart-skips"), "bar", labels, [
      { label: "skips", data: pick("skips"), colour: "--accent-2" },
      { label: "pauses", data: pick("pauses"), colour: "--accent-3" },
    ]);
  }

  // One colour per component or event name; --critical is kept for failures.
  const SERIES_COLOURS = ["--accent", "--accent-2", "--accent-3", "--accent-4", "--warning", "--healthy"];

  /**
   * Datasets of the ranked entries' daily `key` (entries as the API lists them, most first): one per
   * name for the first few, the rest summed as "other", so the legend stays readable.
   */
  function perName(entries, nameKey, key) {
    const shown = entries.slice(0, SERIES_COLOURS.length);
    const sets = shown.map((e, i) => ({
      label: e[nameKey], data: e.series.map((d) => d[key]), colour: SERIES_COLOURS[i],
    }));
    const rest = entries.slice(SERIES_COLOURS.length);
    if (rest.length) {
      sets.push({ label: "other", data: rest[0].series.map((_, i) => rest.reduce((n, e) => n + e.series[i][key], 0)),
        colour: "--muted" });
    }
    return sets;
  }

  /** Show a panel (and the row holding it) before drawing in it: a hidden canvas has no size. */
  function showPanel(id, shown) {
    document.getElementById(id).classList.toggle("hidden", !shown);
    const any = ["panel-components", "panel-events"].some((p) => !document.getElementById(p).classList.contains("hidden"));
    document.getElementById("activity").classList.toggle("hidden", !any);
  }

  async function components(days) {
    const body = await MC.api(base + "/components", { days });
    const entries = body.components;
    showPanel("panel-components", entries.length > 0);
    if (!entries.length) return;
    const labels = entries[0].series.map((d) => MC.day(d.date));
    const failures = entries[0].series.map((_, i) => entries.reduce((n, e) => n + e.series[i].failures, 0));
    MC.chart(document.getElementById("chart-components"), "bar", labels, [
      ...perName(entries, "component", "uses"),
      { label: "failures", data: failures, colour: "--critical", type: "line", axis: "y2" },
    ], { stacked: true, y2: "failures" });
  }

  async function events(days) {
    const body = await MC.api(base + "/events", { days });
    const entries = body.events;
    showPanel("panel-events", entries.length > 0);
    if (!entries.length) return;
    const labels = entries[0].series.map((d) => MC.day(d.date));
    MC.chart(document.getElementById("chart-events"), "line", labels, perName(entries, "name", "count"));
  }

  function performanceTable(commands) {
    const box = document.getElementById("performance");
    if (!commands.length) {
      box.replaceChildren(el("div", { className: "empty", text: "No command in this period." }));
      return;
    }
    const heads = ["Command", "Runs", "Failures", "Error rate", "Average", "p50", "p95", "p99"];
    box.replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, heads.map((h, i) => el("th", { className: i ? "num" : "", text: h })))),
      el("tbody", {}, commands.map((c) => el("tr", { dataset: { command: c.command } },
        el("td", {}, el("code", { text: c.command })),
        el("td", { className: "num", text: MC.num(c.runs) }),
        el("td", { className: "num", text: MC.num(c.failures) }),
        el("td", { className: "num", text: MC.percent(c.error_rate) }),
        el("td", { className: "num", text: MC.ms(c.avg_ms) }),
        el("td", { className: "num", text: MC.ms(c.p50_ms) }),
        el("td", { className: "num", text: MC.ms(c.p95_ms) }),
        el("td", { className: "num", text: MC.ms(c.p99_ms) }))))));
  }

  async function performance(days) {
    const body = await MC.api(base + "/performance", { days });
    performanceTable(body.commands);
    const top = body.commands.slice(0, 10);
    MC.chart(document.getElementById("chart-top"), "bar", top.map((c) => c.command), [
      { label: "succeeded", data: top.map((c) => c.runs - c.failures), colour: "--accent" },
      { label: "failed", data: top.map((c) => c.failures), colour: "--critical" },
    ], { stacked: true });
  }

  function summaryList(report) {
    const items = [
      ["Commands", MC.num(report.total_commands)],
      ["Failed", MC.num(report.failed_commands) + " (" + MC.percent(report.error_rate) + ")"],
      ["Active days", MC.num(report.active_days) + " of " + MC.num(report.days)],
      ["Average daily users", MC.num(report.avg_daily_users)],
      ["Peak users in a day", MC.num(report.peak_users)],
      ["Songs", MC.num(report.total_songs)],
      ["Playtime", MC.duration(report.total_playtime)],
      ["Skip rate", MC.percent(report.skip_rate)],
    ];
    return el("table", {}, el("tbody", {}, items.map(([k, v]) =>
      el("tr", {}, el("th", { text: k }), el("td", { className: "num", text: v })))));
  }

  // A report's ranked list (top_components / top_events, when the report has them): columns
  // [heading, key, format], the first one the name.
  function ranking(title, entries, columns) {
    return el("div", { className: "ranking", dataset: { ranking: title } },
      el("h2", { text: title }),
      el("table", {},
        el("thead", {}, el("tr", {}, columns.map(([h], i) => el("th", { className: i ? "num" : "", text: h })))),
        el("tbody", {}, entries.map((e) => el("tr", {}, columns.map(([, key, format], i) => i
          ? el("td", { className: "num", text: format(e[key]) })
          : el("td", {}, el("code", { text: e[key] }), e.kind ? el("div", { className: "muted", text: e.kind }) : null)))))));
  }

  const COMPONENT_COLUMNS = [
    ["Component", "component"], ["Uses", "uses", MC.num], ["Failures", "failures", MC.num],
    ["Users", "users", MC.num], ["Average", "avg_ms", MC.ms],
  ];
  const EVENT_COLUMNS = [
    ["Event", "name"], ["Count", "count", MC.num], ["Total", "total", MC.num], ["Users", "users", MC.num],
  ];

  async function summary(days) {
    const period = days >= 30 ? "monthly" : "weekly";
    const report = await MC.api(base + "/report", { period });
    document.getElementById("summary-title").textContent =
      (period === "monthly" ? "Last 30 days" : "Last 7 days") +
      (report.start_date ? " (" + MC.day(report.start_date) + " – " + MC.day(report.end_date) + ")" : "");
    document.getElementById("summary").replaceChildren(summaryList(report));
    const extras = [];
    if (Array.isArray(report.top_components) && report.top_components.length) {
      extras.push(ranking("Top components", report.top_components, COMPONENT_COLUMNS));
    }
    if (Array.isArray(report.top_events) && report.top_events.length) {
      extras.push(ranking("Top events", report.top_events, EVENT_COLUMNS));
    }
    document.getElementById("extras").replaceChildren(...extras);
    document.getElementById("extras-panel").classList.toggle("hidden", !extras.length);
  }

  /** An audit row as a table row, with its traceback (or message) folded underneath. */
  function failureRow(entry) {
    const detail = entry.traceback || entry.error_message || "";
    return el("tr", { className: "failed", dataset: { id: entry.id } },
      el("td", { text: MC.time(entry.executed_at) }),
      el("td", {}, el("code", { text: entry.command })),
      el("td", { text: entry.username || entry.user_id }),
      el("td", {},
        el("div", { className: "error-text", text: (entry.error_type || "error") + (entry.error_message ? ": " + entry.error_message : "") }),
        detail ? el("details", {}, el("summary", { text: "traceback" }), el("pre", { text: detail })) : null));
  }

  async function failures() {
    const body = await MC.api(base + "/failures", { limit: 20 });
    const box = document.getElementById("failures");
    if (!body.failures.length) {
      box.replaceChildren(el("div", { className: "empty", text: "No failure recorded." }));
      return;
    }
    box.replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, ["When", "Command", "User", "Error"].map((h) => el("th", { text: h })))),
      el("tbody", {}, body.failures.map(failureRow))));
  }

  async function show(days) {
    const results = await Promise.allSettled([daily(days), performance(days), summary(days), components(days), events(days)]);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  MC.start(async () => {
    document.getElementById("subtitle").textContent = "Server " + guildId;
    const servers = await MC.api("/api/servers", { q: guildId, limit: 10 });
    const me = servers.servers.find((s) => s.guild_id === guildId);
    if (me && me.guild_name) {
      document.getElementById("title").textContent = me.guild_name;
      document.title = me.guild_name + " · monitoring_cog";
    }
    MC.segmented(document.getElementById("range"), RANGES, 7, (d) => d + " days", (days) => {
      show(days).catch((err) => MC.fail(null, err));
    });
    await Promise.all([show(7), failures()]);
  });
})();
