/**
 * The approval store's writes under a dropped answer, for real: each write reaches dynalite (a real DynamoDB
 * evaluating the conditions), then the connection "drops" (`ECONNRESET` after the write), and the deployed retry
 * strategy sends it again. Every write must come out as if it had been answered once.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { clientSettings } from '#core/clients';
import { startDynalite } from '../helpers/dynalite.ts';
import { type FaultStep, scriptFaults } from '../helpers/sdk-faults.ts';
import { pendingRecord } from '../unit/approvals/fakes.ts';

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

let n = 0;
const freshId = () => `appr_faults_${String(++n).padStart(12, '0')}`;

/** A store over a client with the deployed settings, whose attempts follow `script` and then pass. */
const storeWith = (script: FaultStep[]) => {
  const client = new DynamoDBClient(clientSettings({}, { STAGECREW_LOCAL_ENDPOINT: db.endpoint }));
  const faults = scriptFaults(client, script, { passByDefault: true });
  return { faults, store: new DynamoApprovalStore(createDocumentClient(client), db.tableName) };
};
const plain = () => new DynamoApprovalStore(db.doc, db.tableName);
const created = async (over: Parameters<typeof pendingRecord>[0] = {}) => {
  const record = pendingRecord({ id: freshId(), ...over });
  expect(await plain().create(record)).toBe(true);
  return record;
};
const vote = { decision: 'approve' as const, channel: 'email' as const, at: '2026-03-02T10:00:00.000Z' };

describe('approval store writes whose answer is dropped (dynalite)', () => {
  it('create: the retry finds its own approval (true), a real duplicate still loses (false)', async () => {
    const record = pendingRecord({ id: freshId() });
    // PutItem #1 is the pending marker, #2 the approval.
    const { store, faults } = storeWith(['pass', 'drop-after']);
    expect(await store.create(record)).toBe(true);
    expect(faults.attempts.map((a) => `${a.operation}:${a.step}`)).toEqual([
      'PutItem:pass',
      'PutItem:drop-after',
      'PutItem:pass',
      'GetItem:pass',
    ]);
    expect(await plain().create(record)).toBe(false);
    expect(await plain().get(record.id)).toEqual(record);
  });

  it('vote: the retry is the same vote (true); another request of the same voter is refused', async () => {
    const record = await created();
    const { store } = storeWith(['drop-after']);
    expect(await store.putVote(record.id, 'email:ana@example.com', vote)).toBe(true);
    expect(await plain().putVote(record.id, 'email:ana@example.com', vote)).toBe(false);
  });

  it('nonce: the retry consumes it once (true); a replay of the page is refused', async () => {
    const record = await created();
    const { store } = storeWith(['drop-after']);
    const until = new Date('2026-03-03T00:00:00Z');
    expect(await store.consumeNonce(record.id, 'n-1', until)).toBe(true);
    expect(await plain().consumeNonce(record.id, 'n-1', until)).toBe(false);
  });

  it('count approval: one approver counts once (a quorum of 2 is not reached alone)', async () => {
    const record = await created();
    const { store } = storeWith(['drop-after']);
    const after = await store.addApproval(record.id, 'ana@example.com');
    expect({ count: after?.approveCount, approvers: after?.approvers }).toEqual({
      count: 1,
      approvers: ['ana@example.com'],
    });
    expect((await plain().addApproval(record.id, 'bob@example.com'))?.approveCount).toBe(2);
  });

  it('begin decision: the retry is still the decider; a second decider is refused', async () => {
    const record = await created();
    const { store } = storeWith(['drop-after']);
    const now = new Date('2026-03-02T10:00:00Z');
    const staleBefore = new Date('2026-03-02T09:59:00Z');
    expect((await store.beginDecision(record.id, now, { staleBefore }))?.status).toBe('DECIDING');
    expect(await plain().beginDecision(record.id, now, { staleBefore })).toBeUndefined();
  });

  it('announce claim: the retry holds the claim (true); another claimer loses', async () => {
    const record = await created();
    const { store } = storeWith(['drop-after']);
    const now = new Date('2026-03-02T10:00:00Z');
    expect(await store.claim(record.id, 'announcedAt', undefined, now)).toBe(true);
    expect(await plain().claim(record.id, 'announcedAt', undefined, now)).toBe(false);
  });

  it('notified: the Slack post and the emails are recorded once', async () => {
    const record = await created();
    const { store } = storeWith(['drop-after']);
    await store.recordNotified(record.id, [{ channel: 'C1', ts: '1.2' }], ['ana@example.com']);
    const got = await plain().get(record.id);
    expect({ posts: got?.slackPosts, emailed: got?.emailedTo }).toEqual({
      posts: [{ channel: 'C1', ts: '1.2' }],
      emailed: ['ana@example.com'],
    });
  });

  it('audit: one entry, no error', async () => {
    const record = await created();
    const { store } = storeWith(['drop-after']);
    await store.audit({
      approvalId: record.id,
      pipeline: record.pipeline,
      executionId: record.executionId,
      at: '2026-03-02T10:00:01.000Z',
      event: 'decided',
      actor: 'ana@example.com',
      channel: 'email',
    });
    expect((await plain().listAudit(record.id)).filter((a) => a.event === 'decided')).toHaveLength(1);
  });

  it('the deployed client really retried: two attempts reached dynalite for the dropped write', async () => {
    const record = await created();
    const { store, faults } = storeWith(['drop-after']);
    await store.putVote(record.id, 'email:bob@example.com', vote);
    expect(faults.attempts.map((a) => a.step)).toEqual(['drop-after', 'pass', 'pass']);
    const raw = await db.client.send(
      new GetItemCommand({
        TableName: db.tableName,
        Key: { pk: { S: `APPROVAL#${record.id}` }, sk: { S: 'VOTE#email:bob@example.com' } },
      }),
    );
    expect(raw.Item?.decision?.S).toBe('approve');
  });
});
