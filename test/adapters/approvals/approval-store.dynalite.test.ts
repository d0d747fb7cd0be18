import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { ACTION_APPROVE } from '#core/approvals/render';
import { signSlackRequest } from '#core/approvals/signing';
import { handleApprovalHttp } from '../../../functions/approval-api/http.ts';
import { startDynalite } from '../../helpers/dynalite.ts';
import { NOW, pendingRecord } from '../../unit/approvals/fakes.ts';
import { apiSetup, formFor, httpEvent, linkFor, postForm, SIGNING_SECRET } from '../../unit/approvals/helpers.ts';

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

let n = 0;
const freshId = () => `appr_dynalite_${String(++n).padStart(12, '0')}`;

const withDynamo = async (over: Parameters<typeof pendingRecord>[0] = {}) => {
  const record = pendingRecord({ id: freshId(), ...over });
  const store = new DynamoApprovalStore(db.doc, db.tableName);
  expect(await store.create(record)).toBe(true);
  const t = apiSetup(record);
  t.deps.store = store;
  return { ...t, store };
};

describe('DynamoApprovalStore on dynalite', () => {
  it('create is conditional (duplicate deliveries lose), and the record round-trips', async () => {
    const record = pendingRecord({ id: freshId() });
    const store = new DynamoApprovalStore(db.doc, db.tableName);
    expect(await store.create(record)).toBe(true);
    expect(await store.create({ ...record, token: 'other' })).toBe(false);
    expect(await store.get(record.id)).toEqual(record);
    expect(await store.listPendingIds()).toContain(record.id);
    expect((await store.listByExecution('web', 'exec-1')).map((r) => r.id)).toContain(record.id);
  });

  it('100 concurrent decision POSTs on one approval yield exactly one PutApprovalResult', async () => {
    const emails = Array.from({ length: 100 }, (_, i) => `p${i}@example.com`);
    const { deps, id, calls, store } = await withDynamo({ route: { emails } });
    const started = performance.now();
    const results = await Promise.all(
      emails.map((e) => handleApprovalHttp(postForm(id, formFor(id, linkFor(id, e), 'approve')), deps)),
    );
    const elapsed = performance.now() - started;
    expect(calls).toHaveLength(1);
    const codes = results.map((r) => r.statusCode ?? 0);
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.every((c) => c === 200 || c === 409)).toBe(true);
    const final = await store.get(id);
    expect(final?.status).toBe('APPROVED');
    expect(final?.decidedBy).toBeDefined();
    console.info(
      `100 concurrent POSTs on dynalite: ${elapsed.toFixed(0)} ms, statuses ${JSON.stringify(countBy(codes))}`,
    );
    // ~700 DynamoDB calls through an in-process emulator: seconds on a busy 2-core runner, not a hang.
  }, 30_000);

  it('the same form posted 100 times concurrently records one vote and one decision', async () => {
    const { deps, id, calls } = await withDynamo({
      route: { policy: { allow: [], quorum: 2, allowSelfApproval: false, rejectNeedsReason: true } },
    });
    const form = formFor(id, linkFor(id), 'approve');
    const results = await Promise.all(Array.from({ length: 100 }, () => handleApprovalHttp(postForm(id, form), deps)));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(calls).toHaveLength(0); // quorum 2: one vote is not a decision
    const record = await deps.store.get(id);
    expect(record?.approveCount).toBe(1);
  }, 30_000);

  it('quorum 2 across one Slack and one email approver: one PutApprovalResult, after the second', async () => {
    const { deps, id, calls, store } = await withDynamo({
      route: {
        slackChannels: ['C1'],
        policy: { allow: [], quorum: 2, allowSelfApproval: false, rejectNeedsReason: true },
      },
      slackPosts: [{ channel: 'C1', ts: '1.1' }],
    });
    const ts = Date.parse(NOW) / 1000;
    const raw = `payload=${encodeURIComponent(
      JSON.stringify({
        type: 'block_actions',
        user: { id: 'U0ANA', name: 'ana' },
        channel: { id: 'C1' },
        container: { type: 'message', channel_id: 'C1', message_ts: '1.1' },
        message: { ts: '1.1' },
        actions: [{ action_id: ACTION_APPROVE, value: id }],
      }),
    )}`;
    const slack = await handleApprovalHttp(
      httpEvent('POST', '/slack/interactions', {
        body: raw,
        headers: {
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': signSlackRequest(SIGNING_SECRET, ts, raw),
        },
      }),
      deps,
    );
    expect(slack.statusCode).toBe(200);
    expect(calls).toHaveLength(0);
    expect((await store.get(id))?.approveCount).toBe(1);
    const email = await handleApprovalHttp(
      postForm(id, formFor(id, linkFor(id, 'bo@example.com'), 'approve', 'ok')),
      deps,
    );
    expect(email.statusCode).toBe(200);
    expect(calls).toEqual([
      expect.objectContaining({
        result: { status: 'Approved', summary: 'Approved by ana <slack:U0ANA>, bo@example.com via email: ok' },
      }),
    ]);
    const final = await store.get(id);
    expect(final).toMatchObject({ status: 'APPROVED', approvers: ['ana <slack:U0ANA>', 'bo@example.com'] });
    const audit = await store.listAudit(id);
    expect(audit.map((a) => a.event).sort()).toEqual(['decided', 'vote']);
    // Both entries carry the same instant (a frozen test clock), so compare without relying on their order.
    const byExecution = (await store.listAuditByExecution('web', 'exec-1')).filter((a) => a.approvalId === id);
    expect(byExecution.map((a) => [a.event, a.actor, a.channel]).sort()).toEqual([
      ['decided', 'bo@example.com', 'email'],
      ['vote', 'ana <slack:U0ANA>', 'slack'],
    ]);
    expect(byExecution.find((a) => a.event === 'decided')).toMatchObject({
      sourceIp: '203.0.113.7',
      userAgent: 'test-agent',
      comment: 'ok',
      approvedAt: NOW,
    });
    expect(await store.listPendingIds()).not.toContain(id);
  });

  it('close never races a live decider; a stale one is taken over', async () => {
    const { store, id } = await withDynamo();
    const now = new Date(NOW);
    expect(await store.beginDecision(id, now, { staleBefore: new Date(now.getTime() - 60_000) })).toMatchObject({
      status: 'DECIDING',
    });
    expect(await store.close(id, 'CLOSED', 'x', now, new Date(now.getTime() - 60_000))).toBeUndefined();
    expect(await store.beginDecision(id, now, { staleBefore: new Date(now.getTime() - 60_000) })).toBeUndefined();
    const later = new Date(now.getTime() + 120_000);
    expect(await store.beginDecision(id, later, { staleBefore: new Date(later.getTime() - 60_000) })).toMatchObject({
      status: 'DECIDING',
    });
    await store.abortDecision(id);
    expect(await store.close(id, 'SUPERSEDED', 'newer execution', later)).toMatchObject({
      status: 'SUPERSEDED',
      closedReason: 'newer execution',
    });
    expect(await store.close(id, 'CLOSED', 'again', later)).toBeUndefined();
  });

  it('enrich applies SNS details once, only to an EventBridge-discovered pending approval', async () => {
    const { store, id } = await withDynamo({ source: 'eventbridge', expiresAt: '2026-03-09T10:00:00.000Z' });
    const details = {
      expiresAt: '2026-03-05T08:30:00.000Z',
      customData: 'why',
      consoleLink: 'https://console.example',
    };
    expect(await store.enrich(id, details)).toMatchObject({ source: 'sns', ...details });
    expect(await store.enrich(id, { expiresAt: '2026-03-06T00:00:00.000Z' })).toBeUndefined();
    expect((await store.get(id))?.expiresAt).toBe('2026-03-05T08:30:00.000Z');
  });

  it('claim claims once per value read', async () => {
    const { store, id } = await withDynamo();
    const t = new Date(NOW);
    expect(await store.claim(id, 'lastRemindedAt', undefined, t)).toBe(true);
    expect(await store.claim(id, 'lastRemindedAt', undefined, t)).toBe(false);
    expect(await store.claim(id, 'lastRemindedAt', t.toISOString(), new Date(t.getTime() + 1))).toBe(true);
  });
});

const countBy = (xs: number[]) => {
  const out: Record<number, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
};
