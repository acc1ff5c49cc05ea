// The dashboard polls the daemon's own status API; it has no build step and no dependencies.
const $ = (sel) => document.querySelector(sel);
const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');
const IGNORED = new Set(['name', 'state', 'batches', 'last_batch_at', 'last_error', 'in_flight', 'restarts']);

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value ?? '';
  if (cls) el.className = cls;
  return el;
}

// The control token (docs/security.md) lives in sessionStorage: gone when the tab closes, sent
// only as an Authorization header (never in a URL, where logs and history would keep it).
const TOKEN_KEY = 'logferry-token';

// Set when /status itself answers 401 (the API listens beyond loopback): polling waits for a
// token instead of knocking every two seconds.
let readsNeedToken = false;

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function api(path, init = {}) {
  const res = await fetch(path, {
    cache: 'no-store',
    ...init,
    headers: { ...init.headers, ...authHeaders() },
  });
  if (res.status === 401) askForToken(sessionStorage.getItem(TOKEN_KEY) ? 'token refused' : 'token needed');
  return res;
}

function askForToken(why) {
  $('#auth-why').textContent = why;
  $('#auth').hidden = false;
}

$('#auth').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim());
  $('#token').value = '';
  $('#auth').hidden = true;
  readsNeedToken = false;
  refresh();
});

async function control(name, action) {
  await api(`/sources/${encodeURIComponent(name)}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  await refresh();
}

function row(src) {
  const tr = document.createElement('tr');
  tr.dataset.source = src.name;
  tr.append(
    text('td', src.name),
    text('td', src.state, `state state-${src.state}`),
    text('td', fmt(src.batches)),
  );
  tr.append(text('td', src.last_batch_at ? new Date(src.last_batch_at).toLocaleTimeString() : '–'));
  const details = Object.fromEntries(Object.entries(src).filter(([k]) => !IGNORED.has(k)));
  tr.append(text('td', JSON.stringify(details, null, 1).replace(/[{}"]/g, '').trim(), 'details'));
  tr.append(text('td', src.last_error ?? '', 'error'));
  const td = document.createElement('td');
  if (src.state === 'running' || src.state === 'paused') {
    const action = src.state === 'paused' ? 'resume' : 'pause';
    const b = text('button', action);
    b.addEventListener('click', () => control(src.name, action));
    td.append(b);
  }
  tr.append(td);
  return tr;
}

async function refresh() {
  if (readsNeedToken) return;
  try {
    const res = await api('/status');
    if (res.status === 401) {
      readsNeedToken = true;
      $('#conn').textContent = 'token needed';
      $('#conn').className = 'badge bad';
      return;
    }
    const s = await res.json();
    $('#conn').textContent = 'live';
    $('#conn').className = 'badge ok';
    $('#uptime').textContent = `up ${s.uptime_s}s`;
    $('#t-events').textContent = fmt(s.totals.events);
    $('#t-delivered').textContent = fmt(s.totals.delivered);
    $('#t-retries').textContent = fmt(s.totals.retries);
    $('#t-dead').textContent = fmt(s.totals.dead_letters);
    $('#t-alerts').textContent = fmt(s.totals.alerts);
    $('#sources tbody').replaceChildren(...s.sources.map(row));
    $('#config').textContent = JSON.stringify(s.config, null, 2);
  } catch {
    $('#conn').textContent = 'daemon unreachable';
    $('#conn').className = 'badge bad';
  }
}

refresh();
setInterval(refresh, 2000);
