import { describe, expect, it, vi } from 'vitest';
import { approvalSummary, type DecideDeps, decide } from '#core/approvals/decide';
import { ApprovalAlreadyCompletedError, ApprovalRefusedError, InvalidApprovalTokenError } from '#core/approvals/errors';
import type { Voter } from '#core/approvals/model';
import { UnavailableError } from '#core/errors';
import { FakeClock, MemoryApprovalStore, NOW, pendingRecord } from './fakes.ts';

const ana: Voter = { channel: 'email', email: 'ana@example.com' };
const bo: Voter = { channel: 'email', email: 'bo@example.com' };
const slackBo: Voter = { channel: 'slack', slackUserId: 'U0BO', email: 'bo@example.com', name: 'Bo' };

const setup = (record = pendingRecord()) => {
  const store = new MemoryApprovalStore();
  store.records.set(record.id, structuredClone(record));
  const putApprovalResult = vi.fn(
    async (_input: unknown): Promise<{ approvedAt?: Date }> => ({ approvedAt: new Date('2026-03-02T10:00:01Z') }),
  );
  const publish = vi.fn(async () => {});
  const deps: DecideDeps = {
    store,
    pipelines: { putApprovalResult },
    publisher: { publish },
    clock: new FakeClock(NOW),
    sleep: async () => {},
  };
  return { store, deps, putApprovalResult, publish, id: record.id };
};

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApprovalRefusedError);
  return err as ApprovalRefusedError;
};

