import { describe, expect, it } from 'vitest';
import { announce, linkExpiry, syncMessages } from '#core/approvals/notify';
import { FakeClock, FakeMailer, FakeSlack, KEYS, MemoryApprovalStore, NOW, pendingRecord } from './fakes.ts';

describe('notify', () => {
  it('a stale caller cannot put an older state back on the Slack message', async () => {
    const store = new MemoryApprovalStore();
    const slack = new FakeSlack();
    const stale = pendingRecord({ slackPosts: [{ channel: 'C1', ts: '1.1' }] });
    store.records.set(stale.id, { ...stale, status: 'APPROVED', decidedBy: 'bo@example.com', decidedAt: NOW });
    await syncMessages(stale, { slack, store, clock: new FakeClock(NOW), warn: () => {} });
    expect(slack.updated[0]?.text).toContain('Approved by bo@example.com');
    expect(JSON.stringify(slack.updated[0]?.blocks)).not.toContain('stagecrew_approve');
  });

  it('links never outlive the action; a failing recipient does not stop the others', async () => {
    const store = new MemoryApprovalStore();
    const r = pendingRecord({ expiresAt: '2026-03-02T11:00:00.000Z' });
    store.records.set(r.id, structuredClone(r));
    expect(linkExpiry(r, new Date(NOW)).toISOString()).toBe('2026-03-02T11:00:00.000Z');
    const mailer = new FakeMailer();
    const send = mailer.send.bind(mailer);
    mailer.send = async (m) => {
      if (m.to[0] === 'ana@example.com') throw new Error('rejected');
      return send(m);
    };
    const warnings: string[] = [];
    const out = await announce(
      r,
      { slackChannels: [], emails: ['ana@example.com', 'bo@example.com'] },
      {
        store,
        mailer,
        keys: async () => KEYS,
        baseUrl: 'https://a.example',
        clock: new FakeClock(NOW),
        warn: (m) => warnings.push(m),
      },
    );
    expect(out.emailedTo).toEqual(['bo@example.com']);
    expect(warnings).toEqual(['could not email approval']);
    expect(new URL(/https:\S+/.exec(mailer.sent[0]?.text ?? '')?.[0] ?? '').searchParams.get('e')).toBe(
      String(Date.parse('2026-03-02T11:00:00Z') / 1000),
    );
  });
});
