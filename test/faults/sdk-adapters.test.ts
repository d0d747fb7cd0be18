/**
 * Injected faults at the SDK middleware level: the real adapters over real SDK v3 clients built with the deployed
 * settings (`clientSettings()`: standard retries, 5 attempts), each attempt answered from a script. Proves that
 * throttling, 5xx, timeouts and dropped connections are retried with exponential backoff, that a non-retryable
 * error is tried once, and which typed error an adapter surfaces when the retries run out.
 *
 * Timers are faked and Math.random (the SDK's full jitter) is pinned at 0.5, so the backoff between attempts is
 * exact and no test waits for it in real time.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { CloudFormationTeardown } from '#core/adapters/cloudformation';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { CodePipelineJobReporter } from '#core/adapters/codepipeline-jobs';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { SesMailer } from '#core/adapters/email';
import { EventBridgePublisher } from '#core/adapters/eventbridge';
import { SlackApiError, SlackWebApi } from '#core/adapters/slack';
import { ApprovalAlreadyCompletedError, InvalidApprovalTokenError } from '#core/approvals/errors';
import { clientSettings } from '#core/clients';
import { ConfigError, PermissionError, UnavailableError, ValidationError } from '#core/errors';
import { type FaultStep, type ScriptedFaults, scriptFaults } from '../helpers/sdk-faults.ts';

// As deployed: no endpoint (the script answers before the network), the default attempts and timeouts.
const settings = () => ({
  ...clientSettings({}, { AWS_REGION: 'us-east-1' }),
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const DEPLOYED_ATTEMPTS = clientSettings({}, {}).maxAttempts;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Runs a call to completion, moving the fake clock through the retry strategy's sleeps. */
const drive = async <T>(work: Promise<T>): Promise<T> => {
  let settled = false;
  const tracked = work.finally(() => {
    settled = true;
  });
  tracked.catch(() => undefined);
  for (let k = 0; k < 20_000 && !settled; k++) {
    await vi.advanceTimersByTimeAsync(5);
    await new Promise((r) => setImmediate(r));
  }
  return tracked;
};
const failure = async (work: Promise<unknown>): Promise<Error> => {
  try {
    await drive(work);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
};

/** Exponential backoff: every wait is longer than the one before (twice as long with the jitter pinned). */
const expectBackoff = (faults: ScriptedFaults) => {
  const gaps = faults.gaps();
  expect(gaps.length).toBeGreaterThan(0);
  expect(gaps[0]).toBeGreaterThan(0);
  for (let k = 1; k < gaps.length; k++) {
    expect(gaps[k] as number).toBeGreaterThanOrEqual(2 * (gaps[k - 1] as number) - 10);
    expect(gaps[k] as number).toBeLessThanOrEqual(2 * (gaps[k - 1] as number) + 10);
  }
  return gaps;
};

const pipelines = (script: FaultStep[]) => {
  const client = new CodePipelineClient(settings());
  return { client, faults: scriptFaults(client, script) };
};
const approval = { pipelineName: 'p', stageName: 's', actionName: 'a', token: 't' };
const approve = { status: 'Approved' as const, summary: 'Approved by ana via email' };
const all = (step: FaultStep): FaultStep[] => Array.from({ length: DEPLOYED_ATTEMPTS }, () => step);

describe('CodePipeline PutApprovalResult', () => {
  it('throttled twice, then accepted: 3 attempts with growing backoff', async () => {
    const { client, faults } = pipelines(['throttle', 'throttle', { ok: '{"approvedAt":1767225600}' }]);
    const out = await drive(new CodePipelineGateway(client).putApprovalResult({ ...approval, result: approve }));
    expect(out.approvedAt?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(faults.attempts.map((a) => a.operation)).toEqual(Array(3).fill('PutApprovalResult'));
    expectBackoff(faults);
  });

  it.each([
    ['throttling', 'throttle', 'ThrottlingException'],
    ['500', 500, 'InternalFailure'],
    ['503', 503, 'ServiceUnavailable'],
    ['a timeout', 'timeout', 'TimeoutError'],
  ] as const)('%s on every attempt ends in UnavailableError after the deployed attempts', async (_, step, name) => {
    const { client, faults } = pipelines(all(step));
    const err = await failure(new CodePipelineGateway(client).putApprovalResult({ ...approval, result: approve }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err.cause as Error).name).toBe(name);
    expect(faults.attempts).toHaveLength(DEPLOYED_ATTEMPTS);
    expectBackoff(faults);
  });

  it('throttling waits longer than a 5xx before the same retry (the SDK throttling base)', async () => {
    const throttled = pipelines(['throttle', 'ok']);
    await drive(new CodePipelineGateway(throttled.client).putApprovalResult({ ...approval, result: approve }));
    const failed = pipelines([500, 'ok']);
    await drive(new CodePipelineGateway(failed.client).putApprovalResult({ ...approval, result: approve }));
    expect(throttled.faults.gaps()[0]).toBeGreaterThan(failed.faults.gaps()[0] as number);
  });

  it.each([
    ['ApprovalAlreadyCompletedException', ApprovalAlreadyCompletedError],
    ['InvalidApprovalTokenException', InvalidApprovalTokenError],
    ['ValidationException', ValidationError],
    ['AccessDeniedException', PermissionError],
  ] as const)('%s is not retried and surfaces typed', async (code, type) => {
    const { client, faults } = pipelines([{ error: code, status: 400 }]);
    const err = await failure(new CodePipelineGateway(client).putApprovalResult({ ...approval, result: approve }));
    expect(err).toBeInstanceOf(type);
    expect(faults.attempts).toHaveLength(1);
  });

  it('a dropped connection whose write took effect: the retry is told "already completed"', async () => {
    // The ambiguity the approval flow must resolve (test/faults/approvals.test.ts): the SDK retries the reset
    // and CodePipeline answers the retry with ApprovalAlreadyCompleted, though the decision was ours.
    const { client, faults } = pipelines(['reset', { error: 'ApprovalAlreadyCompletedException', status: 400 }]);
    const err = await failure(new CodePipelineGateway(client).putApprovalResult({ ...approval, result: approve }));
    expect(err).toBeInstanceOf(ApprovalAlreadyCompletedError);
    expect(faults.attempts).toHaveLength(2);
  });
});

describe('CodePipeline job results', () => {
  const JOB = '11111111-abcd-1111-abcd-111111abcdef';
  const success = { kind: 'success' as const, jobId: JOB, summary: 'ok', externalExecutionId: JOB };
  const failed = {
    kind: 'failure' as const,
    jobId: JOB,
    type: 'JobFailed' as const,
    message: 'no',
    externalExecutionId: JOB,
  };

  it('PutJobSuccessResult answered 503, then reset, then accepted: reported once, 3 attempts', async () => {
    const { client, faults } = pipelines([503, 'reset', 'ok']);
    expect(await drive(new CodePipelineJobReporter(client).report(success))).toBe('reported');
    expect(faults.attempts.map((a) => a.operation)).toEqual(Array(3).fill('PutJobSuccessResult'));
    expectBackoff(faults);
  });

  it('a dropped connection after the result was taken: the retry finds the job done (already-reported)', async () => {
    const { client, faults } = pipelines(['reset', { error: 'InvalidJobStateException', status: 400 }]);
    expect(await drive(new CodePipelineJobReporter(client).report(success))).toBe('already-reported');
    expect(faults.attempts).toHaveLength(2);
  });

  it('PutJobFailureResult on 500 every time: UnavailableError after the deployed attempts', async () => {
    const { client, faults } = pipelines(all(500));
    const err = await failure(new CodePipelineJobReporter(client).report(failed));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(faults.attempts).toHaveLength(DEPLOYED_ATTEMPTS);
    expect(faults.attempts.every((a) => a.operation === 'PutJobFailureResult')).toBe(true);
  });

  it('a ValidationException is not retried and surfaces as ValidationError', async () => {
    const { client, faults } = pipelines([{ error: 'ValidationException', status: 400 }]);
    expect(await failure(new CodePipelineJobReporter(client).report(failed))).toBeInstanceOf(ValidationError);
    expect(faults.attempts).toHaveLength(1);
  });

  it('connection resets on every attempt end in UnavailableError, not a bare Error', async () => {
    const { client, faults } = pipelines(all('reset'));
    const err = await failure(new CodePipelineJobReporter(client).report(success));
    expect(faults.attempts).toHaveLength(DEPLOYED_ATTEMPTS);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err.cause as { code?: string }).code).toBe('ECONNRESET');
  });
});

