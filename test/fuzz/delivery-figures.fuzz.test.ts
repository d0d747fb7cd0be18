/**
 * Property: the delivery figures Stagecrew keeps incrementally (each event folded into the timeline, each record
 * change into its execution's summary, figures read from the summaries of a window) equal a straightforward
 * recomputation from the generated ground truth — whatever order the events arrive in and however often each is
 * delivered. The reference below is written from docs/METRICS.md, not from functions/core/delivery.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deliveryFigures, summaryRange } from '#core/delivery/figures';
import type { DeliveryStore } from '#core/delivery/ports';
import { rebuildSummaries } from '#core/delivery/rebuild';
import type { MetricPoint } from '#core/delivery/signals';
import { deliveryPolicy, parseSettings } from '#core/settings';
import {
  type Execution,
  eventsOf,
  history,
  KINDS,
  PIPELINE,
  PRODUCTION_STAGE,
  type Truth,
  truthOf,
} from '../helpers/pipeline-history.ts';
import { seededRandom } from '../helpers/random.ts';
import { handleRaw, MemoryDeliveryStore, makeWorld } from '../unit/timeline/fakes.ts';
import { fuzzParams, fuzzTimeout } from './arbitraries.ts';

const BASE = Date.parse('2026-03-01T00:00:00Z');
const DAY = 86_400_000;

const nearestRank = (values: number[], p: number): number | undefined => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
};
const avg = (values: number[]) =>
  values.length === 0 ? undefined : Math.round(values.reduce((a, b) => a + b, 0) / values.length);
const dist = (values: number[]) => ({
  count: values.length,
  p50: nearestRank(values, 50),
  p90: nearestRank(values, 90),
  mean: avg(values),
});

/** The figures of `[from, to)` recomputed from what happened, seen through the same read range as the store. */
const reference = (truths: Truth[], from: number, to: number, failureWindowMs: number) => {
  const range = summaryRange({ from: new Date(from), to: new Date(to) }, { failureWindowMs });
  const seen = truths.filter(
    (t) => t.execution.start >= Date.parse(range.from) && t.execution.start < Date.parse(range.to),
  );
  const inside = (at: number | undefined): at is number => at !== undefined && at >= from && at < to;
  // Points of different executions in the same second: the one that started later is later, then by id.
  const cmp = (a: [number, Truth], b: [number, Truth]) =>
    a[0] - b[0] ||
    a[1].execution.start - b[1].execution.start ||
    (a[1].execution.id < b[1].execution.id ? -1 : a[1].execution.id > b[1].execution.id ? 1 : 0);
  const deployments = seen
    .filter((t) => t.deployedAt !== undefined)
    .sort((a, b) => cmp([a.deployedAt as number, a], [b.deployedAt as number, b]));
  const deployedInside = deployments.filter((t) => inside(t.deployedAt));
  const lead = deployedInside.map((t) => (t.deployedAt as number) - (t.execution.commitAt ?? t.execution.start));

  let failed = 0;
  for (const d of deployedInside) {
    const i = deployments.indexOf(d);
    const next = deployments[i + 1];
    const at = d.deployedAt as number;
    const hit = seen.some(
      (t) =>
        t.failure &&
        cmp([t.failure.at, t], [at, d]) > 0 &&
        t.failure.at <= at + failureWindowMs &&
        (next === undefined || cmp([t.failure.at, t], [next.deployedAt as number, next]) < 0),
    );
    if (hit) failed++;
  }

  // Replay failures and restores in time order (a failure first at equal times, then by execution id).
  const marks = seen
    .flatMap((t) => [
      ...(t.failure ? [{ at: t.failure.at, failure: true, t }] : []),
      ...(t.restoreAt !== undefined ? [{ at: t.restoreAt, failure: false, t }] : []),
    ])
    .sort((a, b) => cmp([a.at, a.t], [b.at, b.t]) || Number(b.failure) - Number(a.failure));
  const restored: number[] = [];
  let open = 0;
  let openedAt: number | undefined;
  for (const m of marks) {
    if (m.failure && openedAt === undefined) {
      openedAt = m.at;
      if (inside(openedAt)) open++;
    } else if (!m.failure && openedAt !== undefined) {
      if (inside(openedAt)) {
        restored.push(m.at - openedAt);
        open--;
      }
      openedAt = undefined;
    }
  }

  const decided = seen.filter((t) => t.approval && inside(t.approval.decidedAt));
  const started = seen.filter((t) => inside(t.execution.start));
  return {
    deployments: deployedInside.length,
    lead: dist(lead),
    fromCommit: deployedInside.filter((t) => t.execution.commitAt !== undefined).length,
    changeFailures: { deployments: deployedInside.length, failed },
    restore: { ...dist(restored), open },
    approvals: {
      ...dist(decided.map((t) => (t.approval?.decidedAt as number) - (t.approval?.requestedAt as number))),
      approved: decided.filter((t) => t.approval?.approved).length,
      rejected: decided.filter((t) => !t.approval?.approved).length,
    },
    executions: {
      started: started.length,
      succeeded: started.filter((t) => t.endState === 'SUCCEEDED').length,
      failed: started.filter((t) => t.endState === 'FAILED').length,
    },
  };
};

