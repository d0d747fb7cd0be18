import { describe, expect, it } from 'vitest';
import {
  changeFailures,
  deliveryFigures,
  deploymentOf,
  failureOf,
  percentile,
  teardownWeeks,
} from '#core/delivery/figures';
import { newFigures } from '#core/delivery/signals';
import { type DeliverySummary, projectRecord } from '#core/delivery/summary';
import type { TimelineRecord } from '#core/timeline/record';

const HOUR = 3_600_000;
const policy = { productionStage: 'Deploy', failureWindowMs: 24 * HOUR };

/** A summary as the projection builds it: started at `start`, the Deploy stage ending at `deployAt`. */
const run = (
  id: string,
  start: string,
  outcome: { deployAt?: string; failAt?: string; rollback?: boolean; commitAt?: string; sourceAt?: string },
): DeliverySummary => ({
  pipeline: 'web',
  executionId: id,
  anchorAt: start,
  execution: {
    rev: 3,
    state: outcome.failAt ? 'FAILED' : 'SUCCEEDED',
    startedAt: start,
    endedAt: outcome.failAt ?? outcome.deployAt ?? start,
    ...(outcome.rollback ? { triggerType: 'ManualRollback' } : { triggerType: 'WebhookV2' }),
    ...(outcome.commitAt ? { commitAt: outcome.commitAt } : {}),
  },
  stages: outcome.deployAt ? { Deploy: { rev: 2, state: 'SUCCEEDED', at: outcome.deployAt } } : {},
  approvals: {},
  ...(outcome.sourceAt ? { sourceAt: outcome.sourceAt } : {}),
});

describe('deployments and lead time', () => {
  it('counts the production stage’s success, from the trigger’s commit, else the source revision, else the start', () => {
    const fromCommit = run('a', '2026-03-02T10:00:00.000Z', {
      deployAt: '2026-03-02T10:30:00.000Z',
      commitAt: '2026-03-02T09:00:00.000Z',
      sourceAt: '2026-03-02T08:00:00.000Z',
    });
    const fromSource = run('b', '2026-03-02T10:00:00.000Z', {
      deployAt: '2026-03-02T10:30:00.000Z',
      sourceAt: '2026-03-02T08:00:00.000Z',
    });
    const fromStart = run('c', '2026-03-02T10:00:00.000Z', { deployAt: '2026-03-02T10:30:00.000Z' });
    expect(deploymentOf(fromCommit, policy)).toMatchObject({ leadTimeMs: 1.5 * HOUR, leadTimeFrom: 'commit' });
    expect(deploymentOf(fromSource, policy)).toMatchObject({ leadTimeMs: 2.5 * HOUR, leadTimeFrom: 'commit' });
    expect(deploymentOf(fromStart, policy)).toMatchObject({ leadTimeMs: 0.5 * HOUR, leadTimeFrom: 'start' });
  });

  it('does not count a rollback as a deployment, nor an execution that never reached the production stage', () => {
    const rollback = run('r', '2026-03-02T10:00:00.000Z', { deployAt: '2026-03-02T10:05:00.000Z', rollback: true });
    expect(deploymentOf(rollback, policy)).toBeUndefined();
    expect(failureOf(rollback)).toMatchObject({ cause: 'rollback', at: '2026-03-02T10:00:00.000Z' });
    expect(deploymentOf(run('f', '2026-03-02T10:00:00.000Z', { failAt: '2026-03-02T10:01:00.000Z' }), policy)).toBe(
      undefined,
    );
  });

  it('without a production stage, the execution’s own success is the deployment', () => {
    const s = run('a', '2026-03-02T10:00:00.000Z', { deployAt: '2026-03-02T10:30:00.000Z' });
    expect(deploymentOf(s, { productionStage: undefined })).toMatchObject({ at: '2026-03-02T10:30:00.000Z' });
  });
});

