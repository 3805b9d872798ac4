/* Training runs: start a run, list runs, and follow one live (polls every 2 s while it is queued
 * or running): stage, progress, a loss plot (SVG, one line per stage, plus a table), metrics,
 * evaluation (with the tuned model's mean and interval over training seeds when it has them), the
 * error if it failed, and the export zip.
 *
 * Reads/writes GET/POST .../training-runs/ and GET training-runs/<id>/; the constitution choices
 * come from GET .../constitutions/. Every value from the server is inserted as text.
 */
(function () {
  "use strict";
  /** A stage's name in the page's language (the run records "sft", "card", …). */
  function stageName(stage) {
    if (!stage) return window.Concord.t("stage_none");
    const seeded = /^(.+)@seed(\d+)$/.exec(stage); // a stage of an extra training seed
    if (seeded) return window.Concord.t("stage_with_seed", { stage: stageName(seeded[1]), seed: seeded[2] });
    return window.Concord.named("stage_", stage);
  }

  const C = window.Concord;
  const slug = C.config.slug;
  const base = "/api/v1/conversations/" + encodeURIComponent(slug) + "/";
  const SVG = "http://www.w3.org/2000/svg";
  const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
  const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const POLL_MS = 2000;
  const state = { runs: [], constitutions: {}, shownId: null, timer: null };
  const $ = function (id) { return document.getElementById(id); };

  function when(iso) {
    return iso ? new Date(iso).toLocaleString(document.documentElement.lang) : "";
  }

  function fixed(value, digits) {
    return typeof value === "number" && isFinite(value) ? value.toFixed(digits === undefined ? 3 : digits) : "–";
  }

  function pct(value) {
    return typeof value === "number" && isFinite(value) ? Math.round(100 * value) + "%" : "–";
  }

  function isActive(run) {
    return run && (run.status === "queued" || run.status === "running");
  }

  function statusText(run) {
    return C.named("status_", run.status);
  }

  function constitutionLabel(id) {
    const row = state.constitutions[id];
    if (!row) return id ? "#" + id : C.t("none");
    return row.group_id === null || row.group_id === undefined
      ? C.t("version_label", { version: row.version })
      : C.t("group_version_label", { name: LETTERS[Number(row.group_id) % LETTERS.length] || row.group_id, version: row.version });
  }

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, String(attrs[name])); });
    [].concat(children || []).forEach(function (child) {
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  // ------------------------------------------------------------------ loss plot

  function byStage(curve) {
    const stages = [];
    const points = {};
    (curve || []).forEach(function (p) {
      if (typeof p.loss !== "number" || !isFinite(p.loss)) return;
      if (!points[p.stage]) { points[p.stage] = []; stages.push(p.stage); }
      points[p.stage].push(p);
    });
    return stages.map(function (stage) { return { stage: stage, points: points[stage] }; });
  }

  /** One polyline per stage over (step, loss); ticks at the ends of both axes. */
  function lossPlot(curve) {
    const lines = byStage(curve);
    // Legend entries side by side, each as wide as its (translated) name (about 6.5 px a
    // character at 11 px), in as many rows as they need above the plot.
    const W = 560, L = 56, R = 16, B = 40;
    const legend = [];
    let lx = L + 12, row = 0;
    lines.forEach(function (line) {
      const name = stageName(line.stage);
      const width = 16 + Math.ceil(name.length * 6.5) + 16;
      if (lx > L + 12 && lx + width - 16 > W - R) { lx = L + 12; row += 1; }
      legend.push({ name: name, x: lx, row: row });
      lx += width;
    });
    const T = 16 + 16 * row, H = 224 + T;
    const all = [].concat.apply([], lines.map(function (l) { return l.points; }));
    const steps = all.map(function (p) { return Number(p.step); });
    const losses = all.map(function (p) { return p.loss; });
    const x0 = Math.min.apply(null, steps), x1 = Math.max.apply(null, steps);
    let y0 = Math.min.apply(null, losses), y1 = Math.max.apply(null, losses);
    if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
    const padY = (y1 - y0) * 0.05;
    y0 -= padY; y1 += padY;
    const sx = function (s) { return x1 === x0 ? L + (W - L - R) / 2 : L + ((s - x0) / (x1 - x0)) * (W - L - R); };
    const sy = function (v) { return T + (1 - (v - y0) / (y1 - y0)) * (H - T - B); };
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": C.t("loss_plot"), dir: "ltr", class: "loss-svg" });
    root.appendChild(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
    root.appendChild(svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
    root.appendChild(svg("text", { x: L - 6, y: sy(y1 - padY) + 4, "text-anchor": "end", class: "tick" }, [fixed(y1 - padY)]));
    root.appendChild(svg("text", { x: L - 6, y: sy(y0 + padY) + 4, "text-anchor": "end", class: "tick" }, [fixed(y0 + padY)]));
    root.appendChild(svg("text", { x: L, y: H - B + 16, "text-anchor": "middle", class: "tick" }, [String(x0)]));
    if (x1 !== x0) root.appendChild(svg("text", { x: W - R, y: H - B + 16, "text-anchor": "end", class: "tick" }, [String(x1)]));
    root.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, [C.t("axis_step")]));
    root.appendChild(svg("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", class: "axis-label", transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" }, [C.t("axis_loss")]));
    lines.forEach(function (line, index) {
      const color = PALETTE[index % PALETTE.length];
      const d = line.points.map(function (p, i) {
        return (i ? "L" : "M") + sx(Number(p.step)).toFixed(1) + "," + sy(p.loss).toFixed(1);
      }).join(" ");
      const group = svg("g", { "data-stage": line.stage });
      group.appendChild(svg("path", { d: d, fill: "none", stroke: color, "stroke-width": 2, "data-stage": line.stage, class: "loss-line" }));
      line.points.forEach(function (p) {
        group.appendChild(svg("circle", { cx: sx(Number(p.step)).toFixed(1), cy: sy(p.loss).toFixed(1), r: 3, fill: color }, [
          svg("title", {}, [stageName(line.stage) + " · " + C.t("col_step") + " " + p.step + " · " + fixed(p.loss, 4)]),
        ]));
      });
      root.appendChild(group);
      const entry = legend[index], y = 16 + 16 * entry.row;
      root.appendChild(svg("rect", { x: entry.x, y: y - 10, width: 12, height: 4, fill: color }));
      root.appendChild(svg("text", { x: entry.x + 16, y: y - 4, class: "legend-text" }, [entry.name]));
    });
    return root;
  }

  function drawLoss(run) {
    const figure = C.clear($("loss-plot"));
    const table = $("loss-table");
    const head = C.clear(table.querySelector("thead"));
    const body = C.clear(table.querySelector("tbody"));
    const lines = byStage(run.loss_curve);
    if (!lines.length) {
      figure.appendChild(C.el("p", { class: "muted" }, [C.t("no_loss")]));
      return;
    }
    figure.appendChild(lossPlot(run.loss_curve));
    head.appendChild(C.el("tr", {}, [C.el("th", { scope: "col" }, [C.t("col_stage")]), C.el("th", { scope: "col" }, [C.t("col_step")]), C.el("th", { scope: "col" }, [C.t("col_loss")])]));
    lines.forEach(function (line) {
      line.points.forEach(function (p) {
        body.appendChild(C.el("tr", {}, [C.el("td", {}, [stageName(line.stage)]), C.el("td", {}, [String(p.step)]), C.el("td", {}, [fixed(p.loss, 4)])]));
      });
    });
  }

  // ------------------------------------------------------------------ evaluation and metrics

  function figure(key, label, value, note) {
    return C.el("div", { "data-metric": key }, [C.el("dt", {}, [label]), C.el("dd", {}, [value]), note ? C.el("dd", { class: "muted small" }, [note]) : null]);
  }

  function drawEvaluation(run) {
    const box = C.clear($("run-evaluation"));
    const ev = run.evaluation || {};
    const pw = ev.pairwise, reward = ev.reward, cap = ev.capability;
    drawSeeds(ev.across_seeds);
    if (!pw && !reward && !cap) { box.appendChild(C.el("div", {}, [C.el("dd", { class: "muted" }, [C.t("no_evaluation")])])); return; }
    if (pw) box.appendChild(figure("win_rate", C.t("win_rate"), pct(pw.win_rate), C.t("win_counts", { wins: pw.wins, losses: pw.losses, ties: pw.ties, n: ev.n_prompts })));
    if (reward) {
      box.appendChild(figure("reward_accuracy", C.t("reward_accuracy"), pct(reward.implicit_reward_accuracy)));
      box.appendChild(figure("reward_margin", C.t("reward_margin"), fixed(reward.mean_reward_margin)));
      box.appendChild(figure("logprob_accuracy", C.t("logprob_accuracy"), pct(reward.tuned_logprob_accuracy) + " / " + pct(reward.base_logprob_accuracy)));
    }
    if (cap) {
      box.appendChild(figure("perplexity", C.t("perplexity"), change(fixed(cap.perplexity_base, 2), fixed(cap.perplexity_tuned, 2))));
      box.appendChild(figure("facts", C.t("facts"), change(pct(cap.facts_base), pct(cap.facts_tuned))));
    }
    drawGroups(box, ev);
  }

  // Tuned-model figures over training seeds, in the order of evaluate.SEED_METRICS (jsonb keeps
  // no key order); per-group figures after these, any other key last under its own name.
  const SEED_ORDER = ["win_rate", "implicit_reward_accuracy", "tuned_logprob_accuracy", "representativeness_collective", "representativeness_least_group", "capability_mc", "bias_accuracy", "bias_stereotyped", "perplexity", "facts"];
  const GROUP_PREFIX = "representativeness_group_";

  function seedLabel(name) {
    if (name.indexOf(GROUP_PREFIX) === 0) return C.t("seed_representativeness_group", { group: name.slice(GROUP_PREFIX.length) });
    const key = "seed_" + name;
    return C.t(key) === key ? C.el("span", { dir: "ltr" }, [name]) : C.t(key); // a new metric: its identifier
  }

  /** Numbers read left to right in every page direction (an interval's brackets stay put). */
  function num(text, cls) {
    return C.el("span", { dir: "ltr", class: cls || null }, [text]);
  }

  /** The table over training seeds (evaluate.aggregate_seeds): mean [t interval] beside base. */
  function drawSeeds(summary) {
    const box = C.clear($("run-seeds"));
    const metrics = summary && summary.metrics;
    box.hidden = !metrics;
    if (!metrics) return;
    const base = summary.base || {};
    const names = SEED_ORDER.filter(function (name) { return name in metrics; })
      .concat(Object.keys(metrics).filter(function (name) { return SEED_ORDER.indexOf(name) < 0; }).sort(function (a, b) {
        return (a.indexOf(GROUP_PREFIX) === 0 ? 0 : 1) - (b.indexOf(GROUP_PREFIX) === 0 ? 0 : 1) || (a < b ? -1 : a > b ? 1 : 0);
      }));
    const rows = names.filter(function (name) {
      const ci = metrics[name] || {};
      return typeof ci.value === "number" || typeof base[name] === "number";
    }).map(function (name) {
      const ci = metrics[name] || {};
      const digits = 2;
      const tuned = typeof ci.value === "number"
        ? [num(fixed(ci.value, digits), "seed-mean"), C.el("br"), typeof ci.low === "number" ? num("[" + fixed(ci.low, digits) + ", " + fixed(ci.high, digits) + "]", "seed-ci muted") : null]
        : ["–"];
      const values = (ci.values || []).map(function (v) { return fixed(v, 3); }).join(" · ");
      return C.el("tr", { "data-seed-metric": name }, [
        C.el("th", { scope: "row" }, [seedLabel(name)]),
        C.el("td", { class: "seed-tuned", title: values ? C.t("per_seed", { values: values }) : null }, tuned),
        C.el("td", { class: "seed-base" }, [num(fixed(base[name], digits))]),
      ]);
    });
    const title = C.t("seeds_title", { n: summary.n_seeds, seeds: (summary.seeds || []).join(", ") });
    box.appendChild(C.el("div", { class: "table-scroll" }, [C.el("table", { id: "seeds-table", class: "seeds-table" }, [
      C.el("caption", {}, [title]),
      C.el("thead", {}, [C.el("tr", {}, [
        C.el("th", { scope: "col" }, [C.t("col_figure")]),
        C.el("th", { scope: "col" }, [C.t("col_tuned")]),
        C.el("th", { scope: "col" }, [C.t("col_base")]),
      ])]),
      C.el("tbody", {}, rows),
    ])]));
    box.appendChild(C.el("p", { class: "muted small" }, [C.t("seeds_note")]));
  }

  /** 0.62 [0.55, 0.70] — a rate with its bootstrap interval (evaluate.py, stats.mean_ci). */
  /** "base → tuned", each figure a left-to-right run (an interval's brackets are not mirrored
   * in a right-to-left page), the arrow pointing the way the page reads. */
  function change(base, tuned) {
    const arrow = document.documentElement.dir === "rtl" ? " ← " : " → ";
    return C.el("span", {}, [num(base), arrow, num(tuned)]);
  }

  function interval(ci) {
    if (!ci || ci.value === null || ci.value === undefined) return "–";
    const range = ci.low === null || ci.low === undefined ? "" : " [" + fixed(ci.low, 2) + ", " + fixed(ci.high, 2) + "]";
    return fixed(ci.value, 2) + range;
  }

  /** Per-opinion-group representativeness, judge calibration, shipped checks and warnings. */
  function drawGroups(box, ev) {
    const groups = ev.groups;
    if (groups) {
      Object.keys(groups.tuned.groups).sort().forEach(function (gid) {
        box.appendChild(figure("representativeness-" + gid, C.t("representativeness", { group: gid }), change(interval(groups.base.groups[gid]), interval(groups.tuned.groups[gid]))));
      });
      box.appendChild(figure("representativeness-collective", C.t("representativeness_collective"), change(interval(groups.base.collective), interval(groups.tuned.collective)), C.t("least_represented", { group: groups.tuned.least_represented })));
    }
    const checks = ev.checks;
    if (checks) {
      box.appendChild(figure("capability-mc", C.t("capability_mc"), change(interval(checks.capability_base), interval(checks.capability_tuned))));
      box.appendChild(figure("bias-stereotyped", C.t("bias_stereotyped"), change(interval(checks.bias_stereotyped_base), interval(checks.bias_stereotyped_tuned))));
    }
    const cal = ev.judge_calibration;
    if (cal) box.appendChild(figure("judge-accuracy", C.t("judge_accuracy"), num(interval(cal.accuracy))));
    (ev.warnings || []).forEach(function (text, i) {
      // The chain's own prose (the Django-free library writes it in English): marked as such.
      box.appendChild(figure("warning-" + i, C.t("warning"), C.el("span", { lang: "en", dir: "ltr" }, [text])));
    });
  }

  function scalar(value) {
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : fixed(value, 4);
    if (value === null || value === undefined) return "–";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function drawMetrics(run) {
    const box = C.clear($("run-metrics"));
    const stages = Object.keys(run.metrics || {});
    if (!stages.length) { box.appendChild(C.el("p", { class: "muted" }, [C.t("no_metrics")])); return; }
    stages.forEach(function (stage) {
      const values = run.metrics[stage] || {};
      box.appendChild(C.el("details", { "data-stage": stage }, [
        C.el("summary", {}, [stageName(stage)]),
        C.el("table", {}, [C.el("tbody", {}, Object.keys(values).map(function (key) {
          return C.el("tr", {}, [C.el("th", { scope: "row", dir: "ltr" }, [key]), C.el("td", { dir: "ltr" }, [scalar(values[key])])]);
        }))]),
      ]));
    });
  }

  // ------------------------------------------------------------------ one run

  function drawRun(run) {
    $("run-detail").hidden = false;
    $("run-detail").setAttribute("data-run-id", run.id);
    C.text($("run-title"), C.t("run_title", { id: run.id }));
    const badge = $("run-status");
    C.text(badge, statusText(run));
    badge.className = "status status-" + run.status;
    badge.setAttribute("data-status", run.status);
    // The model is what the user typed (a name, a path): its own left-to-right run.
    const meta = C.clear($("run-meta"));
    meta.appendChild(C.el("span", { dir: "ltr" }, [run.model_spec]));
    meta.appendChild(document.createTextNode(" · " + run.method.toUpperCase() + " · " + C.t("created", { when: when(run.created_at) })));
    C.text($("run-constitution-used"), C.t("constitution_used", { label: constitutionLabel(run.constitution) }));
    C.text($("run-stage"), C.t("progress_label", { stage: stageName(run.stage), pct: Math.round(100 * (run.progress || 0)) }));
    $("run-progress").value = run.progress || 0;
    C.text($("run-polling"), isActive(run) ? C.t("polling") : "");
    $("run-error").hidden = run.status !== "failed";
    C.text($("run-error-text"), run.error || "");
    drawLoss(run);
    drawEvaluation(run);
    drawMetrics(run);
    $("run-export").setAttribute("href", "/api/v1/training-runs/" + run.id + "/export/");
    $("run-export").hidden = isActive(run);
  }

  async function poll() {
    window.clearTimeout(state.timer);
    state.timer = null;
    if (state.shownId === null) return;
    const id = state.shownId;
    let run;
    try {
      run = (await C.api("GET", "/api/v1/training-runs/" + id + "/")).data;
    } catch (error) {
      C.text($("run-polling"), C.errorText(error));
      state.timer = window.setTimeout(poll, POLL_MS * 2);
      return;
    }
    if (id !== state.shownId) return;
    drawRun(run);
    const index = state.runs.findIndex(function (r) { return r.id === run.id; });
    if (index >= 0) { state.runs[index] = run; drawRuns(); }
    if (isActive(run)) state.timer = window.setTimeout(poll, POLL_MS);
  }

  function select(id) {
    state.shownId = id;
    if (window.location.hash !== "#run-" + id) window.history.replaceState(null, "", "#run-" + id);
    drawRuns();
    return poll();
  }

  // ------------------------------------------------------------------ list and start

  function drawRuns() {
    const body = C.clear($("runs").querySelector("tbody"));
    state.runs.forEach(function (run) {
      const shown = run.id === state.shownId;
      body.appendChild(C.el("tr", { "data-run-id": run.id, class: shown ? "current" : null }, [
        C.el("th", { scope: "row" }, ["#" + run.id]),
        C.el("td", { dir: "ltr" }, [run.model_spec]),
        C.el("td", {}, [run.method.toUpperCase()]),
        C.el("td", { "data-status": run.status }, [statusText(run)]),
        C.el("td", {}, [C.el("progress", { max: 1, value: run.progress || 0, "aria-label": C.t("progress_label", { stage: stageName(run.stage), pct: Math.round(100 * (run.progress || 0)) }) })]),
        C.el("td", {}, [when(run.created_at)]),
        C.el("td", {}, [C.el("button", { type: "button", class: "link", "aria-pressed": shown ? "true" : "false", "aria-label": C.t("show") + ": " + C.t("run_title", { id: run.id }), onclick: function () { select(run.id); } }, [C.t("show")])]),
      ]));
    });
    const empty = $("runs-empty");
    empty.hidden = state.runs.length > 0;
    C.text(empty, C.t("no_runs"));
  }

  async function loadConstitutions() {
    const rows = await C.apiAll(base + "constitutions/?limit=200");
    const select = C.clear($("run-constitution"));
    select.appendChild(C.el("option", { value: "" }, [C.t("new_constitution")]));
    rows.forEach(function (row) {
      state.constitutions[row.id] = row;
      select.appendChild(C.el("option", { value: row.id }, [constitutionLabel(row.id) + " · " + C.named("rule_", row.rule) + " · " + C.t("n_principles", { n: row.n_principles })]));
    });
    const latest = rows.filter(function (r) { return r.group_id === null; }).sort(function (a, b) { return b.version - a.version; })[0];
    if (latest) select.value = String(latest.id);
  }

  async function loadRuns() {
    state.runs = await C.apiAll(base + "training-runs/?limit=100");
    drawRuns();
  }

  function whole(id) {
    const input = $(id);
    const raw = input.value.trim();
    if (raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      const label = document.querySelector("label[for=" + id + "]");
      throw new Error(C.t("bad_number", { field: label ? label.textContent.trim() : id }));
    }
    return n;
  }

  async function startRun(event) {
    event.preventDefault();
    const out = $("start-status");
    const config = {};
    try {
      [["sft_steps", "run-sft-steps"], ["pref_steps", "run-pref-steps"], ["max_prompts", "run-max-prompts"], ["max_heldout", "run-max-heldout"]].forEach(function (pair) {
        const value = whole(pair[1]);
        if (value !== undefined) config[pair[0]] = value;
      });
    } catch (error) {
      C.text(out, error.message);
      out.classList.add("error");
      return;
    }
    if ($("run-lora").checked) config.use_lora = true;
    const chosen = $("run-constitution").value;
    const body = { model: $("run-model").value.trim(), method: $("run-method").value, constitution: chosen ? Number(chosen) : null, config: config };
    try {
      const run = (await C.api("POST", base + "training-runs/", body)).data;
      out.classList.remove("error");
      C.text(out, C.t("started", { id: run.id }));
      await loadRuns();
      await select(run.id);
    } catch (error) {
      out.classList.add("error");
      C.text(out, C.errorText(error));
    }
  }

  async function start() {
    $("start-form").addEventListener("submit", startRun);
    try {
      await loadConstitutions();
      await loadRuns();
    } catch (error) {
      C.text($("start-status"), C.errorText(error));
      return;
    }
    const match = window.location.hash.match(/^#run-(\d+)$/);
    const wanted = match ? Number(match[1]) : (state.runs[0] ? state.runs[0].id : null);
    if (wanted !== null) await select(wanted);
  }

  start();
})();
