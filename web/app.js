// The dashboard talks to the daemon's own status and search API; no build step, no dependencies.
const $ = (sel) => document.querySelector(sel);
const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');
const IGNORED = new Set(['name', 'state', 'batches', 'last_batch_at', 'last_error', 'in_flight', 'restarts']);
const REFRESH_MS = 2000;

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

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** Every call to the daemon goes through here: the one place that adds the token. */
async function api(path, init = {}) {
  const res = await fetch(path, {
    cache: 'no-store',
    ...init,
    headers: { ...init.headers, ...authHeaders() },
  });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) askForToken(sessionStorage.getItem(TOKEN_KEY) ? 'token refused' : 'token needed');
  if (!res.ok) throw new ApiError(body.error ?? `HTTP ${res.status}`, res.status);
  return body;
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
  search();
});

const post = (path, body) =>
  api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// ---- pages ----
function showPage() {
  const page = (location.hash || '#search').slice(1);
  for (const el of document.querySelectorAll('.page')) el.hidden = el.id !== `page-${page}`;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page);
}
window.addEventListener('hashchange', showPage);

// ---- search ----
function summaryOf(doc) {
  if (typeof doc.message === 'string') return doc.message;
  const { '@timestamp': _t, event: _e, ...rest } = doc;
  return JSON.stringify(rest);
}

function hitRows(hit) {
  const tr = document.createElement('tr');
  tr.className = 'hit';
  tr.dataset.id = hit.id;
  tr.append(text('td', hit.time), text('td', hit.dataset), text('td', summaryOf(hit.doc), 'event'));
  tr.addEventListener('click', () => {
    const open = tr.nextElementSibling?.classList.contains('doc');
    if (open) return tr.nextElementSibling.remove();
    const docRow = document.createElement('tr');
    docRow.className = 'doc';
    const td = document.createElement('td');
    td.colSpan = 3;
    td.append(text('pre', JSON.stringify(hit.doc, null, 2)));
    docRow.append(td);
    tr.after(docRow);
  });
  return tr;
}

function drawHistogram(r) {
  const max = Math.max(1, ...r.histogram.map((b) => b.count));
  $('#histogram').replaceChildren(
    ...r.histogram.map((b) => {
      const bar = document.createElement('div');
      bar.style.height = `${Math.round((b.count / max) * 100)}%`;
      bar.title = `${new Date(b.start).toISOString()}: ${b.count}`;
      return bar;
    }),
  );
}

// Searches may answer out of order (the first one on page load can be the slowest): only the
// latest one may fill the table, or a stale answer replaces what the user just asked for.
let searchSeq = 0;

async function search() {
  const seq = ++searchSeq;
  const params = new URLSearchParams({ q: $('#q').value, limit: '100' });
  const span = $('#range').value;
  if (span) params.set('from', String(Date.now() - Number(span)));
  try {
    const r = await api(`/api/search?${params}`);
    if (seq !== searchSeq) return;
    $('#search-error').textContent = '';
    $('#search-summary').textContent =
      `${fmt(r.total)} events, newest ${r.hits.length} shown (${r.backend === 'store' ? 'local store' : 'daily files'}, ${r.took_ms} ms)`;
    drawHistogram(r);
    $('#results tbody').replaceChildren(...r.hits.map(hitRows));
  } catch (e) {
    if (seq === searchSeq) $('#search-error').textContent = e.message;
  }
}

$('#search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  search();
});

function searchFor(query) {
  $('#q').value = query;
  $('#range').value = '';
  location.hash = '#search';
  search();
}

// ---- overview ----
async function control(name, action) {
  await post(`/sources/${encodeURIComponent(name)}/${action}`, {}).catch(() => undefined);
  await refresh();
}

function sourceRow(src) {
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

let lastRates;
function drawRates(r) {
  const rows = [
    ...r.sources.map((s) => ({ key: `source ${s.name}`, ...s })),
    ...r.sinks.map((s) => ({ key: `sink ${s.name}`, ...s })),
  ];
  const prev = new Map((lastRates?.rows ?? []).map((x) => [x.key, x.total]));
  const secs = lastRates ? (r.at - lastRates.at) / 1000 : 0;
  $('#rates tbody').replaceChildren(
    ...rows.map((x) => {
      const tr = document.createElement('tr');
      tr.dataset.key = x.key;
      const rate = secs > 0 ? (x.total - (prev.get(x.key) ?? 0)) / secs : undefined;
      tr.append(
        text('td', x.key),
        text('td', rate === undefined ? '–' : rate.toFixed(1), 'rate'),
        text('td', fmt(x.total)),
      );
      return tr;
    }),
  );
  lastRates = { at: r.at, rows };
}

function alertRow(hit) {
  const a = hit.doc.logferry?.alert ?? {};
  const tr = document.createElement('tr');
  tr.append(text('td', hit.time), text('td', a.severity, `sev-${a.severity}`), text('td', hit.doc.message));
  const td = document.createElement('td');
  if (a.event_id) {
    const link = text('a', 'event');
    link.href = '#search';
    link.addEventListener('click', (ev) => {
      ev.preventDefault();
      searchFor(`event.id:${a.event_id}`);
    });
    td.append(link);
  }
  tr.append(td);
  return tr;
}

// ---- dead letters ----
function deadLetterRow(d) {
  const tr = document.createElement('tr');
  tr.dataset.id = d.id;
  tr.append(
    text('td', d.time),
    text('td', d.kind),
    text('td', d.sink ? `${d.source} → ${d.sink}` : d.source),
    text('td', d.origin, 'details'),
    text('td', d.error, 'error'),
  );
  const td = document.createElement('td');
  const b = text('button', 'replay');
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const r = await post('/api/dead-letters/replay', { id: d.id });
      $('#replay-result').textContent = r.report.join('; ');
    } catch (e) {
      $('#replay-result').textContent = `replay failed: ${e.message}`;
    }
    await refresh();
  });
  td.append(b);
  tr.append(td);
  return tr;
}

async function refresh() {
  if (readsNeedToken) return;
  try {
    const s = await api('/status');
    $('#conn').textContent = 'live';
    $('#conn').className = 'badge ok';
    $('#uptime').textContent = `up ${s.uptime_s}s`;
    $('#t-events').textContent = fmt(s.totals.events);
    $('#t-delivered').textContent = fmt(s.totals.delivered);
    $('#t-retries').textContent = fmt(s.totals.retries);
    $('#t-dead').textContent = fmt(s.totals.dead_letters);
    $('#t-alerts').textContent = fmt(s.totals.alerts);
    $('#sources tbody').replaceChildren(...s.sources.map(sourceRow));
    $('#config').textContent = JSON.stringify(s.config, null, 2);
  } catch (e) {
    readsNeedToken = e instanceof ApiError && e.status === 401;
    $('#conn').textContent = readsNeedToken ? 'token needed' : 'daemon unreachable';
    $('#conn').className = 'badge bad';
    return;
  }
  const [rates, alerts, dead] = await Promise.allSettled([
    api('/api/rates'),
    api('/api/alerts'),
    api('/api/dead-letters'),
  ]);
  if (rates.status === 'fulfilled') drawRates(rates.value);
  if (alerts.status === 'fulfilled') $('#alerts tbody').replaceChildren(...alerts.value.alerts.map(alertRow));
  if (dead.status === 'fulfilled') {
    $('#dead-letters tbody').replaceChildren(...dead.value.dead_letters.map(deadLetterRow));
    $('#dl-count').textContent = `(${dead.value.dead_letters.length})`;
  }
}

showPage();
search();
refresh();
setInterval(refresh, REFRESH_MS);
