// The audit log: filtered by server, user, command, outcome and time, a page at a time with the
// API's cursor (older pages forward; the cursors seen are kept to go back), and the filtered rows
// as CSV. The filters live in the address too, so a filtered view can be shared or reloaded.
"use strict";

(function () {
  const { el } = MC;
  const PAGE = 100;
  const FIELDS = ["guild_id", "user_id", "command", "outcome", "since", "until"];
  // cursors[i] is the cursor of page i (null for the newest page).
  let cursors = [null];
  let page = 0;
  let nextCursor = null;

  function form() {
    return document.getElementById("filters");
  }

  /** datetime-local (local time) <-> epoch seconds. */
  function toEpoch(text) {
    if (!text) return "";
    const when = new Date(text).getTime();
    return Number.isNaN(when) ? "" : String(Math.floor(when / 1000));
  }

  function toLocalInput(epoch) {
    const d = new Date(Number(epoch) * 1000);
    if (Number.isNaN(d.getTime())) return "";
    const pad = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function filters() {
    const f = form().elements;
    const out = {};
    for (const name of FIELDS) {
      const v = f[name].value.trim();
      out[name] = name === "since" || name === "until" ? toEpoch(v) : v;
    }
    return out;
  }

  function fromAddress() {
    const params = new URLSearchParams(location.search);
    const f = form().elements;
    for (const name of FIELDS) {
      const v = params.get(name) || "";
      f[name].value = name === "since" || name === "until" ? (v ? toLocalInput(v) : "") : v;
    }
  }

  function row(entry) {
    const failed = !entry.success;
    const params = entry.parameters && entry.parameters !== "{}" ? String(entry.parameters) : "";
    const detail = entry.traceback || "";
    return el("tr", { className: failed ? "failed" : "succeeded", dataset: { id: entry.id, at: entry.executed_at, guild: entry.guild_id } },
      el("td", { text: MC.time(entry.executed_at) }),
      el("td", {}, el("a", { href: "/servers/" + encodeURIComponent(entry.guild_id), text: entry.guild_name || entry.guild_id })),
      el("td", {}, entry.username || "", el("div", { className: "muted", text: entry.user_id })),
      el("td", {}, el("code", { text: entry.command }), params ? el("div", { className: "muted" }, el("code", { text: params })) : null),
      el("td", { className: "num", text: MC.ms(entry.duration * 1000) }),
      el("td", { className: "outcome" }, failed ? "failed" : "ok",
        failed && (entry.error_type || entry.error_message)
          ? el("div", { text: [entry.error_type, entry.error_message].filter(Boolean).join(": ") }) : null,
        detail ? el("details", {}, el("summary", { text: "traceback" }), el("pre", { text: detail })) : null));
  }

  async function load() {
    const chosen = filters();
    const body = await MC.api("/api/audit", { ...chosen, limit: PAGE, cursor: cursors[page] });
    nextCursor = body.next_cursor;
    const box = document.getElementById("rows");
    const heads = ["When", "Server", "User", "Command", "Duration", "Outcome"];
    box.replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, heads.map((h, i) => el("th", { className: i === 4 ? "num" : "", text: h })))),
      el("tbody", {}, body.rows.map(row))));
    if (!body.rows.length) box.append(el("div", { className: "empty", text: "No command matches." }));
    document.getElementById("newer").disabled = page === 0;
    document.getElementById("older").disabled = !nextCursor;
    document.getElementById("page-info").textContent =
      "page " + (page + 1) + " · " + body.rows.length + (body.rows.length === 1 ? " row" : " rows");
    document.getElementById("csv").href = "/api/audit.csv" + MC.query(chosen);
  }

  function fresh() {
    cursors = [null];
    page = 0;
    history.replaceState(null, "", location.pathname + MC.query(filters()));
    return load();
  }

  const report = (err) => MC.fail(document.getElementById("rows"), err);

  MC.start(async () => {
    fromAddress();
    form().addEventListener("submit", (event) => {
      event.preventDefault();
      fresh().catch(report);
    });
    document.getElementById("reset").addEventListener("click", () => {
      form().reset();
      fresh().catch(report);
    });
    document.getElementById("older").addEventListener("click", () => {
      if (!nextCursor) return;
      cursors[page + 1] = nextCursor;
      page += 1;
      load().catch(report);
    });
    document.getElementById("newer").addEventListener("click", () => {
      if (page === 0) return;
      page -= 1;
      load().catch(report);
    });
    await load();
  });
})();
