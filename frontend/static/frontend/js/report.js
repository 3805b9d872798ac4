/* Researcher report: groups, three consensus rankings side by side, maps, demographics.
 *
 * Everything is drawn from the latest snapshot (GET .../consensus/) plus the statement texts
 * (GET .../statements/, every state for researchers). A "snapshot" push redraws the page.
 */
(function () {
  "use strict";
  const C = window.Concord;
  const M = window.ConcordMap;
  const base = "/api/v1/conversations/" + encodeURIComponent(C.config.slug) + "/";
  const TOP = 10;
  const state = { snapshot: null, texts: {}, projection: "pca" };
  const $ = function (id) { return document.getElementById(id); };

  function textOf(id) {
    return state.texts[id] !== undefined ? state.texts[id] : C.t("statement", { id: id });
  }

  /** One thin stacked bar per group: agree / disagree / pass shares of that group's votes. */
  function groupBars(statement, groups) {
    return C.el("div", { class: "bars" }, groups.map(function (group) {
      const c = (statement.groups || {})[String(group.id)] || {};
      const n = c.n_votes || (c.n_agree || 0) + (c.n_disagree || 0) + (c.n_pass || 0);
      const a = C.percent(c.n_agree || 0, n), d = C.percent(c.n_disagree || 0, n);
      const p = n ? Math.max(0, 100 - a - d) : 0;
      const label = C.t("bar_label", { group: C.t("group", { name: group.letter }), agree: a, disagree: d, pass: p, n: n });
      return C.el("div", { class: "bar", role: "img", "aria-label": label, title: label }, [
        C.el("span", { class: "letter", style: "color:" + group.color, "aria-hidden": "true" }, [group.letter]),
        C.el("span", { class: "track", "aria-hidden": "true" }, [
          C.el("span", { class: "a", style: "width:" + a + "%" }), C.el("span", { class: "d", style: "width:" + d + "%" }),
          C.el("span", { class: "p", style: "width:" + p + "%" }),
        ]),
      ]);
    }));
  }

  function score(value) {
    return typeof value === "number" ? C.t("score", { value: value.toFixed(3) }) : "–";
  }

  function ranking(listId, key, result, groups) {
    const list = C.clear($(listId));
    const rows = (result.statements || []).filter(function (s) {
      return typeof s[key] === "number" && !s.moderated_out && !s.is_meta;
    });
    rows.sort(function (a, b) { return b[key] - a[key]; });
    rows.slice(0, TOP).forEach(function (s) {
      const note = key === "mea" && s.mea_needs_more_votes ? " · " + C.t("needs_votes") : "";
      list.appendChild(C.el("li", { "data-statement-id": s.id }, [
        C.statementNode("div", textOf(s.id)),
        C.el("div", { class: "muted small" }, [score(s[key]) + note]),
        groupBars(s, groups),
      ]));
    });
  }

  function groupCard(group) {
    const items = (group.repness || []).slice(0, 5).map(function (item) {
      const stance = item.repful === "disagree" ? "disagree" : "agree";
      return C.el("li", {}, [
        C.el("span", { class: "badge " + stance }, [C.t(stance)]), " ",
        C.statementNode("span", textOf(C.statementId(item))), " ",
        C.el("span", { class: "muted small" }, ["(" + M.stanceText(item) + ")"]),
      ]);
    });
    return C.el("article", { class: "group-card", style: "border-inline-start-color:" + group.color, "data-group": group.id }, [
      C.el("h3", {}, [C.el("span", { class: "swatch", style: "background:" + group.color, "aria-hidden": "true" }), C.t("group", { name: group.letter }), " · ", C.t("members", { n: group.size })]),
      C.el("p", { class: "small muted" }, [C.t("representative")]),
      C.el("ul", { class: "statements" }, items),
    ]);
  }

  function demographicsTable(entry) {
    const rows = (entry.cells || []).map(function (cell) {
      const shown = cell.suppressed ? "–" : C.percent(cell.n_agree, cell.n_votes) + "% / " + C.percent(cell.n_disagree, cell.n_votes) + "% (" + cell.n_votes + ")";
      return C.el("tr", {}, [C.el("td", { dir: "auto" }, [cell.question]), C.el("td", { dir: "auto" }, [cell.answer]), C.el("td", {}, [shown])]);
    });
    return C.el("details", {}, [
      C.el("summary", {}, [C.statementNode("span", textOf(entry.statement_id))]),
      C.el("table", {}, [C.el("thead", {}, [C.el("tr", {}, [C.el("th", {}, ["?"]), C.el("th", {}, ["="]), C.el("th", {}, [C.t("agree") + " / " + C.t("disagree")])])]), C.el("tbody", {}, rows)]),
    ]);
  }

  function showDemographics(result) {
    const box = C.clear($("demographics"));
    const data = result.demographics;
    const entries = Array.isArray(data) ? data.filter(function (e) { return (e.cells || []).some(function (c) { return !c.suppressed; }); }) : [];
    if (data && !Array.isArray(data) && typeof data === "object" && Object.keys(data).length) {
      box.appendChild(C.el("pre", { dir: "ltr" }, [JSON.stringify(data, null, 1)]));
      return;
    }
    if (!entries.length) { box.appendChild(C.el("p", { class: "muted" }, [C.t("no_demographics")])); return; }
    entries.forEach(function (entry) { box.appendChild(demographicsTable(entry)); });
  }

  function drawMap() {
    M.render($("opinion-map"), state.snapshot.result, { projection: state.projection, total: state.snapshot.n_participants });
  }

  function draw() {
    const snap = state.snapshot;
    const result = snap.result || {};
    const groups = M.groupsOf(result);
    C.text($("snapshot-meta"), C.t("snapshot_meta", { participants: snap.n_participants, votes: snap.n_votes, groups: groups.length, when: new Date(snap.created_at).toLocaleString(document.documentElement.lang) }));
    C.text($("map-status"), M.caption(result, state.snapshot.n_participants));
    M.bindToggle($("projection-toggle"), result, function (projection) { state.projection = projection; drawMap(); });
    drawMap();
    M.fillGroupsTable($("groups-table"), result, textOf, null);
    const cards = C.clear($("group-cards"));
    groups.forEach(function (g) { cards.appendChild(groupCard(g)); });
    ranking("rank-gic", "gic", result, groups);
    ranking("rank-mea", "mea", result, groups);
    ranking("rank-bridging", "bridging", result, groups);
    showDemographics(result);
  }

  async function load() {
    const statements = await C.apiAll(base + "statements/?limit=1000");
    statements.forEach(function (s) { state.texts[s.id] = s.text; });
    try {
      state.snapshot = (await C.api("GET", base + "consensus/")).data;
    } catch (error) {
      if (error.status !== 404) throw error;
      C.text($("snapshot-meta"), C.t("no_snapshot"));
      C.text($("map-status"), C.t("no_snapshot"));
      return;
    }
    draw();
  }

  async function recompute() {
    try {
      const job = (await C.api("POST", base + "consensus/recompute/", { with_umap: true })).data;
      C.text($("recompute-status"), C.t("job_" + job.status));
      state.recomputing = true;
    } catch (error) { C.text($("recompute-status"), C.errorText(error)); }
  }

  const reload = C.throttle(function () { load().catch(function () {}); }, 500);

  function start() {
    $("recompute").addEventListener("click", recompute);
    load().catch(function (error) { C.text($("snapshot-meta"), C.errorText(error)); });
    C.connect(C.config.slug, function (event) {
      if (event !== "snapshot") return;
      if (state.recomputing) { state.recomputing = false; C.text($("recompute-status"), C.t("job_succeeded")); }
      reload();
    });
  }

  start();
})();
