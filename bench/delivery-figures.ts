/**
 * Delivery figures: what keeping them costs per event and what reading a window costs.
 *
 * 1. Write side: the published-sample-shaped events of generated executions (test/helpers/pipeline-history.ts:
 *    Source → Build → Approve → Deploy, with failures, rejections, retries and rollbacks) through
 *    `handlePipelineEvent` with in-memory adapters, counting the delivery store's calls per execution (each a
 *    DynamoDB request on AWS) and the CloudWatch points published.
 * 2. Read side: a busy pipeline's window (50 executions a day) computed by `deliveryFigures`: the summaries the
 *    query returns (30 days plus the 8-day read range on each side), their stored size, the read units and pages
 *    of the gsi1 query, and the computation's time.
 */
import { performance } from 'node:perf_hooks';
import { deliveryFigures, summaryRange } from '../functions/core/delivery/figures.ts';
import type { DeliverySummary } from '../functions/core/delivery/summary.ts';
import { deliveryPolicy, parseSettings } from '../functions/core/settings.ts';
import { type Execution, eventsOf, type Kind, PIPELINE } from '../test/helpers/pipeline-history.ts';
import { handleRaw, makeWorld } from '../test/unit/timeline/fakes.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const PER_DAY = Number(process.env.BENCH_PER_DAY ?? 50);
const DAY = 86_400_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** A deterministic mix: mostly successes, some failures, rejections, retries and a rollback now and then. */
const MIX: Kind[] = [
  'ok',
  'ok',
  'ok',
  'ok',
  'build-fail',
  'ok',
  'reject',
  'ok',
  'deploy-fail',
  'retry-ok',
  'ok',
  'rollback-ok',
];

const executions = (count: number, start: number, gapMs: number): Execution[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    kind: MIX[i % MIX.length] as Kind,
    start: start + i * gapMs,
    ...(i % 2 === 0 ? { commitAt: start + i * gapMs - 20 * 60_000 } : {}),
    wait: ((i * 7) % 60) * 60_000,
    retryAfter: 5 * 60_000,
  }));

// ---- 1. write side
const settings = parseSettings({ delivery: { production: [{ pipeline: PIPELINE, stage: 'Deploy' }] } });
const writeSample = executions(120, Date.parse('2026-03-01T00:00:00Z'), 30 * 60_000);
const world = makeWorld(settings);
const calls = { get: 0, put: 0, list: 0 };
const store = world.delivery;
const wrapped = {
  get: (id: string) => {
    calls.get++;
    return store.get(id);
  },
  put: (s: DeliverySummary, r: number | undefined) => {
    calls.put++;
    return store.put(s, r);
  },
  list: (p: string, f: string, t: string) => {
    calls.list++;
    return store.list(p, f, t);
  },
};
world.deps.delivery = wrapped;
let events = 0;
let points = 0;
const t0 = performance.now();
for (const e of writeSample.flatMap(eventsOf)) {
  world.clock.set(new Date(e.time + 2_000));
  const out = await handleRaw(e.body, world.deps);
  events++;
  if (out.status === 'processed') points += out.figures.length;
}
const writeMs = performance.now() - t0;
const perExec = (n: number) => (n / writeSample.length).toFixed(2);

// ---- 2. read side
const policy = deliveryPolicy(settings.delivery, PIPELINE);
const to = new Date('2026-05-01T00:00:00Z');
const from = new Date(to.getTime() - 30 * DAY);
const range = summaryRange({ from, to }, policy);
const span = Date.parse(range.to) - Date.parse(range.from);
const busy = makeWorld(settings);
for (const e of executions(Math.round((span / DAY) * PER_DAY), Date.parse(range.from), DAY / PER_DAY).flatMap(
  eventsOf,
)) {
  busy.clock.set(new Date(e.time + 2_000));
  await handleRaw(e.body, busy.deps);
}
const summaries = await busy.delivery.list(PIPELINE, range.from, range.to);
const sizes = summaries.map((s) => {
  const item = {
    pk: `EXEC#${s.executionId}`,
    sk: 'DELIVERY',
    gsi1pk: `DELIVERY#${s.pipeline}`,
    gsi1sk: `${s.anchorAt}#${s.executionId}`,
    type: 'delivery-summary',
    ...s,
    revision: 12,
    updatedAt: s.anchorAt,
  };
  // DynamoDB's item size is its attribute names plus values (UTF-8); the item's JSON is a close upper bound.
  return Buffer.byteLength(JSON.stringify(item));
});
const bytes = sizes.reduce((a, b) => a + b, 0);
const times: number[] = [];
let figures = deliveryFigures(PIPELINE, summaries, { from, to }, policy);
for (let r = 0; r < RUNS; r++) {
  const t = performance.now();
  figures = deliveryFigures(PIPELINE, summaries, { from, to }, policy);
  times.push(performance.now() - t);
}

console.log(`## Delivery metrics

\`bench/delivery-figures.ts\` (${new Date().toISOString().slice(0, 10)}, Node ${process.version}).

**Write side.** ${writeSample.length} executions of Source → Build → Approve → Deploy (a mix of successes, build
failures, rejections, failed and retried deploys, rollbacks; ${events} published-sample-shaped events), through
\`handlePipelineEvent\` with in-memory adapters. Per execution, the delivery summary adds:

| Call | Per execution | On AWS |
|---|---:|---|
| summary read (\`GetItem\`, consistent) | ${perExec(calls.get)} | one per event of the execution, of a stage that succeeded, or of an approval |
| summary write (\`PutItem\`, conditional; table + gsi1) | ${perExec(calls.put)} | only when a part changed |
| recent summaries (\`Query\` on gsi1, 8 days back) | ${perExec(calls.list)} | only when a deployment or failure appears |
| CloudWatch points (EMF log lines ×2) | ${perExec(points)} | no API call |

Events without a delivery part (a stage starting or failing, an action that is not an approval) cost nothing more. Wall time for all ${events} events:
${writeMs.toFixed(0)} ms (${((writeMs * 1000) / events).toFixed(1)} µs/event including the timeline's own work).

**Read side.** A pipeline with ${PER_DAY} executions a day; a 30-day window reads ${summaries.length} summaries
(the window and 8 days on each side) in one gsi1 query:

| | |
|---|---:|
| summaries read | ${summaries.length} |
| stored size | ${(bytes / 1024).toFixed(0)} KiB (${Math.round(bytes / summaries.length)} B per summary) |
| read units (eventually consistent Query: size ÷ 4 KB ÷ 2) | ${Math.ceil(bytes / 4096 / 2)} |
| Query pages (1 MB each) | ${Math.max(1, Math.ceil(bytes / 1_048_576))} |
| \`deliveryFigures\` time, median of ${RUNS} | ${median(times).toFixed(1)} ms |
| figures | ${figures.deployments.count} deployments, lead time p50 ${Math.round((figures.leadTimeMs.p50 ?? 0) / 60_000)} min, change failure rate ${figures.changeFailureRate.rate}, ${figures.timeToRestoreMs.count} restores |
`);
