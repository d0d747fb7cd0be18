/**
 * One contract for every ApprovalStore: the in-memory fake the unit tests use and the DynamoDB adapter (on dynalite)
 * must answer every step of the approval state machine the same way, so the fake cannot drift from the conditions
 * the adapter writes (it once lost the DECIDING owner). Each case observes the store only through the port.
 */
import { describe, expect, it } from 'vitest';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import type { ApprovalStore } from '#core/approvals/ports';
import { useDynalite } from '../../helpers/dynalite.ts';
import { MemoryApprovalStore, pendingRecord } from '../../unit/approvals/fakes.ts';

const dynamo = useDynalite();

const STORES: Array<[string, () => ApprovalStore]> = [
  ['MemoryApprovalStore (the unit-test fake)', () => new MemoryApprovalStore()],
  ['DynamoApprovalStore (dynalite)', () => new DynamoApprovalStore(dynamo().doc, dynamo().tableName)],
];

let n = 0;
const fresh = (over: Parameters<typeof pendingRecord>[0] = {}) =>
  pendingRecord({ id: `appr_contract_${String(++n).padStart(10, '0')}`, ...over });
const T0 = new Date('2026-03-08T10:00:00.000Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

describe.each(STORES)('ApprovalStore contract: %s', (_name, make) => {
  it('creates once and reads the record back as written', async () => {
    const store = make();
    const r = fresh();
    expect(await store.create(r)).toBe(true);
    expect(await store.create({ ...r, token: 'another' })).toBe(false);
    expect(await store.get(r.id)).toEqual(r);
    expect(await store.get('appr_contract_missing')).toBeUndefined();
    expect(await store.listPendingIds()).toContain(r.id);
    expect((await store.listByExecution(r.pipeline, r.executionId)).map((x) => x.id)).toContain(r.id);
  });

  it('uses a nonce once and counts one vote per person (a retracted vote can be cast again)', async () => {
    const store = make();
    const r = fresh();
    await store.create(r);
    const until = later(60_000);
    expect(await store.consumeNonce(r.id, 'n1', until)).toBe(true);
    expect(await store.consumeNonce(r.id, 'n1', until)).toBe(false);
    expect(await store.consumeNonce(r.id, 'n2', until)).toBe(true);
    const vote = { decision: 'approve' as const, channel: 'email' as const, at: T0.toISOString() };
    expect(await store.putVote(r.id, 'ana@example.com', vote)).toBe(true);
    expect(await store.putVote(r.id, 'ana@example.com', vote)).toBe(false);
    await store.retractVote(r.id, 'ana@example.com');
    expect(await store.putVote(r.id, 'ana@example.com', vote)).toBe(true);
  });

  it('counts approvals while pending and decides exactly once (quorum gates the start)', async () => {
    const store = make();
    const r = fresh();
    await store.create(r);
    expect((await store.addApproval(r.id, 'ana'))?.approveCount).toBe(1);
    expect(await store.beginDecision(r.id, T0, { minApprovals: 2, staleBefore: later(-60_000) })).toBeUndefined();
    expect((await store.addApproval(r.id, 'bo'))?.approvers).toEqual(['ana', 'bo']);
    const [a, b] = await Promise.all([
      store.beginDecision(r.id, T0, { minApprovals: 2, staleBefore: later(-60_000) }),
      store.beginDecision(r.id, T0, { minApprovals: 2, staleBefore: later(-60_000) }),
    ]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect((a ?? b)?.status).toBe('DECIDING');
    expect(await store.addApproval(r.id, 'cy')).toBeUndefined();

    const done = await store.finishDecision(r.id, {
      status: 'APPROVED',
      decidedBy: 'bo@example.com',
      decidedAt: later(1_000).toISOString(),
      decisionChannel: 'email',
      approvedAt: later(900).toISOString(),
    });
    expect(done).toMatchObject({ status: 'APPROVED', decidedBy: 'bo@example.com', decisionChannel: 'email' });
    expect(done.decidingSince).toBeUndefined();
    expect(await store.beginDecision(r.id, later(2_000), { staleBefore: later(10_000) })).toBeUndefined();
    expect(await store.close(r.id, 'EXPIRED', 'too late', later(3_000))).toBeUndefined();
    expect((await store.get(r.id))?.status).toBe('APPROVED');
  });

  it('hands a decision back to PENDING, and lets a decider that crashed be taken over once it is stale', async () => {
    const store = make();
    const r = fresh();
    await store.create(r);
    expect(await store.beginDecision(r.id, T0, { staleBefore: later(-60_000) })).toBeDefined();
    await store.abortDecision(r.id);
    const back = await store.get(r.id);
    expect(back?.status).toBe('PENDING');
    expect(back?.decidingSince).toBeUndefined();

    expect(await store.beginDecision(r.id, T0, { staleBefore: later(-60_000) })).toBeDefined();
    // A live decider (started at T0) is not taken over...
    expect(await store.beginDecision(r.id, later(1_000), { staleBefore: later(-59_000) })).toBeUndefined();
    // ...a stale one is.
    const taken = await store.beginDecision(r.id, later(120_000), { staleBefore: later(60_000) });
    expect(taken?.status).toBe('DECIDING');
    expect(taken?.decidingSince).toBe(later(120_000).toISOString());
  });

  it('closes a pending approval, and a deciding one only when its decider started before the given time', async () => {
    const store = make();
    const pending = fresh();
    await store.create(pending);
    const closed = await store.close(pending.id, 'EXPIRED', 'action timed out', T0);
    expect(closed).toMatchObject({ status: 'EXPIRED', closedReason: 'action timed out' });
    expect(await store.close(pending.id, 'CLOSED', 'again', T0)).toBeUndefined();

    const deciding = fresh();
    await store.create(deciding);
    await store.beginDecision(deciding.id, T0, { staleBefore: later(-60_000) });
    expect(await store.close(deciding.id, 'SUPERSEDED', 'newer run', later(1_000))).toBeUndefined();
    expect(await store.close(deciding.id, 'SUPERSEDED', 'newer run', later(1_000), later(-1_000))).toBeUndefined();
    const forced = await store.close(deciding.id, 'CLOSED', 'decider failed', later(1_000), later(1_000));
    expect(forced?.status).toBe('CLOSED');
    expect(forced?.decidingSince).toBeUndefined();
  });

  it('enriches only a pending approval EventBridge found first, once', async () => {
    const store = make();
    const discovered = fresh({ source: 'eventbridge' });
    await store.create(discovered);
    const details = { expiresAt: later(3_600_000).toISOString(), customData: 'release 42' };
    const enriched = await store.enrich(discovered.id, details);
    expect(enriched).toMatchObject({ source: 'sns', expiresAt: details.expiresAt, customData: 'release 42' });
    expect(await store.enrich(discovered.id, details)).toBeUndefined();
    const fromSns = fresh();
    await store.create(fromSns);
    expect(await store.enrich(fromSns.id, details)).toBeUndefined();
  });

  it('records where it was announced, and claims a once-only step once per value read', async () => {
    const store = make();
    const r = fresh();
    await store.create(r);
    await store.recordNotified(r.id, [{ channel: 'C1', ts: '1.1' }], ['ana@example.com']);
    const read = await store.get(r.id);
    expect(read?.slackPosts).toEqual([{ channel: 'C1', ts: '1.1' }]);
    expect(read?.emailedTo).toEqual(['ana@example.com']);
    const [x, y] = await Promise.all([
      store.claim(r.id, 'announcedAt', undefined, T0),
      store.claim(r.id, 'announcedAt', undefined, T0),
    ]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    expect(await store.claim(r.id, 'lastRemindedAt', undefined, T0)).toBe(true);
    expect(await store.claim(r.id, 'lastRemindedAt', T0.toISOString(), later(1_000))).toBe(true);
    expect(await store.claim(r.id, 'lastRemindedAt', T0.toISOString(), later(2_000))).toBe(false);
    await store.close(r.id, 'EXPIRED', 'over', later(3_000));
    expect(await store.claim(r.id, 'escalatedAt', undefined, later(4_000))).toBe(false);
  });

  it('keeps the audit trail in order, per approval and per execution', async () => {
    const store = make();
    const r = fresh({ executionId: `exec-audit-${n}` });
    await store.create(r);
    const entry = (event: 'requested' | 'vote' | 'decided', at: number) => ({
      approvalId: r.id,
      pipeline: r.pipeline,
      executionId: r.executionId,
      at: later(at).toISOString(),
      event,
    });
    await store.audit(entry('requested', 0));
    await store.audit(entry('vote', 1_000));
    await store.audit(entry('decided', 2_000));
    expect((await store.listAudit(r.id)).map((a) => a.event)).toEqual(['requested', 'vote', 'decided']);
    expect((await store.listAuditByExecution(r.pipeline, r.executionId)).map((a) => a.event)).toEqual([
      'requested',
      'vote',
      'decided',
    ]);
  });
});
