/* Moderator console: seed statements, work the moderation queue, watch participation live.
 *
 * Everything is read back from the API after each websocket event (throttled), rather than
 * patched in place from the event payload, so two moderators' screens always converge.
 */
(function () {
  "use strict";
  const C = window.Concord;
  const base = "/api/v1/conversations/" + encodeURIComponent(C.config.slug) + "/";
  // `selected`: the ids ticked for a bulk decision, kept across the live re-renders of the
  // queue and the table (a re-render must not untick what the moderator chose).
  const state = { isOpen: C.config.is_open, selected: {} };
  const $ = function (id) { return document.getElementById(id); };

  function say(node, message, isError) {
    C.text(node, message);
    node.classList.toggle("error", Boolean(isError));
  }

  function fail(node) {
    return function (error) { say(node, C.errorText(error), true); };
  }

  // --- figures and open/closed ----------------------------------------------------------------

  async function refreshStats() {
    const stats = (await C.api("GET", base + "stats/")).data;
    document.querySelectorAll("[data-stat]").forEach(function (node) {
      const value = stats[node.getAttribute("data-stat")];
      C.text(node, value === undefined ? "–" : value);
    });
  }

  function showOpenState() {
    C.text($("open-state"), state.isOpen ? C.t("state_open") : C.t("state_closed"));
    C.text($("toggle-open"), state.isOpen ? C.t("close") : C.t("reopen"));
  }

  async function toggleOpen() {
    try {
      const data = (await C.api("PATCH", base, { is_open: !state.isOpen })).data;
      state.isOpen = data.is_open;
      showOpenState();
    } catch (error) { fail($("settings-status"))(error); }
  }

  // --- the queue and the statements table -----------------------------------------------------

  const MODERATION_LABEL = { pending: "pending", accepted: "accepted_state", rejected: "rejected_state" };
  const DONE = { accepted: "accepted", rejected: "rejected", pending: "requeued" };

  function needsReason(previous, decision) {
    // As the server rules: a rejection says why, and so does overturning an earlier decision.
    return decision === "rejected" || (previous !== "pending" && previous !== decision);
  }

  async function moderate(statement, decision, reasonField, statusNode) {
    const reason = reasonField.value.trim();
    if (needsReason(statement.moderation, decision) && !reason) {
      say(statusNode, decision === "rejected" ? C.t("reason_needed") : C.t("reason_change_needed"), true);
      reasonField.focus();
      return;
    }
    try {
      await C.api("POST", base + "statements/" + statement.id + "/moderate/", { state: decision, reason: reason });
      say(statusNode, C.t(DONE[decision]));
      refreshAll();
    } catch (error) { fail(statusNode)(error); }
  }

  function selectBox(statement) {
    const box = C.el("input", { type: "checkbox", class: "select-statement", value: statement.id, "aria-label": C.t("select") + ": " + statement.text });
    box.checked = Boolean(state.selected[statement.id]);
    box.addEventListener("change", function () {
      if (box.checked) state.selected[statement.id] = true;
      else delete state.selected[statement.id];
      document.querySelectorAll(".select-statement[value='" + statement.id + "']").forEach(function (other) { other.checked = box.checked; });
    });
    return box;
  }

  function queueItem(statement) {
    const reasonId = "reason-" + statement.id;
    const reason = C.el("input", { id: reasonId, maxlength: 500, dir: "auto" });
    const accept = C.el("button", { type: "button", class: "primary", "aria-label": C.t("accept") + ": " + statement.text }, [C.t("accept")]);
    const reject = C.el("button", { type: "button", class: "danger", "aria-label": C.t("reject") + ": " + statement.text }, [C.t("reject")]);
    accept.addEventListener("click", function () { moderate(statement, "accepted", reason, $("queue-status")); });
    reject.addEventListener("click", function () { moderate(statement, "rejected", reason, $("queue-status")); });
    return C.el("li", { "data-statement-id": statement.id }, [
      C.el("div", { class: "row" }, [selectBox(statement), C.statementNode("p", statement.text)]),
      C.el("div", { class: "actions" }, [accept, C.el("label", { for: reasonId, class: "visually-hidden" }, [C.t("reason")]), reason, reject]),
    ]);
  }

  function showQueue(pending) {
    const queue = $("queue");
    const known = {};
    queue.querySelectorAll("li[data-statement-id]").forEach(function (li) { known[li.getAttribute("data-statement-id")] = li; });
    const wanted = {};
    pending.forEach(function (s) {
      wanted[s.id] = true;
      if (!known[s.id]) queue.appendChild(queueItem(s));  // keep typed reasons of existing items
    });
    Object.keys(known).forEach(function (id) { if (!wanted[id]) known[id].remove(); });
    const empty = queue.querySelector(".empty");
    if (!pending.length && !empty) queue.appendChild(C.el("li", { class: "empty muted" }, [C.t("queue_empty")]));
    if (pending.length && empty) empty.remove();
  }

  function correction(statement) {
    // Every decision can be changed: the two states it is not in, with a reason.
    const reasonId = "change-reason-" + statement.id;
    const reason = C.el("input", { id: reasonId, maxlength: 500, dir: "auto", class: "reason" });
    const buttons = ["accepted", "rejected", "pending"].filter(function (d) { return d !== statement.moderation; }).map(function (decision) {
      const label = C.t({ accepted: "accept", rejected: "reject", pending: "requeue" }[decision]);
      const button = C.el("button", { type: "button", class: decision === "rejected" ? "danger" : "", "aria-label": label + ": " + statement.text }, [label]);
      button.addEventListener("click", function () { moderate(statement, decision, reason, $("table-status")); });
      return button;
    });
    return C.el("div", { class: "actions" }, [C.el("label", { for: reasonId, class: "visually-hidden" }, [C.t("change_reason")]), reason].concat(buttons));
  }

  function showTable(statements) {
    const body = C.clear($("statements-table").querySelector("tbody"));
    statements.slice().reverse().forEach(function (s) {
      const counts = C.t("votes_counts", { agree: s.n_agree || 0, disagree: s.n_disagree || 0, pass: s.n_pass || 0 });
      body.appendChild(C.el("tr", { "data-statement-id": s.id }, [
        C.el("td", {}, [selectBox(s)]),
        C.el("td", {}, [String(s.id)]),
        C.el("td", {}, [C.statementNode("div", s.text), s.moderation_reason ? C.el("div", { class: "muted small", dir: "auto" }, [s.moderation_reason]) : null, correction(s)]),
        C.el("td", { "data-testid": "state" }, [C.t(MODERATION_LABEL[s.moderation] || s.moderation)]),
        C.el("td", { class: "small" }, [counts]),
      ]));
    });
  }

  async function refreshStatements() {
    const statements = await C.apiAll(base + "statements/?limit=500");
    showQueue(statements.filter(function (s) { return s.moderation === "pending"; }));
    showTable(statements);
  }

  function refreshAll() {
    refreshStatements().catch(fail($("queue-status")));
    refreshStats().catch(function () {});
  }

  // --- bulk moderation ------------------------------------------------------------------------

  function selectedIds() {
    return Object.keys(state.selected).map(Number);
  }

  async function moderateSelected(decision) {
    const ids = selectedIds();
    const reason = $("bulk-reason").value.trim();
    const status = $("bulk-status");
    if (!ids.length) { say(status, C.t("select_first"), true); return; }
    if (decision === "rejected" && !reason) { say(status, C.t("reason_needed"), true); $("bulk-reason").focus(); return; }
    try {
      const data = (await C.api("POST", base + "statements/moderate/", { statement_ids: ids, state: decision, reason: reason })).data;
      say(status, C.t(decision === "accepted" ? "bulk_accepted" : "bulk_rejected", { n: data.statements.length }));
      state.selected = {};
      refreshAll();
    } catch (error) { fail(status)(error); }
  }

  // --- seeding --------------------------------------------------------------------------------

  function reportLine(line) {
    if (line.added) return C.el("li", {}, [C.t("seeded", { text: line.text })]);
    const message = C.serverMessage({ message: line.message, code: line.code });
    return C.el("li", { class: "error" }, [C.t("seed_failed_line", { line: line.line, message: message, text: line.text })]);
  }

  async function seedMany(lines) {
    // One request; the answer says line by line what was added, and nothing is sent twice.
    const results = C.clear($("seed-results"));
    const data = (await C.api("POST", base + "statements/seed/", { texts: lines, language: "" })).data;
    data.lines.forEach(function (line) { results.appendChild(reportLine(line)); });
    results.appendChild(C.el("li", { class: "muted" }, [C.t("seed_summary", { added: data.added, failed: data.refused })]));
    refreshAll();
    return data.lines.filter(function (line) { return !line.added; }).map(function (line) { return line.text; });
  }

  function onSeed(event) {
    event.preventDefault();
    const text = $("seed-text").value.trim();
    if (!text) return;
    seedMany([text]).then(function (left) { if (!left.length) $("seed-text").value = ""; }, fail($("seed-status")));
  }

  function onBulk(event) {
    event.preventDefault();
    const lines = $("bulk-text").value.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(Boolean);
    if (!lines.length) return;
    // Keep only the lines that were not added, so a second click cannot resubmit the others.
    seedMany(lines).then(function (left) { $("bulk-text").value = left.join("\n"); }, fail($("seed-status")));
  }

  function csvRows(text) {
    // RFC 4180: quoted fields may hold commas, doubled quotes and line breaks.
    const rows = [];
    let row = [], field = "", quoted = false;
    for (let i = 0; i < text.length; i += 1) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i += 1;
        row.push(field); rows.push(row); row = []; field = "";
      } else field += c;
    }
    if (field || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  function statementsFromFile(name, text) {
    if (!/\.csv$/i.test(name)) return text.split(/\r?\n/);
    const rows = csvRows(text.replace(/^\ufeff/, ""));
    const header = (rows[0] || []).map(function (h) { return h.trim().toLowerCase(); });
    const column = ["text", "statement", "comment-body", "comment"].map(function (h) { return header.indexOf(h); }).filter(function (i) { return i >= 0; })[0];
    if (column === undefined) return rows.map(function (r) { return r[0] || ""; });
    return rows.slice(1).map(function (r) { return r[column] || ""; });
  }

  function onFile(event) {
    const file = event.target.files[0];
    if (!file) return;
    file.text().then(function (text) {
      const lines = statementsFromFile(file.name, text).map(function (l) { return l.replace(/\s+/g, " ").trim(); }).filter(Boolean);
      $("bulk-text").value = lines.join("\n");
      say($("seed-status"), C.t("file_loaded", { n: lines.length, name: file.name }));
      $("bulk-text").focus();
    }, fail($("seed-status")));
  }

  // --- settings -------------------------------------------------------------------------------

  // Demographic questions as a form: key, label and choices, each optionally per language.
  let questionCount = 0;

  function field(id, labelText, control) {
    control.id = id;
    return [C.el("label", { for: id }, [labelText]), control];
  }

  function lines(text) {
    return text.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(Boolean);
  }

  function questionEditor(question) {
    questionCount += 1;
    const n = questionCount;
    const q = question || { key: "", label: "", choices: [] };
    const parts = [C.el("legend", {}, [C.t("question_n", { n: n })])];
    parts.push.apply(parts, field("q" + n + "-key", C.t("question_key"), C.el("input", { class: "q-key", value: q.key, maxlength: 80, dir: "ltr" })));
    parts.push.apply(parts, field("q" + n + "-label", C.t("question_label"), C.el("input", { class: "q-label", value: q.label || "", dir: "auto" })));
    const choices = C.el("textarea", { class: "q-choices", rows: 3, dir: "auto" });
    choices.value = (q.choices || []).join("\n");
    parts.push.apply(parts, field("q" + n + "-choices", C.t("question_choices"), choices));
    (C.config.question_languages || []).forEach(function (pair) {
      const code = pair[0], name = pair[1];
      const label = C.el("input", { class: "q-label-lang", "data-lang": code, value: ((q.labels || {})[code]) || "", dir: "auto" });
      const names = C.el("textarea", { class: "q-choices-lang", "data-lang": code, rows: 2, dir: "auto" });
      names.value = (((q.choice_labels || {})[code]) || []).join("\n");
      const box = C.el("details", { class: "q-translation" }, [C.el("summary", {}, [C.t("translation_in", { language: name })])]);
      field("q" + n + "-label-" + code, C.t("question_label_in", { language: name }), label).forEach(function (node) { box.appendChild(node); });
      field("q" + n + "-choices-" + code, C.t("question_choices_in", { language: name }), names).forEach(function (node) { box.appendChild(node); });
      parts.push(box);
    });
    const remove = C.el("button", { type: "button", class: "danger" }, [C.t("question_remove", { n: n })]);
    const set = C.el("fieldset", { class: "question stack" }, parts.concat([C.el("div", {}, [remove])]));
    remove.addEventListener("click", function () { set.remove(); });
    return set;
  }

  function questionFrom(set) {
    const q = { key: set.querySelector(".q-key").value.trim(), choices: lines(set.querySelector(".q-choices").value) };
    const label = set.querySelector(".q-label").value.trim();
    if (label) q.label = label;
    const labels = {}, choiceLabels = {};
    set.querySelectorAll(".q-label-lang").forEach(function (input) { if (input.value.trim()) labels[input.getAttribute("data-lang")] = input.value.trim(); });
    set.querySelectorAll(".q-choices-lang").forEach(function (box) { const names = lines(box.value); if (names.length) choiceLabels[box.getAttribute("data-lang")] = names; });
    if (Object.keys(labels).length) q.labels = labels;
    if (Object.keys(choiceLabels).length) q.choice_labels = choiceLabels;
    return q;
  }

  function settingsFrom(form) {
    const questions = [];
    form.querySelectorAll("#questions-editor fieldset.question").forEach(function (set) { questions.push(questionFrom(set)); });
    if (questions.some(function (q) { return !q.key; })) return null;
    return {
      topic: form.topic.value,
      description: form.description.value,
      languages: form.languages.value.split(",").map(function (x) { return x.trim(); }).filter(Boolean),
      participant_statements_allowed: form.participant_statements_allowed.checked,
      strict_moderation: form.strict_moderation.checked,
      demographic_questions: questions,
    };
  }

  async function onSettings(event) {
    event.preventDefault();
    const data = settingsFrom(event.target);
    if (!data) { say($("settings-status"), C.t("question_key_needed"), true); return; }
    try {
      await C.api("PATCH", base, data);
      say($("settings-status"), C.t("saved"));
    } catch (error) { fail($("settings-status"))(error); }
  }

  // --- live -----------------------------------------------------------------------------------

  const refreshSoon = C.throttle(refreshAll, 400);

  function onEvent(event, payload) {
    if (event === "conversation") {
      state.isOpen = payload.is_open !== false;
      showOpenState();
    }
    if (["statement", "moderation", "votes", "conversation", "snapshot"].indexOf(event) >= 0) refreshSoon();
  }

  function start() {
    showOpenState();
    $("toggle-open").addEventListener("click", toggleOpen);
    $("seed-form").addEventListener("submit", onSeed);
    $("bulk-form").addEventListener("submit", onBulk);
    $("seed-file").addEventListener("change", onFile);
    $("accept-selected").addEventListener("click", function () { moderateSelected("accepted"); });
    $("reject-selected").addEventListener("click", function () { moderateSelected("rejected"); });
    $("settings-form").addEventListener("submit", onSettings);
    (C.config.questions || []).forEach(function (q) { $("questions-editor").appendChild(questionEditor(q)); });
    $("question-add").addEventListener("click", function () {
      const set = questionEditor(null);
      $("questions-editor").appendChild(set);
      set.querySelector(".q-key").focus();
    });
    refreshAll();
    C.connect(C.config.slug, onEvent, function (up) { C.text($("live-status"), up ? C.t("online") : C.t("offline")); });
    window.setInterval(function () { refreshStats().catch(function () {}); }, 30000);  // "last minute" ages
  }

  start();
})();