describe('change failures and time to restore', () => {
  it('orders points that share a second by the start of their executions (event times have second precision)', () => {
    // Run b started after run a deployed, and failed within the same second as that deployment.
    const a = run('b0000000', '2026-03-02T10:00:00.000Z', { deployAt: '2026-03-02T10:00:05.000Z' });
    const b = run('a0000000', '2026-03-02T10:00:05.000Z', { failAt: '2026-03-02T10:00:05.000Z' });
    const deployment = deploymentOf(a, policy);
    const failure = failureOf(b);
    expect(deployment && failure && [...changeFailures([deployment], [failure], policy.failureWindowMs)]).toEqual([
      'b0000000',
    ]);
  });

  it('counts a failure after the window, or after the next deployment, against neither', () => {
    const d1 = run('d1', '2026-03-02T10:00:00.000Z', { deployAt: '2026-03-02T10:10:00.000Z' });
    const d2 = run('d2', '2026-03-02T11:00:00.000Z', { deployAt: '2026-03-02T11:10:00.000Z' });
    const late = run('f1', '2026-03-04T10:00:00.000Z', { failAt: '2026-03-04T10:05:00.000Z' });
    const window = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-03-10T00:00:00Z') };
    const f = deliveryFigures('web', [d1, d2, late], window, policy);
    expect(f.changeFailureRate).toEqual({ deployments: 2, failed: 0, rate: 0 });
    // The failure opens an episode nothing restored yet.
    expect(f.timeToRestoreMs).toEqual({ count: 0, open: 1 });
  });

  it('measures time to restore from the first failure of an episode to the next deployment', () => {
    const ok = run('1', '2026-03-02T10:00:00.000Z', { deployAt: '2026-03-02T10:10:00.000Z' });
    const f1 = run('2', '2026-03-02T11:00:00.000Z', { failAt: '2026-03-02T11:05:00.000Z' });
    const f2 = run('3', '2026-03-02T12:00:00.000Z', { failAt: '2026-03-02T12:05:00.000Z' });
    const fix = run('4', '2026-03-02T13:00:00.000Z', { deployAt: '2026-03-02T13:05:00.000Z' });
    const window = { from: new Date('2026-03-02T00:00:00Z'), to: new Date('2026-03-03T00:00:00Z') };
    const f = deliveryFigures('web', [fix, f2, ok, f1], window, policy);
    expect(f.timeToRestoreMs).toEqual({ count: 1, p50: 2 * HOUR, p90: 2 * HOUR, mean: 2 * HOUR, open: 0 });
    expect(f.changeFailureRate).toEqual({ deployments: 2, failed: 1, rate: 0.5 });
    expect(f.days).toEqual([{ day: '2026-03-02', deployments: 2, failures: 2, leadTimeP50Ms: 5 * 60_000 }]);
  });
});

describe('percentile (nearest rank)', () => {
  it('takes the value at rank ⌈p/100 · n⌉', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([7], 90)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
  });
});

describe('projection of timeline records', () => {
  const record = (r: Partial<TimelineRecord>): TimelineRecord => ({
    type: 'stage-execution',
    pipeline: 'web',
    executionId: 'e1',
    state: 'SUCCEEDED',
    stateAt: '2026-03-02T10:10:00.000Z',
    firstSeenAt: '2026-03-02T10:05:00.000Z',
    lastEventId: 'x',
    ...r,
  });

  it('keeps the newer revision of a record whatever order the writes come in', () => {
    const newer = { record: record({ stage: 'Deploy', endedAt: '2026-03-02T10:10:00.000Z' }), revision: 2 };
    const older = { record: record({ stage: 'Deploy', state: 'STARTED' }), revision: 1 };
    const a = projectRecord(projectRecord(undefined, older).summary, newer).summary;
    const b = projectRecord(projectRecord(undefined, newer).summary, older);
    expect(b.changed).toBe(false);
    expect(b.summary).toEqual(a);
    expect(a.stages.Deploy).toEqual({ rev: 2, state: 'SUCCEEDED', at: '2026-03-02T10:10:00.000Z' });
  });

  it('ignores actions that are not approvals', () => {
    const build = record({
      type: 'action-execution',
      stage: 'Build',
      action: 'Build',
      actionType: { category: 'Build' },
    });
    expect(projectRecord(undefined, { record: build, revision: 1 }).changed).toBe(false);
  });
});

describe('what an update makes known (CloudWatch)', () => {
  it('publishes a deployment once its execution’s start is known, and an approval once both ends are', async () => {
    const base = run('e1', '2026-03-02T10:00:00.000Z', { deployAt: '2026-03-02T10:30:00.000Z' });
    const withoutStart: DeliverySummary = { ...base, execution: undefined };
    expect(await newFigures(undefined, withoutStart, async () => [], policy)).toEqual([]);
    expect(await newFigures(withoutStart, base, async () => [base], policy)).toEqual([
      { name: 'Deployments', unit: 'Count', value: 1, stage: 'Deploy' },
      { name: 'LeadTime', unit: 'Milliseconds', value: 0.5 * HOUR, stage: 'Deploy' },
    ]);
    // The same summary again (a redelivered event): nothing new.
    expect(await newFigures(base, base, async () => [base], policy)).toEqual([]);

    const decided = {
      ...base,
      approvals: {
        'Approve/Manual': {
          rev: 2,
          state: 'SUCCEEDED' as const,
          seenAt: '2026-03-02T10:10:00.000Z',
          decidedAt: '2026-03-02T10:20:00.000Z',
        },
      },
    };
    expect(await newFigures(base, decided, async () => [], policy)).toEqual([]);
    const requested = {
      ...decided,
      approvals: {
        'Approve/Manual': { ...decided.approvals['Approve/Manual'], requestedAt: '2026-03-02T10:05:00.000Z' },
      },
    };
    expect(await newFigures(decided, requested, async () => [], policy)).toEqual([
      { name: 'ApprovalWait', unit: 'Milliseconds', value: 15 * 60_000, stage: 'Approve' },
    ]);
  });
});

