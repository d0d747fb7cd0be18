import { describe, expect, it } from 'vitest';
import { handleRaw, MemoryRateLimiter, makeWorld, testSettings } from '../timeline/fakes.ts';
import { fixture } from '../timeline/fixtures.ts';

/** A failed execution event with a fresh event id and execution id (a flapping pipeline). */
const failedRun = (i: number) => {
  const e = fixture('pipeline-failed');
  e.id = `flap-${i}`;
  e.detail['execution-id'] = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  return e;
};

describe('per-pipeline notification rate limit', () => {
  it('lets at most perPipeline messages out per window, notes the last one, and resumes next window', async () => {
    // Prepare
    const settings = testSettings({ rateLimit: { perPipeline: 3, windowSeconds: 600 } });
    const w = makeWorld(settings);
    w.clock.set(new Date('2020-01-24T22:00:00Z'));
    // Act
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(await handleRaw(failedRun(i), w.deps));
    // Assess
    expect(outcomes.map((o) => (o.status === 'processed' ? o.notification.status : o.status))).toEqual([
      'sent',
      'sent',
      'sent',
      'rate-limited',
      'rate-limited',
      'rate-limited',
    ]);
    expect(w.slack.posted).toHaveLength(3);
    const last = JSON.stringify(w.slack.posted[2]?.blocks);
    expect(last).toContain('Notification limit for myPipeline reached (3 per 600s)');
    expect(last).toContain('2020-01-24T22:10:00.000Z');
    expect(JSON.stringify(w.slack.posted[1]?.blocks)).not.toContain('Notification limit');
    // Every run is still recorded, and teardown still starts: only messages are limited.
    expect(await w.timeline.listExecutions('myPipeline')).toHaveLength(6);
    expect(w.starter.started).toHaveLength(6);

    w.clock.set(new Date('2020-01-24T22:10:00Z'));
    const next = await handleRaw(failedRun(7), w.deps);
    expect(next).toMatchObject({ notification: { status: 'sent' } });
  });

  it('keeps separate budgets per pipeline', async () => {
    const limiter = new MemoryRateLimiter();
    const now = new Date('2020-01-24T22:00:00Z');
    expect((await limiter.tryAcquire('PIPELINE#a', 1, 60, now)).allowed).toBe(true);
    expect((await limiter.tryAcquire('PIPELINE#a', 1, 60, now)).allowed).toBe(false);
    expect((await limiter.tryAcquire('PIPELINE#b', 1, 60, now)).allowed).toBe(true);
  });
});
