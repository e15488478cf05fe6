/** The dashboard page's style sheet. */
export const PAGE_STYLE = String.raw`
:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1d2330; --muted: #6b7280; --line: #d9dde3;
  --alive: #2f9e62; --suspect: #d99a1e; --dead: #d64545; --left: #9aa3ad; --gateway: #6b5bd6; --edge: #2b7bd8;
  --link: #8190a5; --hot: #d64545;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; background: var(--ink); color: #fff; }
header h1 { margin: 0; font-size: 18px; letter-spacing: .5px; }
header .muted { color: #b9c0cc; }
.feed { margin-left: auto; font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #4b5563; }
.feed[data-state="live"] { background: var(--alive); }
.feed[data-state="lost"] { background: var(--dead); }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; padding: 16px 20px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
.panel.wide { grid-column: 1 / -1; }
h2 { margin: 0 0 8px; font-size: 15px; }
.muted { color: var(--muted); }
.legend { margin: 0 0 8px; color: var(--muted); font-size: 12px; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin: 0 4px 0 10px; vertical-align: -1px; }
.dot.alive { background: var(--alive); } .dot.suspect { background: var(--suspect); } .dot.dead { background: var(--dead); }
.dot.left { background: var(--left); } .dot.gateway { background: var(--gateway); border-radius: 2px; }
.graph { overflow: hidden; border-radius: 6px; background: #fbfcfd; cursor: grab; touch-action: none; }
.graph.panning { cursor: grabbing; }
.graph svg { display: block; width: 100%; height: auto; min-height: 320px; }
.graph-tools { display: flex; gap: 6px; align-items: center; margin-bottom: 6px; font-size: 12px; }
.graph-tools button { padding: 2px 10px; background: #4b5563; }
.trace-search { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 8px; }
.trace-search label { display: grid; }
svg text { font-family: inherit; fill: var(--ink); }
.cluster-box { fill: #f1f4f8; stroke: #b8c2cf; stroke-width: 1.5; }
.cluster-name { font-size: 13px; font-weight: 600; fill: #3d4756; }
.node circle { stroke: #fff; stroke-width: 3; }
.node.alive circle { fill: var(--alive); } .node.suspect circle { fill: var(--suspect); }
.node.dead circle { fill: var(--dead); } .node.left circle { fill: var(--left); }
.node.edge-node circle { stroke: var(--edge); stroke-width: 4; }
.span-details { grid-column: 1 / -1; font-size: 12px; margin: 2px 0 6px; }
.span-details code { white-space: pre-wrap; word-break: break-all; }
.span-log[data-level="warn"], .span-log[data-level="error"] { color: var(--dead); }
.node.group circle.group-ring { fill: none; stroke: #8190a5; stroke-width: 2; stroke-dasharray: 4 3; }
.node.gateway rect { fill: var(--gateway); stroke: #fff; stroke-width: 3; }
.node.gateway.dead rect { fill: var(--dead); }
.node .cross { stroke: #fff; stroke-width: 3; stroke-linecap: round; }
.node .name { font-size: 12px; font-weight: 600; }
.node .detail { font-size: 10.5px; fill: var(--muted); }
.node.dead .name { fill: var(--dead); text-decoration: line-through; }
.clients circle { fill: #fff; stroke: var(--edge); stroke-width: 2; stroke-dasharray: 4 3; }
.clients text { font-size: 11px; fill: var(--muted); }
.link { fill: none; stroke: var(--link); stroke-width: 1.5; }
.link.idle { stroke: #c9d0d9; stroke-dasharray: 4 4; }
.link.hot { stroke: var(--hot); }
.gateway-line { stroke: var(--gateway); stroke-width: 2; stroke-dasharray: 6 4; fill: none; }
.link-label { font-size: 10.5px; paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
.link-label.hot { fill: var(--hot); }
.service { border-top: 1px solid var(--line); padding: 8px 0; }
.service:first-child { border-top: 0; }
.service h3 { margin: 0 0 4px; font-size: 14px; }
.service h3 .version, .badge { font-weight: 400; font-size: 12px; color: var(--muted); }
.badge { border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; margin-left: 4px; }
details { margin: 2px 0; }
summary { cursor: pointer; }
pre { margin: 4px 0; padding: 8px; background: #f3f5f8; border-radius: 6px; overflow: auto; font-size: 12px; max-height: 260px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin-top: 4px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.state-dead { color: var(--dead); font-weight: 600; } .state-suspect { color: var(--suspect); }
form { display: grid; gap: 8px; }
label { display: grid; gap: 3px; font-size: 12px; color: var(--muted); }
select, textarea, input { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; padding: 6px; border: 1px solid var(--line); border-radius: 6px; color: var(--ink); background: #fff; }
button { justify-self: start; padding: 6px 18px; border: 0; border-radius: 6px; background: var(--edge); color: #fff; font-weight: 600; cursor: pointer; }
button:disabled { opacity: .6; cursor: progress; }
.result { white-space: pre-wrap; overflow-wrap: anywhere; max-height: none; }
pre.type { white-space: pre; }
.result[data-state="ok"] { border-left: 4px solid var(--alive); }
.result[data-state="error"] { border-left: 4px solid var(--dead); }
.trace { border-top: 1px solid #eef0f3; padding: 4px 0; }
.trace summary { font-size: 13px; }
.badge.code-ok { color: var(--alive); border-color: var(--alive); }
.badge.code-failed { color: var(--dead); border-color: var(--dead); }
.waterfall { margin: 6px 0 8px; }
.span-row { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); gap: 10px; align-items: center; font-size: 12px; padding: 2px 0; }
.span-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.span-track { position: relative; height: 16px; background: #f3f5f8; border-radius: 3px; }
.span-bar { position: absolute; top: 2px; bottom: 2px; border-radius: 3px; background: var(--edge); }
.span-bar.server { background: var(--alive); }
.span-bar.failed { background: var(--dead); }
.span-time { position: absolute; right: 4px; top: 1px; padding: 0 4px; border-radius: 3px; font-size: 11px; line-height: 14px; color: var(--ink); background: rgba(255, 255, 255, .85); }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
`;
