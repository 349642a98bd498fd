// Every server with its commands, users and failures over 7 and 30 days: sorted by the server
// (a click on a heading), searched by name or id (typing, debounced).
"use strict";

(function () {
  const { el } = MC;
  const COLUMNS = [
    ["guild_name", "Server", false],
    ["commands_7d", "Commands 7 d", true],
    ["users_7d", "Users 7 d", true],
    ["failures_7d", "Failures 7 d", true],
    ["commands_30d", "Commands 30 d", true],
    ["users_30d", "Users 30 d", true],
    ["failures_30d", "Failures 30 d", true],
    ["last_seen", "Last seen", true],
  ];
  // Servers per page: ?limit= in the address changes it.
  const LIMIT = Math.min(1000, Math.max(1, Number(new URLSearchParams(location.search).get("limit")) || 200));
  const state = { sort: "commands_7d", order: "desc", q: "" };
  let request = 0;

  function header() {
    return el("tr", {}, COLUMNS.map(([key, title, numeric]) => {
      const sorted = state.sort === key ? " sorted-" + state.order : "";
      return el("th", {
        className: "sortable" + (numeric ? " num" : "") + sorted,
        text: title,
        dataset: { sort: key },
        onclick: () => {
          if (state.sort === key) state.order = state.order === "desc" ? "asc" : "desc";
          else {
            state.sort = key;
            state.order = key === "guild_name" ? "asc" : "desc";
          }
          load().catch((err) => MC.fail(document.getElementById("servers"), err));
        },
      });
    }));
  }

  function row(server) {
    const name = server.guild_name || "(unnamed)";
    return el("tr", { dataset: { guild: server.guild_id } },
      el("td", {}, el("a", { href: "/servers/" + encodeURIComponent(server.guild_id), text: name }),
        el("div", { className: "muted", text: server.guild_id })),
      COLUMNS.slice(1, -1).map(([key]) => el("td", { className: "num", text: MC.num(server[key]) })),
      el("td", { className: "num", text: MC.ago(server.last_seen) }));
  }

  let shown = [];
  let nextKey = null;

  function render(total) {
    const box = document.getElementById("servers");
    const table = el("table", {}, el("thead", {}, header()), el("tbody", {}, shown.map(row)));
    box.replaceChildren(table);
    if (!shown.length) box.append(el("div", { className: "empty", text: "No server matches." }));
    if (nextKey) {
      box.append(el("div", { className: "pager" }, el("button", {
        type: "button", id: "more", text: "Show more",
        onclick: () => load(true).catch((err) => MC.fail(box, err)),
      })));
    }
    document.getElementById("count").textContent =
      shown.length < total ? shown.length + " of " + total + " servers" : total + (total === 1 ? " server" : " servers");
  }

  /** The first page for the sort and search (or, with more, the next page after those shown). */
  async function load(more) {
    const mine = ++request;
    const body = await MC.api("/api/servers", {
      q: state.q, sort: state.sort, order: state.order, limit: LIMIT, offset_key: more ? nextKey : "",
    });
    if (mine !== request) return; // an older answer arriving after a newer one
    shown = more ? shown.concat(body.servers) : body.servers;
    nextKey = body.next_key || null;
    render(body.total);
  }

  MC.start(async () => {
    const search = document.getElementById("search");
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        state.q = search.value.trim();
        load().catch((err) => MC.fail(document.getElementById("servers"), err));
      }, 200);
    });
    await load();
  });
})();