const clean = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** Events of the whole history, shuffled, with some delivered twice (EventBridge is at-least-once). */
const deliveries = (executions: Execution[], seed: number, shuffle: boolean) => {
  const random = seededRandom(seed);
  const events = executions.flatMap(eventsOf);
  const out = [...events, ...events.filter(() => random() < 0.15)];
  if (!shuffle) return out.sort((a, b) => a.time - b.time);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as (typeof out)[number], out[i] as (typeof out)[number]];
  }
  return out;
};

const run = async (executions: Execution[], seed: number, production: boolean, shuffle: boolean) => {
  const settings = parseSettings({
    delivery: {
      production: production ? [{ pipeline: PIPELINE, stage: PRODUCTION_STAGE }] : [],
      failureWindowHours: 24,
    },
  });
  const world = makeWorld(settings);
  const points: MetricPoint[] = [];
  for (const e of deliveries(executions, seed, shuffle)) {
    world.clock.set(new Date(e.time + 5_000));
    const outcome = await handleRaw(e.body, world.deps);
    if (outcome.status === 'processed') points.push(...outcome.figures);
  }
  return { world, points, policy: deliveryPolicy(settings.delivery, PIPELINE) };
};

const figuresOf = async (
  w: Awaited<ReturnType<typeof run>>,
  from: number,
  to: number,
  store: DeliveryStore = w.world.delivery,
) => {
  const window = { from: new Date(from), to: new Date(to) };
  const range = summaryRange(window, w.policy);
  const f = deliveryFigures(PIPELINE, await store.list(PIPELINE, range.from, range.to), window, w.policy);
  return {
    deployments: f.deployments.count,
    lead: clean(f.leadTimeMs),
    fromCommit: f.deployments.leadTimeFromCommit,
    changeFailures: { deployments: f.changeFailureRate.deployments, failed: f.changeFailureRate.failed },
    restore: clean({
      count: f.timeToRestoreMs.count,
      p50: f.timeToRestoreMs.p50,
      p90: f.timeToRestoreMs.p90,
      mean: f.timeToRestoreMs.mean,
      open: f.timeToRestoreMs.open,
    }),
    approvals: clean({
      count: f.approvalWaitMs.count,
      p50: f.approvalWaitMs.p50,
      p90: f.approvalWaitMs.p90,
      mean: f.approvalWaitMs.mean,
      approved: f.approvalWaitMs.approved,
      rejected: f.approvalWaitMs.rejected,
    }),
    executions: { started: f.executions.started, succeeded: f.executions.succeeded, failed: f.executions.failed },
  };
};

const expected = (truths: Truth[], from: number, to: number) => {
  const r = reference(truths, from, to, DAY);
  return { ...r, lead: clean(r.lead), restore: clean(r.restore), approvals: clean(r.approvals) };
};

