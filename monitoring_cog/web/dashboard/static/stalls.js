// Event-loop stalls (how long, during which command, the line blamed, the stack) and failed
// commands with their tracebacks, over the last 7, 30 or 90 days.
"use strict";

(function () {
  const { el } = MC;
  const RANGES = [7, 30, 90];

  function folded(title, text) {
    return text ? el("details", {}, el("summary", { text: title }), el("pre", { text })) : null;
  }

  function stallsPerDay(stalls, days) {
    // One bar per UTC day of the range, oldest first: the longest stall and how many.
    const today = Math.floor(Date.now() / 86400000);
    const keys = [];
    for (let i = days - 1; i >= 0; i--) keys.push(new Date((today - i) * 86400000).toISOString().slice(0, 10));
    const count = new Map(keys.map((k) => [k, 0]));
    const longest = new Map(keys.map((k) => [k, 0]));
    for (const s of stalls) {
      const key = new Date(s.started_at * 1000).toISOString().slice(0, 10);
      if (!count.has(key)) continue;
      count.set(key, count.get(key) + 1);
      longest.set(key, Math.max(longest.get(key), s.duration_ms));
    }
    MC.chart(document.getElementById("chart-stalls"), "bar", keys.map(MC.day), [
      { label: "stalls", data: keys.map((k) => count.get(k)), colour: "--accent-2" },
      // No point on a day without a stall (rather than a zero).
      { label: "longest (ms)", data: keys.map((k) => longest.get(k) || null), colour: "--critical", type: "line", axis: "y2" },
    ], { y2: "ms" });
  }

  async function stalls(days) {
    const body = await MC.api("/api/stalls", { days, limit: 100 });
    stallsPerDay(body.stalls, days);
    const box = document.getElementById("stalls");
    if (!body.stalls.length) {
      box.replaceChildren(el("div", { className: "empty", text: "No stall in this period." }));
      return;
    }
    const heads = ["When", "Duration", "During", "Server", "Blamed line"];
    box.replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, heads.map((h, i) => el("th", { className: i === 1 ? "num" : "", text: h })))),
      el("tbody", {}, body.stalls.map((s) => el("tr", { className: "stall" },
        el("td", { text: MC.time(s.started_at) }),
        el("td", { className: "num", text: MC.ms(s.duration_ms) }),
        el("td", {}, s.command ? el("code", { text: s.command }) : el("span", { className: "muted", text: "no command" }),
          s.command_kind ? el("div", { className: "muted", text: s.command_kind }) : null),
        el("td", {}, s.guild_id ? el("a", { href: "/servers/" + encodeURIComponent(s.guild_id), text: s.guild_id }) : "–"),
        el("td", {}, el("code", { text: s.location || "unknown" }), folded("stack", s.stack)))))));
  }

  async function errors(days) {
    const body = await MC.api("/api/errors", { days, limit: 100 });
    const box = document.getElementById("errors");
    if (!body.errors.length) {
      box.replaceChildren(el("div", { className: "empty", text: "No failed command in this period." }));
      return;
    }
    const heads = ["When", "Server", "User", "Command", "Error"];
    box.replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, heads.map((h) => el("th", { text: h })))),
      el("tbody", {}, body.errors.map((e) => el("tr", { className: "failed" },
        el("td", { text: MC.time(e.executed_at) }),
        el("td", {}, el("a", { href: "/servers/" + encodeURIComponent(e.guild_id), text: e.guild_name || e.guild_id })),
        el("td", { text: e.username || e.user_id }),
        el("td", {}, el("code", { text: e.command })),
        el("td", {},
          el("div", { className: "error-text", text: [e.error_type, e.error_message].filter(Boolean).join(": ") || "error" }),
          folded("traceback", e.traceback)))))));
  }

  async function show(days) {
    await Promise.all([stalls(days), errors(days)]);
  }

  MC.start(async () => {
    MC.segmented(document.getElementById("range"), RANGES, 7, (d) => d + " days", (days) => {
      show(days).catch((err) => MC.fail(null, err));
    });
    await show(7);
  });
})();
