/**
 * The dashboard's page. It is kept as text in a module, like its script and
 * style, so that the package serves it as built, with nothing to bundle.
 */
export const PAGE_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Amoeba dashboard</title>
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>Amoeba</h1>
  <span id="summary" class="muted">connecting…</span>
  <span id="feed" class="feed" data-state="connecting">connecting</span>
</header>
<main>
  <section class="panel wide" aria-labelledby="topology-title">
    <h2 id="topology-title">Topology</h2>
    <p class="legend">
      <span class="dot alive"></span>alive <span class="dot suspect"></span>suspect <span class="dot dead"></span>dead
      <span class="dot left"></span>left <span class="dot gateway"></span>gateway
      · on each link: calls/s · p99 (served) or EWMA latency · errors
    </p>
    <div class="graph-tools"><button type="button" id="zoom-in" title="zoom in">+</button><button type="button" id="zoom-out" title="zoom out">−</button><button type="button" id="zoom-reset" title="fit">fit</button> <span class="muted">drag to pan, wheel to zoom</span></div>
    <div id="graph" class="graph"></div>
  </section>
  <section class="panel" aria-labelledby="catalog-title">
    <h2 id="catalog-title">Services</h2>
    <div id="catalog"><p class="muted">no services yet</p></div>
  </section>
  <section class="panel" aria-labelledby="call-title">
    <h2 id="call-title">Call a method</h2>
    <form id="call-form">
      <label>Method <select id="call-method" name="method"></select></label>
      <div class="muted">Input type</div>
      <pre id="call-type" class="type"></pre>
      <label>Input (JSON) <textarea id="call-input" name="input" rows="6" spellcheck="false">{}</textarea></label>
      <label>Timeout (ms) <input id="call-timeout" name="timeout" type="number" min="1" max="60000" value="5000"></label>
      <button id="call-submit" type="submit">Call</button>
    </form>
    <pre id="call-result" class="result" data-state="idle">The result shows here.</pre>
  </section>
  <section class="panel wide" aria-labelledby="recent-title">
    <h2 id="recent-title">Recent calls</h2>
    <form id="trace-search" class="trace-search">
      <label>Service or method <input id="trace-service" type="search" placeholder="orders.place"></label>
      <label>Status <select id="trace-status"><option value="">any</option><option value="OK">OK</option><option value="failed">failed</option></select></label>
      <label>At least (ms) <input id="trace-min" type="number" min="0" step="any" placeholder="0"></label>
    </form>
    <div id="recent"><p class="muted">waiting for the first snapshot…</p></div>
  </section>
</main>
</body>
</html>
`;
