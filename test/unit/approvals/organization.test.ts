/**
 * Approvals of pipelines in member accounts (docs/ORGANIZATION.md): a forwarded STARTED event is read where the
 * pipeline lives, the stored approval remembers its account, and the decision is made there in a session named
 * after the approver; an account the hub was not given is never read.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { decide } from '#core/approvals/decide';
import { approvalIdFor } from '#core/approvals/model';
import { handleRequestEvent, type RequestDeps } from '#core/approvals/request';
import { RequestFunctionEvent } from '#core/approvals/schemas';
import type { PipelineStateInfo } from '#core/ports';
import { parseSettings } from '#core/settings';
import { FakeClock, FakeMailer, KEYS, MemoryApprovalStore, NOW, pendingRecord } from './fakes.ts';

const HOME = { accountId: '123456789012', region: 'us-east-1' };
const MEMBER = '222222222222';
const TOKEN = 'member-token-0001';
const EXEC = '8c2a4a4e-1c1d-4d6e-9a5b-3f3c2b1a0e9d';

const startedIn = (account: string, region: string) => {
  const raw = JSON.parse(readFileSync('events/eventbridge-approval-started.json', 'utf8'));
  return RequestFunctionEvent.parse({ ...raw, account, region });
};

const state: PipelineStateInfo = {
  pipelineName: 'web-app',
  stages: [
    {
      stageName: 'Prod',
      latestExecution: { pipelineExecutionId: EXEC, status: 'InProgress' },
      actions: [{ stageName: 'Prod', actionName: 'Approve', status: 'InProgress', token: TOKEN }],
    },
  ],
};

const gateway = () => ({
  getPipelineState: vi.fn(async () => state),
  getPipelineExecution: vi.fn(async () => ({
    pipelineName: 'web-app',
    pipelineExecutionId: EXEC,
    status: 'InProgress',
    sourceRevisions: [],
  })),
  listActionExecutions: vi.fn(async () => []),
  listRecentActionExecutions: vi.fn(async () => []),
  getActionConfiguration: vi.fn(async () => undefined),
});

const setup = () => {
  const home = gateway();
  const member = gateway();
  const reached: unknown[] = [];
  const store = new MemoryApprovalStore();
  const settings = parseSettings({
    approvals: { defaults: { emails: ['ana@example.com'] } },
    organization: { accounts: [MEMBER] },
  });
  const deps: RequestDeps = {
    store,
    mailer: new FakeMailer(),
    keys: async () => KEYS,
    baseUrl: 'https://approvals.example.com',
    clock: new FakeClock(NOW),
    warn: vi.fn(),
    pipelines: home,
    settings: async () => settings,
    home: HOME,
    pipelinesAt: async (where) => {
      reached.push(where);
      return member;
    },
  };
  return { home, member, reached, store, deps };
};

describe('approvals across accounts', () => {
  it('reads a member pipeline where it lives and remembers the account', async () => {
    const { home, member, reached, store, deps } = setup();
    const out = await handleRequestEvent(startedIn(MEMBER, 'eu-west-1'), deps);
    expect(out).toEqual([{ kind: 'created', id: approvalIdFor(TOKEN) }]);
    expect(reached[0]).toEqual({ accountId: MEMBER, region: 'eu-west-1' });
    expect(member.getPipelineState).toHaveBeenCalled();
    expect(home.getPipelineState).not.toHaveBeenCalled();
    expect(home.getPipelineExecution).not.toHaveBeenCalled();
    expect(await store.get(approvalIdFor(TOKEN))).toMatchObject({ accountId: MEMBER, region: 'eu-west-1' });
  });

  it('ignores an approval of an account the hub was not given, reading nothing', async () => {
    const { home, member, reached, store, deps } = setup();
    const out = await handleRequestEvent(startedIn('333333333333', 'us-east-1'), deps);
    expect(out).toEqual([
      { kind: 'ignored', reason: "333333333333/us-east-1 is not one of this hub's member accounts" },
    ]);
    expect(reached).toEqual([]);
    expect(home.getPipelineState).not.toHaveBeenCalled();
    expect(member.getPipelineState).not.toHaveBeenCalled();
    expect(await store.get(approvalIdFor(TOKEN))).toBeUndefined();
  });

  it('decides a member approval there, in a session named after the approver', async () => {
    const store = new MemoryApprovalStore();
    const record = { ...pendingRecord(), accountId: MEMBER, region: 'eu-west-1' };
    await store.create(record);
    const own = { putApprovalResult: vi.fn(async () => ({ approvedAt: new Date(NOW) })) };
    const there = { putApprovalResult: vi.fn(async () => ({ approvedAt: new Date(NOW) })) };
    const asked: unknown[] = [];
    const result = await decide(
      { approvalId: record.id, voter: { email: 'ana@example.com', channel: 'email' }, decision: 'approve' },
      {
        store,
        pipelines: own,
        publisher: { publish: async () => undefined },
        clock: new FakeClock(NOW),
        home: HOME,
        pipelinesAt: async (where, approver) => {
          asked.push({ where, approver });
          return there;
        },
      },
    );
    expect(result.kind).toBe('decided');
    expect(asked).toEqual([{ where: { accountId: MEMBER, region: 'eu-west-1' }, approver: 'email:ana@example.com' }]);
    expect(there.putApprovalResult).toHaveBeenCalledTimes(1);
    expect(own.putApprovalResult).not.toHaveBeenCalled();
    // The audit trail says where the decision was made.
    expect(store.audits.find((a) => a.event === 'decided')).toMatchObject({ accountId: MEMBER, region: 'eu-west-1' });
  });
});