describe('DynamoDB approval store (conditional writes)', () => {
  const store = (script: FaultStep[]) => {
    const client = new DynamoDBClient(settings());
    const faults = scriptFaults(client, script);
    return { faults, store: new DynamoApprovalStore(createDocumentClient(client), 'table') };
  };
  const vote = { decision: 'approve' as const, channel: 'email' as const, at: '2026-01-01T00:00:00.000Z' };

  it('a throttled vote (ProvisionedThroughputExceeded) is retried and recorded', async () => {
    const { store: s, faults } = store([
      { error: 'ProvisionedThroughputExceededException', status: 400 },
      { error: 'ThrottlingException', status: 400 },
      'ok',
    ]);
    expect(await drive(s.putVote('a1', 'email:ana@example.com', vote))).toBe(true);
    expect(faults.attempts.map((a) => a.operation)).toEqual(['PutItem', 'PutItem', 'PutItem']);
    expectBackoff(faults);
  });

  it('a lost condition is an answer, not an error: tried once, false', async () => {
    const { store: s, faults } = store([{ error: 'ConditionalCheckFailedException', status: 400 }]);
    expect(await drive(s.putVote('a1', 'email:ana@example.com', vote))).toBe(false);
    expect(faults.attempts).toHaveLength(1);
  });

  it('a conditional update beaten by another decider is undefined, tried once', async () => {
    const { store: s, faults } = store([{ error: 'ConditionalCheckFailedException', status: 400 }]);
    expect(
      await drive(s.beginDecision('a1', new Date(), { staleBefore: new Date(Date.now() - 60_000) })),
    ).toBeUndefined();
    expect(faults.attempts).toHaveLength(1);
  });

  it('5xx and timeouts past the retries surface as UnavailableError (retryable)', async () => {
    for (const step of [500, 'timeout'] as const) {
      const { store: s, faults } = store(all(step));
      const err = await failure(s.consumeNonce('a1', 'n1', new Date('2026-02-01T00:00:00Z')));
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).retryable).toBe(true);
      expect(faults.attempts).toHaveLength(DEPLOYED_ATTEMPTS);
    }
  });

  it('an audit entry whose answer was dropped: the retry loses the condition to itself, and that is success', async () => {
    const { store: s, faults } = store(['reset', { error: 'ConditionalCheckFailedException', status: 400 }]);
    await drive(
      s.audit({
        approvalId: 'a1',
        pipeline: 'p',
        executionId: 'e1',
        at: '2026-01-01T00:00:00.000Z',
        event: 'decided',
        actor: 'ana@example.com',
        channel: 'email',
      }),
    );
    expect(faults.attempts.map((a) => a.operation)).toEqual(['PutItem', 'PutItem']);
  });

  it('a vote whose answer was dropped is read back: our writeId means ours (true), another means theirs (false)', async () => {
    // The second attempt loses the condition; the read-back shows whose item is stored.
    const ours = store(['reset', { error: 'ConditionalCheckFailedException', status: 400 }]);
    let writeId = '';
    const sent = ours.store.putVote('a1', 'email:ana@example.com', vote);
    // Answer the read-back with the writeId of the first attempt's item.
    ours.faults.onRequest = (operation, body) => {
      if (operation === 'PutItem') writeId = (JSON.parse(body).Item.writeId?.S as string) ?? '';
      if (operation === 'GetItem') return { ok: JSON.stringify({ Item: { writeId: { S: writeId } } }) };
      return undefined;
    };
    expect(await drive(sent)).toBe(true);
    const theirs = store([
      'reset',
      { error: 'ConditionalCheckFailedException', status: 400 },
      { ok: JSON.stringify({ Item: { writeId: { S: 'someone-else' } } }) },
    ]);
    expect(await drive(theirs.store.putVote('a1', 'email:ana@example.com', vote))).toBe(false);
    expect(theirs.faults.attempts.map((a) => a.operation)).toEqual(['PutItem', 'PutItem', 'GetItem']);
  });

  it('a "notified" append whose answer was dropped is not appended twice: the retry finds its own write', async () => {
    const { store: s, faults } = store(['reset', { error: 'ConditionalCheckFailedException', status: 400 }]);
    let writeId = '';
    faults.onRequest = (operation, body) => {
      if (operation === 'UpdateItem') writeId = JSON.parse(body).ExpressionAttributeValues[':w'].S as string;
      if (operation === 'GetItem') return { ok: JSON.stringify({ Item: { notifiedWrite: { S: writeId } } }) };
      return undefined;
    };
    await drive(s.recordNotified('a1', [{ channel: 'C1', ts: '1.2' }], ['ana@example.com']));
    expect(writeId).toMatch(/^[0-9a-f]{24}$/);
    expect(faults.attempts.map((a) => a.operation)).toEqual(['UpdateItem', 'UpdateItem', 'GetItem']);
  });

  it('AccessDenied is not retried: PermissionError', async () => {
    const { store: s, faults } = store([{ error: 'AccessDeniedException', status: 400 }]);
    expect(await failure(s.get('a1'))).toBeInstanceOf(PermissionError);
    expect(faults.attempts).toHaveLength(1);
  });
});

