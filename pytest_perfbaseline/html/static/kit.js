/* Shared by every page: reading the embedded data, building DOM from untrusted strings,
 * colours and shapes that read without colour, the light/dark toggle, and lazy, accessible
 * charts. Runs after the Chart.js bundle (when the page has charts) and before the page's own
 * script.
 *
 * The API (everything else here is private):
 *   perfData()                  the page's JSON data (<script id="perf-data">)
 *   PerfKit.el(tag, attrs, ...children)
 *                               a new element; attrs are set with setAttribute (a key "class"
 *                               sets the class; a value null/undefined/false is skipped; an
 *                               "on<event>" key adds a listener); string/number children become
 *                               text nodes, so an untrusted string is always text, never markup
 *   PerfKit.escapeHtml(s)       s with & < > " ' escaped, for the rare string built as markup
 *   PerfKit.palette             Okabe-Ito colours, 8, as CSS variable names' current values
 *   PerfKit.color(i)            palette colour i (modulo 8), for the current theme
 *   PerfKit.pointStyle(i), PerfKit.dash(i)
 *                               Chart.js point shape and line dash for series i, so series
 *                               differ without colour
 *   PerfKit.pattern(i)          a hatched CanvasPattern in colour i, for bar fills
 *   PerfKit.cssVar(name)        a CSS variable's current value (e.g. "--fg")
 *   PerfKit.themeToggle()       a button switching light/dark (remembered in localStorage
 *                               when the browser allows it); add it anywhere. Until it is
 *                               used, <html data-theme> follows prefers-color-scheme
 *   PerfKit.skipLink(id)        a "Skip to content" link to #id, inserted first in <body>
 *   PerfKit.table(columns, rows, caption)
 *                               a focusable, scrollable <table class="data">: columns are
 *                               {label, num?}; rows are arrays of cells, each a string, a
 *                               number or a Node
 *   PerfKit.chart({title, summary, config, table})
 *                               a <figure class="chart">: a canvas with role="img" and
 *                               aria-label = summary, the chart made from config() when the
 *                               figure first comes near the viewport (and again after a theme
 *                               change), and a <details> data table ({columns, rows}) as the
 *                               text fallback. Returns the figure.
 *   PerfKit.renderAll()         make every pending chart now (printing calls it)
 *   PerfKit.charts()            the Chart instances made so far
 *   PerfKit.valueLabels         a Chart.js plugin writing each bar's value (dataset option
 *                               valueLabels: fn(value) -> text) above or beside the bar
 *   PerfKit.fmt(value, unit)    a number for people: s -> ms/us/s, usd -> $, else 3 digits
 *   PerfKit.tickFmt(unit)       a Chart.js ticks callback: like fmt, in one unit for the whole
 *                               axis and with as many decimals as the tick step needs, so no
 *                               two ticks read alike
 *   PerfKit.release(node)       destroy and forget the charts (made or pending) inside node,
 *                               before replacing its content
 */
"use strict";
function perfData() {
  return JSON.parse(document.getElementById("perf-data").textContent);
}

