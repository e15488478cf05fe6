/**
 * The page's script, as plain browser JavaScript served at `/dashboard.js`:
 * follows the snapshot feed, draws the topology, lists the services with
 * their instances, fills the call form and shows recent calls.
 */
import { GRAPH_SCRIPT } from "./graph-script.ts";
import { SCHEMA_SCRIPT } from "./schema-script.ts";

const MAIN_SCRIPT = String.raw`
var catalogSignature = "", selected = "", methodSchemas = {}, shownTraces = {}, lastSnapshot = null;
// The topology's view: a viewBox kept across redraws, so a zoom or pan stays while figures change.
var view = null, layoutSize = null;

function $(id) { return document.getElementById(id); }

function pct(value) { return value === null || value === undefined ? "-" : (value * 100).toFixed(1) + " %"; }
function ms(value) { return value === null || value === undefined ? "-" : value.toFixed(1) + " ms"; }
function num(value) { return value === null || value === undefined ? "-" : String(value); }

function summarize(snapshot) {
  var nodes = 0, dead = 0;
  snapshot.clusters.forEach(function (c) { c.nodes.forEach(function (n) { nodes++; if (n.state === "dead") dead++; }); });
  var services = {};
  snapshot.catalog.forEach(function (s) { services[s.name] = true; });
  var clusters = snapshot.clusters.length;
  return clusters + (clusters === 1 ? " cluster · " : " clusters · ") + nodes + " nodes" + (dead ? " (" + dead + " dead)" : "") +
    (snapshot.gateways.length ? " · " + snapshot.gateways.length + (snapshot.gateways.length === 1 ? " gateway" : " gateways") : "") + " · " + Object.keys(services).length + " services · " +
    new Date(snapshot.at).toLocaleTimeString();
}

function methodKey(s, m) { return JSON.stringify({ cluster: s.cluster, service: s.name, method: m.name }); }

function renderCatalog(snapshot) {
  var signature = JSON.stringify(snapshot.catalog.map(function (s) { return [s.cluster, s.name, s.version, s.methods]; }));
  if (signature !== catalogSignature) {
    catalogSignature = signature;
    var open = {};
    Array.prototype.forEach.call(document.querySelectorAll("#catalog details[open]"), function (d) { open[d.dataset.key] = true; });
    var many = snapshot.clusters.length > 1;
    $("catalog").innerHTML = snapshot.catalog.length === 0 ? '<p class="muted">no services yet</p>' : snapshot.catalog.map(function (s) {
      var key = s.cluster + "/" + s.name + "@" + s.version;
      return '<div class="service" data-service="' + esc(s.name) + '" data-key="' + esc(key) + '"><h3>' + esc(s.name) + ' <span class="version">' + esc(s.version) + "</span>" +
        (many ? '<span class="badge">' + esc(s.cluster) + "</span>" : "") + "</h3>" +
        (s.methods.length === 0 ? '<p class="muted">methods not known yet</p>' : s.methods.map(function (m) {
          var k = key + "." + m.name;
          return '<details data-key="' + esc(k) + '"' + (open[k] ? " open" : "") + "><summary>" + esc(m.name) + '<span class="badge">' + esc(m.kind) + "</span>" +
            (m.idempotent ? '<span class="badge">idempotent</span>' : "") + (m.public ? '<span class="badge">public</span>' : "") +
            (m.description ? ' <span class="muted">' + esc(m.description) + "</span>" : "") + "</summary>" +
            '<div>input</div><pre class="type">' + esc(typeText(m.input || {})) + '</pre><div>output</div><pre class="type">' + esc(typeText(m.output || {})) + "</pre></details>";
        }).join("")) + '<table><thead><tr><th>instance</th><th>state</th><th class="num">in flight</th><th class="num">shed</th><th class="num">outstanding</th>' +
        '<th class="num">EWMA</th><th class="num">errors</th><th class="num">ejected</th></tr></thead><tbody></tbody></table></div>';
    }).join("");
    renderMethodChoices(snapshot);
  }
  snapshot.catalog.forEach(function (s) {
    var card = document.querySelector('#catalog .service[data-key="' + CSS.escape(s.cluster + "/" + s.name + "@" + s.version) + '"] tbody');
    if (!card) return;
    card.innerHTML = s.instances.map(function (i) {
      return "<tr><td>" + esc(i.node) + '</td><td class="state-' + esc(i.state) + '">' + esc(i.state) + '</td><td class="num">' + num(i.inFlight) + '</td><td class="num">' + num(i.shed) +
        '</td><td class="num">' + i.outstanding + '</td><td class="num">' + ms(i.ewmaMs) + '</td><td class="num">' + pct(i.errorRate) + '</td><td class="num">' +
        (i.callers > 0 ? i.ejectedBy + "/" + i.callers : "-") + "</td></tr>";
    }).join("");
  });
}

function renderMethodChoices(snapshot) {
  var choices = [], many = snapshot.clusters.length > 1;
  snapshot.catalog.forEach(function (s) {
    s.methods.forEach(function (m) {
      if (m.kind !== "unary" && m.kind !== "server-stream") return;
      choices.push({ value: methodKey(s, m), text: (many ? s.cluster + " · " : "") + s.name + "." + m.name + (m.kind === "unary" ? "" : " (stream)"), schema: m.input });
    });
  });
  var select = $("call-method");
  select.innerHTML = choices.map(function (c) { return '<option value="' + esc(c.value) + '">' + esc(c.text) + "</option>"; }).join("");
  select.disabled = choices.length === 0;
  $("call-submit").disabled = choices.length === 0;
  methodSchemas = {};
  choices.forEach(function (c) { methodSchemas[c.value] = c.schema; });
  if (selected && methodSchemas[selected] !== undefined) select.value = selected;
  else if (choices.length > 0) { selected = choices[0].value; select.value = selected; fillInput(); }
  if (!$("call-type").textContent) fillType();
}

function fillType() { $("call-type").textContent = selected && methodSchemas[selected] !== undefined ? typeText(methodSchemas[selected] || {}) : ""; }

function fillInput() {
  $("call-input").value = JSON.stringify(exampleOf(methodSchemas[selected], 0), null, 2);
  fillType();
}

function spanRow(span, total, many) {
  var left = total > 0 ? (span.offsetMs / total) * 100 : 0;
  var width = total > 0 ? Math.max(0.5, (span.durationMs / total) * 100) : 100;
  var who = span.kind === "client" ? span.node + " → " + span.peer : span.peer + " → " + span.node;
  var where = span.node + (many ? " in " + span.cluster : "");
  return '<div class="span-row" data-kind="' + esc(span.kind) + '" data-span="' + esc(span.spanId) + '" data-depth="' + span.depth + '" data-offset="' + span.offsetMs + '" data-code="' + esc(span.code) + '">' +
    '<div class="span-label" style="padding-left:' + span.depth * 14 + 'px" title="' + esc(span.kind + " span recorded by " + where + ", +" + span.offsetMs.toFixed(3) + " ms") + '">' +
    '<span class="badge">' + esc(span.kind) + "</span> " + '<span class="span-name">' + esc(span.service + "." + span.method) + '</span> <span class="muted">' + esc(who) + (many ? " · " + esc(span.cluster) : "") + "</span></div>" +
    '<div class="span-track"><div class="span-bar ' + esc(span.kind) + (span.code === "OK" ? "" : " failed") + '" style="left:' + left.toFixed(2) + "%;width:" + Math.min(width, 100 - left).toFixed(2) + '%"></div>' +
    '<span class="span-time">+' + span.offsetMs.toFixed(3) + " · " + span.durationMs.toFixed(3) + " ms" + (span.code === "OK" ? "" : " · " + esc(span.code)) + "</span></div>" +
    spanDetails(span) + "</div>";
}

// What the node kept of a served call when it opted in (traces: { bodies, logs }): its input, output and log lines.
function spanDetails(span) {
  if (span.input === undefined && span.output === undefined && !span.logs) return "";
  var rows = [];
  if (span.input !== undefined) rows.push('<div class="span-body" data-part="input"><span class="muted">input</span> <code>' + esc(span.input) + "</code></div>");
  if (span.output !== undefined) rows.push('<div class="span-body" data-part="output"><span class="muted">output</span> <code>' + esc(span.output) + "</code></div>");
  (span.logs || []).forEach(function (line) {
    rows.push('<div class="span-log" data-level="' + esc(line.level) + '"><span class="muted">' + esc(new Date(line.at).toISOString().slice(11, 23)) + " " + esc(line.level) + "</span> " +
      esc(line.msg) + (line.fields ? ' <code>' + esc(line.fields) + "</code>" : "") + "</div>");
  });
  return '<div class="span-details" style="padding-left:' + (span.depth * 14 + 8) + 'px">' + rows.join("") + "</div>";
}

function renderRecent(snapshot) {
  var recent = snapshot.recentCalls;
  if (!recent.available) {
    $("recent").innerHTML = '<p class="muted">No node serves ' + esc(recent.service) + " yet: recent calls and their traces show here once nodes keep them.</p>";
    return;
  }
  if (!recent.keeping) {
    $("recent").innerHTML = '<p class="muted">The nodes keep no recent calls: start them with traces: { recent: 500 } to see each call' + "'" + "s path here.</p>";
    return;
  }
  if (recent.traces.length === 0) { $("recent").innerHTML = '<p class="muted">no calls recorded yet</p>'; return; }
  // A trace someone opened stays on top until closed, even once newer calls push it out of the list.
  var open = {}, kept = [], fresh = {};
  recent.traces.forEach(function (trace) { fresh[trace.traceId] = true; });
  Array.prototype.forEach.call(document.querySelectorAll("#recent details[open]"), function (d) {
    open[d.dataset.trace] = true;
    if (!fresh[d.dataset.trace] && shownTraces[d.dataset.trace]) kept.push(shownTraces[d.dataset.trace]);
  });
  var traces = kept.concat(recent.traces.filter(traceMatches));
  if (traces.length === 0) { $("recent").innerHTML = '<p class="muted">no recent trace matches the search</p>'; return; }
  shownTraces = {};
  traces.forEach(function (trace) { shownTraces[trace.traceId] = trace; });
  $("recent").innerHTML = traces.map(function (trace) {
    var nodes = {}, clusters = {};
    trace.spans.forEach(function (span) { nodes[span.node] = true; clusters[span.cluster] = true; });
    var many = Object.keys(clusters).length > 1;
    return '<details class="trace" data-trace="' + esc(trace.traceId) + '"' + (open[trace.traceId] ? " open" : "") + "><summary>" +
      '<strong class="trace-title">' + esc(trace.title) + "</strong> " +
      '<span class="badge">' + trace.spans.length + " spans · " + Object.keys(nodes).length + " nodes</span>" +
      '<span class="badge code-' + (trace.code === "OK" ? "ok" : "failed") + '">' + esc(trace.code) + "</span> " +
      trace.durationMs.toFixed(2) + ' ms <span class="muted">' + new Date(trace.start).toLocaleTimeString() + " · trace " + esc(trace.traceId.slice(0, 12)) + "…</span></summary>" +
      (trace.complete ? "" : '<p class="muted">part of this trace is missing: a node keeps no recent calls, or they rolled out of its ring</p>') +
      '<div class="waterfall">' + trace.spans.map(function (span) { return spanRow(span, trace.durationMs, many); }).join("") + "</div></details>";
  }).join("");
}

// The search: a service or service.method (part of a name matches), a status, a shortest duration.
function traceMatches(trace) {
  var text = $("trace-service").value.trim().toLowerCase(), status = $("trace-status").value, min = Number($("trace-min").value || 0);
  if (text && !trace.spans.some(function (s) { return (s.service + "." + s.method).toLowerCase().indexOf(text) >= 0; })) return false;
  if (status === "OK" && trace.code !== "OK") return false;
  if (status === "failed" && trace.code === "OK") return false;
  return !(min > 0 && trace.durationMs < min);
}

function applyView() {
  var svg = document.querySelector("#graph svg");
  if (!svg || !layoutSize) return;
  if (!view) view = fitView();
  svg.setAttribute("viewBox", view.x + " " + view.y + " " + view.w + " " + view.h);
}

// Fit the drawing, but never smaller than 3/4 of its size: past that labels cannot be read, so the rest is a pan away.
function fitView() {
  var box = $("graph").getBoundingClientRect(), width = Math.max(box.width, 1);
  var scale = Math.max(0.75, Math.min(1.5, width / layoutSize.w));
  var w = width / scale, h = Math.max(layoutSize.h, 320 / scale);
  return { x: 0, y: 0, w: w, h: h };
}

function zoom(factor, cx, cy) {
  if (!view) return;
  var w = Math.min(layoutSize.w * 4, Math.max(120, view.w * factor)), h = view.h * (w / view.w);
  cx = cx === undefined ? view.x + view.w / 2 : cx; cy = cy === undefined ? view.y + view.h / 2 : cy;
  view = { x: cx - (cx - view.x) * (w / view.w), y: cy - (cy - view.y) * (h / view.h), w: w, h: h };
  applyView();
}

function startPanZoom() {
  var graph = $("graph"), drag = null;
  graph.addEventListener("wheel", function (event) {
    if (!view) return;
    event.preventDefault();
    var box = graph.getBoundingClientRect();
    zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, view.x + ((event.clientX - box.left) / box.width) * view.w, view.y + ((event.clientY - box.top) / box.height) * view.h);
  }, { passive: false });
  graph.addEventListener("pointerdown", function (event) { if (view) { drag = { x: event.clientX, y: event.clientY, view: view }; graph.classList.add("panning"); } });
  window.addEventListener("pointermove", function (event) {
    if (!drag) return;
    var box = graph.getBoundingClientRect(), k = drag.view.w / Math.max(box.width, 1);
    view = { x: drag.view.x - (event.clientX - drag.x) * k, y: drag.view.y - (event.clientY - drag.y) * k, w: drag.view.w, h: drag.view.h };
    applyView();
  });
  window.addEventListener("pointerup", function () { drag = null; graph.classList.remove("panning"); });
  $("zoom-in").addEventListener("click", function () { zoom(1 / 1.25); });
  $("zoom-out").addEventListener("click", function () { zoom(1.25); });
  $("zoom-reset").addEventListener("click", function () { view = null; applyView(); });
  window.addEventListener("resize", function () { view = null; applyView(); });
}

function render(snapshot) {
  lastSnapshot = snapshot;
  $("summary").textContent = summarize(snapshot);
  $("graph").innerHTML = drawGraph(snapshot);
  var svg = document.querySelector("#graph svg");
  var size = { w: Number(svg.getAttribute("width")), h: Number(svg.getAttribute("height")) };
  svg.removeAttribute("width"); svg.removeAttribute("height");
  if (!layoutSize || layoutSize.w !== size.w || layoutSize.h !== size.h) view = null;
  layoutSize = size;
  applyView();
  renderCatalog(snapshot);
  renderRecent(snapshot);
}

function showResult(state, text) {
  var out = $("call-result");
  out.dataset.state = state;
  out.textContent = text;
}

function onCall(event) {
  event.preventDefault();
  var choice = JSON.parse($("call-method").value), input;
  try { input = JSON.parse($("call-input").value || "{}"); } catch (e) { showResult("error", "The input is not valid JSON: " + e.message); return; }
  var body = { cluster: choice.cluster, service: choice.service, method: choice.method, input: input };
  var timeout = Number($("call-timeout").value);
  if (timeout > 0) body.timeout = Math.round(timeout);
  $("call-submit").disabled = true;
  showResult("pending", "calling " + choice.service + "." + choice.method + "…");
  fetch("/api/call", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    .then(function (response) { return response.json().then(function (answer) { return { ok: response.ok, status: response.status, answer: answer }; }); })
    .then(function (r) {
      if (r.ok) {
        var value = r.answer.items !== undefined ? r.answer.items : r.answer.result;
        showResult("ok", JSON.stringify(value, null, 2) + "\n\n" + r.answer.service + "@" + r.answer.version + "." + r.answer.method + " in " + r.answer.ms + " ms" + (r.answer.truncated ? " (stream cut short)" : ""));
      } else {
        var e = r.answer.error || {};
        showResult("error", (e.code || r.status) + ": " + (e.message || "the call failed") + (e.details !== undefined ? "\n" + JSON.stringify(e.details, null, 2) : ""));
      }
    })
    .catch(function (e) { showResult("error", "The dashboard did not answer: " + e.message); })
    .finally(function () { $("call-submit").disabled = false; });
}

function start() {
  startPanZoom();
  ["trace-service", "trace-status", "trace-min"].forEach(function (id) {
    $(id).addEventListener("input", function () { if (lastSnapshot) renderRecent(lastSnapshot); });
  });
  $("trace-search").addEventListener("submit", function (event) { event.preventDefault(); });
  $("call-form").addEventListener("submit", onCall);
  $("call-method").addEventListener("change", function () {
    selected = $("call-method").value;
    fillInput();
  });
  var feed = new EventSource("/api/events");
  feed.addEventListener("open", function () { $("feed").dataset.state = "live"; $("feed").textContent = "live"; });
  feed.addEventListener("error", function () { $("feed").dataset.state = "lost"; $("feed").textContent = "reconnecting"; });
  feed.addEventListener("snapshot", function (event) { render(JSON.parse(event.data)); });
}

start();
`;

/** The whole script: the drawing first, then what uses it. */
export const PAGE_SCRIPT = `"use strict";\n${SCHEMA_SCRIPT}\n${GRAPH_SCRIPT}\n${MAIN_SCRIPT}`;
