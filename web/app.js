// Brook web console. Plain JavaScript, no framework, nothing fetched but brookd's own JSON.
//
// The page asks its own node for /v1/cluster (the nodes and their admin addresses), then
// every live node for /v1/topics, /v1/groups, /v1/transactions and /metrics, and merges
// the answers: each node only knows the logs it hosts and the groups and transactions it
// coordinates. A node that does not answer is shown as such in the node bar.
'use strict';

const PAGES = ['overview', 'topics', 'groups', 'transactions', 'metrics'];
const REFRESH_MS = { overview: 2000, topics: 2000, groups: 2000, transactions: 2000, metrics: 1000 };
const FETCH_TIMEOUT_MS = 1500;
const CHART_POINTS = 120;

const state = {
  page: 'overview',
  cluster: null,        // this node's /v1/cluster
  nodeStatus: {},       // node id -> {ok, error, ms}
  timer: null,
  generation: 0,        // bumped on every page change: stale refreshes are dropped
  samples: [],          // metrics page: one merged sample per poll
  chartPoints: 0,
};

// ---------------- DOM helpers (text only: data never becomes HTML) ----------------

function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function $(id) { return document.getElementById(id); }

function replace(id, ...children) {
  const e = $(id);
  e.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

function table(headers, rows, opts) {
  const numeric = (opts && opts.numeric) || [];
  const head = h('tr', {}, headers.map((t, i) => h('th', { class: numeric.includes(i) ? 'num' : null }, t)));
  const body = rows.map((r) => h('tr', r.attrs || {}, r.cells.map((c, i) =>
    h('td', { class: numeric.includes(i) ? 'num' : null }, c))));
  return h('table', opts && opts.id ? { id: opts.id } : {}, h('thead', {}, head), h('tbody', {}, body));
}

function badge(text, kind) { return h('span', { class: 'badge ' + (kind || '') }, text); }
function empty(text) { return h('div', { class: 'empty' }, text); }

// ---------------- formatting ----------------

function fmtNum(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  return Number(v).toLocaleString('en-US');
}

function fmtBytes(v) {
  if (v === null || v === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v : v.toFixed(1)) + ' ' + units[i];
}

function fmtAge(ms) {
  if (ms === null || ms === undefined) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm' + String(s % 60).padStart(2, '0') + 's';
  const hrs = Math.floor(m / 60);
  return hrs + 'h' + String(m % 60).padStart(2, '0') + 'm';
}

function fmtRate(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

// ---------------- fetching ----------------

// With admin.token the console is opened as /?token=...: every API call carries it the same
// way (a query parameter, not a header: no CORS preflight towards the other nodes).
const ADMIN_TOKEN = new URLSearchParams(location.search).get('token');

function withToken(url) {
  if (!ADMIN_TOKEN) return url;
  return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(ADMIN_TOKEN);
}

// One GET or POST with a time limit. Resolves {ok, status, data, error}; never rejects.
async function request(url, method) {
  url = withToken(url);
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    // A plain POST without custom headers is a CORS "simple request": no preflight.
    const r = await fetch(url, { method: method || 'GET', signal: ctl.signal, cache: 'no-store' });
    const text = await r.text();
    let data = text;
    if ((r.headers.get('Content-Type') || '').startsWith('application/json')) {
      try { data = JSON.parse(text); } catch (e) { return { ok: false, status: r.status, error: 'bad JSON' }; }
    }
    return { ok: r.ok, status: r.status, data };
  } catch (e) {
    return { ok: false, status: 0, error: e.name === 'AbortError' ? 'no answer' : 'unreachable' };
  } finally {
    clearTimeout(t);
  }
}

// The base URL of a node's admin listener: our own origin for this node.
function nodeBase(n) {
  if (n.self) return '';
  return n.admin ? 'http://' + n.admin : null;
}

function liveNodes() {
  if (!state.cluster) return [];
  return state.cluster.nodes.filter((n) => n.alive && nodeBase(n) !== null);
}

async function refreshCluster() {
  const r = await request('/v1/cluster');
  if (r.ok) state.cluster = r.data;
  renderNodeBar(r.ok ? null : r.error || 'HTTP ' + r.status);
  return state.cluster;
}

// Asks every live node for path; answers [{node, ok, data, error}] in node order.
async function gather(path) {
  const nodes = liveNodes();
  const answers = await Promise.all(nodes.map(async (n) => {
    const t0 = performance.now();
    const r = await request(nodeBase(n) + path);
    state.nodeStatus[n.id] = { ok: r.ok, error: r.ok ? null : (r.error || 'HTTP ' + r.status),
                               ms: Math.round(performance.now() - t0) };
    return { node: n, ok: r.ok, data: r.data, error: r.error };
  }));
  renderNodeBar(null);
  return answers;
}

// ---------------- node bar and header ----------------

function renderNodeBar(selfError) {
  const c = state.cluster;
  if (!c) {
    replace('nodebar', h('span', { class: 'pill' }, h('span', { class: 'dot bad' }), 'this node: ' + (selfError || 'loading')));
    return;
  }
  $('whoami').textContent = 'node ' + c.node_id + ' · ' + c.mode + (c.cluster_id ? ' · ' + c.cluster_id : '');
  const pills = c.nodes.map((n) => {
    const st = state.nodeStatus[n.id];
    let kind = 'ok', note = 'up';
    if (!n.alive) { kind = 'bad'; note = 'down'; }
    else if (n.shutting_down) { kind = 'warn'; note = 'shutting down'; }
    else if (!n.admin && !n.self) { kind = 'warn'; note = 'no admin address'; }
    else if (st && !st.ok) { kind = 'bad'; note = 'not answering (' + st.error + ')'; }
    return h('span', { class: 'pill', 'data-node': n.id, title: n.kafka },
      h('span', { class: 'dot ' + kind }),
      'node ' + n.id + (n.id === c.controller ? ' ★' : '') + ': ' + note);
  });
  if (selfError) pills.unshift(h('span', { class: 'pill' }, h('span', { class: 'dot bad' }), 'this node: ' + selfError));
  replace('nodebar', pills);
}

// ---------------- merging ----------------

// Topics from every node: one entry per topic, each partition's figures taken from its
// leader when the leader answered, else from any node hosting it.
function mergeTopics(answers) {
  const byName = new Map();
  for (const a of answers) {
    if (!a.ok || !a.data || !a.data.topics) continue;
    for (const t of a.data.topics) {
      let m = byName.get(t.name);
      if (!m) { m = { name: t.name, id: t.id, internal: t.internal, partitions: [] }; byName.set(t.name, m); }
      for (const p of t.partitions) {
        const cur = m.partitions[p.partition];
        const better = !cur || (!cur.hosted && p.hosted) ||
          (p.hosted && p.node === p.leader && cur.node !== cur.leader);
        if (better) m.partitions[p.partition] = p;
      }
    }
  }
  return [...byName.values()].sort((x, y) => x.name.localeCompare(y.name));
}

function highWatermarks(topics) {
  const hw = new Map();
  for (const t of topics)
    for (const p of t.partitions)
      if (p && p.hosted) hw.set(t.name + '/' + p.partition, p.high_watermark);
  return hw;
}

function mergeGroups(answers) {
  const byId = new Map();
  for (const a of answers) {
    if (!a.ok || !a.data || !a.data.groups) continue;
    for (const g of a.data.groups)
      if (!byId.has(g.group)) byId.set(g.group, Object.assign({ coordinator: a.node.id }, g));
  }
  return [...byId.values()].sort((x, y) => x.group.localeCompare(y.group));
}

function mergeTransactions(answers) {
  const out = [];
  for (const a of answers) {
    if (!a.ok || !Array.isArray(a.data)) continue;
    for (const t of a.data) out.push(Object.assign({ coordinator: a.node }, t));
  }
  return out.sort((x, y) => x.transactional_id.localeCompare(y.transactional_id));
}

const OPEN_STATES = ['Ongoing', 'PrepareCommit', 'PrepareAbort', 'PrepareEpochFence'];

// ---------------- pages ----------------

async function showOverview() {
  const [topicsA, groupsA, txnA] = await Promise.all([gather('/v1/topics'), gather('/v1/groups'),
    gather('/v1/transactions')]);
  const c = state.cluster;
  const topics = mergeTopics(topicsA).filter((t) => !t.internal);
  const parts = topics.reduce((s, t) => s + t.partitions.length, 0);
  const bytes = topics.reduce((s, t) => s + t.partitions.reduce((x, p) => x + ((p && p.size_bytes) || 0), 0), 0);
  const groups = mergeGroups(groupsA);
  const txns = mergeTransactions(txnA);
  const open = txns.filter((t) => OPEN_STATES.includes(t.state)).length;
  const card = (k, v, id) => h('div', { class: 'card', id }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, v));
  replace('overview-cards',
    card('Mode', c.mode, 'card-mode'),
    card('Controller', c.controller === null ? 'none' : 'node ' + c.controller, 'card-controller'),
    card('Nodes', c.nodes.filter((n) => n.alive).length + ' / ' + c.nodes.length + ' up', 'card-nodes'),
    card('Topics', fmtNum(topics.length), 'card-topics'),
    card('Partitions', fmtNum(parts), 'card-partitions'),
    card('Data (leaders)', fmtBytes(bytes), 'card-bytes'),
    card('Groups', fmtNum(groups.length), 'card-groups'),
    card('Open transactions', fmtNum(open), 'card-open-txns'),
    card('Cluster id', c.cluster_id || '-', 'card-cluster-id'));
  const rows = c.nodes.map((n) => {
    const st = state.nodeStatus[n.id];
    const status = !n.alive ? badge('down', 'bad') : n.shutting_down ? badge('shutting down', 'warn')
      : st && !st.ok ? badge('not answering', 'bad') : badge('alive', 'ok');
    const base = nodeBase(n);
    return { attrs: { 'data-node': n.id }, cells: [
      h('span', {}, String(n.id), n.self ? ' ' : null, n.self ? badge('this node', 'accent') : null),
      n.id === c.controller ? badge('controller', 'accent') : '',
      n.alive ? h('code', {}, n.kafka) : '-',
      n.admin ? h('a', { href: (base || '') + '/console/#overview' }, n.admin) : '-',
      status,
      st && st.ok ? st.ms + ' ms' : '-'] };
  });
  replace('overview-nodes', table(['Node', 'Role', 'Kafka listener', 'Admin', 'Status', 'Admin answer'], rows,
    { id: 'nodes-table' }));
}

