import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { State } from '#core/schemas/codepipeline-events';
import { mergeTransition, type TimelineRecord } from '#core/timeline/record';
import type { Transition } from '#core/timeline/transition';

const EXEC = '12345678-1234-5678-abcd-12345678abcd';
let seq = 0;
const at = (s: number) => new Date(Date.UTC(2020, 0, 24, 22, 0, s)).toISOString();
const tr = (state: State, second: number, extra: Partial<Transition> = {}): Transition => ({
  eventId: `e-${++seq}`,
  scope: 'pipeline',
  pipeline: 'myPipeline',
  executionId: EXEC,
  state,
  time: at(second),
  ...extra,
});

const fold = (events: readonly Transition[]): TimelineRecord | undefined =>
  events.reduce<TimelineRecord | undefined>((r, t) => mergeTransition(r, t).record, undefined);

describe('mergeTransition', () => {
  it('computes the duration when the terminal event arrives', () => {
    const started = mergeTransition(undefined, tr('STARTED', 0));
    expect(started.record).toMatchObject({ type: 'execution', state: 'STARTED', startedAt: at(0) });
    expect(started.record.durationMs).toBeUndefined();
    const failed = mergeTransition(started.record, tr('FAILED', 95));
    expect(failed).toMatchObject({ advanced: true, changed: true });
    expect(failed.record).toMatchObject({ state: 'FAILED', endedAt: at(95), durationMs: 95_000 });
  });

  it('never regresses a terminal state when STARTED arrives late, but learns the start time', () => {
    const failed = mergeTransition(undefined, tr('FAILED', 95));
    expect(failed.record.durationMs).toBeUndefined();
    const lateStart = mergeTransition(failed.record, tr('STARTED', 0));
    expect(lateStart).toMatchObject({ advanced: false, changed: true });
    expect(lateStart.record).toMatchObject({
      state: 'FAILED',
      startedAt: at(0),
      firstSeenAt: at(0),
      durationMs: 95_000,
    });
  });

  it('ignores STOPPING that arrives after STOPPED in the same second (rank decides)', () => {
    const stopped = fold([tr('STARTED', 0), tr('STOPPED', 10)]);
    const r = mergeTransition(stopped, tr('STOPPING', 10));
    expect(r).toMatchObject({ advanced: false, changed: false });
    expect(r.record.state).toBe('STOPPED');
  });

  it('does not reopen a terminal pipeline execution on a later STARTED or STOPPING', () => {
    const failed = fold([tr('STARTED', 0), tr('FAILED', 10)]);
    expect(mergeTransition(failed, tr('STARTED', 20)).advanced).toBe(false);
    expect(mergeTransition(failed, tr('STOPPING', 20)).record.state).toBe('FAILED');
  });

  it('reopens a FAILED execution on a later RESUMED and measures the whole run', () => {
    const failed = fold([tr('STARTED', 0), tr('FAILED', 10)]);
    const resumed = mergeTransition(failed, tr('RESUMED', 30));
    expect(resumed.advanced).toBe(true);
    expect(resumed.record.state).toBe('RESUMED');
    expect(resumed.record.endedAt).toBeUndefined();
    expect(resumed.record.durationMs).toBeUndefined();
    const done = mergeTransition(resumed.record, tr('SUCCEEDED', 50));
    expect(done.record).toMatchObject({ state: 'SUCCEEDED', durationMs: 50_000 });
  });

  it('treats a stale FAILED arriving after RESUMED as stale', () => {
    const resumed = fold([tr('STARTED', 0), tr('RESUMED', 30)]);
    const r = mergeTransition(resumed, tr('FAILED', 10));
    expect(r.advanced).toBe(false);
    expect(r.record.state).toBe('RESUMED');
  });

  it('lets a retried action start again after it failed', () => {
    const a = { scope: 'action' as const, stage: 'Deploy', action: 'Deploy' };
    const failed = fold([tr('STARTED', 0, a), tr('FAILED', 10, a)]);
    const retry = mergeTransition(failed, tr('STARTED', 40, a));
    expect(retry).toMatchObject({ advanced: true });
    expect(retry.record).toMatchObject({ type: 'action-execution', state: 'STARTED', startedAt: at(0) });
  });

  it('keeps the execution result that came with the current state', () => {
    const a = { scope: 'action' as const, stage: 'Deploy', action: 'Deploy' };
    const failed = fold([
      tr('STARTED', 0, a),
      tr('FAILED', 10, { ...a, result: { summary: 'Deployment d-1 failed', errorCode: 'JobFailed' } }),
    ]);
    expect(failed?.result).toEqual({ summary: 'Deployment d-1 failed', errorCode: 'JobFailed' });
    const late = mergeTransition(failed, tr('STARTED', 0, a));
    expect(late.record.result).toEqual({ summary: 'Deployment d-1 failed', errorCode: 'JobFailed' });
  });

  it('counts a replay of the event that set the state as advanced, without a write', () => {
    const failedEvent = tr('FAILED', 10);
    const failed = fold([tr('STARTED', 0), failedEvent]);
    expect(mergeTransition(failed, failedEvent)).toEqual({ record: failed, advanced: true, changed: false });
  });

  it('reports no change for an event that adds nothing', () => {
    const started = fold([tr('STARTED', 0)]);
    expect(mergeTransition(started, tr('STARTED', 0)).changed).toBe(false);
  });

  it('keys stage and action records under the execution', () => {
    expect(mergeTransition(undefined, tr('STARTED', 0, { scope: 'stage', stage: 'Prod' })).record).toMatchObject({
      type: 'stage-execution',
      executionId: EXEC,
      stage: 'Prod',
    });
  });

  // Realistic lifecycles with non-decreasing times; each element is one delivered event.
  const lifecycles: Array<[string, Array<[State, number]>]> = [
    [
      'succeeded',
      [
        ['STARTED', 0],
        ['SUCCEEDED', 60],
      ],
    ],
    [
      'failed fast (same second)',
      [
        ['STARTED', 5],
        ['FAILED', 5],
      ],
    ],
    [
      'stopped',
      [
        ['STARTED', 0],
        ['STOPPING', 40],
        ['STOPPED', 40],
      ],
    ],
    [
      'failed, resumed, succeeded',
      [
        ['STARTED', 0],
        ['FAILED', 20],
        ['RESUMED', 90],
        ['SUCCEEDED', 120],
      ],
    ],
    [
      'failed, resumed, failed again',
      [
        ['STARTED', 0],
        ['FAILED', 20],
        ['RESUMED', 90],
        ['FAILED', 100],
      ],
    ],
    [
      'superseded',
      [
        ['STARTED', 0],
        ['SUPERSEDED', 30],
      ],
    ],
  ];

  it.each(lifecycles)('gives the same record for every arrival order and duplicate (%s)', (_name, steps) => {
    const events = steps.map(([s, sec]) => tr(s, sec));
    const inOrder = fold(events);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
        fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 3 }),
        (shuffled, dupes) => {
          // Redeliveries of the same event (same id) are folded too: the merge itself must be idempotent.
          const delivered = [...shuffled, ...dupes.map((i) => events[i] as Transition)];
          const r = fold(delivered);
          expect(r).toEqual(inOrder);
        },
      ),
    );
  });

  it('never leaves a terminal state for an earlier-timed event (property)', () => {
    const states: State[] = ['STARTED', 'RESUMED', 'STOPPING', 'SUCCEEDED', 'FAILED', 'STOPPED', 'CANCELED'];
    fc.assert(
      fc.property(
        fc.constantFrom<State>('SUCCEEDED', 'FAILED', 'STOPPED', 'CANCELED', 'SUPERSEDED'),
        fc.integer({ min: 1, max: 59 }),
        fc.array(fc.tuple(fc.constantFrom(...states), fc.integer({ min: 0, max: 59 }))),
        (terminal, sec, later) => {
          let r = fold([tr(terminal, sec)]);
          for (const [s, t] of later) {
            if (t >= sec) continue;
            r = mergeTransition(r, tr(s, t)).record;
          }
          expect(r?.state).toBe(terminal);
          expect(r?.endedAt).toBe(at(sec));
        },
      ),
    );
  });
});