describe('CloudFormation DeleteStack (teardown)', () => {
  const stacks = (script: FaultStep[]) => {
    const client = new CloudFormationClient(settings());
    return { faults: scriptFaults(client, script), cfn: new CloudFormationTeardown(client) };
  };
  const request = {
    stackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/test-1/abc',
    clientRequestToken: 'stagecrew-delete-1',
  };

  it('Throttling (awsQuery) twice, then deleted: 3 attempts with backoff', async () => {
    const { cfn, faults } = stacks(['throttle', 'throttle', 'ok']);
    await drive(cfn.delete(request));
    expect(faults.attempts.map((a) => a.operation)).toEqual(['DeleteStack', 'DeleteStack', 'DeleteStack']);
    expectBackoff(faults);
  });

  it('a reset whose delete took effect: the retry with the same token is the idempotent case', async () => {
    const { cfn, faults } = stacks(['reset', { error: 'TokenAlreadyExistsException', status: 400 }]);
    await expect(drive(cfn.delete(request))).resolves.toBeUndefined();
    expect(faults.attempts).toHaveLength(2);
  });

  it('termination protection (ValidationError) is not retried and surfaces as ValidationError', async () => {
    const { cfn, faults } = stacks([{ error: 'ValidationError', status: 400, message: 'termination protection' }]);
    expect(await failure(cfn.delete(request))).toBeInstanceOf(ValidationError);
    expect(faults.attempts).toHaveLength(1);
  });

  it('throttled on every attempt: UnavailableError after the deployed attempts', async () => {
    const { cfn, faults } = stacks(all('throttle'));
    const err = await failure(cfn.delete(request));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err.cause as Error).name).toBe('Throttling');
    expect(faults.attempts).toHaveLength(DEPLOYED_ATTEMPTS);
    expectBackoff(faults);
  });
});