async function showTopics() {
  const topics = mergeTopics(await gather('/v1/topics'));
  const showInternal = $('show-internal').checked;
  const list = topics.filter((t) => showInternal || !t.internal);
  if (!list.length) { replace('topics-body', empty('No topics yet.')); return; }
  replace('topics-body', list.map((t) => {
    const rows = t.partitions.map((p, i) => {
      if (!p) return { cells: [String(i), '-', '-', '-', '-', '-', '-', '-', '-', 'no answer'] };
      const isr = new Set(p.isr);
      const replicas = h('span', {}, p.replicas.map((r, k) => [k ? ', ' : null,
        h('span', { class: isr.has(r) ? null : 'out-of-sync', title: isr.has(r) ? 'in sync' : 'not in the ISR' },
          String(r))]));
      return { attrs: { 'data-partition': p.partition, 'data-leader': p.leader }, cells: [
        String(p.partition),
        p.leader < 0 ? badge('offline', 'bad') : 'node ' + p.leader,
        replicas, p.isr.join(', '),
        fmtNum(p.log_start_offset), fmtNum(p.high_watermark), fmtNum(p.last_stable_offset),
        fmtNum(p.log_end_offset), fmtBytes(p.size_bytes), 'node ' + p.node] };
    });
    const size = t.partitions.reduce((s, p) => s + ((p && p.size_bytes) || 0), 0);
    return h('div', { class: 'group topic', 'data-topic': t.name },
      h('h3', {}, t.name, ' ', t.internal ? badge('internal') : null, ' ',
        h('span', { class: 'dim' }, t.partitions.length + ' partitions · ' + fmtBytes(size))),
      table(['Partition', 'Leader', 'Replicas', 'ISR', 'Log start', 'High watermark', 'Last stable',
        'Log end', 'Size', 'Answered by'], rows, { numeric: [4, 5, 6, 7, 8] }));
  }));
}

