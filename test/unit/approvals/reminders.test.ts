import { describe, expect, it } from 'vitest';
import type { NotifyDeps } from '#core/approvals/notify';
import { sweepReminders } from '#core/approvals/reminders';
import { FakeClock, FakeMailer, FakeSlack, KEYS, MemoryApprovalStore, NOW, pendingRecord } from './fakes.ts';

const setup = () => {
  const store = new MemoryApprovalStore();
  const r = pendingRecord({
    expiresAt: '2026-03-02T16:00:00.000Z',
    slackPosts: [{ channel: 'C1', ts: '1.1' }],
    emailedTo: ['ana@example.com', 'bo@example.com'],
    approvers: ['bo@example.com'],
    route: {
      reminderMinutes: 120,
      escalateBeforeMinutes: 60,
      escalation: { slackChannels: ['C0ONCALL'], emails: ['lead@example.com'] },
    },
  });
  store.records.set(r.id, structuredClone(r));
  store.pending.add(r.id);
  const slack = new FakeSlack();
  const mailer = new FakeMailer();
  const clock = new FakeClock(NOW);
  const deps: NotifyDeps = {
    store,
    slack,
    mailer,
    keys: async () => KEYS,
    baseUrl: 'https://a.example',
    clock,
    warn: () => {},
  };
  return { store, slack, mailer, clock, deps, id: r.id };
};

describe('reminders and escalation', () => {
  it('does nothing before the cadence, reminds once per cadence, escalates before expiry, then expires', async () => {
    const { deps, clock, slack, mailer, store, id } = setup();
    expect((await sweepReminders(deps)).reminded).toEqual([]);

    clock.advance(120 * 60_000); // 12:00
    expect((await sweepReminders(deps)).reminded).toEqual([id]);
    expect(slack.posted).toEqual([expect.objectContaining({ channel: 'C1', threadTs: '1.1' })]);
    expect(slack.posted[0]?.text).toContain('expires in 4 h 0 min');
    // Only recipients who have not voted get a fresh link.
    expect(mailer.sent.map((m) => m.to[0])).toEqual(['ana@example.com']);
    expect((await sweepReminders(deps)).reminded).toEqual([]); // overlapping sweep: claimed already

    clock.advance(3 * 3600_000); // 15:00, one hour before the deadline
    const esc = await sweepReminders(deps);
    expect(esc.escalated).toEqual([id]);
    expect(slack.posted.at(-1)).toMatchObject({ channel: 'C0ONCALL' });
    expect(mailer.sent.at(-1)?.to).toEqual(['lead@example.com']);
    expect(mailer.sent.at(-1)?.subject).toMatch(/^Escalation/);
    expect((await store.get(id))?.slackPosts.map((p) => p.channel)).toEqual(['C1', 'C0ONCALL']);

    clock.advance(3600_000); // 16:00: deadline
    expect((await sweepReminders(deps)).expired).toEqual([id]);
    expect((await store.get(id))?.status).toBe('EXPIRED');
    expect(slack.updated.at(-1)?.text).toContain('Expired without a decision');
    expect(await store.listPendingIds()).toEqual([]);
  });
});
