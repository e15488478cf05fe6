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
    <div id="recent"><p class="muted">waiting for the first snapshot…</p></div>
  </section>
</main>
</body>
</html>
`;