async function showGroups() {
  const [groupsA, topicsA] = await Promise.all([gather('/v1/groups'), gather('/v1/topics')]);
  const groups = mergeGroups(groupsA);
  const hws = highWatermarks(mergeTopics(topicsA));
  if (!groups.length) { replace('groups-body', empty('No consumer groups.')); return; }
  replace('groups-body', groups.map((g) => {
    const owner = new Map();
    for (const m of g.members)
      for (const a of m.assignment || []) owner.set(a.topic + '/' + a.partition, m.client_id || m.member_id);
    let total = 0;
    const offRows = g.offsets.map((o) => {
      // The leader's high watermark when it answered (the coordinator may host only a
      // follower's copy, which trails, or none); else the coordinator's own figure.
      let hw = o.high_watermark, lag = o.lag;
      if (hws.has(o.topic + '/' + o.partition)) {
        hw = hws.get(o.topic + '/' + o.partition);
        lag = Math.max(0, hw - o.committed);
      }
      if (lag !== null) total += lag;
      return { attrs: { 'data-topic': o.topic, 'data-partition': o.partition, 'data-lag': lag === null ? '' : lag },
        cells: [o.topic, String(o.partition), fmtNum(o.committed), fmtNum(hw),
          h('span', { class: 'lag ' + (lag > 0 ? 'lag-high' : '') }, lag === null ? '-' : fmtNum(lag)),
          owner.get(o.topic + '/' + o.partition) || '-'] };
    });
    const memRows = g.members.map((m) => ({ cells: [h('code', {}, m.member_id), m.client_id || '-', m.host || '-',
      m.assignment ? m.assignment.map((a) => a.topic + '-' + a.partition).join(', ') || '(none)' : '(not a consumer assignment)'] }));
    const kind = g.state === 'Stable' ? 'ok' : g.state === 'Empty' ? '' : 'warn';
    return h('div', { class: 'group', 'data-group': g.group },
      h('h3', {}, g.group, ' ', badge(g.state, kind), ' ',
        h('span', { class: 'dim' }, 'generation ' + g.generation + ' · ' + (g.protocol || 'no protocol') +
          ' · coordinator node ' + g.coordinator + ' · total lag '),
        h('span', { class: 'total-lag' + (total > 0 ? ' lag-high' : '') }, fmtNum(total))),
      g.members.length ? table(['Member', 'Client', 'Host', 'Assigned partitions'], memRows) : empty('No members.'),
      g.offsets.length ? table(['Topic', 'Partition', 'Committed', 'High watermark', 'Lag', 'Consumer'], offRows,
        { numeric: [1, 2, 3, 4] }) : empty('No committed offsets.'));
  }));
}