describe('teardown outcomes per week', () => {
  it('groups finished runs by the Monday of their week, dry runs counted apart', () => {
    const weeks = teardownWeeks([
      {
        runId: 'a',
        reason: 'FAILED',
        dryRun: false,
        status: 'FINISHED',
        startedAt: 'x',
        finishedAt: '2026-03-04T10:00:00.000Z',
        counts: { DELETED: 2 },
      },
      {
        runId: 'b',
        reason: 'FAILED',
        dryRun: false,
        status: 'FINISHED',
        startedAt: 'x',
        finishedAt: '2026-03-08T23:59:00.000Z',
        counts: { DELETED: 1, DELETE_FAILED: 1 },
      },
      {
        runId: 'c',
        reason: 'FAILED',
        dryRun: true,
        status: 'FINISHED',
        startedAt: 'x',
        finishedAt: '2026-03-09T00:00:00.000Z',
        counts: { DELETED: 5 },
      },
      {
        runId: 'd',
        reason: 'FAILED',
        dryRun: false,
        status: 'CANCELLED',
        startedAt: 'x',
        finishedAt: '2026-03-10T00:00:00.000Z',
        counts: {},
      },
    ]);
    expect(weeks).toEqual([
      { week: '2026-03-02', runs: 2, cancelled: 0, dryRuns: 0, stacks: { DELETED: 3, DELETE_FAILED: 1 } },
      { week: '2026-03-09', runs: 2, cancelled: 1, dryRuns: 1, stacks: {} },
    ]);
  });
});

describe('approval waits', () => {
  it('reports the wait overall and per approval action (each routed to its own approvers)', () => {
    const approval = (requestedAt: string, decidedAt: string, state: 'SUCCEEDED' | 'FAILED') => ({
      rev: 2,
      state,
      seenAt: requestedAt,
      requestedAt,
      decidedAt,
    });
    const s: DeliverySummary = {
      ...run('a', '2026-03-02T10:00:00.000Z', { deployAt: '2026-03-02T12:00:00.000Z' }),
      approvals: {
        'QA/Signoff': approval('2026-03-02T10:10:00.000Z', '2026-03-02T10:40:00.000Z', 'SUCCEEDED'),
        'Prod/Approve': approval('2026-03-02T11:00:00.000Z', '2026-03-02T11:10:00.000Z', 'SUCCEEDED'),
      },
    };
    const t: DeliverySummary = {
      ...run('b', '2026-03-02T13:00:00.000Z', { failAt: '2026-03-02T14:00:00.000Z' }),
      approvals: { 'QA/Signoff': approval('2026-03-02T13:10:00.000Z', '2026-03-02T14:00:00.000Z', 'FAILED') },
    };
    const window = { from: new Date('2026-03-02T00:00:00Z'), to: new Date('2026-03-03T00:00:00Z') };
    const f = deliveryFigures('web', [s, t], window, policy);
    const MIN = 60_000;
    expect(f.approvalWaitMs).toEqual({
      count: 3,
      p50: 30 * MIN,
      p90: 50 * MIN,
      mean: 30 * MIN,
      approved: 2,
      rejected: 1,
      pending: 0,
    });
    expect(f.approvalWaitByAction).toEqual({
      'Prod/Approve': { count: 1, p50: 10 * MIN, p90: 10 * MIN, mean: 10 * MIN, approved: 1, rejected: 0 },
      'QA/Signoff': { count: 2, p50: 30 * MIN, p90: 50 * MIN, mean: 40 * MIN, approved: 1, rejected: 1 },
    });
    // The rejection is the failed execution's failure signal.
    expect(failureOf(t)).toMatchObject({ cause: 'rejected', at: '2026-03-02T14:00:00.000Z' });
  });
});
