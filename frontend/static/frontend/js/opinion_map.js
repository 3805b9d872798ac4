/* The opinion map: participants as dots, groups outlined by their convex hull, "you are here".
 *
 * Drawn as SVG from a consensus snapshot's result.participants (x, y or umap_x, umap_y) and
 * result.groups. Shared by the participant page and the researcher report. Colours are the
 * Okabe-Ito palette (distinguishable with the common colour-vision deficiencies), and every
 * group also carries a letter, so colour is never the only cue.
 */
(function () {
  "use strict";
  const C = window.Concord;
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 480;
  const HEIGHT = 320;
  const PAD = 28;
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];
  const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, String(attrs[name])); });
    [].concat(children || []).forEach(function (child) {
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  /** Groups in id order, each with a stable letter and colour. */
  function groupsOf(result) {
    const groups = (result.groups || []).slice().sort(function (a, b) { return a.id - b.id; });
    return groups.map(function (group, index) {
      return Object.assign({}, group, {
        letter: LETTERS[index % LETTERS.length],
        color: PALETTE[index % PALETTE.length],
      });
    });
  }

  function hasUmap(result) {
    return (result.participants || []).some(function (p) { return p.umap_x !== undefined && p.umap_x !== null; });
  }

  function coords(participant, projection) {
    if (projection === "umap") return [participant.umap_x, participant.umap_y];
    return [participant.x, participant.y];
  }

  /** Andrew's monotone chain: the convex hull of points, counter-clockwise. */
  function hull(points) {
    const pts = points.slice().sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    if (pts.length < 3) return pts;
    function cross(o, a, b) { return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]); }
    const lower = [];
    const upper = [];
    pts.forEach(function (p) {
      while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
      lower.push(p);
    });
    pts.slice().reverse().forEach(function (p) {
      while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
      upper.push(p);
    });
    return lower.slice(0, -1).concat(upper.slice(0, -1));
  }

  /** Map data coordinates into the SVG box, keeping the aspect ratio. */
  function scaler(points) {
    const xs = points.map(function (p) { return p[0]; });
    const ys = points.map(function (p) { return p[1]; });
    const minX = Math.min.apply(null, xs), maxX = Math.max.apply(null, xs);
    const minY = Math.min.apply(null, ys), maxY = Math.max.apply(null, ys);
    const span = Math.max(maxX - minX, (maxY - minY) * (WIDTH - 2 * PAD) / (HEIGHT - 2 * PAD), 1e-9);
    const scale = (WIDTH - 2 * PAD) / span;
    const cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
    return function (p) { return [WIDTH / 2 + (p[0] - cx) * scale, HEIGHT / 2 - (p[1] - cy) * scale]; };
  }

  function hullShape(points, group) {
    const style = { fill: group.color, "fill-opacity": 0.12, stroke: group.color, "stroke-width": 2, "stroke-linejoin": "round" };
    if (points.length >= 3) {
      return svg("polygon", Object.assign({ points: points.map(function (p) { return p.join(","); }).join(" ") }, style));
    }
    const cx = points.reduce(function (s, p) { return s + p[0]; }, 0) / points.length;
    const cy = points.reduce(function (s, p) { return s + p[1]; }, 0) / points.length;
    return svg("circle", Object.assign({ cx: cx, cy: cy, r: 14 }, style));
  }

  function groupLabel(points, group) {
    const cx = points.reduce(function (s, p) { return s + p[0]; }, 0) / points.length;
    const top = Math.min.apply(null, points.map(function (p) { return p[1]; }));
    return svg("text", { x: cx, y: Math.max(top - 8, 14), "text-anchor": "middle", class: "group-label", fill: group.color === "#F0E442" ? "#6b6300" : group.color }, [C.t("group", { name: group.letter })]);
  }

  function youMarker(point) {
    return svg("g", { class: "you", "data-testid": "you-are-here" }, [
      svg("circle", { cx: point[0], cy: point[1], r: 9, fill: "none", stroke: "#000", "stroke-width": 2.5 }),
      svg("circle", { cx: point[0], cy: point[1], r: 4, fill: "#000" }),
      svg("text", { x: point[0], y: point[1] + 24, "text-anchor": "middle", class: "you-label" }, [C.t("you_are_here")]),
    ]);
  }

  /**
   * Draw result into container (replacing what was there).
   * options: {me: participant id or null, projection: "pca"|"umap"}. Returns the SVG element.
   */
  function render(container, result, options) {
    const projection = options && options.projection === "umap" && hasUmap(result) ? "umap" : "pca";
    const me = options ? options.me : null;
    const groups = groupsOf(result);
    const colorOf = {};
    groups.forEach(function (g) { colorOf[g.id] = g; });
    const people = (result.participants || []).filter(function (p) {
      const xy = coords(p, projection);
      return typeof xy[0] === "number" && typeof xy[1] === "number";
    });
    const label = caption(result, options && options.total);
    const root = svg("svg", { viewBox: "0 0 " + WIDTH + " " + HEIGHT, role: "img", "aria-label": label, class: "opinion-map", "data-projection": projection }, [svg("title", {}, [label])]);
    if (!people.length) { C.clear(container).appendChild(root); return root; }
    const place = scaler(people.map(function (p) { return coords(p, projection); }));
    const layerHull = svg("g", { class: "hulls" });
    const layerDots = svg("g", { class: "dots" });
    const layerLabels = svg("g", { class: "labels" });  // above hulls and dots: never hidden
    groups.forEach(function (group) {
      const pts = people.filter(function (p) { return p.group === group.id; }).map(function (p) { return place(coords(p, projection)); });
      if (!pts.length) return;
      layerHull.appendChild(hullShape(hull(pts), group));
      layerLabels.appendChild(groupLabel(pts, group));
    });
    let mine = null;
    people.forEach(function (p) {
      const xy = place(coords(p, projection));
      const group = colorOf[p.group];
      layerDots.appendChild(svg("circle", { cx: xy[0].toFixed(1), cy: xy[1].toFixed(1), r: 3.5, fill: group ? group.color : "#8a8a8a", "fill-opacity": group ? 0.85 : 0.5, "data-pid": p.id }));
      if (me !== null && me !== undefined && p.id !== undefined && Number(p.id) === Number(me)) mine = xy;
    });
    // The participant tier carries no ids: the viewer's own point comes separately, as `me`.
    const own = result.me;
    if (own && typeof coords(own, projection)[0] === "number") mine = place(coords(own, projection));
    root.appendChild(layerHull);
    root.appendChild(layerDots);
    if (mine) root.appendChild(youMarker(mine));
    root.appendChild(layerLabels);
    C.clear(container).appendChild(root);
    separateLabels(root);
    return root;
  }

  /** "N participants; G in k groups, U not yet in a group": everyone the snapshot counted. */
  function caption(result, total) {
    const all = result.participants || [];
    const grouped = all.filter(function (p) { return p.group !== null && p.group !== undefined; }).length;
    const n = Math.max(total || 0, all.length);  // the snapshot's count includes the unplaced
    return C.t("map_label", { participants: n, grouped: grouped, ungrouped: n - grouped, groups: (result.groups || []).length });
  }

  function overlaps(a, b) {
    return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  }

  /**
   * Move labels apart until no two overlap: "You are here" stays put (it marks a dot), each
   * group label in turn steps down, then up, by its own height until it is clear, within the map.
   * Measured with getBBox once the SVG is in the page (text width depends on font and language).
   */
  function separateLabels(root) {
    if (!root.getBBox) return;
    const placed = [];
    const you = root.querySelector(".you-label");
    if (you) placed.push(you.getBBox());
    root.querySelectorAll(".labels text").forEach(function (label) {
      const start = Number(label.getAttribute("y"));
      let box = label.getBBox();
      const step = box.height + 2;
      for (let i = 1; i <= 40 && placed.some(function (other) { return overlaps(box, other); }); i += 1) {
        const offset = (i % 2 ? 1 : -1) * Math.ceil(i / 2) * step;
        const y = Math.min(Math.max(start + offset, box.height), HEIGHT - 2);
        label.setAttribute("y", y);
        box = label.getBBox();
      }
      placed.push(box);
    });
  }

  /** The group a participant is in, or null. */
  function groupOf(result, participantId) {
    const row = result.me !== undefined
      ? result.me  // participant tier: the viewer's own point and group
      : (result.participants || []).find(function (p) { return Number(p.id) === Number(participantId); });
    if (!row || row.group === null || row.group === undefined) return null;
    return groupsOf(result).find(function (g) { return g.id === row.group; }) || null;
  }

  /** The text alternative: one table row per group, with its most representative statement. */
  function fillGroupsTable(table, result, textOf, me) {
    const body = C.clear(table.querySelector("tbody"));
    const mineGroup = me === null || me === undefined ? null : groupOf(result, me);
    groupsOf(result).forEach(function (group) {
      const top = (group.repness || [])[0];
      const name = C.t("group", { name: group.letter }) + (mineGroup && mineGroup.id === group.id ? " " + C.t("you_marker") : "");
      const swatch = C.el("span", { class: "swatch", style: "background:" + group.color, "aria-hidden": "true" });
      const cell = top ? [C.statementNode("span", textOf(C.statementId(top))), " ", C.el("span", { class: "muted" }, ["(" + stanceText(top) + ")"])] : ["—"];
      body.appendChild(C.el("tr", {}, [C.el("th", { scope: "row" }, [swatch, name]), C.el("td", {}, [String(group.size !== undefined ? group.size : "")]), C.el("td", {}, cell)]));
    });
    table.hidden = !groupCount(result);
  }

  function groupCount(result) { return (result.groups || []).length; }

  /** "80% of the group agrees" for a repness entry. */
  function stanceText(item) {
    const stance = item.repful === "disagree" ? C.t("repful_disagree") : C.t("repful_agree");
    const pct = Math.round(100 * (item.p_success !== undefined ? item.p_success : 0));
    return C.t("stance", { pct: pct, stance: stance });
  }

  /** Wire the PCA/UMAP toggle buttons (shown only when the snapshot has UMAP coordinates). */
  function bindToggle(toggle, result, onChange) {
    toggle.hidden = !hasUmap(result);
    toggle.querySelectorAll("button").forEach(function (button) {
      button.onclick = function () {
        toggle.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        onChange(button.getAttribute("data-projection"));
      };
    });
  }

  window.ConcordMap = {
    caption: caption,
    render: render, groupsOf: groupsOf, groupOf: groupOf, fillGroupsTable: fillGroupsTable,
    stanceText: stanceText, bindToggle: bindToggle, hasUmap: hasUmap, PALETTE: PALETTE,
  };
})();