function txnRow(t, withAbort) {
  const parts = t.participants.map((p) => p.group !== undefined ? 'group ' + p.group : p.topic + '-' + p.partition);
  const cells = [h('code', {}, t.transactional_id),
    badge(t.state, OPEN_STATES.includes(t.state) ? 'warn' : t.state === 'CompleteAbort' ? 'bad' : 'ok'),
    t.producer_id + ' / ' + t.producer_epoch, fmtAge(t.age_ms), fmtAge(t.timeout_ms),
    parts.join(', ') || '-', 'node ' + t.coordinator.id];
  if (withAbort) {
    const btn = h('button', { class: 'abort', 'data-txn': t.transactional_id,
      disabled: t.state !== 'Ongoing' || undefined, onclick: () => abortTxn(t, btn) }, 'Abort');
    cells.push(btn);
  }
  return { attrs: { 'data-txn': t.transactional_id, 'data-state': t.state }, cells };
}

async function abortTxn(t, btn) {
  const ok = window.confirm('Abort transaction "' + t.transactional_id + '"?\n\nIts records are ' +
    'rolled back and producer ' + t.producer_id + ' is fenced (its next commit fails).');
  if (!ok) return;
  btn.disabled = true;
  const base = nodeBase(t.coordinator);
  const r = await request(base + '/v1/transactions/' + encodeURIComponent(t.transactional_id) + '/abort', 'POST');
  const msg = $('txn-message');
  msg.hidden = false;
  if (r.ok) {
    const next = r.data && r.data.transaction ? (r.data.transaction.next_state || r.data.transaction.state) : 'PrepareAbort';
    msg.className = 'message ok';
    msg.textContent = 'Abort of ' + t.transactional_id + ' started (' + next + '); producer ' + t.producer_id + ' fenced.';
  } else {
    msg.className = 'message bad';
    const why = r.data && r.data.error ? r.data.error + ': ' + r.data.message : (r.error || 'HTTP ' + r.status);
    msg.textContent = 'Abort of ' + t.transactional_id + ' refused: ' + why;
  }
  schedule(0);
}

