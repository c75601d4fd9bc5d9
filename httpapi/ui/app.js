// podrun's dashboard: plain JavaScript, no build step. It reads the same API as the CLI with
// the bearer token kept in sessionStorage, and follows GET /v1/events as a Server-Sent Events
// stream read with fetch (EventSource cannot send the Authorization header), resuming after the
// last event id whenever the stream ends. Agent data is only ever set as text, never as HTML.
'use strict';

const tokenKey = 'podrun.token';
const maxEvents = 200;
const maxFinished = 50;

const st = {
  token: sessionStorage.getItem(tokenKey) || '',
  agents: new Map(),   // id -> agent
  alerts: new Map(),   // agent id -> its open alert event
  lastEventID: 0,
  stream: null,        // AbortController of the open stream
  refreshTimer: 0,
  started: false,      // the stream and the periodic refresh run
};

class Unauthorized extends Error {}

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}

function status(text, cls) {
  const s = $('#status');
  s.textContent = text;
  s.className = 'status ' + (cls || '');
}

async function api(path, opts) {
  opts = opts || {};
  const headers = Object.assign({}, opts.headers);
  if (st.token) headers.Authorization = 'Bearer ' + st.token;
  const resp = await fetch(path, Object.assign({}, opts, { headers }));
  if (resp.status === 401) throw new Unauthorized('a token is needed');
  if (!resp.ok) {
    let msg = resp.statusText;
    try { msg = (await resp.json()).error.message; } catch (_) { /* not JSON */ }
    throw new Error(path + ': ' + msg);
  }
  return resp;
}

const getJSON = async (path) => (await api(path)).json();

function bytes(n) {
  if (n == null) return '–';
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + units[i];
}

const secs = (s) => (s == null ? '–' : s < 1 ? (s * 1000).toFixed(0) + ' ms' : s.toFixed(2) + ' s');
const time = (t) => (t ? new Date(t).toLocaleTimeString() : '–');

// ---- agents ----

function agentRow(a) {
  const alert = st.alerts.get(a.id);
  const usage = a.usage
    ? bytes(a.usage.memory_peak ?? a.usage.memory_peak_bytes) + ' peak, ' + secs(a.usage.cpu_seconds) + ' CPU'
    : '–';
  const tr = el('tr', { 'data-agent': a.id, 'data-state': a.state, class: alert ? 'alert' : '' },
    el('td', { class: 'id' }, a.id),
    el('td', {}, a.function || '–'),
    el('td', { class: 'state state-' + a.state }, a.state + (a.reason ? ' / ' + a.reason : '')),
    el('td', { class: 'cmd', title: (a.command || []).join(' ') }, (a.command || []).join(' ') || a.image),
    el('td', {}, a.limits ? bytes(a.limits.memory) + ', ' + a.limits.cpus + ' CPU, ' + a.limits.pids + ' pids' : '–'),
    el('td', {}, usage),
    el('td', { class: 'alertcell' }, alert ? alert.name + (alert.detail ? ': ' + alert.detail : '') : ''),
    el('td', {}, time(a.created_at)));
  return tr;
}

function renderAgents() {
  const live = [], done = [];
  for (const a of st.agents.values()) (isLive(a.state) ? live : done).push(a);
  const byNewest = (x, y) => (x.id < y.id ? 1 : -1);
  live.sort(byNewest);
  done.sort(byNewest);
  for (const a of done.slice(maxFinished)) st.agents.delete(a.id);
  const body = $('#agents tbody');
  body.replaceChildren(...live.concat(done.slice(0, maxFinished)).map(agentRow));
  $('#agents-empty').hidden = st.agents.size > 0;
}

const isLive = (s) => s === 'pending' || s === 'running' || s === 'terminating';

async function loadAgent(id) {
  try {
    st.agents.set(id, await getJSON('/v1/agents/' + encodeURIComponent(id)));
    renderAgents();
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    // Pruned meanwhile: nothing to show.
  }
}

// ---- functions, usage, node ----

