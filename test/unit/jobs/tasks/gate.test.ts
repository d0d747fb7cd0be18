import { describe, expect, it } from 'vitest';
import { zonedToEpoch } from '../../../../functions/core/jobs/calendar.ts';
import { decideJob } from '../../../../functions/core/jobs/runner.ts';
import {
  evaluateGate,
  GATE_DWELL_MS,
  type GateOptions,
  nextOpening,
} from '../../../../functions/core/jobs/tasks/gate.ts';
import { FakeClock, makeJob, world } from '../fakes.ts';

const opts = (o: Partial<GateOptions>): GateOptions => ({
  timezone: 'UTC',
  windows: [],
  freezes: [],
  whenClosed: 'wait',
  maxWaitMinutes: 720,
  ...o,
});
const at = (iso: string) => Date.parse(iso);

describe('gate calendar', () => {
  const weekdays = opts({
    timezone: 'Europe/Berlin',
    windows: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], start: '09:00', end: '16:00' }],
  });

  it('is open inside a window in the configured time zone', () => {
    // Monday 2026-11-23 09:30 in Berlin (UTC+1) is 08:30Z.
    expect(evaluateGate(weekdays, at('2026-11-23T08:30:00Z')).open).toBe(true);
    expect(evaluateGate(weekdays, at('2026-11-23T07:59:00Z')).open).toBe(false);
    expect(evaluateGate(weekdays, at('2026-11-23T15:00:00Z')).open).toBe(false); // 16:00 Berlin: end is exclusive
    expect(evaluateGate(weekdays, at('2026-11-27T10:00:00Z')).open).toBe(false); // Friday
  });

  it('follows daylight saving time', () => {
    // 2026-07-06 is a Monday; Berlin is UTC+2 in summer, so 09:00 local is 07:00Z.
    expect(evaluateGate(weekdays, at('2026-07-06T07:00:00Z')).open).toBe(true);
    expect(evaluateGate(weekdays, at('2026-07-06T06:59:00Z')).open).toBe(false);
    expect(zonedToEpoch(2026, 3, 29, 2, 30, 'Europe/Berlin')).toBe(at('2026-03-29T01:30:00Z')); // inside the DST gap
  });

  it('handles windows that run past midnight', () => {
    const night = opts({ windows: [{ days: ['Sat'], start: '22:00', end: '02:00' }] });
    expect(evaluateGate(night, at('2026-11-28T23:00:00Z')).open).toBe(true); // Saturday night
    expect(evaluateGate(night, at('2026-11-29T01:59:00Z')).open).toBe(true); // early Sunday, still Saturday's window
    expect(evaluateGate(night, at('2026-11-29T02:00:00Z')).open).toBe(false);
    expect(evaluateGate(night, at('2026-11-29T23:00:00Z')).open).toBe(false); // Sunday night
  });

  it('closes during a change freeze given as local dates (end date inclusive)', () => {
    const freeze = opts({
      timezone: 'Europe/Berlin',
      freezes: [{ start: '2026-12-21', end: '2027-01-04', reason: 'year-end freeze' }],
    });
    expect(evaluateGate(freeze, at('2026-12-20T22:59:00Z')).open).toBe(true); // 23:59 on the 20th in Berlin
    const closed = evaluateGate(freeze, at('2026-12-20T23:00:00Z'));
    expect(closed).toEqual({ open: false, why: 'year-end freeze until 2027-01-04T23:00:00.000Z' });
    expect(evaluateGate(freeze, at('2027-01-04T22:59:00Z')).open).toBe(false);
    expect(evaluateGate(freeze, at('2027-01-04T23:00:00Z')).open).toBe(true);
  });

  it('finds the next opening minute', () => {
    expect(nextOpening(weekdays, at('2026-11-23T05:10:30Z'), at('2026-11-24T00:00:00Z'))).toBe(
      at('2026-11-23T08:00:00Z'),
    );
    expect(nextOpening(weekdays, at('2026-11-27T10:00:00Z'), at('2026-11-27T20:00:00Z'))).toBeUndefined();
  });
});