const PerfKit = (() => {
  const THEME_KEY = "perfbaseline-theme";
  const SHAPES = ["circle", "triangle", "rect", "rectRot", "star", "crossRot", "cross", "line"];
  const DASHES = [[], [6, 3], [2, 3], [10, 3, 2, 3]];
  const pending = new Map(); // canvas box -> make(), charts not made yet
  const made = new Map(); // canvas box -> {make, chart}
  let observer = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        node.addEventListener(key.slice(2), value);
      } else {
        node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  const color = (i) => cssVar(`--c${((i % 8) + 8) % 8}`);
  const pointStyle = (i) => SHAPES[((i % SHAPES.length) + SHAPES.length) % SHAPES.length];
  const dash = (i) => DASHES[((i % DASHES.length) + DASHES.length) % DASHES.length];

  function pattern(i) {
    const size = 8;
    const tile = document.createElement("canvas");
    tile.width = size;
    tile.height = size;
    const ctx = tile.getContext("2d");
    ctx.fillStyle = color(i);
    ctx.globalAlpha = 0.35;
    ctx.fillRect(0, 0, size, size);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = color(i);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    const kind = i % 4; // diagonal, other diagonal, horizontal, vertical
    if (kind === 0) { ctx.moveTo(0, size); ctx.lineTo(size, 0); }
    else if (kind === 1) { ctx.moveTo(0, 0); ctx.lineTo(size, size); }
    else if (kind === 2) { ctx.moveTo(0, size / 2); ctx.lineTo(size, size / 2); }
    else { ctx.moveTo(size / 2, 0); ctx.lineTo(size / 2, size); }
    ctx.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  function storedTheme() {
    try { return localStorage.getItem(THEME_KEY); } catch (e) { return null; }
  }
  const systemTheme = () => (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  const currentTheme = () => document.documentElement.dataset.theme;
  function applyTheme(theme) {
    document.documentElement.dataset.theme = theme;
    try { localStorage.setItem(THEME_KEY, theme); } catch (e) { /* file: pages may refuse */ }
    for (const button of document.querySelectorAll(".theme-toggle")) labelToggle(button);
    remakeCharts();
  }
  function labelToggle(button) {
    const dark = currentTheme() === "dark";
    button.textContent = dark ? "Light theme" : "Dark theme";
    button.setAttribute("aria-pressed", String(dark));
  }
  function themeToggle() {
    const button = el("button", { type: "button", class: "theme-toggle",
      onclick: () => applyTheme(currentTheme() === "dark" ? "light" : "dark") });
    labelToggle(button);
    return button;
  }
  {
    const stored = storedTheme();
    document.documentElement.dataset.theme = stored === "light" || stored === "dark" ? stored : systemTheme();
  }

  function skipLink(id) {
    const link = el("a", { class: "skip-link", href: `#${id}` }, "Skip to content");
    document.body.prepend(link);
    return link;
  }

  function table(columns, rows, caption) {
    const head = el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.num ? "num" : null }, c.label)));
    const body = rows.map((row) => el("tr", {}, row.map((cell, i) =>
      el(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, class: columns[i] && columns[i].num ? "num" : null }, cell))));
    const t = el("table", { class: "data" }, caption ? el("caption", {}, caption) : null,
      el("thead", {}, head), el("tbody", {}, body));
    return el("div", { class: "table-wrap", tabindex: "0", role: "region",
      "aria-label": caption || "table" }, t);
  }

  function fmt(value, unit) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const a = Math.abs(value);
    if (unit === "s") {
      if (a === 0) return "0 s";
      if (a < 1e-3) return `${(value * 1e6).toPrecision(3)} µs`;
      if (a < 1) return `${(value * 1e3).toPrecision(3)} ms`;
      return `${value.toPrecision(3)} s`;
    }
    if (unit === "usd") return a === 0 ? "$0" : `$${value.toPrecision(3)}`;
    const text = a !== 0 && (a >= 1e6 || a < 1e-3) ? value.toExponential(2)
      : Number.isInteger(value) ? String(value) : value.toPrecision(3);
    return unit && unit !== "count" ? `${text} ${unit}` : text;
  }

  // The scale (and suffix) of a unit for numbers around `ref`.
  function scaleOf(unit, ref) {
    if (unit === "s") {
      if (ref < 1e-3) return [1e6, "", " µs"];
      if (ref < 1) return [1e3, "", " ms"];
      return [1, "", " s"];
    }
    if (unit === "usd") return [1, "$", ""];
    return [1, "", unit && unit !== "count" ? ` ${unit}` : ""];
  }
  // Decimals that show `step` exactly (Chart.js steps are 1, 2, 2.5 or 5 times a power of 10).
  // A step far below 1 (a cost of $0.0000005) needs as many decimals as reach its first digit.
  function decimalsFor(step) {
    let d = 0;
    const off = (x) => Math.round(x) === 0 || Math.abs(Math.round(x) - x) > 1e-6 * Math.abs(x);
    while (d < 15 && off(step * 10 ** d)) d++;
    return d;
  }
  function tickFmt(unit) {
    return (value, index, ticks) => {
      const values = (ticks || []).map((t) => t.value);
      const ref = Math.max(...values.map(Math.abs), Math.abs(value));
      if (!values.length || ref >= 1e6) return fmt(value, unit);
      const steps = values.slice(1).map((v, i) => Math.abs(v - values[i])).filter((d) => d > 0);
      const [factor, prefix, suffix] = scaleOf(unit, ref);
      const decimals = steps.length ? decimalsFor(Math.min(...steps) * factor) : 0;
      const scaled = value * factor;
      return `${prefix}${(Math.abs(scaled) < 1e-9 * factor ? 0 : scaled).toFixed(decimals)}${suffix}`;
    };
  }

  function themeDefaults() {
    if (typeof Chart === "undefined") return;
    Chart.defaults.color = cssVar("--fg");
    Chart.defaults.borderColor = cssVar("--border");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.animation = false; // cheap to draw, and a screenshot shows the final chart
  }

  function makeChart(box) {
    const make = pending.get(box);
    if (!make) return;
    pending.delete(box);
    if (observer) observer.unobserve(box);
    themeDefaults();
    const chart = new Chart(box.querySelector("canvas"), make());
    made.set(box, { make, chart });
  }
  function remakeCharts() {
    themeDefaults();
    for (const [box, entry] of made) {
      entry.chart.destroy();
      entry.chart = new Chart(box.querySelector("canvas"), entry.make());
    }
  }
  function release(node) {
    for (const box of [...pending.keys()]) {
      if (!node.contains(box)) continue;
      pending.delete(box);
      if (observer) observer.unobserve(box);
    }
    for (const [box, entry] of [...made]) {
      if (!node.contains(box)) continue;
      entry.chart.destroy();
      made.delete(box);
    }
  }
  function renderAll() {
    for (const box of [...pending.keys()]) makeChart(box);
  }
  function chart({ title, summary, config, table: data }) {
    const canvas = el("canvas", { role: "img", "aria-label": summary });
    canvas.textContent = summary; // read where canvas is not supported
    const box = el("div", { class: "chart-box" }, canvas);
    const fallback = data ? el("details", {}, el("summary", {}, "Data table"),
      table(data.columns, data.rows, `${title}: data`)) : null;
    const figure = el("figure", { class: "chart" }, el("figcaption", {}, title), box, fallback);
    pending.set(box, config);
    if (typeof IntersectionObserver === "undefined") {
      queueMicrotask(() => makeChart(box));
    } else {
      observer = observer || new IntersectionObserver((entries) => {
        for (const entry of entries) if (entry.isIntersecting) makeChart(entry.target);
      }, { rootMargin: "300px 0px" });
      observer.observe(box);
    }
    return figure;
  }

  const valueLabels = {
    id: "perfValueLabels",
    afterDatasetsDraw(c) {
      const ctx = c.ctx;
      ctx.save();
      ctx.fillStyle = cssVar("--fg");
      ctx.font = `11px ${Chart.defaults.font.family}`;
      const horizontal = c.options.indexAxis === "y";
      c.data.datasets.forEach((ds, di) => {
        if (!ds.valueLabels || !c.isDatasetVisible(di)) return;
        c.getDatasetMeta(di).data.forEach((bar, i) => {
          const text = ds.valueLabels(ds.data[i], i);
          if (!text) return;
          if (horizontal) {
            ctx.textAlign = "left"; ctx.textBaseline = "middle";
            ctx.fillText(text, bar.x + 4, bar.y);
          } else {
            ctx.textAlign = "center"; ctx.textBaseline = "bottom";
            ctx.fillText(text, bar.x, bar.y - 2);
          }
        });
      });
      ctx.restore();
    },
  };

  addEventListener("beforeprint", renderAll);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (storedTheme()) return; // the reader chose one
    document.documentElement.dataset.theme = systemTheme();
    for (const button of document.querySelectorAll(".theme-toggle")) labelToggle(button);
    remakeCharts();
  });

  return {
    el, escapeHtml, cssVar, color, pointStyle, dash, pattern, themeToggle, skipLink, table,
    chart, renderAll, release, charts: () => [...made.values()].map((m) => m.chart), valueLabels, fmt, tickFmt,
    get palette() { return [0, 1, 2, 3, 4, 5, 6, 7].map(color); },
  };
})();
