/**
 * The dashboard page: one self-contained document (no build step, no external
 * assets) that listens to `/v1/router/events` and redraws: the hosts (each
 * machine with the instances on it) above the services, then the last traces. Everything shown is put
 * in with textContent or dataset, so names from Redis cannot inject markup.
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
  .part { display:flex; gap:12px; align-items:baseline; margin:0; padding:16px 20px 0; font-size:15px; font-weight:600; color:var(--dim); text-transform:uppercase; letter-spacing:.06em; }
  .part .meta { text-transform:none; letter-spacing:0; font-weight:400; font-size:13px; }
  #hosts { padding:12px 20px 4px; display:grid; gap:12px; grid-template-columns:repeat(auto-fill, minmax(250px, 1fr)); align-items:start; }
  section.host { background:var(--panel); border:1px solid var(--line); border-top:3px solid var(--ok); border-radius:8px; padding:10px 12px; }
  section.host.down { border-top-color:var(--bad); }
  .host-head { display:flex; align-items:baseline; gap:8px; }
  .host-head h3 { margin:0; font:600 15px/1.3 ui-monospace, monospace; }
  .host-head .hostname { color:var(--dim); font-size:12px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; min-width:0; flex:0 1 auto; }
  .host-head .count { margin-left:auto; font-size:12px; color:var(--ok); white-space:nowrap; }
  section.host.down .count { color:var(--bad); font-weight:600; }
  ul.chips { list-style:none; margin:8px 0 0; padding:0; display:grid; gap:6px; }
  li.chip { display:grid; grid-template-columns:auto 1fr auto; column-gap:8px; align-items:baseline; padding:6px 8px; border-radius:6px;
    background:#1f2a35; border-left:4px solid hsl(var(--hue), 65%, 58%); font-size:13px; }
  li.chip .svc { font-weight:600; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  li.chip .ver { font:12px ui-monospace, monospace; color:var(--text); background:#2b3947; border-radius:4px; padding:0 5px; white-space:nowrap; }
  li.chip .sub { grid-column:2 / 4; color:var(--dim); font-size:12px; font-variant-numeric:tabular-nums; }
  li.chip.alive .dot { color:var(--ok); }
  li.chip.dead { background:transparent; border:1px dashed #4a2a2d; border-left:4px solid #5a3034; opacity:.75; }
  li.chip.dead .dot, li.chip.dead .sub b { color:var(--bad); }
  li.chip.dead .svc, li.chip.dead .ver { color:var(--dim); }
  #traces { padding:12px 20px 20px; }
  #traces table { background:var(--panel); border:1px solid var(--line); border-radius:8px; }
  #traces td.route { font:12px ui-monospace, monospace; }
  #traces td.tid { font:12px ui-monospace, monospace; color:var(--dim); }
  #traces tr.failed td.route { color:var(--bad); }
  #traces .per { display:inline-block; margin-right:10px; white-space:nowrap; }
</style>
</head>
<body>
<header>
  <h1>hydra-router</h1>
  <span class="meta" id="router"></span>
  <span id="conn" class="down">connecting…</span>
</header>
<h2 class="part">Hosts <span class="meta" id="hosts-summary"></span></h2>
<div id="hosts"></div>
<h2 class="part">Services</h2>
<main id="services"><p class="empty">waiting for the first update…</p></main>
<h2 class="part">Recent traces <span class="meta">spans exported to the routers' OTLP endpoint (/v1/router/otlp); GET /v1/router/traces/&lt;id&gt; lists a trace's spans</span></h2>
<div id="traces"></div>
<script>
(function () {
  var servicesEl = document.getElementById('services');
  var hostsEl = document.getElementById('hosts');
  var hostsSummaryEl = document.getElementById('hosts-summary');
  var routerEl = document.getElementById('router');
  var tracesEl = document.getElementById('traces');
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
  // A colour per service (the same on every host), from its name.
  function hue(name) {
    var h = 0;
    for (var n = 0; n < name.length; n++) h = (h * 31 + name.charCodeAt(n)) % 360;
    return h;
  }
  function renderHost(host) {
    var sec = el('section', 'host' + (host.live === 0 ? ' down' : ''));
    sec.dataset.host = host.ip;
    sec.dataset.hostname = host.hostName;
    sec.dataset.state = host.live === 0 ? 'down' : 'up';
    var head = el('div', 'host-head');
    head.appendChild(el('h3', '', host.ip || host.hostName));
    if (host.ip) head.appendChild(el('span', 'hostname', host.hostName));
    head.appendChild(el('span', 'count', host.live === 0 ? '✖ down' : host.live + ' live'));
    sec.appendChild(head);
    var list = el('ul', 'chips');
    host.instances.forEach(function (i) {
      var chip = el('li', 'chip ' + (i.alive ? 'alive' : 'dead'));
      chip.dataset.instance = i.id;
      chip.dataset.service = i.service;
      chip.dataset.version = i.version;
      chip.dataset.state = i.alive ? 'alive' : 'dead';
      chip.style.setProperty('--hue', String(hue(i.service)));
      chip.title = i.service + ' ' + i.id;
      chip.appendChild(el('span', 'dot', i.alive ? '●' : '✖'));
      chip.appendChild(el('span', 'svc', i.service));
      chip.appendChild(el('span', 'ver', i.version));
      var sub = el('span', 'sub');
      if (i.alive) sub.append(':' + i.port + ' · ' + i.id.slice(0, 8));
      else { sub.appendChild(el('b', '', 'dead')); sub.append(' · seen ' + dur(i.lastSeenS) + ' ago'); }
      chip.appendChild(sub);
      list.appendChild(chip);
    });
    sec.appendChild(list);
    return sec;
  }
  function renderHosts(hosts) {
    var up = hosts.filter(function (h) { return h.live > 0; }).length;
    var live = hosts.reduce(function (n, h) { return n + h.live; }, 0);
    hostsSummaryEl.textContent = up + ' of ' + hosts.length + ' hosts up · ' + live + ' instances live';
    var frag = document.createDocumentFragment();
    hosts.forEach(function (h) { frag.appendChild(renderHost(h)); });
    if (!hosts.length) frag.appendChild(el('p', 'empty', 'no instances registered'));
    hostsEl.replaceChildren(frag);
  }
  function renderTraces(traces) {
    if (!traces.length) {
      tracesEl.replaceChildren(el('p', 'empty', 'no traces yet: processes send spans here when OTEL_EXPORTER_OTLP_ENDPOINT names this router (npm start does), with OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json'));
      return;
    }
    var table = el('table');
    var hr = el('tr');
    ['started', 'route', 'duration', 'spans', 'spans per service', 'trace id'].forEach(function (h) { hr.appendChild(el('th', '', h)); });
    table.appendChild(hr);
    traces.forEach(function (t) {
      var tr = el('tr', t.errors ? 'failed' : '');
      tr.dataset.trace = t.traceId;
      tr.appendChild(el('td', '', new Date(t.startedAt).toLocaleTimeString()));
      tr.appendChild(el('td', 'route', t.route + ' [' + t.rootService + ']'));
      tr.appendChild(el('td', '', t.durationMs.toFixed(1) + ' ms'));
      tr.appendChild(el('td', '', t.spans + (t.errors ? ' (' + t.errors + ' failed)' : '')));
      var per = el('td');
      t.services.forEach(function (s) { per.appendChild(el('span', 'per', s.service + ' ' + s.spans + (s.instances > 1 ? ' on ' + s.instances + ' instances' : ''))); });
      tr.appendChild(per);
      tr.appendChild(el('td', 'tid', t.traceId));
      table.appendChild(tr);
    });
    tracesEl.replaceChildren(table);
  }
  function render(snap) {
    routerEl.textContent = 'instance ' + snap.router.instanceId.slice(0, 8) + ' · v' + snap.router.version +
      ' · up ' + dur(snap.router.uptimeS) + ' · ' + snap.router.wsClients + ' WebSocket clients · Redis ' + (snap.router.redis ? 'connected' : 'DISCONNECTED') +
      ' · updated ' + new Date(snap.generatedAt).toLocaleTimeString();
    var frag = document.createDocumentFragment();
    snap.services.forEach(function (s) { frag.appendChild(renderService(s)); });
    if (!snap.services.length) frag.appendChild(el('p', 'empty', 'no services registered'));
    servicesEl.replaceChildren(frag);
    renderHosts(snap.hosts);
    renderTraces(snap.traces);
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
