// The charger's local page: plain JavaScript, no library, no build step.
// Everything it loads comes from this origin (the server's CSP says so).
'use strict';
const $ = (id) => document.getElementById(id);
let last = null;        // the latest /api/v1/status document
let session = { needs_credentials: false, logged_in: false };

// ---- views ----
function show(view) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + view;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('on', a.dataset.view === view);
  if (view === 'settings') loadSettings();
  if (view === 'meters') loadMeters();
  if (view === 'log') loadLog();
}
function route() { show((location.hash || '#status').slice(1).replace(/[^a-z]/g, '') || 'status'); }
window.addEventListener('hashchange', route);

// ---- helpers ----
function text(id, s) { const e = $(id); if (e.textContent !== String(s)) e.textContent = s; }
function fmt(n, d) { return (typeof n === 'number') ? n.toFixed(d) : '–'; }
function dur(s) { const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60; return (h ? h + ' h ' : '') + m + ' min ' + (h ? '' : x + ' s'); }
function words(st) { return st.replace(/_/g, ' '); }

async function post(path, obj) {
  let r;
  try {
    r = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(obj), credentials: 'same-origin' });
  } catch (e) { return { status: 0, body: { error: 'no connection to the charger' } }; }
  let body = {};
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  if (r.status === 401) { session.logged_in = false; showSession(); openLogin('Log in first: writes from this address need credentials.'); }
  return { status: r.status, body };
}
function firstError(body) {
  for (const k in body) if (!/^Set=>|^no action$|^Performing$|^not applied: request rejected$/.test(body[k])) return k + ': ' + body[k];
  return '';
}

// ---- live status ----
function render(d) {
  last = d;
  const fault = d.fault !== '';
  $('view-status').querySelector('.state').classList.toggle('fault', fault);
  text('state', fault ? 'fault: ' + words(d.fault) : words(d.state));
  let reason = d.reason || '';
  if (d.limiter_paused && !reason) reason = 'paused by the power limiter';
  text('reason', reason);
  text('offered', fmt(d.current_limit_a, 1));
  text('drawn', fmt(d.actual_current_a, 1));
  text('power', fmt(d.actual_power_w, 0));
  text('energy', fmt(d.session_energy_wh / 1000, 2));
  text('duration', dur(d.session_duration_s || 0));
  text('limit', fmt(d.current_limit_a, 1));
  text('limit-source', d.limit_source);
  text('lease', d.lease_expires ? 'supervisor lease expires ' + new Date(d.lease_expires).toLocaleTimeString() : '');
  const m = d.meters || {};
  text('meters-health', [1, 2].map((n) => 'meter ' + n + (m['meter' + n + '_errors'] ? ' ' + m['meter' + n + '_errors'] + ' errors' : ' ok')).join(', '));
  text('mqtt', d.mqtt ? (d.mqtt.connected ? 'connected' : 'down' + (d.mqtt.error ? ': ' + d.mqtt.error : '')) : 'not configured');
  text('start', d.charger_started ? 'Stop' : 'Start');
  text('boost', d.charge_boosted ? 'Boost off' : 'Boost');
}

function connect() {
  const es = new EventSource('/api/v1/events');
  es.addEventListener('status', (ev) => {
    const d = JSON.parse(ev.data);
    const changed = !last || last.state !== d.state || last.fault !== d.fault || last.limit_source !== d.limit_source;
    render(d);
    drawLive(false);
    window.evseLastEvent = performance.now();
    if (!window.evseFirstEvent) window.evseFirstEvent = window.evseLastEvent; // for the benchmark
    if (changed && !$('view-log').hidden) loadLog();
  });
  es.onopen = () => { $('link').textContent = 'live'; $('link').classList.remove('off'); };
  es.onerror = () => { $('link').textContent = 'offline'; $('link').classList.add('off'); };
}

// ---- controls ----
$('start').onclick = async () => {
  const r = await post('/webapi/v1/EvseCtrl', { ChargeStartToggle: true });
  text('write-msg', r.status === 200 ? firstError(r.body) : (r.body.error || firstError(r.body)));
};
$('boost').onclick = async () => {
  const r = await post('/webapi/v1/EvseCtrl', { ChargeBoostToggle: true });
  text('write-msg', r.status === 200 ? firstError(r.body) : (r.body.error || firstError(r.body)));
};
$('current-set').onclick = async () => {
  text('current-err', '');
  const v = Number($('current').value);
  const r = await post('/webapi/v1/SystemConfig', { ChargeCurrent: v });
  if (r.status === 200) { text('write-msg', ''); return; }
  text('current-err', r.body.ChargeCurrent || r.body.error || ('refused (' + r.status + ')'));
};

