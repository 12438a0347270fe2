/**
 * The dashboard page: one self-contained document (no build step, no external
 * assets) that listens to `/v1/router/events` and redraws. Everything shown is
 * put in with textContent, so names from Redis cannot inject markup.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hydra-router dashboard</title>
<style>
  :root { --bg:#0f1419; --panel:#182028; --line:#26313c; --text:#d7dde3; --dim:#8593a0; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; gap:24px; align-items:baseline; padding:14px 20px; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; }
  header .meta { color:var(--dim); font-size:13px; }
  #conn { margin-left:auto; font-size:13px; }
  #conn.live { color:var(--ok); } #conn.down { color:var(--bad); }
  main { padding:16px 20px; display:grid; gap:16px; grid-template-columns:repeat(auto-fill, minmax(520px, 1fr)); }
  section.service { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
  section.service.down { border-color:var(--bad); }
  .svc-head { display:flex; align-items:baseline; gap:12px; }
  .svc-head h2 { margin:0; font-size:16px; }
  .rates { margin-left:auto; color:var(--dim); font-size:13px; }
  .rates b { color:var(--text); } .rates .err b { color:var(--bad); }
  table { width:100%; border-collapse:collapse; margin-top:8px; font-size:13px; }
  th { text-align:left; color:var(--dim); font-weight:500; border-bottom:1px solid var(--line); padding:4px 6px; }
  td { padding:4px 6px; border-bottom:1px solid var(--line); font-variant-numeric:tabular-nums; }
  tr.dead td { color:var(--dim); text-decoration:line-through; }
  tr.dead td.state { text-decoration:none; }
  .state { font-weight:600; white-space:nowrap; }
  tr.alive .state { color:var(--ok); } tr.dead .state { color:var(--bad); }
  .routes { margin-top:8px; color:var(--dim); font:12px/1.5 ui-monospace, monospace; word-break:break-all; }
  .empty { color:var(--dim); padding:20px; }
</style>
</head>
<body>
<header>
  <h1>hydra-router</h1>
  <span class="meta" id="router"></span>
  <span id="conn" class="down">connecting…</span>
</header>
<main id="services"><p class="empty">waiting for the first update…</p></main>
<script>
(function () {
  var servicesEl = document.getElementById('services');
  var routerEl = document.getElementById('router');
  var connEl = document.getElementById('conn');
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function mb(bytes) { return bytes === undefined ? '–' : (bytes / 1048576).toFixed(1) + ' MB'; }
  function dur(s) {
    if (s === undefined) return '–';
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }
  function renderService(svc) {
    var alive = svc.instances.filter(function (i) { return i.alive; }).length;
    var sec = el('section', 'service' + (alive === 0 ? ' down' : ''));
    sec.dataset.service = svc.name;
    var head = el('div', 'svc-head');
    head.appendChild(el('h2', '', svc.name));
    head.appendChild(el('span', 'count', alive + ' live / ' + svc.instances.length));
    var rates = el('span', 'rates');
    var r = el('span', 'rate'); r.append('req/s '); r.appendChild(el('b', '', svc.ratePerS.toFixed(1)));
    var e = el('span', 'err'); e.append(' · errors/s '); e.appendChild(el('b', '', svc.errorsPerS.toFixed(1)));
    var t = el('span', ''); t.append(' · total ' + svc.requests + ' / ' + svc.errors + ' err');
    rates.append(r, e, t);
    head.appendChild(rates);
    sec.appendChild(head);
    var table = el('table');
    var hr = el('tr');
    ['state', 'instance', 'host', 'ip:port', 'version', 'uptime', 'memory (rss / heap)', 'last seen'].forEach(function (h) { hr.appendChild(el('th', '', h)); });
    table.appendChild(hr);
    svc.instances.forEach(function (i) {
      var tr = el('tr', i.alive ? 'alive' : 'dead');
      tr.dataset.instance = i.id;
      tr.dataset.state = i.alive ? 'alive' : 'dead';
      tr.appendChild(el('td', 'state', i.alive ? '● healthy' : '✖ dead'));
      tr.appendChild(el('td', 'id', i.id.slice(0, 8)));
      tr.appendChild(el('td', '', i.host));
      tr.appendChild(el('td', '', i.ip + ':' + i.port));
      tr.appendChild(el('td', '', i.version));
      tr.appendChild(el('td', '', i.alive ? dur(i.uptimeS) : '–'));
      tr.appendChild(el('td', '', i.memory ? mb(i.memory.rss) + ' / ' + mb(i.memory.heapUsed) : '–'));
      tr.appendChild(el('td', '', dur(i.lastSeenS) + ' ago'));
      table.appendChild(tr);
    });
    sec.appendChild(table);
    if (svc.routes.length) sec.appendChild(el('div', 'routes', svc.routes.join('  ')));
    return sec;
  }
  function render(snap) {
    routerEl.textContent = 'instance ' + snap.router.instanceId.slice(0, 8) + ' · v' + snap.router.version +
      ' · up ' + dur(snap.router.uptimeS) + ' · ' + snap.router.wsClients + ' WebSocket clients · Redis ' + (snap.router.redis ? 'connected' : 'DISCONNECTED') +
      ' · updated ' + new Date(snap.generatedAt).toLocaleTimeString();
    var frag = document.createDocumentFragment();
    snap.services.forEach(function (s) { frag.appendChild(renderService(s)); });
    if (!snap.services.length) frag.appendChild(el('p', 'empty', 'no services registered'));
    servicesEl.replaceChildren(frag);
  }
  var source = new EventSource('/v1/router/events' + location.search);
  source.onopen = function () { connEl.textContent = 'live'; connEl.className = 'live'; };
  source.onerror = function () { connEl.textContent = 'disconnected, retrying…'; connEl.className = 'down'; };
  source.onmessage = function (ev) { render(JSON.parse(ev.data)); };
})();
</script>
</body>
</html>
`;
