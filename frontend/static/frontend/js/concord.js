/* Concord shared helpers for every page script.
 *
 * Why one small shared file: each page needs the same three things (JSON API calls with the CSRF
 * header, a self-healing websocket, and DOM building that only ever inserts text). Statement text
 * comes from strangers, so nothing here touches innerHTML: el() and text() use text nodes only.
 */
(function () {
  "use strict";

  function readJSON(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  const strings = readJSON("concord-strings") || {};
  const config = readJSON("concord-config") || {};

  /** Translated string for key, with {name} placeholders filled in. */
  function t(key, params) {
    let out = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
    Object.keys(params || {}).forEach(function (name) {
      out = out.split("{" + name + "}").join(String(params[name]));
    });
    return out;
  }

  /** A value the server sends as a word ("interrupted", "sft", "manual") in the page's language:
   * the catalog's `<prefix><value>` entry, else the value itself (a new value stays readable). */
  function named(prefix, value) {
    if (value === null || value === undefined || value === "") return "";
    const key = prefix + value;
    return Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : String(value);
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  /** fetch() a JSON endpoint; rejects with an Error carrying status and the API's message.
   *
   * With opts.participantToken the request identifies by that token and carries no cookies:
   * no session means no CSRF to prove, and the server group-commits votes of that shape
   * (deliberation/vote_batching.py). */
  async function api(method, url, body, opts) {
    const token = opts && opts.participantToken;
    const options = {
      method: method,
      credentials: token ? "omit" : "same-origin",
      // Server messages come back in the page's language, with or without cookies.
      headers: { Accept: "application/json", "Accept-Language": document.documentElement.lang || "en" },
    };
    if (body !== undefined || (opts && opts.rawBody !== undefined)) {
      options.headers["Content-Type"] = "application/json";
      // rawBody: JSON text sent exactly as given (a document whose hash covers "-1.0").
      options.body = body !== undefined ? JSON.stringify(body) : opts.rawBody;
    }
    if (token) options.headers["X-Participant-Token"] = token;
    else if (method !== "GET") options.headers["X-CSRFToken"] = csrfToken();
    const response = await fetch(url, options);
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (ignored) { data = null; }
    }
    if (!response.ok) {
      const error = new Error((data && (data.message || data.detail)) || response.statusText);
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return { status: response.status, data: data };
  }

  /** The words to show for an API refusal: the server's message (already in the page's
   * language), or a catalog text for its code when the catalog has one. */
  function serverMessage(body) {
    const key = body && body.code ? "code_" + body.code : "";
    if (key && Object.prototype.hasOwnProperty.call(strings, key)) return t(key);
    const fields = body && body.extra ? fieldMessages(body.extra.fields) : "";
    return fields || (body && body.message) || "";
  }

  /** A validation refusal's messages without the API's field names: those are identifiers
   * ("languages: …"), not words of the page's language, and the form says which field it is. */
  function fieldMessages(fields) {
    const out = [];
    (function walk(value) {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === "object") Object.keys(value).forEach(k => walk(value[k]));
      else if (value !== null && value !== undefined && value !== "") out.push(String(value));
    })(fields);
    return out.join(" ");
  }

  /** An error as a person should read it: an ordinary refusal (4xx) is said as it is; only a
   * failure (5xx, no answer) is framed as "something went wrong". */
  function errorText(error) {
    if (error.status && error.status < 500 && error.data) return serverMessage(error.data) || error.message;
    return t("error", { message: error.message });
  }

  /** Every page of a paginated list endpoint, concatenated. */
  async function apiAll(url) {
    let items = [];
    let next = url;
    while (next) {
      const page = (await api("GET", next)).data;
      if (Array.isArray(page)) return items.concat(page);
      items = items.concat(page.results || []);
      next = page.next;
    }
    return items;
  }

  /** Build an element; string children become text nodes, so markup in them stays inert. */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      const value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else if (name === "style") node.style.cssText = String(value); // CSSOM: allowed by the CSP
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    [].concat(children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  /** Replace a node's content with plain text. */
  function text(node, value) {
    node.textContent = value === null || value === undefined ? "" : String(value);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /** A statement as a text element that keeps its own direction (Arabic inside English...). */
  function statementNode(tag, statementText, attrs) {
    return el(tag, Object.assign({ dir: "auto", class: "statement-text" }, attrs || {}), [statementText]);
  }

  /**
   * Subscribe to ws/conversations/<slug>/ and call onEvent(event, payload) for each push.
   * Reconnects with backoff; onState(true|false) reports whether live updates are flowing.
   * After a reconnect the page catches up on what it missed: a "snapshot" and a "statement"
   * event make every page refetch the snapshot, its statements and its counts.
   */
  function connect(slug, onEvent, onState) {
    let delay = 1000;
    let socket = null;
    let pinger = null;
    let dropped = false;
    function open() {
      const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + "/ws/conversations/" + encodeURIComponent(slug) + "/");
      socket.onopen = function () {
        delay = 1000;
        if (onState) onState(true);
        if (dropped) { onEvent("snapshot", {}); onEvent("statement", {}); }
        pinger = window.setInterval(function () {
          if (socket.readyState === 1) socket.send(JSON.stringify({ type: "ping" }));
        }, 25000);
      };
      socket.onmessage = function (message) {
        let data = null;
        try { data = JSON.parse(message.data); } catch (ignored) { return; }
        if (data && data.event && data.event !== "ping" && data.event !== "pong") onEvent(data.event, data.payload || {});
      };
      socket.onclose = function () {
        dropped = true;
        window.clearInterval(pinger);
        if (onState) onState(false);
        // Exponential back-off with jitter, so a restarted server is not hit by every page at once.
        window.setTimeout(open, delay / 2 + Math.random() * delay / 2);
        delay = Math.min(delay * 2, 30000);
      };
    }
    open();
    return { close: function () { if (socket) { socket.onclose = null; socket.close(); } } };
  }

  /** Call fn at most once per wait ms (the last call wins), for bursts of vote events. */
  function throttle(fn, wait) {
    let timer = null;
    return function () {
      if (timer) return;
      timer = window.setTimeout(function () { timer = null; fn(); }, wait);
    };
  }

  function percent(part, whole) {
    return whole > 0 ? Math.round((100 * part) / whole) : 0;
  }

  /** Accept {statement_id}, {tid}, {id} or a bare id: the snapshot's lists use several shapes. */
  function statementId(item) {
    if (item === null || item === undefined) return null;
    if (typeof item !== "object") return Number(item);
    const id = item.statement_id !== undefined ? item.statement_id : (item.tid !== undefined ? item.tid : item.id);
    return id === undefined ? null : Number(id);
  }

  window.Concord = {
    api: api, apiAll: apiAll, serverMessage: serverMessage, errorText: errorText, clear: clear, config: config, connect: connect, el: el,
    percent: percent, readJSON: readJSON, statementId: statementId, statementNode: statementNode,
    named: named, t: t, text: text, throttle: throttle,
  };
})();
