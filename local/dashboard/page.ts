import { randomBytes } from 'node:crypto';

/**
 * The `/_local/` dashboard: one self-contained page (no external assets) that polls `/_local/state` and renders
 * with DOM text nodes only, so nothing a function wrote into a message can run as script. The CSP allows only
 * this page's own nonce'd script and style and same-origin fetches.
 */
export const dashboardPage = (): { html: string; csp: string } => {
  const nonce = randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html: HTML.replaceAll('__NONCE__', nonce), csp };
};

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stagecrew local cloud</title>
<link rel="icon" href="data:,">
<style nonce="__NONCE__">
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #f6f7f9; }
  body { margin: 0; }
  header { background: #1d2330; color: #fff; padding: .8rem 1.2rem; display: flex; gap: 1rem; align-items: baseline; }
  header h1 { font-size: 1.1rem; margin: 0; }
  header small { opacity: .7; }
  main { display: grid; gap: 1rem; padding: 1rem; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
  section { background: #fff; border-radius: 8px; padding: .8rem 1rem; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  section h2 { font-size: 1rem; margin: 0 0 .6rem; }
  table { width: 100%; border-collapse: collapse; font-size: .85rem; }
  th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid #eceef2; vertical-align: top; }
  .status { font-weight: 600; padding: 0 .35rem; border-radius: 4px; background: #eceef2; white-space: nowrap; }
  .PENDING, .InProgress, .RUNNING, .CREATE_IN_PROGRESS, .DELETE_IN_PROGRESS { background: #fff4d6; }
  .APPROVED, .Succeeded, .SUCCEEDED, .CREATE_COMPLETE, .UPDATE_COMPLETE, .DELETE_COMPLETE { background: #dcf5e3; }
  .REJECTED, .Failed, .FAILED, .DELETE_FAILED, .TIMED_OUT, .ABORTED, .EXPIRED { background: #fde0e0; }
  .stages { display: flex; gap: .3rem; flex-wrap: wrap; }
  .empty { color: #7a8294; font-size: .85rem; }
  .msg { border-bottom: 1px solid #eceef2; padding: .4rem 0; font-size: .85rem; }
  .msg pre { white-space: pre-wrap; margin: .2rem 0; font-family: inherit; }
  a { color: #1f5fd1; word-break: break-all; }
  #notes { color: #a3461b; font-size: .8rem; padding: 0 1rem; }
  .delivery { margin: .5rem 0 .8rem; }
  .figures { display: flex; flex-wrap: wrap; gap: .4rem 1rem; font-size: .85rem; margin-bottom: .3rem; }
  .figures b { font-weight: 600; }
  .chart { width: 100%; height: 90px; }
</style>
</head>
<body>
<header><h1>Stagecrew local cloud</h1><small id="updated">loading…</small></header>
<div id="notes"></div>
<main>
  <section id="approvals"><h2>Approvals</h2><div class="body"></div></section>
  <section id="pipelines"><h2>Pipelines</h2><div class="body"></div></section>
  <section id="stacks"><h2>Stacks</h2><div class="body"></div></section>
  <section id="teardown"><h2>Teardown runs</h2><div class="body"></div></section>
  <section id="outbox"><h2>Outbox</h2><div class="body"></div></section>
  <section id="schedules"><h2>Schedules</h2><div class="body"></div></section>
</main>
<script nonce="__NONCE__">
'use strict';
const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = String(v); else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
};
const link = (href) => /^https?:\\/\\//.test(href) ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, href) : href;
const status = (s) => el('span', { class: 'status ' + String(s).replace(/[^A-Za-z_]/g, '') }, s);
const when = (t) => { if (t === undefined || t === null || t === '') return ''; const d = typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t); return isNaN(d) ? String(t) : d.toLocaleString(); };
const table = (head, rows) => rows.length === 0 ? el('p', { class: 'empty' }, 'nothing yet')
  : el('table', {}, el('thead', {}, el('tr', {}, head.map((h) => el('th', {}, h)))), el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))));
const svg = (tag, attrs, ...children) => {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};
const duration = (ms) => {
  if (ms === undefined || ms === null) return '–';
  const m = Math.round(ms / 60000);
  if (m < 60) return m + ' min';
  const h = Math.floor(m / 60);
  return h < 48 ? h + ' h ' + (m % 60) + ' min' : Math.round(h / 24) + ' d';
};
const percent = (r) => r === null || r === undefined ? '–' : Math.round(r * 1000) / 10 + ' %';
/** Deployments (green) and failures (red) per day over the window, drawn as SVG through DOM calls only. */
const chart = (days) => {
  const max = Math.max(1, ...days.map((d) => Math.max(d.deployments, d.failures)));
  const w = 10, gap = 2, h = 80;
  const bars = days.flatMap((d, i) => {
    const x = i * (2 * w + gap * 2);
    const dh = Math.round((d.deployments / max) * h), fh = Math.round((d.failures / max) * h);
    const label = d.day + ': ' + d.deployments + ' deployments, ' + d.failures + ' failures' + (d.leadTimeP50Ms !== undefined ? ', lead time p50 ' + duration(d.leadTimeP50Ms) : '');
    return [
      svg('rect', { x, y: h - dh, width: w, height: dh, fill: '#2f9e57', 'data-day': d.day, 'data-deployments': d.deployments }, svg('title', {}, label)),
      svg('rect', { x: x + w, y: h - fh, width: w, height: fh, fill: '#d64545', 'data-day': d.day, 'data-failures': d.failures }, svg('title', {}, label)),
    ];
  });
  const width = Math.max(1, days.length * (2 * w + gap * 2));
  return svg('svg', { class: 'chart', viewBox: '0 0 ' + width + ' ' + (h + 2), preserveAspectRatio: 'none', role: 'img', 'aria-label': 'deployments and failures per day, last ' + days.length + ' days' }, svg('line', { x1: 0, y1: h + 1, x2: width, y2: h + 1, stroke: '#c5cad3' }), ...bars);
};
const delivery = (f) => !f ? null : el('div', { class: 'delivery', 'data-pipeline': f.pipeline },
  el('div', { class: 'figures' },
    el('span', {}, 'Deployments ', el('b', { 'data-figure': 'deployments' }, f.deployments.count), ' (' + f.deployments.perDay + '/day)'),
    el('span', {}, 'Lead time p50 ', el('b', { 'data-figure': 'lead-time' }, duration(f.leadTimeMs.p50))),
    el('span', {}, 'Change failure rate ', el('b', { 'data-figure': 'change-failure-rate' }, percent(f.changeFailureRate.rate))),
    el('span', {}, 'Time to restore p50 ', el('b', { 'data-figure': 'time-to-restore' }, duration(f.timeToRestoreMs.p50))),
    el('span', {}, 'Approval wait p50 ', el('b', { 'data-figure': 'approval-wait' }, duration(f.approvalWaitMs.p50)))),
  chart(f.days),
  el('small', { class: 'empty' }, 'last ' + f.days.length + ' days · production: ' + (f.productionStage || 'an execution succeeding') + ' · JSON: /_local/delivery/' + encodeURIComponent(f.pipeline)));
const fill = (id, node) => { const body = document.querySelector('#' + id + ' .body'); body.replaceChildren(node); };

const render = (s) => {
  document.getElementById('updated').textContent = 'updated ' + new Date(s.generatedAt).toLocaleTimeString();
  document.getElementById('notes').replaceChildren(...s.notes.map((n) => el('div', {}, n)));
  const pending = s.approvals.filter((a) => a.status === 'PENDING');
  const decided = s.approvals.filter((a) => a.status !== 'PENDING');
  const approvalRows = (list) => list.map((a) => [
    el('span', { 'data-approval-id': a.id }, a.id), status(a.status), [a.pipeline, a.stage, a.action].filter(Boolean).join(' / '),
    when(a.createdAt), a.decidedBy ? JSON.stringify(a.decidedBy) : '', el('div', {}, a.links.map((l) => el('div', {}, link(l)))),
  ]);
  const head = ['id', 'status', 'pipeline / stage / action', 'created', 'decided by', 'links'];
  fill('approvals', el('div', {},
    el('h3', {}, 'Pending (' + pending.length + ')'), table(head, approvalRows(pending)),
    el('h3', {}, 'Decided (' + decided.length + ')'), table(head, approvalRows(decided))));
  fill('pipelines', s.pipelines.length === 0 ? el('p', { class: 'empty' }, 'no pipelines') : el('div', {}, s.pipelines.map((p) => el('div', {},
    el('h3', {}, p.name),
    delivery(p.delivery),
    el('div', { class: 'stages' }, (p.stages || []).map((st) => el('span', {}, st.stageName + ' ', status((st.latestExecution && st.latestExecution.status) || 'NotRun')))),
    table(['execution', 'status', 'started', 'updated'], (p.executions || []).map((e) => [e.pipelineExecutionId, status(e.status), when(e.startTime), when(e.lastUpdateTime)]))))));
  fill('stacks', table(['stack', 'status', 'updated', 'reason'], s.stacks.map((k) => [k.name, status(k.status), when(k.updatedAt), k.reason || ''])));
  const countdown = (r) => r.graceEndsAt === undefined ? '' : el('span', { class: 'countdown', 'data-grace-ends-at': r.graceEndsAt },
    'tears down in ' + Math.max(0, Math.round((r.graceEndsAt - Date.now()) / 1000)) + ' s (grace period; retrying the stage cancels it)');
  fill('teardown', table(['run', 'state machine', 'status', 'started', 'stopped', 'pending'], s.teardownRuns.map((r) => [r.name, r.stateMachine, status(r.status), when(r.startDate), when(r.stopDate), countdown(r)])));
  fill('outbox', s.outbox.length === 0 ? el('p', { class: 'empty' }, 'no messages') : el('div', {}, s.outbox.slice().reverse().map((m) => el('div', { class: 'msg' },
    el('strong', {}, m.channel + ' → ' + m.to.join(', ')), ' ', el('small', {}, when(m.at)),
    m.subject ? el('div', {}, m.subject) : null, el('pre', {}, m.text), el('div', {}, m.links.map((l) => el('div', {}, link(l))))))));
  fill('schedules', table(['schedule', 'rate', 'last run', 'next run'], s.schedules.map((x) => [x.name, x.expression, when(x.lastRunAt), when(x.nextRunAt)])));
};

const refresh = async () => {
  try {
    const res = await fetch('/_local/state', { cache: 'no-store' });
    if (res.ok) render(await res.json());
  } catch (err) {
    document.getElementById('updated').textContent = 'local cloud unreachable';
  }
  setTimeout(refresh, 2000);
};
refresh();
</script>
</body>
</html>
`;
