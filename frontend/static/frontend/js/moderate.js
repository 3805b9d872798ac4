/* Moderator console: seed statements, work the moderation queue, watch participation live.
 *
 * Everything is read back from the API after each websocket event (throttled), rather than
 * patched in place from the event payload, so two moderators' screens always converge.
 */
(function () {
  "use strict";
  const C = window.Concord;
  const base = "/api/v1/conversations/" + encodeURIComponent(C.config.slug) + "/";
  const state = { isOpen: C.config.is_open };
  const $ = function (id) { return document.getElementById(id); };

  function say(node, message, isError) {
    C.text(node, message);
    node.classList.toggle("error", Boolean(isError));
  }

  function fail(node) {
    return function (error) { say(node, C.t("error", { message: error.message }), true); };
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

  async function moderate(statement, decision, reasonField) {
    const reason = reasonField.value.trim();
    if (decision === "rejected" && !reason) {
      say($("queue-status"), C.t("reason_needed"), true);
      reasonField.focus();
      return;
    }
    try {
      await C.api("POST", base + "statements/" + statement.id + "/moderate/", { state: decision, reason: reason });
      say($("queue-status"), decision === "accepted" ? C.t("accepted") : C.t("rejected"));
      refreshAll();
    } catch (error) { fail($("queue-status"))(error); }
  }

  function queueItem(statement) {
    const reasonId = "reason-" + statement.id;
    const reason = C.el("input", { id: reasonId, maxlength: 500, dir: "auto" });
    const accept = C.el("button", { type: "button", class: "primary", "aria-label": C.t("accept") + ": " + statement.text }, [C.t("accept")]);
    const reject = C.el("button", { type: "button", class: "danger", "aria-label": C.t("reject") + ": " + statement.text }, [C.t("reject")]);
    accept.addEventListener("click", function () { moderate(statement, "accepted", reason); });
    reject.addEventListener("click", function () { moderate(statement, "rejected", reason); });
    return C.el("li", { "data-statement-id": statement.id }, [
      C.statementNode("p", statement.text),
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

  function showTable(statements) {
    const body = C.clear($("statements-table").querySelector("tbody"));
    statements.slice().reverse().forEach(function (s) {
      const counts = C.t("votes_counts", { agree: s.n_agree || 0, disagree: s.n_disagree || 0, pass: s.n_pass || 0 });
      body.appendChild(C.el("tr", {}, [
        C.el("td", {}, [String(s.id)]),
        C.el("td", {}, [C.statementNode("div", s.text), s.moderation_reason ? C.el("div", { class: "muted small", dir: "auto" }, [s.moderation_reason]) : null]),
        C.el("td", {}, [C.t(MODERATION_LABEL[s.moderation] || s.moderation)]),
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

  // --- seeding --------------------------------------------------------------------------------

  async function seedOne(text) {
    try {
      await C.api("POST", base + "statements/", { text: text, language: "" });
      $("seed-results").appendChild(C.el("li", {}, [C.t("seeded", { text: text })]));
      return true;
    } catch (error) {
      $("seed-results").appendChild(C.el("li", { class: "error" }, [C.t("seed_failed", { message: error.message, text: text })]));
      return false;
    }
  }

  async function seedMany(lines) {
    C.clear($("seed-results"));
    let added = 0;
    for (const line of lines) { if (await seedOne(line)) added += 1; }  // in order: seeds are served in seeding order
    $("seed-results").appendChild(C.el("li", { class: "muted" }, [C.t("seed_summary", { added: added, failed: lines.length - added })]));
    refreshAll();
    return added === lines.length;
  }

  function onSeed(event) {
    event.preventDefault();
    const text = $("seed-text").value.trim();
    if (!text) return;
    seedMany([text]).then(function (ok) { if (ok) $("seed-text").value = ""; });
  }

  function onBulk(event) {
    event.preventDefault();
    const lines = $("bulk-text").value.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(Boolean);
    if (!lines.length) return;
    seedMany(lines).then(function (ok) { if (ok) $("bulk-text").value = ""; });
  }

  // --- settings -------------------------------------------------------------------------------

  function settingsFrom(form) {
    let questions;
    try { questions = JSON.parse(form.demographic_questions.value || "[]"); } catch (ignored) { return null; }
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
    if (!data) { say($("settings-status"), C.t("bad_json"), true); return; }
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
    $("settings-form").addEventListener("submit", onSettings);
    refreshAll();
    C.connect(C.config.slug, onEvent, function (up) { C.text($("live-status"), up ? C.t("online") : C.t("offline")); });
    window.setInterval(function () { refreshStats().catch(function () {}); }, 30000);  // "last minute" ages
  }

  start();
})();