describe('EventBridge PutEvents', () => {
  const events = (script: FaultStep[]) => {
    const client = new EventBridgeClient(settings());
    return { faults: scriptFaults(client, script), publisher: new EventBridgePublisher(client) };
  };

  it('a partial failure in a 200 is not retried by the SDK and surfaces as UnavailableError', async () => {
    const { publisher, faults } = events([
      { ok: '{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}' },
    ]);
    const err = await failure(publisher.publish('Stagecrew Approval Decided', { approvalId: 'a1' }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain('InternalFailure');
    expect(faults.attempts).toHaveLength(1);
  });

  it('a 500 then success: published on the second attempt', async () => {
    const { publisher, faults } = events([500, { ok: '{"FailedEntryCount":0,"Entries":[{"EventId":"e1"}]}' }]);
    await drive(publisher.publish('Stagecrew Approval Decided', { approvalId: 'a1' }));
    expect(faults.attempts).toHaveLength(2);
  });
});

describe('SES SendEmail', () => {
  const mailer = (script: FaultStep[]) => {
    const client = new SESv2Client(settings());
    return { faults: scriptFaults(client, script), ses: new SesMailer(client, 'stagecrew@example.com') };
  };
  const message = { to: ['ana@example.com'], subject: 'Approval needed', text: 'hi' };

  it('TooManyRequests (429) twice, then sent: 3 attempts with backoff', async () => {
    const { ses, faults } = mailer(['throttle', 'throttle', { ok: '{"MessageId":"m-1"}' }]);
    expect(await drive(ses.send(message))).toEqual({ messageId: 'm-1' });
    expect(faults.attempts.map((a) => a.operation)).toEqual(['SendEmail', 'SendEmail', 'SendEmail']);
    expectBackoff(faults);
  });

  it('throttled on every attempt: UnavailableError', async () => {
    const { ses, faults } = mailer(all('throttle'));
    expect(await failure(ses.send(message))).toBeInstanceOf(UnavailableError);
    expect(faults.attempts).toHaveLength(DEPLOYED_ATTEMPTS);
  });

  it('MessageRejected is not retried and surfaces as a non-retryable ConfigError naming SES reason', async () => {
    const { ses, faults } = mailer([{ error: 'MessageRejected', status: 400 }]);
    const err = await failure(ses.send(message));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toMatch(/^ses SendEmail: MessageRejected: /);
    expect(faults.attempts).toHaveLength(1);
  });

  it('an unverified sender is a ConfigError; the daily quota is retryable later', async () => {
    const unverified = mailer([{ error: 'MailFromDomainNotVerifiedException', status: 400 }]);
    expect(await failure(unverified.ses.send(message))).toBeInstanceOf(ConfigError);
    // The SDK classifies LimitExceededException (the sending quota) as throttling: retried, then retryable later.
    const quota = mailer(all({ error: 'LimitExceededException', status: 400 }));
    const err = await failure(quota.ses.send(message));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ retryable: true });
    expect(quota.faults.attempts).toHaveLength(DEPLOYED_ATTEMPTS);
  });
});