// ---- settings: the vendor's SystemConfig fields ----
let config = null;
async function loadSettings() {
  const r = await fetch('/webapi/v1/SystemConfig');
  config = await r.json();
  const box = $('settings-fields');
  box.textContent = '';
  for (const k of Object.keys(config)) {
    if (k === 'TimeStamp' || k === 'SystemVersion') continue;
    const v = config[k];
    const row = document.createElement('div'); row.className = 'field';
    const lab = document.createElement('label'); lab.htmlFor = 'f-' + k; lab.textContent = k;
    const inp = document.createElement('input'); inp.id = 'f-' + k; inp.name = k;
    if (typeof v === 'boolean') { inp.type = 'checkbox'; inp.checked = v; }
    else if (typeof v === 'number') { inp.type = 'number'; inp.step = 'any'; inp.value = v; }
    else { inp.type = 'text'; inp.value = v; }
    const err = document.createElement('span'); err.className = 'err'; err.id = 'err-' + k; err.setAttribute('role', 'alert');
    row.append(lab, inp, err); box.append(row);
    if (k === 'ChargeCurrent' && $('current').value === '') $('current').value = v;
  }
}
$('settings-form').onsubmit = async (ev) => {
  ev.preventDefault();
  const req = {};
  for (const k of Object.keys(config)) {
    const inp = $('f-' + k); if (!inp) continue;
    $('err-' + k).textContent = '';
    const v = inp.type === 'checkbox' ? inp.checked : inp.type === 'number' ? Number(inp.value) : inp.value;
    if (v !== config[k]) req[k] = v;
  }
  if (!Object.keys(req).length) { text('settings-msg', 'nothing changed'); return; }
  const r = await post('/webapi/v1/SystemConfig', req);
  if (r.status === 200) { text('settings-msg', 'saved'); loadSettings(); return; }
  let shown = false;
  for (const k in r.body) {
    const e = $('err-' + k);
    if (e && r.body[k] !== 'not applied: request rejected') { e.textContent = r.body[k]; shown = true; }
  }
  text('settings-msg', 'nothing applied' + (shown ? '' : ': ' + (r.body.error || firstError(r.body) || r.status)));
};

// ---- meters ----
async function loadMeters() {
  const box = $('meters'); box.textContent = '';
  for (const n of [1, 2]) {
    const card = document.createElement('div'); card.className = 'card';
    const h = document.createElement('h3'); h.textContent = 'Meter ' + n; card.append(h);
    let doc;
    try { doc = (await (await fetch('/webapi/v1/Meter' + n)).json())['Meter' + n]; } catch (e) { doc = null; }
    const regs = doc ? doc.ModbusData : {};
    if (!Object.keys(regs).length) { const p = document.createElement('p'); p.className = 'hint'; p.textContent = 'not configured'; card.append(p); box.append(card); continue; }
    const t = document.createElement('table');
    t.innerHTML = '<thead><tr><th>Register</th><th>Description</th><th>Value</th><th>Errors</th><th>Status</th></tr></thead>';
    const tb = document.createElement('tbody');
    for (const k of Object.keys(regs)) {
      const g = regs[k], tr = document.createElement('tr');
      for (const [c, cls] of [[k, ''], [g.Desc, ''], [g.Value, 'n'], [g.ErrCounter, 'n'], [g.DataStatus, '']]) {
        const td = document.createElement('td'); td.textContent = c; if (cls) td.className = cls; tr.append(td);
      }
      tb.append(tr);
    }
    t.append(tb); card.append(t); box.append(card);
  }
}

// ---- log ----
async function loadLog() {
  const r = await fetch('/api/v1/log');
  const evs = (await r.json()).events || [];
  const ol = $('log'); ol.textContent = '';
  for (const e of evs.slice().reverse()) {
    const li = document.createElement('li'); li.className = e.kind;
    const t = document.createElement('time'); t.textContent = new Date(e.at).toLocaleTimeString();
    li.append(t, document.createTextNode(e.text)); ol.append(li);
  }
}