async function showTransactions() {
  const txns = mergeTransactions(await gather('/v1/transactions'));
  const open = txns.filter((t) => OPEN_STATES.includes(t.state));
  const recent = txns.filter((t) => !OPEN_STATES.includes(t.state));
  const head = ['Transactional id', 'State', 'Producer id / epoch', 'Age', 'Timeout', 'Participants', 'Coordinator'];
  replace('txn-open', open.length ? table(head.concat(['']), open.map((t) => txnRow(t, true)), { id: 'txn-open-table' })
    : empty('No open transactions.'));
  replace('txn-recent', recent.length ? table(head, recent.map((t) => txnRow(t, false)), { id: 'txn-recent-table' })
    : empty('No other transactional ids.'));
}

// ---------------- metrics ----------------

// Prometheus text format: [{name, labels: {k: v}, value}] (comments skipped).
function parseMetrics(text) {
  const out = [];
  const re = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
  const lre = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = re.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(lre)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

// One merged sample over every node's metrics: totals that grow with produce and commits.
function sampleOf(answers) {
  const buckets = new Map();
  let latSum = 0, latCount = 0, commits = 0, aborts = 0, nodes = 0;
  let produced = 0, consumerBytes = 0, followerBytes = 0;
  for (const a of answers) {
    if (!a.ok || typeof a.data !== 'string') continue;
    nodes++;
    for (const s of parseMetrics(a.data)) {
      const l = s.labels;
      // Leaders count produced records, so the nodes' counters add up to the cluster's.
      if (s.name === 'brook_produced_records_total') produced += s.value;
      else if (s.name === 'brook_fetch_bytes_total')
        l.client === 'follower' ? (followerBytes += s.value) : (consumerBytes += s.value);
      else if (s.name === 'brook_txn_commit_latency_seconds_sum') latSum += s.value;
      else if (s.name === 'brook_txn_commit_latency_seconds_count') latCount += s.value;
      else if (s.name === 'brook_txn_commit_latency_seconds_bucket')
        buckets.set(l.le, (buckets.get(l.le) || 0) + s.value);
      else if (s.name === 'brook_transactions_completed_total')
        l.outcome === 'commit' ? (commits += s.value) : (aborts += s.value);
    }
  }
  return { t: performance.now() / 1000, nodes, produced, consumerBytes, followerBytes,
           latSum, latCount, buckets, commits, aborts };
}

// The p-quantile (ms) of the latencies observed between two samples, from bucket deltas.
function quantileMs(prev, cur, q) {
  const les = [...cur.buckets.keys()].sort((a, b) => (a === '+Inf' ? Infinity : +a) - (b === '+Inf' ? Infinity : +b));
  const n = cur.latCount - prev.latCount;
  if (n <= 0) return null;
  for (const le of les) {
    const d = cur.buckets.get(le) - (prev.buckets.get(le) || 0);
    if (d >= q * n) return le === '+Inf' ? null : +le * 1000;
  }
  return null;
}

function rates(prev, cur) {
  const dt = cur.t - prev.t;
  if (dt <= 0) return null;
  const dn = cur.latCount - prev.latCount;
  return {
    produce: Math.max(0, (cur.produced - prev.produced) / dt),
    fetch: Math.max(0, (cur.consumerBytes - prev.consumerBytes) / dt),
    replication: Math.max(0, (cur.followerBytes - prev.followerBytes) / dt),
    latMean: dn > 0 ? (cur.latSum - prev.latSum) / dn * 1000 : null,
    latP99: quantileMs(prev, cur, 0.99),
    commits: Math.max(0, (cur.commits - prev.commits) / dt),
    aborts: Math.max(0, (cur.aborts - prev.aborts) / dt),
  };
}

// A line chart on a canvas: series [{label, color, values}] sharing the x axis (newest right).
function drawChart(canvas, series, unit) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width, hgt = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hgt * dpr);
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue('--dim').trim() || '#888', line = css.getPropertyValue('--line').trim() || '#ddd';
  g.clearRect(0, 0, w, hgt);
  const left = 52, right = 8, top = 18, bottom = 20;
  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  max = max <= 0 ? 1 : niceCeil(max);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = fg;
  g.strokeStyle = line;
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + (hgt - top - bottom) * i / 4;
    g.beginPath(); g.moveTo(left, y + 0.5); g.lineTo(w - right, y + 0.5); g.stroke();
    g.fillText(fmtTick(max * (4 - i) / 4, max), 4, y + 4);
  }
  g.fillText(unit, 4, 11);
  g.fillText(CHART_POINTS + ' s ago', left, hgt - 5);
  g.fillText('now', w - right - 22, hgt - 5);
  const xs = (i) => left + (w - left - right) * i / (CHART_POINTS - 1);
  const ys = (v) => top + (hgt - top - bottom) * (1 - v / max);
  let lx = left + 60;
  for (const s of series) {
    g.strokeStyle = s.color;
    g.lineWidth = 2;
    g.beginPath();
    const off = CHART_POINTS - s.values.length;
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      if (!pen) g.moveTo(xs(off + i), ys(v)); else g.lineTo(xs(off + i), ys(v));
      pen = true;
    });
    g.stroke();
    g.fillStyle = s.color;
    g.fillRect(lx, 5, 10, 3);
    g.fillText(s.label, lx + 14, 11);
    lx += 20 + g.measureText(s.label).width + 12;
    g.fillStyle = fg;
  }
}