describe('gate task', () => {
  const params = {
    task: 'gate',
    timezone: 'UTC',
    windows: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: '12:00', end: '17:00' }],
  };

  it('passes inside the window with output variables', async () => {
    const w = world({ clock: new FakeClock(at('2026-11-23T13:00:00Z')) });
    w.deps.sleep = async () => {};
    const { report } = await decideJob(makeJob(params), w.deps, 1e5);
    expect(report).toMatchObject({
      kind: 'success',
      outputVariables: { GateDecision: 'open', EvaluatedAt: '2026-11-23T13:00:00.000Z' },
    });
    expect(report.kind === 'success' && report.summary).toBe('gate open: inside Mon,Tue,Wed,Thu,Fri 12:00-17:00 UTC');
  });

  it('fails at once when closed and whenClosed is fail', async () => {
    const w = world();
    w.clock.t = at('2026-11-23T10:00:00Z');
    const { report } = await decideJob(makeJob({ ...params, whenClosed: 'fail' }), w.deps, 1e5);
    expect(report).toMatchObject({
      kind: 'failure',
      type: 'JobFailed',
      message: 'gate closed: outside the deployment windows (UTC)',
    });
  });

  it('waits through continuation until the window opens, then passes', async () => {
    const w = world();
    w.clock.t = at('2026-11-23T10:00:00Z');
    const first = await decideJob(makeJob(params), w.deps, 1e5);
    expect(first.report).toMatchObject({
      kind: 'continuation',
      summary: 'gate closed: outside the deployment windows (UTC); opens at 2026-11-23T12:00:00.000Z',
      percentComplete: 0,
    });
    // Two hours away: one short dwell (so an immediate re-invocation cannot spin), then a continuation.
    expect(w.clock.sleeps).toEqual([GATE_DWELL_MS]);
    w.clock.sleeps.length = 0;

    w.clock.t = at('2026-11-23T11:59:30Z');
    w.clock.sleeps.length = 0;
    const token = first.report.kind === 'continuation' ? first.report.continuationToken : '';
    const second = await decideJob(makeJob(params, { continuationToken: token }), w.deps, 1e5);
    expect(w.clock.sleeps).toEqual([30_000]); // opens within this invocation's budget: sleep, then pass
    expect(second.report).toMatchObject({ kind: 'success', outputVariables: { GateDecision: 'open' } });
  });

  it('fails when the gate does not open before the wait ends', async () => {
    const w = world();
    w.clock.t = at('2026-11-27T18:00:00Z'); // Friday evening; next window Monday
    const { report } = await decideJob(makeJob({ ...params, maxWaitMinutes: 600 }), w.deps, 1e5);
    expect(report).toMatchObject({ kind: 'failure', type: 'JobFailed' });
    expect(report.kind === 'failure' && report.message).toMatch(
      /does not open before the wait ends at 2026-11-28T04:00:00.000Z/,
    );
  });

  it('names bad calendar fields', async () => {
    const w = world();
    for (const [bad, field] of [
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ windows: [{ start: '9:00', end: '17:00' }] }, 'windows[0].start'],
      [{ windows: [{ days: ['Funday'], start: '09:00', end: '17:00' }] }, 'windows[0].days[0]'],
      [{ freezes: [{ start: '2026-12-24', end: '2026-12-20' }] }, 'freezes[0].end'],
      [{ freezes: [{ start: 'Christmas', end: '2026-12-26' }] }, 'freezes[0].start'],
    ] as const) {
      const { report } = await decideJob(makeJob({ task: 'gate', ...bad }), w.deps, 1e5);
      expect(report.kind === 'failure' && report.type).toBe('ConfigurationError');
      expect(report.kind === 'failure' && report.message.startsWith(`${field}:`)).toBe(true);
    }
  });
});
