// What every page shares: the navigation bar, the JSON fetch helper, number and time formatting,
// DOM building without innerHTML (server names, usernames and error messages come from Discord
// users: they are only ever set as text), and chart helpers over the vendored Chart.js whose
// colours follow the stylesheet's theme.
"use strict";

(function () {
  const PAGES = [
    ["/", "Overview"],
    ["/servers", "Servers"],
    ["/commands", "Commands"],
    ["/audit", "Audit log"],
    ["/stalls", "Stalls and errors"],
    ["/growth", "Growth"],
  ];

  /** Thrown by MC.api for an answer other than 2xx: carries the status and the server's message. */
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** Build an element: attrs (className, href, text, dataset, on*) and children (nodes or text). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
    }
    const text = search.toString();
    return text ? "?" + text : "";
  }

  /** GET a JSON API path with the session cookie; a lost session goes back to the login form. */
  async function api(path, params) {
    const response = await fetch(path + query(params), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (response.status === 401) {
      location.assign("/login" + query({ next: location.pathname + location.search }));
      throw new ApiError(401, "not signed in");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      throw new ApiError(response.status, "the answer was not JSON (" + response.status + ")");
    }
    if (!response.ok) {
      throw new ApiError(response.status, (body && body.error) || "HTTP " + response.status);
    }
    return body;
  }

  // Formatting ---------------------------------------------------------------------------------

  const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

  function num(value) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    return Number.isInteger(value) ? integer.format(value) : decimal.format(value);
  }

  function ms(value) {
    if (value === null || value === undefined) return "–";
    if (value >= 1000) return decimal.format(value / 1000) + " s";
    return decimal.format(value) + " ms";
  }

  function percent(ratio) {
    if (ratio === null || ratio === undefined) return "–";
    return decimal.format(ratio * 100) + " %";
  }

  /** Epoch seconds as local date and time. */
  function time(epoch) {
    if (!epoch && epoch !== 0) return "–";
    return new Date(epoch * 1000).toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  function clock(epoch) {
    return new Date(epoch * 1000).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }

  /** Seconds as "3 d 4 h", "12 min", "40 s". */
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    if (s >= 86400) return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
    if (s >= 3600) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    if (s >= 60) return Math.floor(s / 60) + " min";
    return s + " s";
  }

  function ago(epoch) {
    if (!epoch) return "never";
    return duration(Date.now() / 1000 - epoch) + " ago";
  }

  /** "YYYY-MM-DD" as a short day label. */
  function day(text) {
    const [y, m, d] = text.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(undefined, {
      month: "short", day: "numeric", timeZone: "UTC",
    });
  }

  function badge(status) {
    const word = String(status || "unknown");
    return el("span", { className: "badge status-" + word.replace(/[^a-z_-]/gi, ""), text: word });
  }

  // Page frame ---------------------------------------------------------------------------------

  function nav() {
    const here = location.pathname.replace(/\/+$/, "") || "/";
    const links = PAGES.map(([href, label]) => {
      const current = href === "/" ? here === "/" : here === href || here.startsWith(href + "/");
      return el("a", { className: "nav" + (current ? " current" : ""), href, text: label, "aria-current": current ? "page" : null });
    });
    const logout = el(
      "form", { method: "post", action: "/logout" },
      el("button", { type: "submit", text: "Sign out" }),
    );
    const bar = el("header", { className: "topbar" },
      el("a", { className: "brand", href: "/", text: "monitoring_cog" }), links,
      el("span", { className: "spacer" }), logout);
    document.body.prepend(bar);
  }

  /** Show an error in place of a failed panel (or at the top of the page). */
  function fail(where, err) {
    const message = err && err.message ? err.message : String(err);
    const banner = el("div", { className: "banner", text: "Could not load: " + message });
    if (where) where.replaceChildren(banner);
    else document.querySelector("main").prepend(banner);
  }

  /** A two-or-more-way choice (7/30/90 days...): calls onChange(value) on a click. */
  function segmented(container, values, current, label, onChange) {
    const buttons = values.map((value) => el("button", {
      type: "button",
      className: value === current ? "active" : "",
      text: label(value),
      dataset: { value: String(value) },
      onclick: () => {
        for (const b of buttons) b.classList.toggle("active", b.dataset.value === String(value));
        onChange(value);
      },
    }));
    container.replaceChildren(el("span", { className: "segmented" }, buttons));
  }

  // Charts -------------------------------------------------------------------------------------

  const PALETTE = ["--accent", "--accent-2", "--accent-3", "--accent-4", "--critical", "--warning", "--healthy"];

  /** A colour from the stylesheet (so charts follow the light or dark theme). */
  function colour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
  }

  function paletteColour(index) {
    return colour(PALETTE[index % PALETTE.length]);
  }

  function themeChartDefaults() {
    if (!window.Chart) return;
    Chart.defaults.color = colour("--muted");
    Chart.defaults.borderColor = colour("--grid");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.responsive = true;
  }

  /**
   * Draw (or redraw) a chart in the canvas of `box`: kind "bar" or "line", labels along x and
   * datasets [{label, data, colour?, type?, axis?, fill?}]; options.stacked, options.y2 (label of
   * a right-hand axis for datasets with axis "y2"), options.yLabel.
   */
  function chart(box, kind, labels, datasets, options) {
    const opts = options || {};
    let canvas = box.querySelector("canvas");
    if (!canvas) {
      canvas = el("canvas");
      box.replaceChildren(canvas);
    }
    const existing = Chart.getChart(canvas);
    if (existing) existing.destroy();
    const data = {
      labels,
      datasets: datasets.map((set, index) => {
        const c = set.colour ? colour(set.colour) : paletteColour(index);
        return {
          label: set.label,
          data: set.data,
          type: set.type,
          yAxisID: set.axis || "y",
          borderColor: c,
          backgroundColor: (set.type || kind) === "bar" ? c : c + "33",
          fill: Boolean(set.fill),
          borderWidth: (set.type || kind) === "bar" ? 0 : 2,
          pointRadius: labels.length > 40 ? 0 : 2,
          cubicInterpolationMode: "monotone",
          spanGaps: true,
        };
      }),
    };
    const scales = {
      // Every label while they fit (command names); dates and minutes thin out.
      x: { stacked: Boolean(opts.stacked), grid: { display: false }, ticks: { maxRotation: labels.length > 12 ? 0 : 45, autoSkip: labels.length > 12 } },
      y: {
        stacked: Boolean(opts.stacked),
        beginAtZero: true,
        ticks: { precision: 0 },
        title: { display: Boolean(opts.yLabel), text: opts.yLabel || "" },
      },
    };
    if (opts.y2) {
      scales.y2 = {
        position: "right",
        beginAtZero: true,
        grid: { drawOnChartArea: false },
        ticks: { precision: 0 },
        title: { display: true, text: opts.y2 },
      };
    }
    return new Chart(canvas, {
      type: kind,
      data,
      options: {
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
        scales,
      },
    });
  }

  function start(main) {
    themeChartDefaults();
    // The charts took their colours from the theme at drawing: a switch redraws the page.
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => location.reload());
    nav();
    main().catch((err) => fail(null, err));
  }

  window.MC = {
    ApiError, api, query, el, num, ms, percent, time, clock, duration, ago, day, badge,
    fail, segmented, colour, paletteColour, chart, start,
  };
})();