// An axis label: as many decimals as the scale needs, no more.
function fmtTick(v, max) {
  const step = max / 4;
  let d = 0;
  while (d < 3 && Math.abs(step * Math.pow(10, d) - Math.round(step * Math.pow(10, d))) > 1e-9) d++;
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

async function showMetrics() {
  const answers = await gather('/metrics');
  const cur = sampleOf(answers);
  if (!cur.nodes) return;
  const prev = state.samples.length ? state.samples[state.samples.length - 1].sample : null;
  const r = prev ? rates(prev, cur) : null;
  state.samples.push({ sample: cur, rates: r });
  if (state.samples.length > CHART_POINTS + 1) state.samples.shift();
  const rs = state.samples.filter((s) => s.rates).map((s) => s.rates);
  state.chartPoints = rs.length;
  const col = (k) => rs.map((x) => x[k]);
  drawChart($('chart-produce'), [{ label: 'produced', color: '#2f6fde', values: col('produce') }], 'rec/s');
  drawChart($('chart-fetch'), [{ label: 'consumers', color: '#1f9d55', values: col('fetch') },
    { label: 'replication', color: '#8a63d2', values: col('replication') }], 'B/s');
  drawChart($('chart-latency'), [{ label: 'mean', color: '#c98300', values: col('latMean') },
    { label: 'p99', color: '#d33a3a', values: col('latP99') }], 'ms');
  drawChart($('chart-txn'), [{ label: 'commits', color: '#1f9d55', values: col('commits') },
    { label: 'aborts', color: '#d33a3a', values: col('aborts') }], 'txn/s');
  const last = rs.length ? rs[rs.length - 1] : null;
  $('v-produce').textContent = last ? fmtRate(last.produce) + ' rec/s' : '';
  $('v-fetch').textContent = last ? fmtRate(last.fetch) + ' B/s' : '';
  $('v-latency').textContent = last && last.latMean !== null ? fmtRate(last.latMean) + ' ms' : 'no commits';
  $('v-txn').textContent = last ? fmtRate(last.commits + last.aborts) + ' /s' : '';
}

// ---------------- routing and the refresh loop ----------------

const SHOW = { overview: showOverview, topics: showTopics, groups: showGroups,
  transactions: showTransactions, metrics: showMetrics };

function schedule(delay) {
  clearTimeout(state.timer);
  const gen = state.generation;
  state.timer = setTimeout(() => refresh(gen), delay);
}

async function refresh(gen) {
  const page = state.page;
  try {
    if (await refreshCluster()) await SHOW[page]();
    $('footer').textContent = 'Updated ' + new Date().toLocaleTimeString() + ' · every ' +
      REFRESH_MS[page] / 1000 + ' s';
    document.body.dataset.loaded = page;  // tests wait for this
  } catch (e) {
    // A rendering bug must not stop the refresh loop; it is reported once per failure.
    $('footer').textContent = 'Refresh failed: ' + e.message;
    console.warn('brook console: refresh failed', e);
  }
  if (gen === state.generation) schedule(REFRESH_MS[page]);
}

function route() {
  const want = (location.hash || '#overview').slice(1);
  const page = PAGES.includes(want) ? want : 'overview';
  state.page = page;
  state.generation++;
  delete document.body.dataset.loaded;
  for (const p of PAGES) $('page-' + p).hidden = p !== page;
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.page === page);
  if (page !== 'metrics') state.samples = [];
  schedule(0);
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  $('show-internal').addEventListener('change', () => schedule(0));
  route();
});
// For tests and the curious: the console's state.
window.brookConsole = state;
