/* The history dashboard: filters, one lazily drawn chart per test, cost over time, runs,
 * baseline versions, recommendations; served (data.live), it polls for new runs and for the
 * progress of running sessions. Every string from the data goes in as text (PerfKit.el). */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const el = PerfKit.el;
  const PAGE = 24; // test charts added per "Show more"
  const POLL_MS = 2000;
  const MARK_STYLE = ["triangle", "rectRot", "triangle", "crossRot"]; // regressed, undecided, improved, excused
  const MARK_ROTATE = [0, 0, 180, 0];
  const MARK_VAR = ["--bad", "--warn", "--good", "--neutral"];
  const ROLL_S = 86400;
  let data = null;
  let limit = PAGE;
  const state = { branch: "", profile: "", test: "", window: 0, metric: "" };

  const date = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ");
  const day = (t) => new Date(t * 1000).toISOString().slice(5, 10);

  function decode(d) {
    for (const s of d.series) {
      const pos = [s.r0];
      if (s.rd) for (const step of s.rd) pos.push(pos[pos.length - 1] + step);
      else for (let i = 1; i < s.v.length; i++) pos.push(s.r0 + i);
      s.pos = pos;
    }
    d.byMetric = new Map();
    for (const s of d.series) {
      if (!d.byMetric.has(s.m)) d.byMetric.set(s.m, []);
      d.byMetric.get(s.m).push(s);
    }
    return d;
  }

  function options(select, values, all) {
    const keep = select.value;
    select.replaceChildren(...(all ? [el("option", { value: "" }, all)] : []),
      ...values.map((v) => el("option", { value: v }, v)));
    if (values.includes(keep) || (all && keep === "")) select.value = keep;
  }

  function setUpFilters() {
    const runs = data.runs;
    const distinct = (xs) => [...new Set(xs.filter((x) => x !== null))].sort();
    options($("f-branch"), distinct(runs.branch), "all branches");
    options($("f-profile"), distinct(runs.profile), "all profiles");
    const metrics = data.metrics.map((m) => m[0]).filter((_, i) => data.byMetric.has(i));
    options($("f-metric"), metrics, null);
    if (!state.metric || !metrics.includes(state.metric)) {
      state.metric = ["round_s", "ttft_s"].find((m) => metrics.includes(m)) || metrics[0] || "";
    }
    $("f-metric").value = state.metric;
    $("f-branch").value = state.branch;
    $("f-profile").value = state.profile;
  }

  function runMask() {
    const r = data.runs;
    const newest = r.t.length ? Math.max(...r.t) : 0;
    return r.id.map((_, i) => (!state.branch || r.branch[i] === state.branch)
      && (!state.profile || r.profile[i] === state.profile)
      && (!state.window || r.t[i] >= newest - state.window));
  }

  function rolling(ts, vs, size) {
    const out = [];
    let start = 0;
    for (let i = 0; i < ts.length; i++) {
      while (ts[i] - ts[start] > size) start++;
      const inside = vs.slice(start, i + 1).filter((v) => v !== null).sort((a, b) => a - b);
      const n = inside.length;
      out.push(n ? (n % 2 ? inside[(n - 1) / 2] : (inside[n / 2 - 1] + inside[n / 2]) / 2) : null);
    }
    return out;
  }

  const verticals = {
    id: "perfVerticals",
    afterDatasetsDraw(chart, _args, opts) {
      const { ctx, chartArea: area, scales: { x } } = chart;
      ctx.save();
      for (const line of opts.lines || []) {
        const px = x.getPixelForValue(line.x);
        if (px < area.left || px > area.right) continue;
        ctx.strokeStyle = PerfKit.cssVar(line.color);
        ctx.lineWidth = line.width;
        ctx.setLineDash(line.dash);
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
      }
      ctx.restore();
    },
  };

  function xAxis(mask) {
    const ts = data.runs.t.filter((_, i) => mask[i]);
    const min = Math.min(...ts);
    const max = Math.max(...ts);
    // Within a day the time alone (the title line gives the dates), so labels fit a card.
    const span = max - min;
    const label = span < 86400 ? (v) => date(v).slice(11) : span < 3 * 86400 ? (v) => date(v).slice(5) : day;
    return { type: "linear", min, max, ticks: { maxTicksLimit: span < 3 * 86400 ? 4 : 6, callback: label } };
  }

  function seriesConfig(s, unit, mask) {
    const r = data.runs;
    const pts = [];
    const marks = [];
    s.pos.forEach((p, i) => {
      if (!mask[p] || s.v[i] === null) return;
      pts.push({ x: r.t[p], y: s.v[i], run: p });
      marks.push(s.x ? s.x[String(i)] : undefined);
    });
    const roll = rolling(pts.map((q) => q.x), pts.map((q) => q.y), ROLL_S);
    const lines = [];
    for (const [at] of s.cp || []) {
      if (mask[s.pos[at]]) lines.push({ x: r.t[s.pos[at]], color: "--c3", width: 2, dash: [] });
    }
    for (const b of data.baselines) {
      if (b.run !== null && mask[b.run] && (!state.profile || b.profile === state.profile)) {
        lines.push({ x: b.t, color: "--muted", width: 1, dash: [2, 3] });
      }
    }
    const fg = PerfKit.color(0);
    const markColor = (m) => (m === undefined ? fg : PerfKit.cssVar(MARK_VAR[m]));
    return () => ({
      type: "line",
      data: {
        datasets: [
          { label: "median", data: pts, borderColor: fg, backgroundColor: fg, borderWidth: 1.5,
            pointRadius: marks.map((m) => (m === undefined ? (pts.length > 60 ? 0 : 2) : 5)),
            pointStyle: marks.map((m) => (m === undefined ? "circle" : MARK_STYLE[m])),
            pointRotation: marks.map((m) => (m === undefined ? 0 : MARK_ROTATE[m])),
            pointBackgroundColor: marks.map(markColor), pointBorderColor: marks.map(markColor) },
          { label: "24 h median", data: pts.map((q, i) => ({ x: q.x, y: roll[i] })),
            borderColor: PerfKit.color(1), borderDash: [6, 3], borderWidth: 1.5, pointRadius: 0 },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
        interaction: { mode: "nearest", intersect: false },
        scales: { x: xAxis(mask), y: { ticks: { maxTicksLimit: 5, callback: PerfKit.tickFmt(unit) } } },
        plugins: {
          legend: { display: false },
          decimation: { enabled: true, algorithm: "min-max" },
          perfVerticals: { lines },
          tooltip: { callbacks: {
            title: (items) => items.length ? date(items[0].raw.x) : "",
            label: (item) => `${item.dataset.label}: ${PerfKit.fmt(item.raw.y, unit)}`,
          } },
        },
      },
      plugins: [verticals],
    });
  }

  function summaryText(nodeid, metric, unit, s, shown) {
    const last = s.v[s.v.length - 1];
    const steps = (s.cp || []).length;
    return `${metric} of ${nodeid} over ${shown} runs: latest median ${PerfKit.fmt(last, unit)}`
      + (steps ? `, ${steps} change point${steps > 1 ? "s" : ""}` : "")
      + (s.x ? `, ${Object.keys(s.x).length} runs marked` : "");
  }

  function card(s, metric, unit, mask) {
    const nodeid = data.tests[s.t];
    const shown = s.pos.filter((p) => mask[p]).length;
    const roll = data.windows.map((w, i) => `${w}: ${PerfKit.fmt(s.roll[i], unit)}`).join("  ·  ");
    const figure = PerfKit.chart({
      title: `${metric} of ${nodeid}`,
      summary: summaryText(nodeid, metric, unit, s, shown),
      config: seriesConfig(s, unit, mask),
    });
    return el("article", { class: "card test-card", "data-test": nodeid },
      el("h3", {}, nodeid),
      el("p", { class: "roll muted" }, `rolling medians, latest  ${roll}`),
      figure);
  }

  function renderTests(mask) {
    const index = data.metrics.findIndex((m) => m[0] === state.metric);
    const [metric, unit] = index >= 0 ? data.metrics[index] : ["", ""];
    const needle = state.test.toLowerCase();
    const all = (data.byMetric.get(index) || []).filter((s) =>
      (!needle || data.tests[s.t].toLowerCase().includes(needle)) && s.pos.some((p) => mask[p]));
    PerfKit.release($("tests"));
    $("tests").replaceChildren(...all.slice(0, limit).map((s) => card(s, metric, unit, mask)));
    $("more").hidden = all.length <= limit;
    $("more").textContent = `Show more tests (${all.length - limit} more)`;
    return all.length;
  }

  function renderCost(mask) {
    PerfKit.release($("cost"));
    const r = data.runs;
    const datasets = [];
    const rows = [];
    for (const scope of ["model", "agent"]) {
      for (const [owner, [at, values]] of Object.entries(data.cost[scope] || {})) {
        const i = datasets.length;
        const pts = at.map((p, k) => ({ x: r.t[p], y: values[k], p })).filter((q) => mask[q.p]);
        if (!pts.length) continue;
        datasets.push({ label: `${scope} ${owner}`, data: pts, borderColor: PerfKit.color(i),
          backgroundColor: PerfKit.color(i), borderDash: PerfKit.dash(i),
          pointStyle: PerfKit.pointStyle(i), pointRadius: pts.length > 60 ? 0 : 2, borderWidth: 1.5 });
        rows.push([`${scope} ${owner}`, pts.length, PerfKit.fmt(pts[pts.length - 1].y, "usd")]);
      }
    }
    if (!datasets.length) {
      $("cost").replaceChildren(el("p", { class: "muted" }, "No cost by model or agent recorded in these runs."));
      return;
    }
    $("cost").replaceChildren(PerfKit.chart({
      title: "Cost of one round of every test, per run, by model and agent",
      summary: `cost over time of ${datasets.length} models and agents`,
      table: { columns: [{ label: "model or agent" }, { label: "runs", num: true }, { label: "latest", num: true }], rows },
      config: () => ({
        type: "line", data: { datasets },
        options: { responsive: true, maintainAspectRatio: false, parsing: false,
          scales: { x: xAxis(mask), y: { ticks: { callback: PerfKit.tickFmt("usd") } } },
          plugins: { decimation: { enabled: true, algorithm: "min-max" },
            tooltip: { callbacks: { title: (items) => items.length ? date(items[0].raw.x) : "" } } } },
      }),
    }));
  }

  function runMarks(mask) {
    const marks = new Map();
    for (const s of data.series) {
      if (!s.x) continue;
      for (const [i, m] of Object.entries(s.x)) {
        const p = s.pos[Number(i)];
        if (!mask[p]) continue;
        if (!marks.has(p)) marks.set(p, new Set());
        marks.get(p).add(m);
      }
    }
    return marks;
  }

  function renderRuns(mask) {
    const r = data.runs;
    const marks = runMarks(mask);
    const shown = r.id.map((_, i) => i).filter((i) => mask[i]).reverse().slice(0, 30);
    const rows = shown.map((i) => [
      el("code", {}, r.id[i].slice(0, 12)), date(r.t[i]), r.branch[i] || "–", r.commit[i] || "–",
      r.profile[i], r.mode[i], r.tests[i],
      el("span", {}, [...(marks.get(i) || [])].sort().map((m) =>
        el("span", { class: `badge v-${data.verdicts[m]}` }, data.verdicts[m]))),
    ]);
    const columns = ["run", "finished (UTC)", "branch", "commit", "profile", "mode", "tests", "verdicts"]
      .map((label) => ({ label, num: label === "tests" }));
    $("runs").replaceChildren(PerfKit.table(columns, rows, `newest ${rows.length} of the runs shown`));
  }

  function renderBaselines(mask) {
    const rows = data.baselines.filter((b) => (!state.profile || b.profile === state.profile)
      && (b.run === null || mask[b.run])).reverse().map((b) =>
      [date(b.t), b.commit || "–", b.profile, b.tests]);
    $("baselines").replaceChildren(rows.length ? PerfKit.table(
      [{ label: "saved (UTC)" }, { label: "commit" }, { label: "profile" }, { label: "tests saved", num: true }],
      rows, "baseline versions, newest first") : el("p", { class: "muted" }, "No baseline saved in these runs."));
  }

  function renderRecommendations() {
    const needle = state.test.toLowerCase();
    const items = data.recommendations.filter((x) => !needle || (x.test || "").toLowerCase().includes(needle));
    $("recommendations").replaceChildren(...(items.length ? items.map((x) => el("li", {},
      el("span", {}, x.finding), " ", el("span", { class: "action" }, `→ ${x.action}`)))
      : [el("li", { class: "muted" }, "No recommendations.")]));
  }

  function render() {
    const mask = runMask();
    const runs = mask.filter(Boolean).length;
    const tests = renderTests(mask);
    $("shown").textContent = `${runs} of ${mask.length} runs, ${tests} tests with ${state.metric || "no metric"}`;
    renderCost(mask);
    renderRuns(mask);
    renderBaselines(mask);
    renderRecommendations();
  }

  function onFilter(id, key, parse) {
    $(id).addEventListener(id === "f-test" ? "input" : "change", (event) => {
      state[key] = parse ? parse(event.target.value) : event.target.value;
      limit = PAGE;
      render();
    });
  }

  function setData(d) {
    data = decode(d);
    const n = data.runs.id.length;
    $("subtitle").textContent = `${data.store}: ${n} runs, ${data.tests.length} tests`
      + (n ? `, ${date(data.runs.t[0])} to ${date(data.runs.t[n - 1])} UTC` : "");
    setUpFilters();
    render();
  }

  function renderLive(sessions) {
    $("live").hidden = !sessions.length;
    $("live-sessions").replaceChildren(...sessions.map((s) => el("div", { class: "session" },
      el("div", {}, `session ${s.session}`, s.branch ? ` on ${s.branch}` : "",
        `: ${s.done ?? 0} of ${s.total ?? "?"} tests done`, s.failed ? `, ${s.failed} failed` : ""),
      el("progress", { max: s.total || 1, value: s.done || 0, "aria-label": `tests done of session ${s.session}` }),
      s.running.map((x) => el("div", { class: "running" },
        x.worker ? `${x.worker}: ` : "", el("code", {}, x.test),
        x.rounds ? ` ${x.warmup ? "warm-up" : "round"} ${x.round}/${x.rounds}` : "")))));
  }

  async function poll() {
    try {
      const state_ = await (await fetch("api/state", { cache: "no-store" })).json();
      renderLive(state_.live || []);
      if (state_.key && state_.key !== data.key) {
        const fresh = await (await fetch("api/data", { cache: "no-store" })).json();
        setData(fresh);
      }
    } catch (e) {
      /* the server stopped or is busy: try again at the next tick */
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  PerfKit.skipLink("main");
  $("actions").append(PerfKit.themeToggle());
  onFilter("f-branch", "branch");
  onFilter("f-profile", "profile");
  onFilter("f-test", "test");
  onFilter("f-window", "window", Number);
  onFilter("f-metric", "metric");
  $("more").addEventListener("click", () => { limit += PAGE; render(); });
  const initial = perfData();
  setData(initial);
  if (initial.live) setTimeout(poll, POLL_MS);
})();
