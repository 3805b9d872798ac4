/* Participant page: join by link, vote one card at a time, add statements, watch the map move.
 *
 * Keyboard: a / d / p vote; the arrow keys press the button on that side of the screen (so in
 * right-to-left languages ArrowRight is "disagree"), ArrowDown passes. Every vote goes through
 * the HTTP API (the one write path); the websocket only tells us when to re-read.
 */
(function () {
  "use strict";
  const C = window.Concord;
  const M = window.ConcordMap;
  const base = "/api/v1/conversations/" + encodeURIComponent(C.config.slug) + "/";
  const state = { me: null, current: null, busy: false, snapshot: null, projection: "pca", texts: {}, isOpen: C.config.is_open };
  const $ = function (id) { return document.getElementById(id); };

  function showError(node, error) {
    C.text(node, C.errorText(error));
    node.classList.add("error");
  }

  // --- progress and the card ----------------------------------------------------------------

  function showProgress(voted, total) {
    state.total = total;
    C.text($("progress"), C.t("progress", { voted: voted, total: total }));
    C.text($("progress-text"), C.t("progress_label", { voted: voted, total: total }));
    $("progress-bar").max = Math.max(total, 1);
    $("progress-bar").value = voted;
  }

  function setButtons(enabled) {
    document.querySelectorAll("#vote-buttons button").forEach(function (b) { b.disabled = !enabled; });
  }

  function showCard(statement) {
    state.current = statement;
    const node = $("statement-text");
    if (statement) {
      state.texts[statement.id] = statement.text;
      C.text(node, statement.text);
      node.setAttribute("data-statement-id", statement.id);
    } else {
      C.text(node, !state.isOpen ? C.t("closed") : state.total === 0 ? C.t("empty_conversation") : C.t("done"));
      node.removeAttribute("data-statement-id");
    }
    $("card").classList.toggle("done", !statement);
    setButtons(Boolean(statement) && state.isOpen);
  }

  async function refreshMe() {
    const me = (await C.api("GET", base + "me/")).data;
    state.me = me;
    showProgress(me.voted, me.total);
    return me;
  }

  /** Votes and next statements go by token, cookie-free (see C.api). */
  function byToken() {
    return { participantToken: state.me && state.me.token };
  }

  async function fetchNext() {
    const response = await C.api("GET", base + "next/", undefined, byToken());
    return response.status === 204 ? null : response.data;
  }

  async function loadNext() {
    showCard(await fetchNext());
  }

  // --- voting ---------------------------------------------------------------------------------

  const VOTE_STATUS = { "1": "voted_agree", "-1": "voted_disagree", "0": "voted_pass" };

  /** Cast a vote; its answer carries the next card and the progress: one request per vote. */
  async function vote(value) {
    if (!state.current || state.busy || !state.isOpen) return;
    state.busy = true;
    setButtons(false);
    try {
      const body = { statement_id: state.current.id, value: value };
      const answer = (await C.api("POST", base + "votes/", body, byToken())).data;
      C.text($("vote-status"), C.t(VOTE_STATUS[String(value)]));
      showProgress(answer.progress.voted, answer.progress.total);
      state.busy = false;
      showCard(answer.next);
      $("statement-text").focus({ preventScroll: true });
      if ($("record-details") && $("record-details").open) loadMyVotes().catch(function () {});
    } catch (error) {
      state.busy = false;
      showError($("vote-status"), error);
      setButtons(true);
    }
  }

  function keyToVote(event) {
    const rtl = document.documentElement.dir === "rtl";
    const key = event.key;
    if (key === "a" || key === "A") return 1;
    if (key === "d" || key === "D") return -1;
    if (key === "p" || key === "P" || key === "ArrowDown") return 0;
    if (key === "ArrowRight") return rtl ? -1 : 1;
    if (key === "ArrowLeft") return rtl ? 1 : -1;
    return null;
  }

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const value = keyToVote(event);
    if (value === null || !state.current) return;
    event.preventDefault();
    vote(value);
  }

  // --- submitting a statement -----------------------------------------------------------------

  async function submitStatement(event) {
    event.preventDefault();
    const field = $("submit-text");
    const status = $("submit-status");
    status.classList.remove("error");
    if (!field.value.trim()) { C.text(status, C.t("empty_statement")); return; }
    const max = C.config.max_length || 1000;
    if (field.value.trim().length > max) {
      // Refuse in words rather than cut the text mid-sentence (as maxlength on a paste would).
      C.text(status, C.t("too_long", { n: field.value.trim().length, max: max }));
      status.classList.add("error");
      field.focus();
      return;
    }
    try {
      await state.joining; // a statement typed before the join finished waits for it
      const created = (await C.api("POST", base + "statements/", { text: field.value, language: document.documentElement.lang })).data;
      C.text(status, created.moderation === "accepted" ? C.t("submitted_accepted") : C.t("submitted_pending"));
      field.value = "";
      showCount();
    } catch (error) {
      showError(status, error);
    }
  }

  function showCount() {
    const max = C.config.max_length || 1000;
    const n = $("submit-text").value.trim().length;
    C.text($("submit-count"), C.t("chars", { n: n, max: max }));
    $("submit-count").classList.toggle("error", n > max);
  }

  // --- the map and what the groups stand for --------------------------------------------------

  async function loadTexts() {
    const statements = await C.apiAll(base + "statements/?limit=500");
    statements.forEach(function (s) { state.texts[s.id] = s.text; });
  }

  function textOf(id) {
    return state.texts[id] !== undefined ? state.texts[id] : "#" + id;
  }

  function statementItem(id, detail) {
    return C.el("li", {}, [C.statementNode("span", textOf(id)), detail ? C.el("span", { class: "muted small" }, [" (" + detail + ")"]) : null]);
  }

  /** True when a majority of every group's votes on the statement are "agree". */
  function everyGroupAgrees(statement) {
    const groups = statement.groups || {};
    const keys = Object.keys(groups);
    return keys.length > 0 && keys.every(function (g) {
      const c = groups[g];
      return c.n_votes > 0 && c.n_agree / c.n_votes > 0.5;
    });
  }

  /**
   * Up to five statements all groups agree with: Polis' consensus list first, then those a
   * majority of every group agrees with, best mutual agreement (MEA) first, then GIC.
   */
  function commonGround(result) {
    const ids = ((result.consensus || {}).agree || []).map(C.statementId);
    const shared = (result.statements || []).filter(function (s) { return !s.moderated_out && everyGroupAgrees(s); });
    shared.sort(function (a, b) { return (b.mea || 0) - (a.mea || 0) || (b.gic || 0) - (a.gic || 0); });
    shared.forEach(function (s) { if (ids.indexOf(s.id) < 0) ids.push(s.id); });
    return ids.slice(0, 5);
  }

  function showInsights(result) {
    const group = state.me ? M.groupOf(result, state.me.id) : null;
    C.text($("your-group"), group ? C.t("your_group", { name: group.letter }) : C.t("no_group"));
    const stands = C.clear($("group-stands"));
    ((group && group.repness) || []).slice(0, 5).forEach(function (item) {
      stands.appendChild(statementItem(C.statementId(item), M.stanceText(item)));
    });
    if (!stands.firstChild) stands.appendChild(C.el("li", { class: "muted" }, [C.t("nothing_yet")]));
    const common = C.clear($("common-ground"));
    commonGround(result).forEach(function (id) { common.appendChild(statementItem(id)); });
    if (!common.firstChild) common.appendChild(C.el("li", { class: "muted" }, [C.t("nothing_yet")]));
  }

  function drawMap() {
    const result = state.snapshot.result || {};
    M.render($("opinion-map"), result, { me: state.me ? state.me.id : null, projection: state.projection, total: state.snapshot.n_participants });
    M.fillGroupsTable($("groups-table"), result, textOf, state.me ? state.me.id : null);
    showInsights(result);
  }

  async function loadSnapshot() {
    try {
      state.snapshot = (await C.api("GET", base + "consensus/")).data;
    } catch (error) {
      if (error.status !== 404) throw error;
      C.text($("map-status"), C.t("no_snapshot"));
      return;
    }
    await loadTexts();
    C.text($("map-status"), M.caption(state.snapshot.result, state.snapshot.n_participants));
    M.bindToggle($("projection-toggle"), state.snapshot.result, function (projection) { state.projection = projection; drawMap(); });
    drawMap();
  }

  // --- demographics ---------------------------------------------------------------------------

  async function saveDemographics(event) {
    event.preventDefault();
    const status = $("demo-status");
    status.classList.remove("error");
    if (!$("demo-consent").checked) { C.text(status, C.t("consent_needed")); return; }
    const answers = {};
    (C.config.questions || []).forEach(function (q) {
      const value = $("demo-" + q.key).value;
      if (value) answers[q.key] = value;
    });
    try {
      await C.api("PUT", base + "me/demographics/", { consent: true, answers: answers });
      C.text(status, C.t("demographics_saved"));
    } catch (error) { showError(status, error); }
  }

  async function revokeDemographics() {
    const status = $("demo-status");
    try {
      const data = (await C.api("DELETE", base + "me/demographics/")).data;
      $("demographics-form").reset();
      C.text(status, C.t("demographics_revoked", { n: data.deleted }));
    } catch (error) { showError(status, error); }
  }

  // --- my votes and my data -------------------------------------------------------------------

  const VOTE_WORD = { "1": "agree", "-1": "disagree", "0": "pass" };

  function myVoteItem(vote) {
    const buttons = [1, -1, 0].filter(function (v) { return v !== vote.value; }).map(function (value) {
      const label = C.t(VOTE_WORD[String(value)]);
      const button = C.el("button", { type: "button", "aria-label": label + ": " + vote.text }, [label]);
      button.addEventListener("click", function () { changeVote(vote.statement_id, value); });
      return button;
    });
    const withdraw = C.el("button", { type: "button", class: "danger", "aria-label": C.t("withdraw") + ": " + vote.text }, [C.t("withdraw")]);
    withdraw.addEventListener("click", function () { withdrawVote(vote.statement_id); });
    return C.el("li", { "data-statement-id": vote.statement_id }, [
      C.statementNode("p", vote.text),
      C.el("p", { class: "muted small" }, [C.t("your_vote", { vote: C.t(VOTE_WORD[String(vote.value)]) })]),
      C.el("div", { class: "actions" }, buttons.concat([withdraw])),
    ]);
  }

  async function loadMyVotes() {
    if (!state.me || !$("my-votes")) return;
    const votes = (await C.api("GET", base + "me/votes/", undefined, byToken())).data.results;
    const list = C.clear($("my-votes"));
    votes.forEach(function (vote) { list.appendChild(myVoteItem(vote)); });
    if (!votes.length) list.appendChild(C.el("li", { class: "muted" }, [C.t("no_votes_yet")]));
  }

  async function changeVote(statementId, value) {
    try {
      await C.api("POST", base + "votes/", { statement_id: statementId, value: value }, byToken());
      C.text($("record-status"), C.t("changed"));
      await loadMyVotes();
    } catch (error) { showError($("record-status"), error); }
  }

  async function withdrawVote(statementId) {
    try {
      const answer = (await C.api("DELETE", base + "me/votes/" + statementId + "/", undefined, byToken())).data;
      C.text($("record-status"), C.t("withdrawn"));
      showProgress(answer.progress.voted, answer.progress.total);
      await loadMyVotes();
      if (!state.current) await loadNext();
    } catch (error) { showError($("record-status"), error); }
  }

  function askErase(asking) {
    $("erase-start").hidden = asking;
    $("erase-confirm").hidden = !asking;
    $("erase-cancel").hidden = !asking;
    if (asking) $("erase-confirm").focus();
  }

  async function erase() {
    try {
      const deleted = (await C.api("DELETE", base + "me/", undefined, byToken())).data.deleted;
      state.me = null;
      state.erased = true;
      askErase(false);
      $("erase-start").disabled = true;
      C.clear($("my-votes"));
      C.text($("erase-status"), C.t("erased", deleted));
      showCard(null);
      setButtons(false);
    } catch (error) { showError($("erase-status"), error); }
  }

  // --- live updates ---------------------------------------------------------------------------

  const refreshProgress = C.throttle(function () {
    if (state.erased) return;  // nobody to refresh: this participant deleted their data
    refreshMe().then(function () { if (!state.current) return loadNext(); }).catch(function () {});
  }, 800);
  const refreshSnapshot = C.throttle(function () { loadSnapshot().catch(function () {}); }, 500);

  function onEvent(event, payload) {
    if (event === "statement") {
      if (payload.id) state.texts[payload.id] = payload.text;
      refreshProgress();
      if (!state.current) C.text($("live-status"), C.t("new_statement"));
    } else if (event === "moderation") {
      // A statement left the deck (rejected or back in the queue): drop it if it is on the card.
      if (state.current && state.current.id === payload.id) loadNext().catch(function () {});
      refreshProgress();
    } else if (event === "snapshot") {
      refreshSnapshot();
    } else if (event === "conversation") {
      state.isOpen = payload.is_open !== false;
      $("closed-banner").hidden = state.isOpen;
      showCard(state.current);
    }
  }

  function onLive(up) {
    C.text($("live-status"), up ? C.t("online") : C.t("offline"));
  }

  // --- start ----------------------------------------------------------------------------------

  function bind() {
    document.addEventListener("keydown", onKey);
    document.querySelectorAll("#vote-buttons button").forEach(function (button) {
      button.addEventListener("click", function () { vote(Number(button.getAttribute("data-vote"))); });
    });
    if ($("submit-form")) {
      $("submit-form").addEventListener("submit", submitStatement);
      $("submit-text").addEventListener("input", showCount);
      showCount();
    }
    if ($("record-details")) {
      $("record-details").addEventListener("toggle", function () { if ($("record-details").open) loadMyVotes().catch(function () {}); });
      $("erase-start").addEventListener("click", function () { askErase(true); });
      $("erase-cancel").addEventListener("click", function () { askErase(false); });
      $("erase-confirm").addEventListener("click", erase);
    }
    if ($("demographics-form")) {
      $("demographics-form").addEventListener("submit", saveDemographics);
      $("demo-revoke").addEventListener("click", revokeDemographics);
    }
  }

  async function start() {
    bind();
    try {
      state.joining = C.api("POST", base + "participants/", {});
      const joined = (await state.joining).data;
      state.me = joined;
      showProgress(joined.voted, joined.total);
      if ($("demo-consent")) $("demo-consent").checked = Boolean(joined.demographics_consent);
      await loadNext();
    } catch (error) {
      showError($("vote-status"), error);
    }
    C.connect(C.config.slug, onEvent, onLive);
    loadSnapshot().catch(function (error) { showError($("map-status"), error); });
  }

  start();
})();
