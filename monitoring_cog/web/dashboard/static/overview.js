// The overview: overall status, each component, the processes, the last checks and commands per
// minute, kept current by the server's event stream (/api/health/stream), or by polling
// /api/health every 5 s when the stream cannot be had.
"use strict";

(function () {
  const { el } = MC;
  const POLL_MS = 5000;
  // Shown first and in this order; whatever else the report has follows.
  const ORDER = ["memory", "cpu", "database", "error_rate", "recording", "gateway", "shards", "event_loop", "rate_limits"];
  // Fields that say nothing at a glance (or are the card's own heading).
  const SKIP = new Set(["status", "timestamp"]);

  let cpmChart = null;

  const NAMES = { cpu: "CPU", event_loop: "event loop", rate_limits: "rate limits", error_rate: "error rate" };

  function label(key) {
    // The unit goes with the value ("lag 390 ms"), not the name.
    return NAMES[key] || key.replace(/_(ms|mb|seconds)$/, "").replace(/_/g, " ");
  }

  /** A field's value as short text: numbers formatted, lists and objects summarised. */
  function value(key, v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "number") {
      if (key.endsWith("_ms")) return MC.ms(v);
      if (key.endsWith("_percent") || key === "percent") return MC.num(v) + " %";
      if (key.endsWith("_mb")) return MC.num(v) + " MB";
      if (key.endsWith("_seconds")) return MC.duration(v);
      if (key.endsWith("_rate") || key === "rate") return v <= 1 ? MC.percent(v) : MC.num(v) + " %";
      if (key.endsWith("_at") && v > 1e9) return MC.time(v);
      return MC.num(v);
    }
    if (Array.isArray(v)) {
      if (!v.length) return "none";
      if (v.every((x) => x === null || typeof x !== "object")) return v.join(", ");
      return v.length + (v.length === 1 ? " entry" : " entries");
    }
    if (typeof v === "object") {
      const parts = Object.entries(v)
        .filter(([, x]) => x === null || typeof x !== "object")
        .slice(0, 4)
        .map(([k, x]) => label(k) + ": " + value(k, x));
      return parts.length ? parts.join(", ") : Object.keys(v).length + " entries";
    }
    return String(v);
  }

  /** A list of objects (shards, routes) as one short line each. */
  function entries(list) {
    return list.slice(0, 6).map((item) => el("div", {
      text: Object.entries(item)
        .filter(([, x]) => x !== null && typeof x !== "object")
        .slice(0, 4)
        .map(([k, x]) => label(k) + " " + value(k, x))
        .join(" · "),
    }));
  }

  // The fields a card shows first, for the sections the health check has; the rest (and every
  // field of a section not named here) fold under "more".
  const FEATURED = {
    memory: ["rss_mb", "percent"],
    cpu: ["percent"],
    database: ["response_time", "database_size_mb", "server_count"],
    error_rate: ["error_rate", "failed_commands", "total_commands"],
    recording: ["pending", "written", "dropped", "write_errors"],
    gateway: ["shards", "disconnects_1h", "guilds"],
    event_loop: ["lag_ms", "stalls", "worst"],
    rate_limits: ["hits_1h", "global_hits_1h", "top_routes"],
  };

  function stall(worst) {
    const where = worst.location || "an unknown line";
    const during = worst.command ? " during " + worst.command : "";
    return MC.ms(worst.duration_ms) + during + " at " + where;
  }

  function field(key, v) {
    let dd;
    if (key === "worst" && v && typeof v === "object") dd = el("dd", { text: stall(v) });
    else if (key === "response_time" && typeof v === "number") dd = el("dd", { text: MC.ms(v * 1000) });
    else if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === "object")) dd = el("dd", {}, entries(v));
    else dd = el("dd", { text: value(key, v) });
    return [el("dt", { text: label(key) }), dd];
  }

  function componentCard(name, section) {
    const fields = Object.entries(section || {}).filter(([key]) => !SKIP.has(key));
    const featured = FEATURED[name] || fields.slice(0, 4).map(([key]) => key);
    const first = fields.filter(([key]) => featured.includes(key));
    first.sort((a, b) => featured.indexOf(a[0]) - featured.indexOf(b[0]));
    const rest = fields.filter(([key]) => !featured.includes(key));
    return el("div", { className: "card", dataset: { component: name } },
      el("div", { className: "card-head" },
        el("span", { className: "card-name", text: label(name) }), MC.badge(section && section.status)),
      el("dl", {}, first.map(([key, v]) => field(key, v))),
      rest.length ? el("details", {}, el("summary", { text: "more" }),
        el("dl", {}, rest.map(([key, v]) => field(key, v)))) : null);
  }

  function renderComponents(components) {
    const names = Object.keys(components || {});
    names.sort((a, b) => {
      const ia = ORDER.indexOf(a), ib = ORDER.indexOf(b);
      return (ia < 0 ? ORDER.length : ia) - (ib < 0 ? ORDER.length : ib) || a.localeCompare(b);
    });
    const box = document.getElementById("components");
    if (!names.length) {
      box.replaceChildren(el("div", { className: "empty", text: "No health report yet." }));
      return;
    }
    box.replaceChildren(...names.map((name) => componentCard(name, components[name])));
  }

  function renderProcesses(processes) {
    const box = document.getElementById("processes");
    if (!processes || !processes.length) {
      box.replaceChildren(el("div", { className: "empty", text: "No process has reported." }));
      return;
    }
    const head = el("tr", {}, ["Process", "Host", "PID", "Shards", "Status", "Last check"].map(
      (h, i) => el("th", { className: i === 2 ? "num" : "", text: h })));
    const rows = processes.map((p) => el("tr", { className: p.down ? "down" : "", dataset: { process: p.process } },
      el("td", { text: p.process }),
      el("td", { text: p.host }),
      el("td", { className: "num", text: p.pid }),
      el("td", { text: (p.shard_ids || []).join(", ") || "–" }),
      el("td", {}, MC.badge(p.down ? "down" : p.status)),
      el("td", { text: MC.ago(p.checked_at) })));
    box.replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, rows)));
  }

  function renderTimeline(timeline) {
    const box = document.getElementById("timeline");
    const ticks = (timeline || []).map((t) => el("span", {
      className: "tick status-" + String(t.status).replace(/[^a-z_-]/gi, ""),
      title: MC.time(t.at) + ": " + t.status,
    }));
    box.replaceChildren(...ticks);
    const first = timeline && timeline.length ? MC.time(timeline[0].at) : "";
    const last = timeline && timeline.length ? MC.time(timeline[timeline.length - 1].at) : "";
    document.getElementById("timeline-first").textContent = first;
    document.getElementById("timeline-last").textContent = last;
  }

  function renderCommandsPerMinute(minutes) {
    const list = minutes || [];
    const total = list.reduce((sum, m) => sum + m.commands, 0);
    const failed = list.reduce((sum, m) => sum + m.failed, 0);
    document.getElementById("cpm-total").textContent = MC.num(total);
    document.getElementById("cpm-failed").textContent = MC.num(failed);
    document.getElementById("cpm-last").textContent = list.length ? MC.num(list[list.length - 1].commands) : "–";
    // The figures behind the chart, readable without the chart ("minute:commands,...").
    document.getElementById("cpm-chart").dataset.minutes = list.map((m) => m.minute + ":" + m.commands).join(",");
    const labels = list.map((m) => MC.clock(m.minute));
    const ok = list.map((m) => m.commands - m.failed);
    const bad = list.map((m) => m.failed);
    if (cpmChart) {
      // Update in place: the stream redraws every second.
      cpmChart.data.labels = labels;
      cpmChart.data.datasets[0].data = ok;
      cpmChart.data.datasets[1].data = bad;
      cpmChart.update("none");
      return;
    }
    cpmChart = MC.chart(document.getElementById("cpm-chart"), "bar", labels, [
      { label: "succeeded", data: ok, colour: "--accent" },
      { label: "failed", data: bad, colour: "--critical" },
    ], { stacked: true });
  }

  function render(health) {
    const status = document.getElementById("overall-status");
    status.replaceWith(Object.assign(MC.badge(health.status), { id: "overall-status" }));
    const source = health.source === "stored" ? "stored report" : "live";
    document.getElementById("overall-meta").textContent =
      (health.checked_at ? "checked " + MC.time(health.checked_at) : "not checked yet") + " · " + source;
    renderComponents(health.components);
    renderProcesses(health.processes);
    renderTimeline(health.timeline);
    renderCommandsPerMinute(health.commands_per_minute);
    document.body.dataset.updated = String(Date.now());
  }

  function mode(state, text) {
    const dot = document.getElementById("live-dot");
    dot.className = "live-dot " + state;
    document.getElementById("live-mode").textContent = text;
  }

  let pollTimer = null;

  async function poll() {
    try {
      render(await MC.api("/api/health"));
      mode("polling", "updating every 5 s");
    } catch (err) {
      mode("", "update failed: " + err.message);
    }
  }

  function startPolling() {
    if (pollTimer !== null) return;
    pollTimer = setInterval(poll, POLL_MS);
    poll();
  }

  function startStream() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    const source = new EventSource("/api/health/stream");
    let opened = false;
    source.addEventListener("health", (event) => {
      opened = true;
      render(JSON.parse(event.data));
      mode("on", "live");
    });
    source.addEventListener("error", () => {
      // A stream that never delivered (refused, too many open) or closed for good: poll. One
      // that dropped after delivering is retried by the browser itself.
      if (!opened || source.readyState === EventSource.CLOSED) {
        source.close();
        startPolling();
      } else {
        mode("polling", "reconnecting");
      }
    });
  }

  MC.start(async () => {
    render(await MC.api("/api/health"));
    startStream();
  });
})();
