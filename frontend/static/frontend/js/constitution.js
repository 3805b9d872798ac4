/* Constitution page: the latest collective constitution with each principle's provenance, every
 * version (with a diff between two), the per-group constitutions, and, for moderators and
 * researchers, build and import forms.
 *
 * Reads GET .../constitutions/ (each version carries its whole document), GET
 * constitutions/<id>/diff/<other>/, and writes POST .../constitutions/. Principle and statement
 * texts come from participants, so they are inserted as text only (Concord.el / statementNode).
 */
(function () {
  "use strict";
  const C = window.Concord;
  const slug = C.config.slug;
  const base = "/api/v1/conversations/" + encodeURIComponent(slug) + "/";
  const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const state = { versions: [], shown: null };
  const $ = function (id) { return document.getElementById(id); };

  /** Group ids are 0..k-1 in a snapshot: the same letters as the report's map. */
  function letter(id) {
    const n = Number(id);
    return Number.isInteger(n) && n >= 0 ? LETTERS[n % LETTERS.length] : String(id);
  }

  function groupName(id) {
    return C.t("group", { name: letter(id) });
  }

  function label(row) {
    return row.group_id === null || row.group_id === undefined
      ? C.t("version_label", { version: row.version })
      : C.t("group_version_label", { name: letter(row.group_id), version: row.version });
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString(document.documentElement.lang) : "";
  }

  function fixed(value) {
    return typeof value === "number" ? value.toFixed(3) : String(value);
  }

  function status(node, message, isError) {
    C.text(node, message);
    node.classList.toggle("error", !!isError);
  }

  // ------------------------------------------------------------------ one principle

  function scoreChips(scores) {
    const parts = [];
    ["gic", "gic_normalized", "mea", "bridging"].forEach(function (key) {
      if (typeof scores[key] === "number") parts.push(C.t("score_" + key, { value: fixed(scores[key]) }));
    });
    if (scores.mea_needs_more_votes) parts.push(C.t("score_needs_votes"));
    return C.el("p", { class: "scores small" }, parts.map(function (text) {
      return C.el("span", { class: "chip" }, [text]);
    }));
  }

  function votesTable(source) {
    const votes = source.group_votes || [];
    if (!votes.length) return C.el("p", { class: "muted small" }, [C.t("no_group_votes")]);
    function cell(n, total) { return C.el("td", {}, [n + " (" + C.percent(n, total) + "%)"]); }
    return C.el("table", { class: "votes" }, [
      C.el("caption", { class: "visually-hidden" }, [C.t("votes_caption", { id: source.id })]),
      C.el("thead", {}, [C.el("tr", {}, ["col_group", "col_agree", "col_disagree", "col_pass", "col_votes"].map(function (key) {
        return C.el("th", { scope: "col" }, [C.t(key)]);
      }))]),
      C.el("tbody", {}, votes.map(function (v) {
        const total = v.n_votes || v.n_agree + v.n_disagree + v.n_pass;
        return C.el("tr", { "data-group": v.group_id }, [
          C.el("th", { scope: "row" }, [groupName(v.group_id)]),
          cell(v.n_agree, total), cell(v.n_disagree, total), cell(v.n_pass, total),
          C.el("td", {}, [String(total)]),
        ]);
      })),
    ]);
  }

  function sourceNode(source) {
    return C.el("li", { class: "source", "data-statement-id": source.id }, [
      C.el("div", {}, [C.el("span", { class: "muted small" }, [C.t("statement_ref", { id: source.id }) + ": "]), C.statementNode("span", source.text)]),
      scoreChips(source.scores || {}),
      votesTable(source),
    ]);
  }

  /** One principle card; its first source is the statement it was rewritten from. */
  function principleNode(principle, index) {
    return C.el("li", { class: "principle card", "data-principle-id": principle.id }, [
      C.el("p", { class: "muted small principle-number" }, [C.t("principle_n", { n: index + 1 })]),
      C.statementNode("p", principle.text, { class: "statement-text principle-text" }),
      C.el("p", { class: "muted small sources-title" }, [C.t("sources")]),
      C.el("ul", { class: "sources" }, (principle.sources || []).map(sourceNode)),
      C.el("details", {}, [
        C.el("summary", { class: "small" }, [C.t("critique") + " / " + C.t("revision")]),
        C.el("p", { class: "small" }, [C.el("strong", {}, [C.t("critique") + ": "]), C.statementNode("span", principle.critique_request)]),
        C.el("p", { class: "small" }, [C.el("strong", {}, [C.t("revision") + ": "]), C.statementNode("span", principle.revision_request)]),
        C.el("p", { class: "muted small" }, [C.t("rewrite", { how: C.named("rewrite_", principle.rewrite) })]),
      ]),
    ]);
  }

  function metaLine(row) {
    const doc = row.document || {};
    const params = doc.params || {};
    let rule = C.t("rule_name", { rule: C.named("rule_", row.rule) });
    if (typeof params.threshold === "number") rule += " (" + C.t("threshold_value", { value: params.threshold }) + ")";
    return C.t("constitution_meta", {
      rule: rule, principles: C.t("n_principles", { n: row.n_principles }),
      created: C.t("created", { when: when(row.created_at) }), hash: String(row.content_hash || "").slice(0, 12),
    });
  }

  // ------------------------------------------------------------------ the shown version

  function show(row) {
    state.shown = row;
    const list = C.clear($("principles"));
    if (!row) {
      C.text($("current-version"), "");
      C.text($("constitution-meta"), C.t("no_constitution"));
      $("export-links").hidden = true;
      return;
    }
    C.text($("current-version"), "· " + label(row) + (row.published_at ? "" : " (" + C.t("draft") + ")"));
    C.text($("constitution-meta"), metaLine(row));
    $("export-json").setAttribute("href", "/c/" + encodeURIComponent(slug) + "/constitution/" + row.id + ".json");
    $("export-md").setAttribute("href", "/api/v1/constitutions/" + row.id + "/?export=md");
    $("export-links").hidden = false;
    ((row.document || {}).principles || []).forEach(function (p, i) { list.appendChild(principleNode(p, i)); });
    drawVersions();
  }

  /** Identical content makes no new version: the server answers with the one that exists. */
  /** The ids of the versions shown now: taken before a build or import is sent, because a
   * live event may reload the list (with the new version) before the answer arrives. */
  function knownIds() {
    return state.versions.map(function (r) { return r.id; });
  }

  function publishButton(row) {
    if (!C.config.can_build || row.published_at) return [];
    return [" ", C.el("button", {
      type: "button", class: "small", "aria-label": C.t("publish") + ": " + label(row),
      onclick: function () { publish(row); },
    }, [C.t("publish")])];
  }

  async function publish(row) {
    try {
      await C.api("POST", "/api/v1/constitutions/" + row.id + "/publish/");
      status($("build-status"), C.t("published_now", { label: label(row) }), false);
      await load(row.id);
    } catch (error) { status($("build-status"), C.errorText(error), true); }
  }

  function collective() {
    return state.versions.filter(function (r) { return r.group_id === null || r.group_id === undefined; });
  }

  function drawVersions() {
    const body = C.clear($("versions").querySelector("tbody"));
    state.versions.forEach(function (row) {
      const shown = state.shown && state.shown.id === row.id;
      body.appendChild(C.el("tr", { "data-constitution-id": row.id, class: shown ? "current" : null }, [
        C.el("th", { scope: "row" }, [C.t("version_label", { version: row.version })]),
        C.el("td", {}, [row.group_id === null || row.group_id === undefined ? C.t("collective") : groupName(row.group_id)]),
        C.el("td", {}, [C.named("rule_", row.rule)]),
        C.el("td", {}, [String(row.n_principles)]),
        C.el("td", {}, [when(row.created_at)]),
        C.el("td", { "data-testid": "status" }, [row.published_at ? C.t("published") : C.t("draft")].concat(publishButton(row))),
        C.el("td", {}, [C.el("button", {
          type: "button", class: "link", "aria-pressed": shown ? "true" : "false", "aria-label": C.t("show") + ": " + label(row),
          onclick: function () { show(row); $("current-title").scrollIntoView(); },
        }, [shown ? C.t("showing") : C.t("show")])]),
      ]));
    });
    ["diff-old", "diff-new"].forEach(function (id, index) {
      const select = $(id);
      const before = select.value;
      C.clear(select);
      state.versions.forEach(function (row) {
        select.appendChild(C.el("option", { value: row.id }, [label(row)]));
      });
      if (before && state.versions.some(function (r) { return String(r.id) === before; })) select.value = before;
      else if (state.versions.length > 1) select.value = String(state.versions[index === 0 ? 1 : 0].id);
    });
    $("diff-form").hidden = state.versions.length < 2;
  }

  function drawGroups() {
    const box = C.clear($("group-constitutions"));
    const latest = {};
    state.versions.forEach(function (row) {
      if (row.group_id === null || row.group_id === undefined) return;
      if (!latest[row.group_id] || latest[row.group_id].version < row.version) latest[row.group_id] = row;
    });
    const ids = Object.keys(latest).sort(function (a, b) { return Number(a) - Number(b); });
    if (!ids.length) { box.appendChild(C.el("p", { class: "muted" }, [C.t("no_groups")])); return; }
    ids.forEach(function (gid) {
      const row = latest[gid];
      box.appendChild(C.el("details", { class: "group-constitution", "data-group": gid }, [
        C.el("summary", {}, [label(row) + " · " + C.t("n_principles", { n: row.n_principles })]),
        C.el("ol", { class: "principles" }, ((row.document || {}).principles || []).map(function (p) {
          return C.el("li", { "data-principle-id": p.id }, [C.statementNode("span", p.text)]);
        })),
        C.el("button", { type: "button", class: "link", onclick: function () { show(row); $("current-title").scrollIntoView(); } }, [C.t("show") + ": " + label(row)]),
      ]));
    });
  }

  // ------------------------------------------------------------------ diff

  function diffList(title, items, render) {
    if (!items.length) return null;
    return C.el("div", { class: "diff-part" }, [C.el("h3", {}, [title + " (" + items.length + ")"]), C.el("ul", {}, items.map(render))]);
  }

  async function showDiff(event) {
    event.preventDefault();
    const box = C.clear($("diff"));
    const oldId = $("diff-old").value, newId = $("diff-new").value;
    if (oldId === newId) { box.appendChild(C.el("p", { class: "muted" }, [C.t("diff_same")])); return; }
    try {
      const diff = (await C.api("GET", "/api/v1/constitutions/" + oldId + "/diff/" + newId + "/")).data;
      const byId = {};
      state.versions.forEach(function (r) { byId[r.id] = r; });
      box.appendChild(C.el("p", {}, [C.t("diff_title", { old: label(byId[oldId]), new: label(byId[newId]) })]));
      const parts = [
        diffList(C.t("diff_added"), diff.added || [], function (p) { return C.el("li", { class: "added", "data-principle-id": p.id }, [C.statementNode("span", p.text)]); }),
        diffList(C.t("diff_removed"), diff.removed || [], function (p) { return C.el("li", { class: "removed", "data-principle-id": p.id }, [C.statementNode("span", p.text)]); }),
        diffList(C.t("diff_changed"), diff.changed || [], function (p) {
          return C.el("li", { class: "changed", "data-principle-id": p.id }, [
            C.el("div", {}, [C.el("span", { class: "muted" }, [C.t("diff_before") + ": "]), C.statementNode("span", p.before)]),
            C.el("div", {}, [C.el("span", { class: "muted" }, [C.t("diff_after") + ": "]), C.statementNode("span", p.after)]),
          ]);
        }),
      ].filter(Boolean);
      if (!parts.length) box.appendChild(C.el("p", { class: "muted" }, [C.t("diff_empty")]));
      parts.forEach(function (part) { box.appendChild(part); });
    } catch (error) {
      box.appendChild(C.el("p", { class: "error", role: "alert" }, [C.errorText(error)]));
    }
  }

  // ------------------------------------------------------------------ build and import

  async function load(showId) {
    state.versions = await C.apiAll(base + "constitutions/?limit=200");
    const pick = state.versions.find(function (r) { return r.id === showId; }) ||
      (state.shown && state.versions.find(function (r) { return r.id === state.shown.id; })) ||
      collective().sort(function (a, b) { return b.version - a.version; })[0] || null;
    show(pick);
    drawVersions();
    drawGroups();
  }

  async function build(event) {
    event.preventDefault();
    const out = $("build-status");
    const raw = $("build-threshold").value.trim();
    const threshold = raw === "" ? null : Number(raw);
    if (threshold !== null && !isFinite(threshold)) { status(out, C.t("bad_threshold"), true); return; }
    if (threshold !== null && !(threshold > 0 && threshold <= 1)) { status(out, C.t("threshold_range"), true); return; }
    const body = { rule: $("build-rule").value, threshold: threshold, dedup: "tfidf", per_group: $("build-per-group").checked };
    status(out, C.t("working"), false);
    const before = knownIds();
    try {
      const built = (await C.api("POST", base + "constitutions/", body)).data;
      const known = built.filter(function (row) { return before.indexOf(row.id) >= 0; });
      status(out, known.length === built.length ? C.t("already_version", { label: label(built[0]) }) : C.t("built", { n: built.length - known.length }), false);
      await load(built.length ? built[0].id : null);
    } catch (error) {
      status(out, C.errorText(error), true);
    }
  }

  async function importDocument(event) {
    event.preventDefault();
    const out = $("import-status");
    const raw = $("import-json").value.trim();
    if (!raw) { status(out, C.t("empty_import"), true); return; }
    let data;
    try { data = JSON.parse(raw); } catch (error) { status(out, C.t("bad_json", { message: error.message }), true); return; }
    // Send the text as pasted, never re-serialised: JSON.stringify(JSON.parse("-1.0")) is "-1",
    // which changes the document and so its content hash.
    const wrapped = data && typeof data === "object" && data.document && !data.principles;
    const body = wrapped ? raw : '{"document": ' + raw + "}";
    status(out, C.t("working"), false);
    const before = knownIds();
    try {
      const built = (await C.api("POST", base + "constitutions/", undefined, { rawBody: body })).data;
      status(out, before.indexOf(built[0].id) >= 0 ? C.t("already_version", { label: label(built[0]) }) : C.t("imported", { version: built[0].version }), false);
      await load(built[0].id);
    } catch (error) {
      status(out, C.errorText(error), true);
    }
  }

  function start() {
    $("diff-form").addEventListener("submit", showDiff);
    if (C.config.can_build) {
      $("build-form").addEventListener("submit", build);
      $("import-form").addEventListener("submit", importDocument);
    }
    load(null).catch(function (error) { C.text($("constitution-meta"), C.errorText(error)); });
  }

  start();
})();
