// The bot's growth: servers over time, and servers joined and left per day.
"use strict";

(function () {
  const { el } = MC;
  const RANGES = [30, 90, 365];

  function figure(value, label) {
    return el("div", {}, el("div", { className: "figure", text: value }), el("div", { className: "figure-label", text: label }));
  }

  async function show(days) {
    const body = await MC.api("/api/growth", { days });
    const list = body.days;
    const labels = list.map((d) => MC.day(d.date));
    const joins = list.reduce((s, d) => s + d.joins, 0);
    const leaves = list.reduce((s, d) => s + d.leaves, 0);
    const known = list.filter((d) => d.guilds !== null && d.guilds !== undefined);
    const latest = known.length ? known[known.length - 1] : null;
    document.getElementById("growth-figures").replaceChildren(
      figure(latest ? MC.num(latest.guilds) : "–", "servers now"),
      figure(latest && latest.members !== null ? MC.num(latest.members) : "–", "members"),
      figure(MC.num(joins), "joined in " + days + " days"),
      figure(MC.num(leaves), "left in " + days + " days"),
      figure((joins - leaves >= 0 ? "+" : "") + MC.num(joins - leaves), "net"));
    MC.chart(document.getElementById("chart-guilds"), "line", labels, [
      { label: "servers", data: list.map((d) => d.guilds), colour: "--accent", fill: true },
    ]);
    MC.chart(document.getElementById("chart-joins"), "bar", labels, [
      { label: "joins", data: list.map((d) => d.joins), colour: "--healthy" },
      { label: "leaves", data: list.map((d) => -d.leaves), colour: "--critical" },
    ], { stacked: true });
  }

  MC.start(async () => {
    MC.segmented(document.getElementById("range"), RANGES, 90, (d) => d + " days", (days) => {
      show(days).catch((err) => MC.fail(null, err));
    });
    await show(90);
  });
})();