async function refresh() {
  const [fns, usage, node] = await Promise.all([
    getJSON('/v1/functions'), getJSON('/v1/usage?since=24h&group_by=function'), getJSON('/v1/node')]);
  const groups = new Map(usage.groups.map((g) => [g.key, g]));
  const pools = new Map(node.in_use.pools.map((p) => [p.function, p]));
  $('#functions tbody').replaceChildren(...fns.functions.map((f) => {
    const g = groups.get(f.name);
    const p = pools.get(f.name) || { ready: 0, target: f.warm };
    const failed = g ? g.invocations.total - (g.invocations.outcomes.succeeded || 0) - liveCount(g) : 0;
    const fill = el('span', { class: 'bar' }, el('span', { style: 'width:' + (p.target ? (100 * p.ready / p.target) : 0) + '%' }));
    return el('tr', { 'data-function': f.name },
      el('td', {}, f.name), el('td', { class: 'cmd' }, f.image),
      el('td', {}, g ? g.invocations.total : 0), el('td', {}, failed),
      el('td', {}, fill, p.ready + ' / ' + p.target));
  }));
  $('#usage tbody').replaceChildren(...usage.groups.map((g) => el('tr', { 'data-group': g.key },
    el('td', {}, g.key || '(agents)'), el('td', {}, g.agents),
    el('td', {}, g.states.succeeded || 0), el('td', {}, g.states.failed || 0),
    el('td', {}, g.invocations.cold + ' / ' + g.invocations.warm),
    el('td', {}, secs(g.duration.p50_seconds)), el('td', {}, secs(g.duration.p99_seconds)),
    el('td', {}, g.cpu_seconds == null ? '–' : g.cpu_seconds.toFixed(2)), el('td', {}, bytes(g.memory_peak)))));
  const h = node.host, u = node.in_use;
  $('#node').textContent = 'node ' + node.instance + ' · Podman ' + h.podman_version + ' (' + h.oci_runtime + ', cgroup ' +
    h.cgroup_version + (h.limits_enforced ? '' : ', limits NOT enforced') + ') · ' + u.live_agents + ' live agents · ' +
    bytes(u.reserved.memory) + ' of ' + bytes(node.capacity.memory) + ' reserved · ' + u.warm_containers + ' warm';
}

const liveCount = (g) => (g.states.pending || 0) + (g.states.running || 0) + (g.states.terminating || 0);

function scheduleRefresh() {
  if (st.refreshTimer) return;
  st.refreshTimer = setTimeout(() => {
    st.refreshTimer = 0;
    refresh().catch(showError);
  }, 1000);
}

// ---- events ----

function addEvent(e) {
  st.lastEventID = e.id;
  const list = $('#events');
  const li = el('li', { class: e.type === 'alert' ? 'alert' : '', 'data-event': e.id },
    time(e.time) + '  ' + e.agent_id + '  ' + e.type + ' ' + e.name + (e.detail ? '  (' + e.detail + ')' : ''));
  list.prepend(li);
  while (list.children.length > maxEvents) list.lastChild.remove();

  if (e.type === 'alert') st.alerts.set(e.agent_id, e);
  if (e.type === 'resolved') st.alerts.delete(e.agent_id);
  const a = st.agents.get(e.agent_id);
  if (e.type === 'state') {
    if (a) { a.state = e.name; renderAgents(); }
    loadAgent(e.agent_id).catch(showError); // new agent, or its reason and times changed
    scheduleRefresh();
  } else if (a && (e.type === 'alert' || e.type === 'resolved')) {
    renderAgents();
  }
}

// follow reads the event stream after st.lastEventID until it ends, then resumes.
async function follow() {
  const ctl = new AbortController();
  st.stream = ctl;
  try {
    const resp = await api('/v1/events', {
      headers: { Accept: 'text/event-stream', 'Last-Event-ID': String(st.lastEventID) }, signal: ctl.signal,
    });
    status('live', 'live');
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value.replace(/\r\n/g, '\n');
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        handleMessage(buf.slice(0, cut));
        buf = buf.slice(cut + 2);
      }
    }
    status('reconnecting…', 'down');
  } catch (err) {
    if (err instanceof Unauthorized) { askToken(); return; }
    if (ctl.signal.aborted) return;
    status('stream broke (' + err.message + '); reconnecting…', 'down');
  }
  setTimeout(follow, 1000);
}

function handleMessage(block) {
  let name = 'message', data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    if (field === 'data') data += value;
  }
  if (!data) return;
  const msg = JSON.parse(data);
  if (name === 'end') {
    status('server ended the stream (' + msg.reason + '); resuming…', 'down');
    return;
  }
  addEvent(msg);
}

// ---- start ----

function showError(err) {
  if (err instanceof Unauthorized) { askToken(); return; }
  status(err.message, 'down');
}

function askToken(message) {
  if (st.stream) st.stream.abort();
  $('#main').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = st.token ? 'That token was refused.' : (message || '');
  status('needs a token', 'down');
  $('#token').focus();
}

async function start() {
  try {
    const [live, tail] = await Promise.all([
      getJSON('/v1/agents?state=pending&state=running&state=terminating&limit=1000'),
      getJSON('/v1/events?tail=50'),
    ]);
    st.agents.clear();
    for (const a of live.agents) st.agents.set(a.id, a);
    $('#login').hidden = true;
    $('#main').hidden = false;
    renderAgents();
    for (const e of tail.events) addEvent(e);
    await refresh();
    follow();
    if (!st.started) {
      st.started = true;
      setInterval(() => refresh().catch(showError), 10000);
    }
  } catch (err) {
    showError(err);
  }
}

$('#login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  st.token = $('#token').value.trim();
  sessionStorage.setItem(tokenKey, st.token);
  start();
});

start();