describe('delivery figures: incremental equals recomputed', { timeout: fuzzTimeout(300) }, () => {
  it('over the whole history, any arrival order, duplicates included', async () => {
    await fc.assert(
      fc.asyncProperty(history(BASE), fc.integer(), fc.boolean(), async (executions, seed, production) => {
        const w = await run(executions, seed, production, true);
        const truths = executions.map(truthOf);
        const to = BASE + 200 * DAY;
        expect(await figuresOf(w, BASE, to)).toEqual(expected(truths, BASE, to));
      }),
      fuzzParams(),
    );
  });

  it('rebuilt from the timeline alone (no summaries kept), the same figures and the same summaries', async () => {
    await fc.assert(
      fc.asyncProperty(history(BASE), fc.integer(), async (executions, seed) => {
        const w = await run(executions, seed, true, true);
        const rebuilt = new MemoryDeliveryStore();
        const range = { from: new Date(BASE - DAY).toISOString(), to: new Date(BASE + 200 * DAY).toISOString() };
        const out = await rebuildSummaries(w.world.timeline, rebuilt, PIPELINE, range);
        expect(out.executions).toBe(executions.length);
        const to = BASE + 200 * DAY;
        expect(await figuresOf(w, BASE, to, rebuilt)).toEqual(await figuresOf(w, BASE, to));
        // Summaries equal but for `sourceAt` (read from CodePipeline when the event arrived; none in this world).
        expect(await rebuilt.list(PIPELINE, range.from, range.to)).toEqual(
          await w.world.delivery.list(PIPELINE, range.from, range.to),
        );
        // A second rebuild finds nothing to change.
        expect((await rebuildSummaries(w.world.timeline, rebuilt, PIPELINE, range)).written).toBe(0);
      }),
      fuzzParams(),
    );
  });

  it('over a window inside the history', async () => {
    await fc.assert(
      fc.asyncProperty(
        history(BASE),
        fc.integer(),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 10 }),
        async (executions, seed, startDay, days) => {
          const w = await run(executions, seed, true, true);
          const from = BASE + startDay * DAY;
          const to = from + days * DAY;
          expect(await figuresOf(w, from, to)).toEqual(expected(executions.map(truthOf), from, to));
        },
      ),
      fuzzParams(),
    );
  });

  it('publishes each deployment, lead time, failure and decided approval once, whatever the order', async () => {
    await fc.assert(
      fc.asyncProperty(history(BASE), fc.integer(), async (executions, seed) => {
        const w = await run(executions, seed, true, true);
        const truths = executions.map(truthOf);
        const sum = (name: MetricPoint['name']) =>
          w.points.filter((p) => p.name === name).reduce((a, p) => a + p.value, 0);
        const deployed = truths.filter((t) => t.deployedAt !== undefined);
        expect(sum('Deployments')).toBe(deployed.length);
        expect(sum('LeadTime')).toBe(
          deployed.reduce((a, t) => a + (t.deployedAt as number) - (t.execution.commitAt ?? t.execution.start), 0),
        );
        // A failure is published when it happens: an execution that failed and was retried to success counted one
        // (when its FAILED arrived before the retry's events), though its final outcome is not a failure.
        const failures = truths.filter((t) => t.failure).length;
        const retried = truths.filter((t) => t.execution.kind === 'retry-ok').length;
        expect(sum('Failures')).toBeGreaterThanOrEqual(failures);
        expect(sum('Failures')).toBeLessThanOrEqual(failures + retried);
        const approvals = truths.filter((t) => t.approval);
        expect(w.points.filter((p) => p.name === 'ApprovalWait').length).toBe(approvals.length);
        expect(w.points.filter((p) => p.name !== 'ApprovalWait').every((p) => p.stage === PRODUCTION_STAGE)).toBe(true);
      }),
      fuzzParams(),
    );
  });

  it('in arrival order and without retries, time to restore and change failures are published as the read side counts them', async () => {
    await fc.assert(
      // Publishing looks back 8 days: the whole history (30 runs at most 6 h apart) stays inside that.
      fc.asyncProperty(
        history(BASE, { kinds: KINDS.filter((k) => k !== 'retry-ok'), maxGapMinutes: 6 * 60 }),
        fc.integer(),
        async (executions, seed) => {
          const w = await run(executions, seed, true, false);
          const r = reference(executions.map(truthOf), BASE - 30 * DAY, BASE + 200 * DAY, DAY);
          const restores = w.points.filter((p) => p.name === 'TimeToRestore').map((p) => p.value);
          expect(restores.length).toBe(r.restore.count);
          expect(avg(restores)).toBe(r.restore.mean);
          expect(w.points.filter((p) => p.name === 'ChangeFailures').length).toBe(r.changeFailures.failed);
        },
      ),
      fuzzParams(),
    );
  });
});
