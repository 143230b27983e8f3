/* The session report (--perf-html): draws the page from perfData() with PerfKit.
 * Every string from the data (test ids, metric, model and agent names) is set as text. */
(() => {
  const K = PerfKit;
  const el = K.el;
  const data = perfData();
  const SYMBOLS = { regressed: "✖", undecided: "?", improved: "✔", inconclusive: "~", unchanged: "=", new: "+" };

  const pct = (ratio) => {
    if (ratio === null || ratio === undefined) return "–";
    const p = (ratio - 1) * 100;
    return `${p >= 0 ? "+" : ""}${p.toFixed(1)}%`;
  };
  const interval = (c) => (c.low !== null && c.low !== undefined && c.high !== null && c.high !== undefined
    ? `${pct(c.low)}..${pct(c.high)}` : "");
  const pvalue = (p) => (p === null || p === undefined ? "–" : p.toPrecision(2));
  const shortId = (id) => id.split("::").pop();
  const badge = (verdict) => el("span", { class: `badge v-${verdict || "none"}` },
    verdict ? `${SYMBOLS[verdict] || ""} ${verdict}` : "measured");
  const age = (seconds) => {
    if (seconds === null || seconds === undefined) return "unknown";
    const s = Number(seconds);
    if (s < 120) return `${Math.round(s)} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    if (s < 172800) return `${Math.round(s / 3600)} h`;
    return `${Math.round(s / 86400)} days`;
  };

  const counted = () => {
    const ab = (data.ab || []).length;
    const tests = `${data.tests.length} perf test${data.tests.length === 1 ? "" : "s"}`;
    if (!ab) return tests;
    const abText = `${ab} A/B test${ab === 1 ? "" : "s"}`;
    return data.tests.length ? `${tests} and ${abText}` : abText;
  };

  // -- top of the page ------------------------------------------------------------------------
  function header(main) {
    const mode = { compare: "compared with the baseline", save: "baseline saved", run: "measured" }[data.mode];
    main.append(el("div", { class: "topbar" },
      el("div", {}, el("h1", {}, "Performance report"),
        el("p", { class: "muted" }, `${counted()}, ${mode}, ${data.created_at}`)),
      K.themeToggle()));
    const regressed = (data.tests.length && data.tests[0].verdict === "regressed") ||
      (data.ab || []).some((r) => r.verdict === "regressed");
    main.append(el("p", { class: `headline v-${regressed ? "regressed" : "none"}`, id: "headline" }, data.headline));
    if (data.counts) {
      main.append(el("p", { class: "counts" }, data.verdict_order.filter((v) => data.counts[v])
        .map((v) => [badge(v), ` ${data.counts[v]} `])));
    }
  }

  function verdictTable(main) {
    if (!data.tests.length) return;
    const rows = data.tests.map((t, i) => {
      const w = t.worst;
      return [
        el("a", { href: `#t-${i}` }, t.id),
        badge(t.verdict),
        w ? `${w.metric} ${pct(w.ratio)}` : "–",
        w ? interval(w) : "–",
        w ? pvalue(w.pvalue) : "–",
        t.rounds,
        t.baseline ? age(t.baseline.age_s) : "–",
      ];
    });
    const columns = [{ label: "Test" }, { label: "Verdict" }, { label: "Largest change" },
      { label: "95% interval", num: true }, { label: "p-value", num: true }, { label: "Rounds", num: true },
      { label: "Baseline age", num: true }];
    main.append(el("section", { "aria-labelledby": "verdicts-h" },
      el("h2", { id: "verdicts-h" }, "Verdicts, worst first"),
      K.table(columns, rows, "One row per perf test; a change is current median / baseline median - 1")));
  }

  function recommendations(main) {
    const recs = data.recommendations || [];
    if (!recs.length) return;
    main.append(el("section", { "aria-labelledby": "recs-h" }, el("h2", { id: "recs-h" }, "Recommendations"),
      el("ul", {}, recs.map((r) => el("li", {}, el("strong", {}, r.finding), r.test ? ` (${r.test})` : "",
        el("br"), el("span", { class: "muted" }, r.action))))));
  }

  // -- charts ---------------------------------------------------------------------------------
  const jitter = (j) => (((j * 0.618034) % 1) - 0.5) * 0.36;

  // Per category i a shaded band from 1/limits[i] to limits[i] (the threshold around no change),
  // `half` wide either side, and a dashed line at 1 across the chart.
  function drawBands(c, limits, half) {
    const { ctx, chartArea: a, scales: { x, y } } = c;
    ctx.save();
    ctx.fillStyle = K.cssVar("--band");
    limits.forEach((limit, i) => {
      const top = y.getPixelForValue(limit), bottom = y.getPixelForValue(1 / limit);
      const left = x.getPixelForValue(i - half), right = x.getPixelForValue(i + half);
      ctx.fillRect(left, Math.max(top, a.top), right - left, Math.min(bottom, a.bottom) - Math.max(top, a.top));
    });
    ctx.strokeStyle = K.cssVar("--fg");
    ctx.setLineDash([5, 4]);
    const base = y.getPixelForValue(1);
    ctx.beginPath(); ctx.moveTo(a.left, base); ctx.lineTo(a.right, base); ctx.stroke();
    ctx.restore();
  }

  // Per mark an interval bar at x = at from low to high (when both are known) and its text
  // beside the value.
  function drawIntervals(c, marks) {
    const { ctx, scales: { x, y } } = c;
    ctx.save();
    ctx.strokeStyle = K.color(3);
    ctx.fillStyle = K.cssVar("--fg");
    ctx.lineWidth = 2;
    ctx.font = `11px ${Chart.defaults.font.family}`;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    marks.forEach((m) => {
      const px = x.getPixelForValue(m.at);
      if (m.low !== null && m.high !== null) {
        const lo = y.getPixelForValue(m.low), hi = y.getPixelForValue(m.high);
        ctx.beginPath();
        ctx.moveTo(px, lo); ctx.lineTo(px, hi);
        ctx.moveTo(px - 4, lo); ctx.lineTo(px + 4, lo);
        ctx.moveTo(px - 4, hi); ctx.lineTo(px + 4, hi);
        ctx.stroke();
      }
      ctx.fillText(m.text, px + 6, y.getPixelForValue(m.value));
    });
    ctx.restore();
  }

  // Threshold bands, baseline line, intervals and their labels, drawn under/over the points.
  const stripDecor = (rows, compare) => ({
    id: "perfStripDecor",
    beforeDatasetsDraw(c) {
      if (!compare) return;
      drawBands(c, rows.map((r) => (1 + r.threshold) * (r.drift && r.drift > 1 ? r.drift : 1)), 0.45);
    },
    afterDatasetsDraw(c) {
      if (!compare) return;
      drawIntervals(c, rows.map((r, i) => ({ at: i + 0.3, low: r.low, high: r.high, value: r.ratio, text: pct(r.ratio) })));
    },
  });

  function stripChart(t) {
    const compare = t.verdict !== null;
    const rows = t.compared.filter((c) => c.values.length && (!compare || (c.base && c.ratio !== null)));
    if (!rows.length) return null;
    const value = (r, v) => (compare ? v / r.base : v * (r.unit === "s" ? 1000 : 1));
    const points = rows.flatMap((r, i) => r.values.map((v, j) => ({ x: i + jitter(j) - (compare ? 0.1 : 0), y: value(r, v) })));
    const labels = rows.map((r) => r.metric);
    const datasets = [{ label: "this run, one point per round", data: points, pointStyle: "circle",
      pointRadius: 3, backgroundColor: K.color(0), borderColor: K.color(0) }];
    if (compare) {
      datasets.push({ label: "median change, 95% interval", data: rows.map((r, i) => ({ x: i + 0.3, y: r.ratio })),
        pointStyle: "rectRot", pointRadius: 6, backgroundColor: K.color(3), borderColor: K.color(3) });
    }
    const yTitle = compare ? "change from the baseline median" : "ms";
    const config = () => ({
      type: "scatter",
      data: { datasets },
      plugins: [stripDecor(rows, compare)],
      options: {
        maintainAspectRatio: false,
        layout: { padding: { right: 40 } },
        plugins: { legend: { labels: { usePointStyle: true } },
          tooltip: { callbacks: { label: (item) => `${labels[Math.round(item.parsed.x)]}: ${compare ? pct(item.parsed.y) : item.parsed.y.toPrecision(3)}` } } },
        scales: {
          x: { type: "linear", min: -0.6, max: rows.length - 0.4, afterBuildTicks: (s) => { s.ticks = rows.map((_, i) => ({ value: i })); },
            ticks: { callback: (v) => labels[v] ?? "", autoSkip: false, maxRotation: 30 }, grid: { display: false } },
          y: { title: { display: true, text: yTitle }, grace: "8%",
            ticks: { callback: (v) => (compare ? pct(v) : v) } },
        },
      },
    });
    const summary = compare
      ? `Per-round values of ${rows.length} metrics relative to the baseline median: ` + rows.map((r) => `${r.metric} ${pct(r.ratio)} (${r.verdict})`).join(", ")
      : `Per-round values of ${rows.map((r) => r.metric).join(", ")}`;
    const table = { columns: [{ label: "Metric" }, { label: "Rounds (this run)" }, { label: "Baseline median", num: true }],
      rows: rows.map((r) => [r.metric, r.values.map((v) => K.fmt(v, r.unit)).join(", "), compare ? K.fmt(r.base, r.unit) : "–"]) };
    const figure = K.chart({ title: compare ? "This run against the baseline" : "Per-round times", summary, config, table });
    if (compare) {
      figure.querySelector("figcaption").after(el("p", { class: "muted" },
        "Dots: this run's rounds as a change from the baseline median (dashed line). Shaded: within the threshold. " +
        "Diamond and bar: the median change and its 95% interval."));
    }
    return figure;
  }

  function itlChart(t) {
    if (!t.itl.length) return null;
    const labels = t.itl.map(([lo, hi]) => `${K.fmt(lo, "s")}–${K.fmt(hi, "s")}`);
    const counts = t.itl.map((b) => b[2]);
    const total = counts.reduce((a, b) => a + b, 0);
    const config = () => ({
      type: "bar",
      data: { labels, datasets: [{ label: "gaps between tokens", data: counts, backgroundColor: K.pattern(5),
        borderColor: K.color(5), borderWidth: 1, valueLabels: (v) => (v ? String(v) : "") }] },
      plugins: [K.valueLabels],
      options: { maintainAspectRatio: false, plugins: { legend: { display: false } },
        scales: { y: { title: { display: true, text: "gaps" }, grace: "10%" },
          x: { title: { display: true, text: "inter-token latency" }, ticks: { maxRotation: 45 } } } },
    });
    const p = t.itl_pooled || {};
    const summary = `Histogram of ${total} inter-token gaps in ${labels.length} bins` +
      (p.p50 !== undefined ? `; median ${K.fmt(p.p50, "s")}, p95 ${K.fmt(p.p95, "s")}, max ${K.fmt(p.max, "s")}` : "");
    const table = { columns: [{ label: "Bin" }, { label: "Gaps", num: true }], rows: labels.map((l, i) => [l, counts[i]]) };
    return K.chart({ title: "Inter-token latency", summary, config, table });
  }

  const quantile = (sorted, q) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))] : null;

  function distChart(t) {
    const rows = Object.entries(t.dist).filter(([, d]) => d.values.length)
      .map(([metric, d]) => ({ metric, unit: d.unit, values: d.values, sorted: [...d.values].sort((a, b) => a - b) }));
    if (!rows.length) return null;
    rows.forEach((r) => { r.p50 = quantile(r.sorted, 0.5); });
    const datasets = rows.map((r, i) => ({
      label: r.metric, data: r.values.map((v, j) => ({ x: i + jitter(j), y: r.p50 ? (v / r.p50 - 1) * 100 : 0 })),
      pointStyle: K.pointStyle(i + 1), pointRadius: 4, backgroundColor: K.color(i + 1), borderColor: K.color(i + 1),
    }));
    const labelPlugin = {
      id: "perfDistLabels",
      afterDatasetsDraw(c) {
        const { ctx, chartArea: a, scales: { x } } = c;
        ctx.save();
        ctx.fillStyle = K.cssVar("--fg");
        ctx.font = `11px ${Chart.defaults.font.family}`;
        ctx.textAlign = "center";
        rows.forEach((r, i) => ctx.fillText(`median ${K.fmt(r.p50, r.unit)}`, x.getPixelForValue(i), a.top + 10));
        ctx.restore();
      },
    };
    const config = () => ({
      type: "scatter", data: { datasets }, plugins: [labelPlugin],
      options: { maintainAspectRatio: false, plugins: { legend: { labels: { usePointStyle: true } } },
        scales: {
          x: { type: "linear", min: -0.6, max: rows.length - 0.4, afterBuildTicks: (s) => { s.ticks = rows.map((_, i) => ({ value: i })); },
            ticks: { callback: (v) => rows[v] ? rows[v].metric : "" }, grid: { display: false } },
          y: { title: { display: true, text: "% from the metric's median" }, grace: "25%", ticks: { callback: (v) => `${v}%` } },
        } },
    });
    const summary = "Per-round spread of " + rows.map((r) => `${r.metric} (median ${K.fmt(r.p50, r.unit)}, ` +
      `min ${K.fmt(r.sorted[0], r.unit)}, max ${K.fmt(r.sorted[r.sorted.length - 1], r.unit)})`).join(", ");
    const table = { columns: [{ label: "Metric" }, { label: "min", num: true }, { label: "median", num: true },
      { label: "p90", num: true }, { label: "max", num: true }],
    rows: rows.map((r) => [r.metric, K.fmt(r.sorted[0], r.unit), K.fmt(r.p50, r.unit), K.fmt(quantile(r.sorted, 0.9), r.unit),
      K.fmt(r.sorted[r.sorted.length - 1], r.unit)]) };
    return K.chart({ title: "TTFT, TPOT and tokens per second", summary, config, table });
  }

  function usageChart(t) {
    if (!t.usage.length) return null;
    const scopes = ["phase", "agent", "operation", "model"];
    const rows = [...t.usage].sort((a, b) => scopes.indexOf(a.scope) - scopes.indexOf(b.scope));
    const byCost = rows.some((r) => r.cost_usd);
    const key = byCost ? "cost_usd" : "output_tokens";
    const unit = byCost ? "usd" : "tokens";
    const config = () => ({
      type: "bar",
      data: { labels: rows.map((r) => `${r.scope}: ${r.owner}`), datasets: [{
        label: byCost ? "cost per round (median)" : "output tokens per round (median)",
        data: rows.map((r) => r[key] || 0),
        backgroundColor: rows.map((r) => K.pattern(scopes.indexOf(r.scope))),
        borderColor: rows.map((r) => K.color(scopes.indexOf(r.scope))), borderWidth: 1,
        valueLabels: (v) => K.fmt(v, unit) }] },
      plugins: [K.valueLabels],
      options: { indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false } },
        layout: { padding: { right: 70 } },
        scales: { x: { beginAtZero: true, grace: "5%", ticks: { callback: (v) => K.fmt(v, unit), maxRotation: 0 } } } },
    });
    const summary = `${byCost ? "Cost" : "Output tokens"} per round by ${[...new Set(rows.map((r) => r.scope))].join(", ")}: ` +
      rows.map((r) => `${r.scope} ${r.owner} ${K.fmt(r[key] || 0, unit)}`).join(", ");
    const table = { columns: [{ label: "Where" }, { label: "Cost", num: true }, { label: "Input tokens", num: true },
      { label: "Output tokens", num: true }, { label: "API calls", num: true }, { label: "Time", num: true }],
    rows: rows.map((r) => [`${r.scope}: ${r.owner}`, K.fmt(r.cost_usd, "usd"), K.fmt(r.input_tokens), K.fmt(r.output_tokens),
      K.fmt(r.api_calls), K.fmt(r.s, "s")]) };
    const figure = K.chart({ title: "Usage and cost by phase, agent, operation and model", summary, config, table });
    figure.querySelector(".chart-box").style.height = `${Math.max(120, 28 * rows.length + 50)}px`;
    return figure;
  }

  // -- one test -------------------------------------------------------------------------------
  function explain(t) {
    if (!t.verdict) return `Measured ${t.rounds} rounds; no baseline comparison in this run.`;
    const w = t.worst;
    if (!w) return `${t.verdict}: no metric could be compared with the baseline.`;
    const i = interval(w);
    return `${w.metric} ${pct(w.ratio)}${i ? ` (95% interval ${i})` : ""}, p = ${pvalue(w.pvalue)}: ${w.verdict}. ` +
      `${t.rounds} rounds compared with the baseline median.`;
  }

  function provenance(t) {
    const b = t.baseline;
    if (!b) return null;
    return el("p", { class: "muted" }, `Baseline: ${b.origin || "unknown origin"}, saved ${b.saved_at || "at an unknown time"} ` +
      `(${age(b.age_s)} ago), ${b.sessions ?? "?"} session(s)${b.stale ? "; stale: consider saving it again" : ""}.`);
  }

  function metricTable(t) {
    if (!t.verdict) return null;
    const rows = t.compared.map((c) => [c.metric, badge(c.verdict), `${pct(c.ratio)}`, interval(c) || "–", pvalue(c.pvalue),
      c.threshold !== null && c.threshold !== undefined ? `${(c.threshold * 100).toFixed(0)}%` : "–",
      K.fmt(c.base, c.unit), K.fmt(c.cur, c.unit), c.gated ? "yes" : "no"]);
    const columns = [{ label: "Metric" }, { label: "Verdict" }, { label: "Change", num: true }, { label: "95% interval", num: true },
      { label: "p-value", num: true }, { label: "Threshold", num: true }, { label: "Baseline", num: true },
      { label: "This run", num: true }, { label: "Gated" }];
    return K.table(columns, rows, "Gated metrics and every metric with a verdict other than unchanged or inconclusive");
  }

  function testSection(t, i) {
    const strip = stripChart(t);
    const charts = [strip ? el("div", { class: "card wide" }, strip) : null,
      ...[itlChart(t), distChart(t), usageChart(t)].filter(Boolean).map((figure) => el("div", { class: "card" }, figure))];
    return el("section", { id: `t-${i}`, class: "test", "aria-labelledby": `t-${i}-h`, "data-verdict": t.verdict || "none" },
      el("h2", { id: `t-${i}-h` }, badge(t.verdict), " ", el("a", { href: `#t-${i}`, class: "test-id" }, t.id)),
      el("p", {}, explain(t)),
      provenance(t),
      t.outcome !== "passed" ? el("p", { class: "muted" }, `pytest outcome: ${t.outcome}`) : null,
      metricTable(t),
      el("div", { class: "cards" }, charts));
  }

  function environment(main) {
    const env = data.environment || {};
    const rows = Object.keys(env).sort().map((k) => [k, env[k] === null ? "–" : String(env[k])]);
    const s = data.session || {};
    rows.push(["profile", String(s.profile)], ["alpha (session)", String(s.alpha)]);
    main.append(el("section", { "aria-labelledby": "env-h" }, el("h2", { id: "env-h" }, "Where this ran"),
      K.table([{ label: "Key" }, { label: "Value" }], rows, "Environment of this run")));
  }

  // -- A/B tests ------------------------------------------------------------------------------
  const times = (r) => (r === null || r === undefined ? "–" : `×${Number(r).toPrecision(3)}`);
  const abInterval = (m) => (m.ratio_low !== null && m.ratio_high !== null ? `${times(m.ratio_low)}..${times(m.ratio_high)}` : "–");
  const verdictRank = (v) => { const i = data.verdict_order.indexOf(v); return i < 0 ? data.verdict_order.length : i; };
  const size = (m) => (m.ratio > 0 ? Math.abs(Math.log(m.ratio)) : 0);
  // Gated metrics (those that decide) first, each group worst first: by verdict, then the larger change.
  const abSorted = (metrics) => [...metrics].sort((x, y) => Number(y.gated) - Number(x.gated)
    || verdictRank(x.verdict) - verdictRank(y.verdict) || size(y) - size(x) || (x.metric < y.metric ? -1 : 1));
  const abWorst = (r) => abSorted(r.metrics.filter((m) => m.gated))[0] || null;

  function abSentence(r) {
    const [a, b] = r.labels;
    const w = abWorst(r);
    const head = `${b} ${r.verdict} against ${a}`;
    if (!r.measured) return `${head}: not measured (each side ran once, untimed).`;
    if (!w) return `${head}: no gated metric compared; ${r.pairs} pairs.`;
    const p = w.pvalue === null ? "compared exactly" : `p = ${pvalue(w.pvalue)}`;
    return `${head}: ${w.metric} b/a ${times(w.ratio)} (95% interval ${abInterval(w)}), ${p}, ${w.pairs} pairs` +
      `${r.verdict === "regressed" && !r.fail ? " (fail=False: the test is not failed)" : ""}.`;
  }

  // A metric zero on both sides (no tokens, no cost recorded) says nothing: left out.
  const zero = (side) => !side || side.median === 0;
  const abShown = (m) => m.verdict === "regressed" || m.verdict === "improved" || !(zero(m.a) && zero(m.b));

  function abTable(r) {
    const [a, b] = r.labels;
    const rows = abSorted(r.metrics.filter(abShown)).map((m) => [m.metric, K.fmt(m.a ? m.a.median : null, m.unit),
      K.fmt(m.b ? m.b.median : null, m.unit), times(m.ratio), abInterval(m), pvalue(m.pvalue), badge(m.verdict),
      m.gated ? el("strong", {}, "gated") : "no"]);
    const columns = [{ label: "Metric" }, { label: "a median", num: true }, { label: "b median", num: true },
      { label: "b/a", num: true }, { label: "95% interval", num: true }, { label: "p-value", num: true },
      { label: "Verdict" }, { label: "Gated" }];
    return K.table(columns, rows, `a: ${a}; b: ${b}. Gated metrics first, worst first; b/a is the ratio of paired rounds; ` +
      "metrics zero on both sides are left out");
  }

  // Threshold bands, the no-change line, the intervals and their labels.
  const abDecor = (rows) => ({
    id: "perfAbDecor",
    beforeDatasetsDraw(c) {
      drawBands(c, rows.map((m) => 1 + m.threshold), 0.35);
    },
    afterDatasetsDraw(c) {
      drawIntervals(c, rows.map((m, i) => ({ at: i, low: m.ratio_low, high: m.ratio_high, value: m.ratio,
        text: `${times(m.ratio)} ${m.verdict}` })));
    },
  });

  function abChart(r) {
    const rows = abSorted(r.metrics.filter((m) => m.gated && m.ratio !== null && m.ratio > 0));
    if (!rows.length) return null;
    const labels = rows.map((m) => m.metric);
    const config = () => ({
      type: "scatter",
      data: { datasets: [{ label: "b/a, 95% interval", data: rows.map((m, i) => ({ x: i, y: m.ratio })),
        pointStyle: "rectRot", pointRadius: 6, backgroundColor: K.color(3), borderColor: K.color(3) }] },
      plugins: [abDecor(rows)],
      options: {
        maintainAspectRatio: false,
        layout: { padding: { right: 40 } },
        plugins: { legend: { labels: { usePointStyle: true } },
          tooltip: { callbacks: { label: (item) => `${labels[Math.round(item.parsed.x)]}: b/a ${times(item.parsed.y)}` } } },
        scales: {
          x: { type: "linear", min: -0.6, max: rows.length - 0.4, afterBuildTicks: (s) => { s.ticks = rows.map((_, i) => ({ value: i })); },
            ticks: { callback: (v) => labels[v] ?? "", autoSkip: false, maxRotation: 30 }, grid: { display: false } },
          y: { title: { display: true, text: "b/a" }, grace: "10%",
            suggestedMin: Math.min(...rows.map((m) => 1 / (1 + m.threshold))),
            suggestedMax: Math.max(...rows.map((m) => 1 + m.threshold)),
            ticks: { callback: (v) => times(v) } },
        },
      },
    });
    const summary = `Ratio b/a of ${rows.length} gated metrics, ${r.labels[1]} against ${r.labels[0]}: ` +
      rows.map((m) => `${m.metric} ${times(m.ratio)} (95% interval ${abInterval(m)}, ${m.verdict})`).join(", ");
    const table = { columns: [{ label: "Metric" }, { label: "b/a", num: true }, { label: "95% interval", num: true },
      { label: "Threshold", num: true }, { label: "Verdict" }],
    rows: rows.map((m) => [m.metric, times(m.ratio), abInterval(m), `${(m.threshold * 100).toFixed(0)}%`, m.verdict]) };
    const figure = K.chart({ title: `${r.labels[1]} against ${r.labels[0]}`, summary, config, table });
    figure.querySelector("figcaption").after(el("p", { class: "muted" },
      "Diamond and bar: the ratio b/a of paired rounds and its 95% interval. Shaded: within the threshold; " +
      "dashed line: no change."));
    return figure;
  }

  function abSection(r, i) {
    const chart = abChart(r);
    return el("section", { id: `ab-${i}`, class: "ab-test", "aria-labelledby": `ab-${i}-h`, "data-verdict": r.verdict },
      el("h3", { id: `ab-${i}-h` }, badge(r.verdict), " ", el("a", { href: `#ab-${i}`, class: "test-id" }, r.nodeid)),
      el("p", {}, abSentence(r)),
      abTable(r),
      chart ? el("div", { class: "cards" }, el("div", { class: "card wide" }, chart)) : null);
  }

  function abResults(main) {
    const ab = data.ab || [];
    if (!ab.length) return;
    main.append(el("section", { "aria-labelledby": "ab-h" }, el("h2", { id: "ab-h" }, "A/B tests"),
      el("p", { class: "muted" }, "Variant b against variant a, measured in interleaved pairs; " +
        "b/a below 1 means b is smaller (faster, cheaper) than a."),
      ab.map((r, i) => abSection(r, i))));
  }

  const main = document.getElementById("main");
  main.replaceChildren();
  K.skipLink("main");
  header(main);
  verdictTable(main);
  recommendations(main);
  abResults(main);
  if (data.tests.length) main.append(el("h2", { class: "sr-only" }, "Tests"));
  data.tests.forEach((t, i) => main.append(testSection(t, i)));
  environment(main);
})();
