// Bot-wide latency per command over time: p50/p95/p99 per day of the chosen command, the p95 of
// the busiest commands side by side, and a table of every command's runs.
"use strict";

(function () {
  const { el } = MC;
  const RANGES = [7, 30, 90];
  const BUSIEST = 6;
  let commands = [];

  function labelsOf(series) {
    return series.map((s) => MC.day(s.date));
  }

  function showOne(name) {
    const entry = commands.find((c) => c.command === name);
    if (!entry) return;
    document.getElementById("one-title").textContent = "Percentiles of " + name + " (ms)";
    const s = entry.series;
    MC.chart(document.getElementById("chart-one"), "line", labelsOf(s), [
      { label: "p50", data: s.map((d) => d.p50_ms), colour: "--accent" },
      { label: "p95", data: s.map((d) => d.p95_ms), colour: "--accent-2" },
      { label: "p99", data: s.map((d) => d.p99_ms), colour: "--critical" },
      { label: "runs", data: s.map((d) => d.runs), colour: "--grid", type: "bar", axis: "y2" },
    ], { yLabel: "ms", y2: "runs" });
  }

  function worst(series, key) {
    const values = series.map((d) => d[key]).filter((v) => v !== null && v !== undefined);
    return values.length ? Math.max(...values) : null;
  }

  function table() {
    const heads = ["Command", "Runs", "Worst daily p50", "Worst daily p95", "Worst daily p99"];
    document.getElementById("table").replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, heads.map((h, i) => el("th", { className: i ? "num" : "", text: h })))),
      el("tbody", {}, commands.map((c) => el("tr", { dataset: { command: c.command } },
        el("td", {}, el("a", {
          href: "#", text: c.command,
          onclick: (event) => {
            event.preventDefault();
            document.getElementById("command").value = c.command;
            showOne(c.command);
          },
        })),
        el("td", { className: "num", text: MC.num(c.runs) }),
        el("td", { className: "num", text: MC.ms(worst(c.series, "p50_ms")) }),
        el("td", { className: "num", text: MC.ms(worst(c.series, "p95_ms")) }),
        el("td", { className: "num", text: MC.ms(worst(c.series, "p99_ms")) }))))));
  }

  async function load(days) {
    const body = await MC.api("/api/commands", { days });
    commands = body.commands;
    const select = document.getElementById("command");
    const chosen = select.value;
    select.replaceChildren(...commands.map((c) => el("option", { value: c.command, text: c.command + " (" + MC.num(c.runs) + ")" })));
    if (!commands.length) {
      for (const id of ["chart-one", "chart-p95", "table"]) {
        document.getElementById(id).replaceChildren(el("div", { className: "empty", text: "No command recorded in this period." }));
      }
      return;
    }
    select.value = commands.some((c) => c.command === chosen) ? chosen : commands[0].command;
    showOne(select.value);
    const busiest = commands.slice(0, BUSIEST);
    MC.chart(document.getElementById("chart-p95"), "line", labelsOf(busiest[0].series),
      busiest.map((c) => ({ label: c.command, data: c.series.map((d) => d.p95_ms) })), { yLabel: "ms" });
    table();
  }

  MC.start(async () => {
    document.getElementById("command").addEventListener("change", (event) => showOne(event.target.value));
    MC.segmented(document.getElementById("range"), RANGES, 30, (d) => d + " days", (days) => {
      load(days).catch((err) => MC.fail(null, err));
    });
    await load(30);
  });
})();
