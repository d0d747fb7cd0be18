/**
 * Approvals CodePipeline would refuse: names injected through the approval topic (anyone allowed to publish to it can
 * send any JSON), and every PutApprovalResult error answered clearly — never a 500.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { decide } from '#core/approvals/decide';
import { ApprovalRefusedError } from '#core/approvals/errors';
import { approvalIdFor } from '#core/approvals/model';
import { handleRequestEvent, invalidNames, type RequestDeps } from '#core/approvals/request';
import { RequestFunctionEvent } from '#core/approvals/schemas';
import { PermissionError, ValidationError } from '#core/errors';
import { handleApprovalHttp } from '../../../functions/approval-api/http.ts';
import {
  FakeClock,
  FakeMailer,
  FakeSlack,
  KEYS,
  MemoryApprovalStore,
  NOW,
  pendingRecord,
  settingsWith,
} from './fakes.ts';
import { apiSetup, formFor, linkFor, postForm } from './helpers.ts';

const snsWith = (approval: Record<string, unknown>) => {
  const event = JSON.parse(readFileSync('events/sns-approval-sequential.json', 'utf8'));
  const message = JSON.parse(event.Records[0].Sns.Message);
  event.Records[0].Sns.Message = JSON.stringify({ ...message, approval: { ...message.approval, ...approval } });
  return RequestFunctionEvent.parse(event);
};

describe('approvals CodePipeline would refuse', () => {
  it('names outside CodePipeline’s pattern are refused on arrival, audited, and announced nowhere', async () => {
    const store = new MemoryApprovalStore();
    const slack = new FakeSlack();
    const mailer = new FakeMailer();
    const deps: RequestDeps = {
      store,
      slack,
      mailer,
      keys: async () => KEYS,
      baseUrl: 'https://approvals.example.com',
      clock: new FakeClock(NOW),
      warn: () => {},
      pipelines: {
        getPipelineState: vi.fn(),
        getPipelineExecution: vi.fn(),
        listActionExecutions: vi.fn(),
        listRecentActionExecutions: vi.fn(),
        getActionConfiguration: vi.fn(),
      },
      settings: async () => settingsWith({ defaults: { slackChannels: ['C1'], emails: ['ana@example.com'] } }),
    };
    const out = await handleRequestEvent(snsWith({ pipelineName: 'web <!channel>', stageName: 'Prod/../x' }), deps);
    expect(out).toEqual([{ kind: 'ignored', reason: 'names CodePipeline would refuse: pipeline, stage' }]);
    expect(store.records.size).toBe(0);
    expect(slack.posted).toHaveLength(0);
    expect(mailer.sent).toHaveLength(0);
    expect(store.audits).toEqual([
      expect.objectContaining({
        event: 'refused',
        approvalId: approvalIdFor('1a2b3c4d-573f-4ea7-a67e-EXAMPLETOKEN'),
        reason: 'names CodePipeline would refuse: pipeline, stage',
      }),
    ]);
    expect(invalidNames({ pipeline: 'a'.repeat(101), stage: 'Prod', action: 'Approve.v2@team_1-x' })).toEqual([
      'pipeline',
    ]);
  });

  it('a ValidationException from PutApprovalResult closes the approval with a 400 and a clear page, not a 500', async () => {
    const { deps, id, store } = apiSetup();
    deps.pipelines.putApprovalResult = async () => {
      throw new ValidationError('PutApprovalResult web/Prod/Approve: 1 validation error detected');
    };
    const res = await handleApprovalHttp(postForm(id, formFor(id, linkFor(id), 'approve')), deps);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('CodePipeline refused this approval request');
    expect((await store.get(id))?.status).toBe('CLOSED');
    expect(store.audits.at(-1)).toMatchObject({ event: 'failed', reason: expect.stringContaining('validation error') });
  });

  it('access denied keeps the approval open and says an operator has to act (503)', async () => {
    const store = new MemoryApprovalStore();
    const record = pendingRecord();
    store.records.set(record.id, structuredClone(record));
    const err = await decide(
      { approvalId: record.id, voter: { channel: 'email', email: 'ana@example.com' }, decision: 'approve' },
      {
        store,
        clock: new FakeClock(NOW),
        sleep: async () => {},
        publisher: { publish: async () => {} },
        pipelines: {
          putApprovalResult: async () => {
            throw new PermissionError('PutApprovalResult web/Prod/Approve: access denied');
          },
        },
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApprovalRefusedError);
    expect(err).toMatchObject({ reason: 'unavailable', status: 503, message: expect.stringMatching(/not permitted/) });
    expect((await store.get(record.id))?.status).toBe('PENDING');
  });
});