describe('Slack Web API delivery', () => {
  type Answer = number | 'reset' | { ok: boolean; error?: string };
  const slack = (script: Answer[]) => {
    const calls: number[] = [];
    const sleeps: number[] = [];
    let i = 0;
    const fetch = (async () => {
      calls.push(Date.now());
      const step = script[i++] ?? { ok: true };
      if (step === 'reset') throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
      if (typeof step === 'number') return new Response('{}', { status: step, headers: { 'retry-after': '' } });
      return Response.json({ channel: 'C1', ts: '1.2', ...step });
    }) as typeof globalThis.fetch;
    const api = new SlackWebApi({
      baseUrl: 'https://slack.test/api',
      token: async () => 'xoxb-test',
      fetch,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    return { api, calls, sleeps };
  };
  const msg = { channel: 'C1', text: 'Approval needed' };

  it('429, 503 and a reset are retried with growing backoff ceilings, then posted', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const { api, calls, sleeps } = slack([429, 503, 'reset', { ok: true }]);
    expect(await api.postMessage(msg)).toEqual({ channel: 'C1', ts: '1.2' });
    expect(calls).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    expect(sleeps[1] as number).toBeGreaterThan(sleeps[0] as number);
    expect(sleeps[2] as number).toBeGreaterThan(sleeps[1] as number);
  });

  it('ratelimited on every attempt: UnavailableError after 4 attempts', async () => {
    const { api, calls } = slack([429, 429, 429, 429, 429]);
    const err = await api.postMessage(msg).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(calls).toHaveLength(4);
  });

  it('channel_not_found is not retried: SlackApiError; invalid_auth: PermissionError', async () => {
    const missing = slack([{ ok: false, error: 'channel_not_found' }]);
    expect(await missing.api.postMessage(msg).catch((e: Error) => e)).toBeInstanceOf(SlackApiError);
    expect(missing.calls).toHaveLength(1);
    const denied = slack([{ ok: false, error: 'invalid_auth' }]);
    expect(await denied.api.postMessage(msg).catch((e: Error) => e)).toBeInstanceOf(PermissionError);
    expect(denied.calls).toHaveLength(1);
  });
});
