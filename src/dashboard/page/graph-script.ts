/**
 * The page's drawing of the topology, as plain browser JavaScript: clusters
 * as boxes with their nodes on a grid, gateways in the gaps between the
 * clusters they join, an edge's end users in front of it, and a curved arrow
 * per caller → callee link labelled with its traffic. The layout depends only
 * on names and order, so the picture stays still as figures change.
 */
export const GRAPH_SCRIPT = String.raw`
var CELL_W = 200, CELL_H = 130, TITLE = 34, SIDE = 100, ABOVE = 70, BELOW = 80, GAP = 260, CLIENTS_W = 150, RADIUS = 20, MAX_RING = 12;

function esc(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

function short(text, max) {
  text = String(text);
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

// Up to MAX_RING nodes sit on a ring, so that links are chords whose labels
// fall inside it, away from the nodes; more sit on a grid.
function placeNodes(count) {
  if (count > MAX_RING) {
    var cols = Math.ceil(Math.sqrt(count)), rows = Math.ceil(count / cols), grid = [];
    for (var k = 0; k < count; k++) grid.push({ x: (k % cols - (cols - 1) / 2) * CELL_W, y: (Math.floor(k / cols) - (rows - 1) / 2) * CELL_H });
    return { spots: grid, w: (cols - 1) * CELL_W, h: (rows - 1) * CELL_H };
  }
  if (count <= 1) return { spots: [{ x: 0, y: 0 }], w: 0, h: 0 };
  var r = Math.max(95, 95 / Math.sin(Math.PI / count)), first = -Math.PI / 2 - Math.PI / count, ring = [];
  for (var i = 0; i < count; i++) ring.push({ x: r * Math.cos(first + (2 * Math.PI * i) / count), y: r * Math.sin(first + (2 * Math.PI * i) / count) });
  var ys = ring.map(function (p) { return p.y; }), xs = ring.map(function (p) { return p.x; });
  var top = Math.min.apply(null, ys), left = Math.min.apply(null, xs);
  ring.forEach(function (p) { p.y -= top + (Math.max.apply(null, ys) - top) / 2; p.x -= left + (Math.max.apply(null, xs) - left) / 2; });
  return { spots: ring, w: Math.max.apply(null, xs) - left, h: Math.max.apply(null, ys) - top };
}

// Edges come first — their cluster leftmost, each at its cluster's first (leftmost) spot —
// so the line from the end users reaches them without crossing another node.
function edgesFirst(snapshot) {
  var hasEdge = function (c) { return c.nodes.some(function (n) { return n.edge; }); };
  var clusters = snapshot.clusters.filter(hasEdge).concat(snapshot.clusters.filter(function (c) { return !hasEdge(c); }));
  return clusters.map(function (c) {
    return { name: c.name, nodes: c.nodes.filter(function (n) { return n.edge; }).concat(c.nodes.filter(function (n) { return !n.edge; })) };
  });
}

function layoutOf(snapshot) {
  var pos = {}, boxes = [], edges = [];
  var clusters = edgesFirst(snapshot);
  var hasEdge = clusters.some(function (c) { return c.nodes.some(function (n) { return n.edge; }); });
  var placed = clusters.map(function (c) { return placeNodes(c.nodes.length); });
  var inner = Math.max.apply(null, placed.map(function (p) { return p.h; }).concat([0]));
  // Nodes in a ring's upper half write their names above them, clear of the links that arrive from below.
  var x = hasEdge ? CLIENTS_W : 20, top = 20, above = inner > 0 ? ABOVE : 30, height = TITLE + above + inner + BELOW;
  var middle = top + TITLE + above + inner / 2;
  clusters.forEach(function (c, i) {
    var p = placed[i];
    var box = { name: c.name, x: x, y: top, w: Math.max(p.w + 2 * SIDE, c.name.length * 8.5 + 90), h: height };
    boxes.push(box);
    c.nodes.forEach(function (n, k) {
      pos[n.id] = { x: box.x + box.w / 2 + p.spots[k].x, y: middle + p.spots[k].y, above: p.spots[k].y < -1 };
      if (n.edge) edges.push(n.id);
    });
    x += box.w + (i < clusters.length - 1 ? GAP : 20);
  });
  var stacked = {};
  snapshot.gateways.forEach(function (g) {
    var joined = boxes.map(function (b, i) { return g.clusters.indexOf(b.name) >= 0 ? i : -1; }).filter(function (i) { return i >= 0; });
    var after = joined.length > 0 ? Math.min.apply(null, joined) : boxes.length - 1;
    if (after === boxes.length - 1 && boxes.length > 1) after = boxes.length - 2;
    var box = boxes[Math.max(0, after)];
    var n = stacked[after] = (stacked[after] || 0) + 1;
    var gx = box ? box.x + box.w + GAP / 2 : 60;
    if (box && after === boxes.length - 1) { gx = box.x + box.w + 70; x = Math.max(x, gx + 90); }
    var at = { x: gx, y: middle + (n - 1) * 90, joined: joined.map(function (i) { return boxes[i]; }) };
    g.ids.forEach(function (id) { pos[id] = at; });
    pos["gateway:" + g.name] = at;
  });
  return { pos: pos, boxes: boxes, edges: edges, width: Math.max(x, 320), height: top + height + 20 };
}

function nodeShape(state, gateway) {
  if (gateway) return '<rect x="-18" y="-18" width="36" height="36" rx="7"></rect>';
  var cross = state === "dead" ? '<path class="cross" d="M-8 -8 L8 8 M8 -8 L-8 8"></path>' : "";
  return '<circle r="' + RADIUS + '"></circle>' + cross;
}

function drawNode(n, at, gateway) {
  var group = n.members !== undefined;
  var classes = "node " + n.state + (gateway ? " gateway" : "") + (n.edge ? " edge-node" : "") + (group ? " group" : "");
  // A gateway's square says what it is: its line names the clusters it joins, whole in its tooltip.
  var detail = gateway ? n.clusters.join(" ↔ ") : n.edge ? "edge" : group ? n.addresses.join(" · ") : n.services.length > 0 ? n.services.join(", ") : "calls only";
  var figures = n.state === "dead" ? "dead" : n.state === "left" ? "left" : n.inFlight === null || n.inFlight === undefined ? "" : "in flight " + n.inFlight + (n.shed ? " · shed " + n.shed : "");
  return '<g class="' + classes + '" data-id="' + esc(n.id || n.name) + '" data-name="' + esc(n.name) + '" data-state="' + esc(n.state) + '"' +
    (group ? ' data-members="' + n.members + '"' : "") + ' transform="translate(' + at.x + "," + at.y + ')">' +
    "<title>" + esc(group ? n.members + " nodes serving " + (n.services.join(", ") || "nothing") + ": " + n.addresses.join(", ") :
      n.name + " (" + n.state + ")" + (gateway ? "\ngateway between " + n.clusters.join(", ") : "") + (n.addresses ? "\n" + n.addresses.join("\n") : "")) + "</title>" +
    (group ? '<circle class="group-ring" r="' + (RADIUS + 6) + '"></circle>' : "") + nodeShape(n.state, gateway) +
    '<text class="name" text-anchor="middle" y="' + (at.above ? -58 : 36) + '">' + esc(short(n.name, 22)) + "</text>" +
    '<text class="detail" text-anchor="middle" y="' + (at.above ? -44 : 50) + '">' + esc(short(detail, gateway ? 36 : 28)) + "</text>" +
    (figures ? '<text class="detail" text-anchor="middle" y="' + (at.above ? -31 : 63) + '">' + esc(figures) + "</text>" : "") +
    "</g>";
}

function linkText(l) {
  var latency = l.p99Ms !== null && l.p99Ms !== undefined ? "p99 " + l.p99Ms.toFixed(1) + " ms" : "ewma " + l.latencyMs.toFixed(1) + " ms";
  var err = l.errorRate === null || l.errorRate === undefined ? "-" : (l.errorRate * 100).toFixed(1) + "%";
  return l.callsPerSecond.toFixed(1) + "/s · " + latency + " · " + err + " err";
}

// Whether the curve from s through control c to e passes within CLEARANCE of a node other than its ends.
var CLEARANCE = RADIUS + 6;
function crossesNode(sx, sy, cx, cy, ex, ey, spots, from, to) {
  for (var k = 1; k < 20; k++) {
    var t = k / 20, a = (1 - t) * (1 - t), b = 2 * t * (1 - t), c = t * t;
    var x = a * sx + b * cx + c * ex, y = a * sy + b * cy + c * ey;
    for (var i = 0; i < spots.length; i++) {
      var p = spots[i];
      if (p === from || p === to) continue;
      if ((p.x - x) * (p.x - x) + (p.y - y) * (p.y - y) < CLEARANCE * CLEARANCE) return true;
    }
  }
  return false;
}

function drawLink(l, from, to, spots) {
  var dx = to.x - from.x, dy = to.y - from.y, length = Math.sqrt(dx * dx + dy * dy) || 1;
  var ux = dx / length, uy = dy / length;
  var sx = from.x + ux * (RADIUS + 4), sy = from.y + uy * (RADIUS + 4), ex = to.x - ux * (RADIUS + 8), ey = to.y - uy * (RADIUS + 8);
  // Bend to the caller's right: the two directions between one pair of nodes never overlap.
  // A node in the way bends it further, right first, until it passes clear.
  var base = Math.min(40, 12 + length / 8), bends = [base, base + 45, base + 90, base + 140, -base - 45, -base - 90, base + 200, -base - 140];
  var bend = base, cx, cy;
  for (var i = 0; i < bends.length; i++) {
    bend = bends[i];
    cx = (from.x + to.x) / 2 - uy * bend;
    cy = (from.y + to.y) / 2 + ux * bend;
    if (!spots || !crossesNode(sx, sy, cx, cy, ex, ey, spots, from, to)) break;
  }
  var mx = (sx + 2 * cx + ex) / 4, my = (sy + 2 * cy + ey) / 4;
  var hot = l.errorRate > 0.05 || l.ejected;
  var classes = "link" + (hot ? " hot" : l.callsPerSecond === 0 ? " idle" : "");
  var width = l.callsPerSecond > 0 ? Math.min(6, 1.5 + Math.log10(1 + l.callsPerSecond)) : 1.5;
  return {
    at: { x: mx, y: my + 4 },
    hot: hot,
    text: l.callsPerSecond > 0 || hot ? linkText(l) : "",
    path: '<path class="' + classes + '" data-from="' + esc(l.from) + '" data-to="' + esc(l.to) + '" d="M' + sx + " " + sy + " Q" + cx + " " + cy + " " + ex + " " + ey +
      '" style="stroke-width:' + width.toFixed(1) + '" marker-end="url(#' + (hot ? "arrow-hot" : "arrow") + ')"><title>' + esc(l.services.join(", ") + ": " + linkText(l)) + "</title></path>",
  };
}

// Labels of idle links are left out (their arrow's tooltip keeps the figures);
// the others move up or down, a line at a time, off the labels and nodes already placed,
// and are left out too when no place is clear of the other labels.
function placeLabels(drawn, nodeSpots) {
  var taken = [];
  nodeSpots.forEach(function (p) {
    taken.push({ x1: p.x - 24, x2: p.x + 24, y1: p.y - 24, y2: p.y + 24 });
    taken.push(p.above ? { x1: p.x - 62, x2: p.x + 62, y1: p.y - 70, y2: p.y - 24 } : { x1: p.x - 62, x2: p.x + 62, y1: p.y + 24, y2: p.y + 66 });
  });
  var labels = [];
  var hits = function (a, boxes) { return boxes.some(function (b) { return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2; }); };
  var shifts = [0];
  for (var step = 14; step <= 112; step += 14) shifts.push(step, -step);
  return drawn.filter(function (d) { return d.text; }).map(function (d) {
    var half = d.text.length * 2.9 + 4, y = d.at.y, chosen = null;
    var boxAt = function (shift) { return { x1: d.at.x - half, x2: d.at.x + half, y1: d.at.y + shift - 11, y2: d.at.y + shift + 3 }; };
    // Clear of everything if it can be; else at least clear of the other labels: two labels never overlap.
    [function (box) { return !hits(box, taken) && !hits(box, labels); }, function (box) { return !hits(box, labels); }].some(function (fits) {
      return shifts.some(function (shift) {
        var box = boxAt(shift);
        if (!fits(box)) return false;
        chosen = box;
        y = d.at.y + shift;
        return true;
      });
    });
    // No room clear of the other labels: none, rather than one over another (the arrow's tooltip keeps the figures).
    if (chosen === null) return "";
    labels.push(chosen);
    return '<text class="link-label' + (d.hot ? " hot" : "") + '" text-anchor="middle" x="' + d.at.x.toFixed(1) + '" y="' + y.toFixed(1) + '">' + esc(d.text) + "</text>";
  });
}

// A cluster of more than COLLAPSE_AT nodes is drawn as groups: the nodes that serve the
// same services are one circle ("calculator@1.2.0 ×40"), with their counts by state and
// their calls in flight summed; an edge stays itself. Links between groups add up.
var COLLAPSE_AT = 50;

function groupKey(n) { return n.edge ? "edge:" + n.id : n.services.length > 0 ? n.services.join(", ") : "calls only"; }

function collapsed(snapshot) {
  var groupOf = {}, changed = false;
  var clusters = snapshot.clusters.map(function (c) {
    if (c.nodes.length <= COLLAPSE_AT) return c;
    changed = true;
    var groups = {}, order = [];
    c.nodes.forEach(function (n) {
      var key = groupKey(n), g = groups[key];
      if (!g) {
        if (n.edge) { groups[key] = n; order.push(key); groupOf[n.id] = n.id; return; }
        g = groups[key] = { id: "group:" + c.name + ":" + key, name: key, cluster: c.name, state: "dead", services: n.services, edge: false,
          inFlight: 0, shed: 0, members: 0, states: {}, addresses: [] };
        order.push(key);
      }
      groupOf[n.id] = g.id;
      if (g === n) return;
      g.members++;
      g.states[n.state] = (g.states[n.state] || 0) + 1;
      if (n.inFlight !== null && n.inFlight !== undefined) g.inFlight += n.inFlight;
      if (n.shed) g.shed += n.shed;
    });
    var nodes = order.map(function (key) {
      var g = groups[key];
      if (g.members === undefined) return g;
      g.addresses = Object.keys(g.states).map(function (state) { return g.states[state] + " " + state; });
      g.state = ["alive", "suspect", "dead", "left"].filter(function (state) { return g.states[state]; })[0] || "dead";
      g.name = short(g.name, 16) + " ×" + g.members;
      return g;
    });
    return { name: c.name, nodes: nodes };
  });
  if (!changed) return snapshot;
  var merged = {};
  snapshot.links.forEach(function (l) {
    var from = groupOf[l.from] || l.from, to = groupOf[l.to] || l.to;
    if (from === to) return;
    var key = from + ">" + to, m = merged[key];
    if (!m) m = merged[key] = { from: from, to: to, callsPerSecond: 0, latencyMs: 0, p99Ms: null, errorRate: null, outstanding: 0, ejected: false, services: [], failed: 0, known: 0 };
    m.latencyMs = (m.latencyMs * m.callsPerSecond + l.latencyMs * l.callsPerSecond) / ((m.callsPerSecond + l.callsPerSecond) || 1);
    m.callsPerSecond += l.callsPerSecond;
    if (l.p99Ms !== null && l.p99Ms !== undefined) m.p99Ms = Math.max(m.p99Ms || 0, l.p99Ms);
    if (l.errorRate !== null && l.errorRate !== undefined) { m.failed += l.errorRate * l.callsPerSecond; m.known += l.callsPerSecond; m.errorRate = m.known > 0 ? m.failed / m.known : l.errorRate; }
    m.outstanding += l.outstanding;
    m.ejected = m.ejected || l.ejected;
    l.services.forEach(function (s) { if (m.services.indexOf(s) < 0) m.services.push(s); });
  });
  return { clusters: clusters, gateways: snapshot.gateways, endUsers: snapshot.endUsers, links: Object.keys(merged).map(function (k) { return merged[k]; }) };
}

function drawGraph(full) {
  var snapshot = collapsed(full);
  var layout = layoutOf(snapshot), pos = layout.pos, parts = [], paths = [], drawn = [];
  parts.push('<defs>' +
    '<marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#8190a5"></path></marker>' +
    '<marker id="arrow-hot" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#d64545"></path></marker>' +
    "</defs>");
  layout.boxes.forEach(function (b) {
    parts.push('<g class="cluster" data-cluster="' + esc(b.name) + '"><rect class="cluster-box" x="' + b.x + '" y="' + b.y + '" width="' + b.w + '" height="' + b.h + '" rx="12"></rect>' +
      '<text class="cluster-name" x="' + (b.x + 14) + '" y="' + (b.y + 21) + '">cluster ' + esc(b.name) + "</text></g>");
  });
  snapshot.gateways.forEach(function (g) {
    var at = pos["gateway:" + g.name];
    at.joined.forEach(function (b) {
      var side = b.x + b.w < at.x ? b.x + b.w : b.x;
      parts.push('<path class="gateway-line" d="M' + at.x + " " + at.y + " L" + side + " " + at.y + '"></path>');
    });
  });
  layout.edges.forEach(function (id, i) {
    var at = pos[id], cx = 62, cy = at.y + i * 4;
    // What the edge said of its clients, and the calls its links carried for them; nothing known yet: a plain drawing.
    var users = (snapshot.endUsers || []).filter(function (u) { return u.edge === id; })[0];
    var count = users ? String(users.clients) : "?";
    var noun = users && users.clients === 1 ? "end user" : "end users";
    var figures = users ? users.callsPerSecond.toFixed(1) + "/s · " + (users.errorRate === null ? "-" : (users.errorRate * 100).toFixed(1) + "%") + " err" : "";
    var hot = users && (users.errorRate > 0.05 || users.refusedPerSecond > 0);
    var title = users ? users.clients + " distinct " + noun + " in the last " + Math.round(users.windowMs / 1000) + " s; " + figures +
      (users.refusedPerSecond > 0 ? "; " + users.refusedPerSecond.toFixed(1) + "/s refused at the edge" : "") : "end users";
    parts.push('<g class="clients' + (hot ? " hot" : "") + '" data-edge="' + esc(id) + '"><title>' + esc(title) + "</title>" +
      '<path class="gateway-line" style="stroke:' + (hot ? "#d64545" : "#2b7bd8") + '" d="M' + (cx + 26) + " " + cy + " L" + (at.x - RADIUS - 4) + " " + at.y + '"></path>' +
      '<circle cx="' + cx + '" cy="' + cy + '" r="24"></circle><text text-anchor="middle" x="' + cx + '" y="' + (cy + 5) + '" class="name users-count">' + esc(count) + "</text>" +
      '<text text-anchor="middle" x="' + cx + '" y="' + (cy + 42) + '" class="detail">' + noun + "</text>" +
      (figures ? '<text text-anchor="middle" x="' + cx + '" y="' + (cy + 56) + '" class="detail users-figures">' + esc(figures) + "</text>" : "") + "</g>");
  });
  // Every spot a node or gateway is drawn at, once: what links must pass clear of.
  var spots = Object.keys(pos).map(function (id) { return pos[id]; }).filter(function (p, i, all) { return all.indexOf(p) === i; });
  snapshot.links.forEach(function (l) {
    var from = pos[l.from], to = pos[l.to];
    if (!from || !to || from === to) return;
    var link = drawLink(l, from, to, spots);
    paths.push(link.path);
    drawn.push(link);
  });
  var nodes = [];
  snapshot.clusters.forEach(function (c) { c.nodes.forEach(function (n) { nodes.push(drawNode(n, pos[n.id], false)); }); });
  snapshot.gateways.forEach(function (g) { nodes.push(drawNode(g, pos["gateway:" + g.name], true)); });
  return '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + layout.width + " " + layout.height + '" width="' + layout.width + '" height="' + layout.height + '" role="img" aria-label="topology">' +
    parts.join("") + paths.join("") + nodes.join("") + placeLabels(drawn, Object.keys(pos).map(function (id) { return pos[id]; })).join("") + "</svg>";
}
`;