// ---- chart of the last hour ----
// The server keeps a sample every 10 s; the live point is drawn on top,
// at most once a second.
let hist = [], drawnAt = 0;
async function loadChart() {
  try { hist = (await (await fetch('/api/v1/history')).json()).samples || []; } catch (e) { return; }
  drawLive(true);
}
function drawLive(force) {
  if (!force && Date.now() - drawnAt < 1000) return;
  drawnAt = Date.now();
  const s = last ? hist.concat([{ at: last.at, power_w: last.actual_power_w, offered_a: last.current_limit_a, available_w: last.power_available_w }]) : hist;
  draw($('chart'), s);
}
function draw(c, s) {
  const g = c.getContext('2d'), W = c.width, H = c.height, L = 50, R = 40, T = 10, B = 22;
  g.clearRect(0, 0, W, H);
  const css = getComputedStyle(document.body);
  g.font = '12px system-ui'; g.fillStyle = css.color; g.strokeStyle = '#8886';
  const now = Date.now(), t0 = now - 3600e3;
  const maxW = Math.max(1000, ...s.map((x) => Math.max(x.power_w, x.available_w)));
  const maxA = Math.max(16, ...s.map((x) => x.offered_a));
  const X = (t) => L + (W - L - R) * (t - t0) / 3600e3;
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * i / 4;
    g.beginPath(); g.moveTo(L, y); g.lineTo(W - R, y); g.stroke();
    g.fillText(Math.round(maxW * (1 - i / 4)), 2, y + 4);
    g.fillText(Math.round(maxA * (1 - i / 4)), W - R + 4, y + 4);
  }
  for (let m = 0; m <= 60; m += 15) g.fillText('-' + (60 - m) + ' min', X(t0 + m * 60e3) - 18, H - 6);
  const line = (color, f, max) => {
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    s.forEach((x, i) => { const px = X(Date.parse(x.at)), py = T + (H - T - B) * (1 - f(x) / max); i ? g.lineTo(px, py) : g.moveTo(px, py); });
    g.stroke(); g.lineWidth = 1;
  };
  line('#1e7d32', (x) => x.available_w, maxW);
  line('#0a66c2', (x) => x.power_w, maxW);
  line('#d2691e', (x) => x.offered_a, maxA);
}

// ---- login: the credentials go once to the server, which answers with
// an HttpOnly session cookie; the page keeps neither token nor password.
function showSession() {
  $('login-open').hidden = !session.needs_credentials || session.logged_in;
  $('logout').hidden = !session.logged_in;
}
function openLogin(msg) { $('login').hidden = false; text('login-msg', msg || ''); }
$('login-open').onclick = () => openLogin('');
$('login-form').onsubmit = async (ev) => {
  ev.preventDefault();
  const tok = $('login-token').value, user = $('login-user').value, pass = $('login-pass').value;
  const auth = tok ? 'Bearer ' + tok : 'Basic ' + btoa(unescape(encodeURIComponent(user + ':' + pass)));
  $('login-token').value = ''; $('login-pass').value = '';
  let r;
  try { r = await fetch('/api/v1/login', { method: 'POST', headers: { Authorization: auth }, credentials: 'same-origin' }); } catch (e) { text('login-msg', 'no connection'); return; }
  const body = await r.json().catch(() => ({}));
  if (r.ok) { session.logged_in = true; $('login').hidden = true; text('write-msg', ''); showSession(); return; }
  text('login-msg', body.error || ('refused (' + r.status + ')'));
};
$('logout').onclick = async () => {
  await fetch('/api/v1/logout', { method: 'POST', credentials: 'same-origin' });
  session.logged_in = false; showSession();
};

async function init() {
  route();
  connect();
  try { session = await (await fetch('/api/v1/session')).json(); } catch (e) { /* offline: retried by the stream */ }
  showSession();
  loadChart();
  setInterval(loadChart, 10000);
  if ($('current').value === '') {
    try { const c = await (await fetch('/webapi/v1/SystemConfig')).json(); $('current').value = c.ChargeCurrent; } catch (e) { /* later */ }
  }
}
init();
