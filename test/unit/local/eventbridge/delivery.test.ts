import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createEventBridge,
  type EventBridgeOptions,
  readDeadLetters,
  readEventLog,
  readPendingDeliveries,
} from '#local/services/eventbridge/index';
import type { BusEvent, LocalContext } from '#local/services/types';
import { FileStore, MemoryStore } from '#local/store/store';
import { fakeContext, ManualClock } from './fake-context.ts';

const lambda = 'arn:aws:lambda:us-east-1:123456789012:function:on-pipeline';
const stateMachine = 'arn:aws:states:us-east-1:123456789012:stateMachine:teardown';

function setup(options: EventBridgeOptions = {}, context: Parameters<typeof fakeContext>[0] = {}) {
  const eb = createEventBridge(options);
  const fake = fakeContext(context);
  const op = async (name: string, input: Record<string, unknown>, ctx: LocalContext = fake.ctx) => {
    const fn = eb.operations[name];
    if (!fn) throw new Error(`no operation ${name}`);
    return fn(input, ctx) as Promise<Record<string, unknown>>;
  };
  return { eb, op, ...fake };
}

const stateChange = (state: string) => ({
  Source: 'aws.codepipeline',
  DetailType: 'CodePipeline Pipeline Execution State Change',
  Detail: JSON.stringify({ pipeline: 'app', 'execution-id': 'e-1', state }),
  Resources: ['arn:aws:codepipeline:us-east-1:123456789012:app'],
});

async function ruleWithTarget(op: ReturnType<typeof setup>['op'], target: Record<string, unknown>, name = 'failed') {
  await op('PutRule', {
    Name: name,
    EventPattern: JSON.stringify({ source: ['aws.codepipeline'], detail: { state: ['FAILED'] } }),
  });
  await op('PutTargets', { Rule: name, Targets: [{ Id: 't', ...target }] });
}

describe('PutEvents', () => {
  it('returns an EventId per entry and delivers the full event envelope to matching Lambda targets', async () => {
    const { eb, op, invokes, store } = setup();
    await ruleWithTarget(op, { Arn: lambda });
    const result = await op('PutEvents', { Entries: [stateChange('FAILED'), stateChange('SUCCEEDED')] });
    expect(result.FailedEntryCount).toBe(0);
    const entries = result.Entries as Array<{ EventId: string }>;
    expect(entries).toHaveLength(2);
    await eb.idle();
    expect(invokes).toHaveLength(1);
    expect(invokes[0]?.target).toBe(lambda);
    expect(invokes[0]?.type).toBe('Event');
    const event = invokes[0]?.payload as BusEvent;
    expect(event).toEqual({
      version: '0',
      id: entries[0]?.EventId,
      'detail-type': 'CodePipeline Pipeline Execution State Change',
      source: 'aws.codepipeline',
      account: '123456789012',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: ['arn:aws:codepipeline:us-east-1:123456789012:app'],
      detail: { pipeline: 'app', 'execution-id': 'e-1', state: 'FAILED' },
    });
    expect(readPendingDeliveries(store)).toEqual([]);
  });

  it('uses the entry Time when given, as epoch seconds from the wire or as a Date', async () => {
    const { op, store } = setup();
    await op('PutEvents', { Entries: [{ ...stateChange('FAILED'), Time: 1_767_225_600 }] });
    await op('PutEvents', { Entries: [{ ...stateChange('FAILED'), Time: new Date('2026-02-03T04:05:06.789Z') }] });
    expect(readEventLog(store).map((e) => e.event.time)).toEqual(['2026-01-01T00:00:00Z', '2026-02-03T04:05:06Z']);
  });

  it('fails bad entries one by one with the AWS error codes', async () => {
    const { op } = setup();
    const result = await op('PutEvents', {
      Entries: [
        { DetailType: 'x', Detail: '{}' },
        { Source: 's', Detail: '{}' },
        { Source: 's', DetailType: 'x' },
        { Source: 's', DetailType: 'x', Detail: '[1]' },
        { Source: 's', DetailType: 'x', Detail: '{' },
        { Source: 's', DetailType: 'x', Detail: '{}', EventBusName: 'ghost' },
        { Source: 's', DetailType: 'x', Detail: '{}' },
      ],
    });
    expect(result.FailedEntryCount).toBe(6);
    const entries = result.Entries as Array<Record<string, string>>;
    expect(entries.slice(0, 6)).toEqual([
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
      },
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
      },
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.',
      },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'ResourceNotFoundException', ErrorMessage: 'Event bus ghost does not exist.' },
    ]);
    expect(entries[6]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses an empty request and more than ten entries', async () => {
    const { op } = setup();
    await expect(op('PutEvents', { Entries: [] })).rejects.toMatchObject({ code: 'ValidationException' });
    const eleven = Array.from({ length: 11 }, () => stateChange('FAILED'));
    await expect(op('PutEvents', { Entries: eleven })).rejects.toMatchObject({ code: 'ValidationException' });
  });

  it('skips disabled rules and rules on other buses', async () => {
    const { eb, op, invokes } = setup();
    await ruleWithTarget(op, { Arn: lambda });
    await op('DisableRule', { Name: 'failed' });
    await op('CreateEventBus', { Name: 'other' });
    await op('PutRule', { Name: 'elsewhere', EventBusName: 'other', EventPattern: '{"source":["aws.codepipeline"]}' });
    await op('PutTargets', { Rule: 'elsewhere', EventBusName: 'other', Targets: [{ Id: 't', Arn: lambda }] });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    expect(invokes).toEqual([]);
    await op('PutEvents', { Entries: [{ ...stateChange('FAILED'), EventBusName: 'other' }] });
    await eb.idle();
    expect(invokes).toHaveLength(1);
  });

  it('starts Step Functions executions for state machine targets', async () => {
    const { eb, op, calls } = setup();
    await ruleWithTarget(op, { Arn: stateMachine, InputPath: '$.detail' });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    expect(calls).toEqual([
      {
        service: 'sfn',
        operation: 'StartExecution',
        input: {
          stateMachineArn: stateMachine,
          input: JSON.stringify({ pipeline: 'app', 'execution-id': 'e-1', state: 'FAILED' }),
        },
      },
    ]);
  });
});