describe('decide', () => {
  it('approves with quorum 1: one PutApprovalResult naming approver, channel and comment; event published', async () => {
    const { deps, putApprovalResult, publish, id, store } = setup();
    const out = await decide({ approvalId: id, voter: ana, decision: 'approve', comment: 'ship it' }, deps);
    expect(out.kind).toBe('decided');
    expect(out.record).toMatchObject({ status: 'APPROVED', decidedBy: 'ana@example.com', decisionChannel: 'email' });
    expect(putApprovalResult).toHaveBeenCalledExactlyOnceWith({
      pipelineName: 'web',
      stageName: 'Prod',
      actionName: 'Approve',
      token: 'tok-1a2b3c4d',
      result: { status: 'Approved', summary: 'Approved by ana@example.com via email: ship it' },
    });
    expect(publish).toHaveBeenCalledWith(
      'Stagecrew Approval Decided',
      expect.objectContaining({
        approvalId: id,
        decision: 'APPROVED',
        decidedBy: 'ana@example.com',
        approvedAt: '2026-03-02T10:00:01.000Z',
      }),
      [],
    );
    expect(store.audits.map((a) => a.event)).toEqual(['decided']);
  });

  it('quorum 2 across one Slack and one email approver: one call, after the second', async () => {
    const { deps, putApprovalResult, id } = setup(
      pendingRecord({ route: { policy: { allow: [], quorum: 2, allowSelfApproval: false, rejectNeedsReason: true } } }),
    );
    const first = await decide(
      { approvalId: id, voter: { channel: 'slack', slackUserId: 'U0ANA', name: 'Ana' }, decision: 'approve' },
      deps,
    );
    expect(first.kind).toBe('vote_recorded');
    expect(first.record.approveCount).toBe(1);
    expect(putApprovalResult).not.toHaveBeenCalled();
    const second = await decide({ approvalId: id, voter: bo, decision: 'approve' }, deps);
    expect(second.kind).toBe('decided');
    expect(putApprovalResult).toHaveBeenCalledTimes(1);
    expect(putApprovalResult.mock.calls[0]?.[0]).toMatchObject({
      result: { status: 'Approved', summary: 'Approved by Ana <slack:U0ANA>, bo@example.com via email' },
    });
  });

  it('one vote per person across Slack and email', async () => {
    const { deps, putApprovalResult, id } = setup(
      pendingRecord({ route: { policy: { allow: [], quorum: 2, allowSelfApproval: false, rejectNeedsReason: true } } }),
    );
    await decide({ approvalId: id, voter: bo, decision: 'approve' }, deps);
    const err = await refusal(decide({ approvalId: id, voter: slackBo, decision: 'approve' }, deps));
    expect([err.reason, err.status]).toEqual(['already_voted', 409]);
    expect(putApprovalResult).not.toHaveBeenCalled();
  });

  it('100 concurrent approvals by 100 people yield exactly one PutApprovalResult', async () => {
    const { deps, putApprovalResult, id, store } = setup(
      pendingRecord({ route: { emails: Array.from({ length: 100 }, (_, i) => `p${i}@example.com`) } }),
    );
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        decide(
          {
            approvalId: id,
            voter: { channel: 'email', email: `p${i}@example.com` },
            decision: i % 2 ? 'approve' : 'reject',
            comment: 'r',
          },
          deps,
        ),
      ),
    );
    expect(putApprovalResult).toHaveBeenCalledTimes(1);
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as ApprovalRefusedError).status).toBe(409);
    }
    expect((await store.get(id))?.status).toMatch(/APPROVED|REJECTED/);
  });

  it('rejects on the first reject even with a quorum, and requires a reason when the policy says so', async () => {
    const { deps, putApprovalResult, id } = setup(
      pendingRecord({ route: { policy: { allow: [], quorum: 3, allowSelfApproval: false, rejectNeedsReason: true } } }),
    );
    const noReason = await refusal(decide({ approvalId: id, voter: ana, decision: 'reject', comment: '  ' }, deps));
    expect([noReason.reason, noReason.status]).toEqual(['reason_required', 400]);
    const out = await decide({ approvalId: id, voter: ana, decision: 'reject', comment: 'tests are red' }, deps);
    expect(out.record.status).toBe('REJECTED');
    expect(putApprovalResult).toHaveBeenCalledExactlyOnceWith(
      expect.objectContaining({
        result: { status: 'Rejected', summary: 'Rejected by ana@example.com via email: tests are red' },
      }),
    );
  });

  it('refuses voters outside the allow-list (403, audited) and self-approval', async () => {
    const { deps, id, store, putApprovalResult } = setup(
      pendingRecord({
        authors: ['ana@example.com'],
        route: { policy: { allow: ['@example.com'], quorum: 1, allowSelfApproval: false, rejectNeedsReason: true } },
      }),
    );
    const outsider = await refusal(
      decide(
        {
          approvalId: id,
          voter: { channel: 'slack', slackUserId: 'U0EVE', email: 'eve@evil.test' },
          decision: 'approve',
        },
        deps,
      ),
    );
    expect([outsider.reason, outsider.status]).toEqual(['forbidden', 403]);
    const self = await refusal(decide({ approvalId: id, voter: ana, decision: 'approve' }, deps));
    expect([self.reason, self.status]).toEqual(['self_approval', 403]);
    expect(store.audits.map((a) => [a.event, a.reason])).toEqual([
      ['refused', 'forbidden'],
      ['refused', 'self_approval'],
    ]);
    expect(putApprovalResult).not.toHaveBeenCalled();
  });

  it('maps terminal states to typed outcomes: 409 decided (by whom), 410 expired/superseded, 404 unknown', async () => {
    const decided = setup(pendingRecord({ status: 'APPROVED', decidedBy: 'bo@example.com', decidedAt: NOW }));
    const e409 = await refusal(decide({ approvalId: decided.id, voter: ana, decision: 'approve' }, decided.deps));
    expect([e409.status, e409.message]).toEqual([409, `already approved by bo@example.com at ${NOW}`]);
    const sup = setup(pendingRecord({ status: 'SUPERSEDED' }));
    expect((await refusal(decide({ approvalId: sup.id, voter: ana, decision: 'approve' }, sup.deps))).status).toBe(410);
    const late = setup(pendingRecord({ expiresAt: '2026-03-02T09:59:00.000Z' }));
    expect((await refusal(decide({ approvalId: late.id, voter: ana, decision: 'approve' }, late.deps))).reason).toBe(
      'expired',
    );
    expect(
      (await refusal(decide({ approvalId: 'appr_missing0000000000', voter: ana, decision: 'approve' }, late.deps)))
        .status,
    ).toBe(404);
  });

  it('a replayed nonce never records a second vote', async () => {
    const { deps, id, store } = setup(
      pendingRecord({ route: { policy: { allow: [], quorum: 2, allowSelfApproval: false, rejectNeedsReason: true } } }),
    );
    await decide({ approvalId: id, voter: ana, decision: 'approve', nonce: 'n1' }, deps);
    const replay = await refusal(decide({ approvalId: id, voter: bo, decision: 'approve', nonce: 'n1' }, deps));
    expect(replay.reason).toBe('nonce_used');
    expect((await store.get(id))?.approveCount).toBe(1);
  });

  it('ApprovalAlreadyCompletedException → 409 and CLOSED; InvalidApprovalTokenException → 410 and SUPERSEDED', async () => {
    const a = setup();
    a.putApprovalResult.mockRejectedValueOnce(new ApprovalAlreadyCompletedError('done'));
    const e1 = await refusal(decide({ approvalId: a.id, voter: ana, decision: 'approve' }, a.deps));
    expect([e1.reason, e1.status]).toEqual(['already_decided', 409]);
    expect((await a.store.get(a.id))?.status).toBe('CLOSED');
    const b = setup();
    b.putApprovalResult.mockRejectedValueOnce(new InvalidApprovalTokenError('bad'));
    const e2 = await refusal(decide({ approvalId: b.id, voter: ana, decision: 'approve' }, b.deps));
    expect([e2.reason, e2.status]).toEqual(['superseded', 410]);
    expect((await b.store.get(b.id))?.status).toBe('SUPERSEDED');
  });

  it('retries throttling with backoff, and after giving up keeps the approval decidable (503, then success)', async () => {
    const { deps, id, putApprovalResult, store } = setup();
    const sleeps: number[] = [];
    deps.sleep = async (ms) => {
      sleeps.push(ms);
    };
    putApprovalResult
      .mockRejectedValueOnce(new UnavailableError('throttled'))
      .mockResolvedValueOnce({ approvedAt: new Date(NOW) });
    expect((await decide({ approvalId: id, voter: ana, decision: 'approve' }, deps)).kind).toBe('decided');
    expect(sleeps).toEqual([200]);

    const again = setup();
    again.putApprovalResult.mockRejectedValue(new UnavailableError('throttled'));
    const e = await refusal(decide({ approvalId: again.id, voter: bo, decision: 'reject', comment: 'no' }, again.deps));
    expect([e.reason, e.status]).toEqual(['unavailable', 503]);
    expect(again.putApprovalResult).toHaveBeenCalledTimes(4);
    expect((await again.store.get(again.id))?.status).toBe('PENDING');
    again.putApprovalResult.mockResolvedValue({});
    // The withdrawn reject can be sent again.
    expect(
      (await decide({ approvalId: again.id, voter: bo, decision: 'reject', comment: 'no' }, again.deps)).record.status,
    ).toBe('REJECTED');
    expect(store).toBeDefined();
  });

  it('stops retrying at retryUntil (the Slack budget) and answers 503 instead of running late', async () => {
    const { deps, id, putApprovalResult } = setup();
    const clock = deps.clock as FakeClock;
    deps.sleep = async (ms) => clock.advance(ms);
    putApprovalResult.mockRejectedValue(new UnavailableError('throttled'));
    const e = await refusal(
      decide({ approvalId: id, voter: ana, decision: 'approve', retryUntil: new Date(Date.parse(NOW) + 500) }, deps),
    );
    expect(e.status).toBe(503);
    expect(putApprovalResult).toHaveBeenCalledTimes(2); // 200 ms pause fits, the next 400 ms would not
  });

  it('truncates the summary to 512 characters', () => {
    expect(approvalSummary('approve', ['a'], 'slack', 'x'.repeat(600))).toHaveLength(512);
  });
});