describe('target input', () => {
  it('sends the constant Input instead of the event', async () => {
    const { eb, op, invokes } = setup();
    await ruleWithTarget(op, { Arn: lambda, Input: '{"mode":"sweep"}' });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    expect(invokes[0]?.payload).toEqual({ mode: 'sweep' });
  });

  it('sends the part of the event that InputPath selects', async () => {
    const { eb, op, invokes } = setup();
    await ruleWithTarget(op, { Arn: lambda, InputPath: '$.resources[0]' });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    expect(invokes[0]?.payload).toBe('arn:aws:codepipeline:us-east-1:123456789012:app');
  });

  it('fills an InputTransformer JSON template, quoting strings outside quotes and splicing them inside', async () => {
    const { eb, op, invokes } = setup();
    await ruleWithTarget(op, {
      Arn: lambda,
      InputTransformer: {
        InputPathsMap: {
          pipeline: '$.detail.pipeline',
          state: '$.detail.state',
          detail: '$.detail',
          gone: '$.detail.nope',
        },
        InputTemplate:
          '{"pipeline": <pipeline>, "text": "<pipeline> is <state>", "detail": <detail>, "rule": "<aws.events.rule-name>", "gone": <gone>, "literal": "a <b> c"}',
      },
    });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    expect(invokes[0]?.payload).toEqual({
      pipeline: 'app',
      text: 'app is FAILED',
      detail: { pipeline: 'app', 'execution-id': 'e-1', state: 'FAILED' },
      rule: 'failed',
      gone: null,
      literal: 'a <b> c',
    });
  });

  it('offers the predefined variables and JSONPath wildcards', async () => {
    const { eb, op, invokes } = setup();
    await ruleWithTarget(op, {
      Arn: lambda,
      InputTransformer: {
        InputPathsMap: { arns: '$.resources[*]', keys: '$.detail.*' },
        InputTemplate:
          '{"arns": <arns>, "keys": <keys>, "envelope": <aws.events.event>, "full": <aws.events.event.json>, "arn": "<aws.events.rule-arn>", "at": "<aws.events.event.ingestion-time>"}',
      },
    });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    const payload = invokes[0]?.payload as Record<string, unknown>;
    expect(payload.arns).toEqual(['arn:aws:codepipeline:us-east-1:123456789012:app']);
    expect(payload.keys).toEqual(['app', 'e-1', 'FAILED']);
    expect(payload.envelope).toMatchObject({ source: 'aws.codepipeline' });
    expect(payload.envelope).not.toHaveProperty('detail');
    expect(payload.full).toMatchObject({ detail: { state: 'FAILED' } });
    expect(payload.arn).toBe('arn:aws:events:us-east-1:123456789012:rule/failed');
    expect(payload.at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('produces a string from a quoted-string template and raw text from a plain one', async () => {
    const { eb, op, invokes } = setup();
    await ruleWithTarget(op, {
      Arn: lambda,
      InputTransformer: {
        InputPathsMap: { state: '$.detail.state' },
        InputTemplate: '"Pipeline \\"app\\" is <state>"',
      },
    });
    await ruleWithTarget(
      op,
      {
        Arn: lambda,
        InputTransformer: { InputPathsMap: { state: '$.detail.state' }, InputTemplate: 'state: <state>' },
      },
      'plain',
    );
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    expect(invokes.map((i) => i.payload).sort()).toEqual(['Pipeline "app" is FAILED', 'state: FAILED']);
  });
});

describe('delivery retries and dead letters', () => {
  it('retries a failing delivery with exponential backoff until it succeeds', async () => {
    const clock = new ManualClock();
    const { eb, op, invokes, store } = setup({ clock }, { failInvoke: (_call, n) => n <= 2 });
    await ruleWithTarget(op, { Arn: lambda });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    expect(invokes).toHaveLength(1);
    expect(readPendingDeliveries(store)).toMatchObject([
      { attempts: 1, lastError: expect.stringContaining('throttled') },
    ]);
    clock.advance(999);
    await eb.idle();
    expect(invokes).toHaveLength(1);
    clock.advance(1);
    await eb.idle();
    expect(invokes).toHaveLength(2);
    clock.advance(2000);
    await eb.idle();
    expect(invokes).toHaveLength(3);
    expect(readPendingDeliveries(store)).toEqual([]);
    expect(readDeadLetters(store)).toEqual([]);
  });

  it('dead-letters a delivery once MaximumRetryAttempts is used up, keeping it in the store', async () => {
    const clock = new ManualClock();
    const { eb, op, invokes, store, logs } = setup({ clock, backoff: () => 10 }, { failInvoke: () => true });
    const dlq = 'arn:aws:sqs:us-east-1:123456789012:dlq';
    await ruleWithTarget(op, { Arn: lambda, RetryPolicy: { MaximumRetryAttempts: 2 }, DeadLetterConfig: { Arn: dlq } });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    for (let i = 0; i < 5; i++) {
      await eb.idle();
      clock.advance(10);
    }
    await eb.idle();
    expect(invokes).toHaveLength(3);
    expect(readPendingDeliveries(store)).toEqual([]);
    const [dead] = readDeadLetters(store);
    expect(dead).toMatchObject({
      reason: 'RETRY_ATTEMPTS_EXHAUSTED',
      attempts: 3,
      ruleName: 'failed',
      target: { Id: 't', DeadLetterConfig: { Arn: dlq } },
      event: { source: 'aws.codepipeline' },
    });
    expect(logs.some((l) => l.level === 'error' && l.data?.deadLetterArn === dlq)).toBe(true);
  });

  it('dead-letters a delivery whose next retry would exceed MaximumEventAgeInSeconds', async () => {
    const clock = new ManualClock();
    const { eb, op, store, invokes } = setup({ clock, backoff: () => 45_000 }, { failInvoke: () => true });
    await ruleWithTarget(op, { Arn: lambda, RetryPolicy: { MaximumEventAgeInSeconds: 60 } });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    clock.advance(45_000);
    await eb.idle();
    expect(invokes).toHaveLength(2);
    expect(readDeadLetters(store)).toMatchObject([{ reason: 'MAXIMUM_EVENT_AGE_EXCEEDED', attempts: 2 }]);
  });

  it('dead-letters targets the local cloud cannot reach without retrying', async () => {
    const { eb, op, store } = setup();
    await ruleWithTarget(op, { Arn: 'arn:aws:sqs:us-east-1:123456789012:queue' });
    await op('PutEvents', { Entries: [stateChange('FAILED')] });
    await eb.idle();
    expect(readDeadLetters(store)).toMatchObject([{ reason: 'UNSUPPORTED_TARGET', attempts: 1 }]);
  });
});

describe('persistence', () => {
  it('keeps rules and targets for a new service instance over the same store', async () => {
    const store = new MemoryStore();
    const first = setup({}, { store });
    await ruleWithTarget(first.op, { Arn: lambda });
    const second = setup({}, { store });
    expect(await second.op('ListTargetsByRule', { Rule: 'failed' })).toMatchObject({
      Targets: [{ Id: 't', Arn: lambda }],
    });
    await second.op('PutEvents', { Entries: [stateChange('FAILED')] });
    await second.eb.idle();
    expect(second.invokes).toHaveLength(1);
  });

  it('delivers, after a restart, events that were accepted but not yet delivered', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock();
    // The first process accepts the event but its delivery keeps failing, then the process goes away.
    const first = setup({ clock }, { store, failInvoke: () => true });
    await ruleWithTarget(first.op, { Arn: lambda });
    await first.op('PutEvents', { Entries: [stateChange('FAILED')] });
    await first.eb.idle();
    first.eb.stop?.();
    expect(readPendingDeliveries(store)).toHaveLength(1);

    const second = setup({ clock }, { store });
    await second.eb.start?.(second.ctx);
    clock.advance(1000);
    await second.eb.idle();
    expect(second.invokes).toHaveLength(1);
    expect(second.invokes[0]?.payload).toMatchObject({ detail: { state: 'FAILED' } });
    expect(readPendingDeliveries(store)).toEqual([]);
  });
});

describe('durable store', () => {
  it('survives closing and reopening the file store: rules, targets, pending deliveries and the event log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eb-store-'));
    try {
      const clock = new ManualClock();
      const before = new FileStore(dir);
      const first = setup({ clock }, { store: before, failInvoke: () => true });
      await ruleWithTarget(first.op, { Arn: lambda });
      await first.op('PutEvents', { Entries: [stateChange('FAILED')] });
      await first.eb.idle();
      first.eb.stop?.();
      before.close();

      const after = new FileStore(dir);
      const second = setup({ clock }, { store: after });
      expect(await second.op('DescribeRule', { Name: 'failed' })).toMatchObject({ State: 'ENABLED' });
      expect(readEventLog(after)).toHaveLength(1);
      await second.eb.start?.(second.ctx);
      clock.advance(1000);
      await second.eb.idle();
      expect(second.invokes).toHaveLength(1);
      expect(readPendingDeliveries(after)).toEqual([]);
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('event log', () => {
  it('keeps the last N events per bus with the rules they matched', async () => {
    const store = new MemoryStore();
    const { op } = setup({ eventLogSize: 3 }, { store });
    await ruleWithTarget(op, { Arn: lambda });
    for (const state of ['STARTED', 'FAILED', 'SUCCEEDED', 'FAILED'])
      await op('PutEvents', { Entries: [stateChange(state)] });
    const log = readEventLog(store, 'default');
    expect(log.map((e) => (e.event.detail as { state: string }).state)).toEqual(['FAILED', 'SUCCEEDED', 'FAILED']);
    expect(log.map((e) => e.matchedRules)).toEqual([['failed'], [], ['failed']]);

    // A new instance continues the sequence and the trimming where the old one stopped.
    const again = setup({ eventLogSize: 3 }, { store });
    await again.op('PutEvents', { Entries: [stateChange('STOPPED')] });
    const seqs = readEventLog(store).map((e) => e.seq);
    expect(seqs).toEqual([3, 4, 5]);
  });
});

describe('scheduled rules', () => {
  it('sends a Scheduled Event to the targets of an enabled rate rule on every tick', async () => {
    const clock = new ManualClock();
    const { eb, op, invokes, ctx } = setup({ clock });
    await op('PutRule', { Name: 'sweep', ScheduleExpression: 'rate(5 minutes)' });
    await op('PutTargets', { Rule: 'sweep', Targets: [{ Id: 't', Arn: lambda }] });
    clock.advance(5 * 60_000);
    await eb.idle();
    expect(invokes).toHaveLength(1);
    expect(invokes[0]?.payload).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: [`arn:aws:events:us-east-1:${ctx.accountId}:rule/sweep`],
      detail: {},
      time: '2026-01-01T00:05:00Z',
    });
    clock.advance(5 * 60_000);
    await eb.idle();
    expect(invokes).toHaveLength(2);

    await op('DisableRule', { Name: 'sweep' });
    clock.advance(15 * 60_000);
    await eb.idle();
    expect(invokes).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('re-arms scheduled rules when a new instance starts over the same store', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock();
    const first = setup({ clock }, { store });
    await first.op('PutRule', { Name: 'hourly', ScheduleExpression: 'rate(1 hour)' });
    await first.op('PutTargets', { Rule: 'hourly', Targets: [{ Id: 't', Arn: lambda }] });
    first.eb.stop?.();
    const second = setup({ clock }, { store });
    await second.eb.start?.(second.ctx);
    clock.advance(3_600_000);
    await second.eb.idle();
    expect(second.invokes).toHaveLength(1);
    expect(first.invokes).toHaveLength(0);
    second.eb.stop?.();
  });
});
