import { describe, expect, it } from 'vitest';
import { createEventBridge } from '#local/services/eventbridge/index';
import type { LocalContext } from '#local/services/types';
import { fakeContext } from './fake-context.ts';

const eb = createEventBridge();
const op = async (name: string, input: Record<string, unknown>, ctx: LocalContext) => {
  const fn = eb.operations[name];
  if (!fn) throw new Error(`no operation ${name}`);
  return fn(input, ctx);
};
const failure = (promise: Promise<unknown>) => promise.then(() => undefined).catch((e: unknown) => e);

const pattern = JSON.stringify({ source: ['app'] });

describe('EventBridge rules', () => {
  it('creates a rule on the default bus and describes it', async () => {
    const { ctx } = fakeContext();
    const put = await op('PutRule', { Name: 'on-app', EventPattern: pattern, Description: 'app events' }, ctx);
    expect(put).toEqual({ RuleArn: 'arn:aws:events:us-east-1:123456789012:rule/on-app' });
    expect(await op('DescribeRule', { Name: 'on-app' }, ctx)).toMatchObject({
      Name: 'on-app',
      Arn: 'arn:aws:events:us-east-1:123456789012:rule/on-app',
      EventPattern: pattern,
      State: 'ENABLED',
      Description: 'app events',
      EventBusName: 'default',
    });
  });

  it('updates a rule in place when PutRule is called again', async () => {
    const { ctx } = fakeContext();
    await op('PutRule', { Name: 'r', EventPattern: pattern }, ctx);
    await op('PutRule', { Name: 'r', EventPattern: pattern, State: 'DISABLED' }, ctx);
    expect(await op('ListRules', {}, ctx)).toMatchObject({ Rules: [{ Name: 'r', State: 'DISABLED' }] });
  });

  it('accepts rate and cron schedules and rejects malformed ones', async () => {
    const { ctx } = fakeContext();
    await expect(
      op('PutRule', { Name: 'every-minute', ScheduleExpression: 'rate(1 minute)' }, ctx),
    ).resolves.toBeDefined();
    await expect(op('PutRule', { Name: 'every-5', ScheduleExpression: 'rate(5 minutes)' }, ctx)).resolves.toBeDefined();
    await expect(
      op('PutRule', { Name: 'nightly', ScheduleExpression: 'cron(0 3 * * ? *)' }, ctx),
    ).resolves.toBeDefined();
    for (const bad of ['rate(5 minute)', 'rate(1 minutes)', 'rate(0 minutes)', 'cron(0 3 * *)', 'every 5 minutes']) {
      expect(await failure(op('PutRule', { Name: 'bad', ScheduleExpression: bad }, ctx))).toMatchObject({
        code: 'ValidationException',
        message: 'Parameter ScheduleExpression is not valid.',
      });
    }
  });

  it('requires an event pattern or a schedule, and a valid pattern', async () => {
    const { ctx } = fakeContext();
    expect(await failure(op('PutRule', { Name: 'r' }, ctx))).toMatchObject({ code: 'ValidationException' });
    expect(await failure(op('PutRule', { Name: 'r', EventPattern: '{"source": "app"}' }, ctx))).toMatchObject({
      code: 'InvalidEventPatternException',
      message: 'Event pattern is not valid. Reason: "source" must be an object or an array',
    });
  });

  it('validates rule names against the API model', async () => {
    const { ctx } = fakeContext();
    expect(await failure(op('PutRule', { Name: 'bad name', EventPattern: pattern }, ctx))).toMatchObject({
      code: 'ValidationException',
    });
    expect(await failure(op('PutRule', { Name: 'x'.repeat(65), EventPattern: pattern }, ctx))).toMatchObject({
      code: 'ValidationException',
    });
  });

  it('lists rules by name prefix, in name order', async () => {
    const { ctx } = fakeContext();
    for (const name of ['team-b', 'team-a', 'other']) await op('PutRule', { Name: name, EventPattern: pattern }, ctx);
    const listed = (await op('ListRules', { NamePrefix: 'team-' }, ctx)) as { Rules: Array<{ Name: string }> };
    expect(listed.Rules.map((r) => r.Name)).toEqual(['team-a', 'team-b']);
  });

  it('answers ResourceNotFoundException for unknown rules and buses', async () => {
    const { ctx } = fakeContext();
    expect(await failure(op('DescribeRule', { Name: 'nope' }, ctx))).toMatchObject({
      code: 'ResourceNotFoundException',
      message: 'Rule nope does not exist on EventBus default.',
    });
    expect(await failure(op('EnableRule', { Name: 'nope' }, ctx))).toMatchObject({ code: 'ResourceNotFoundException' });
    expect(await failure(op('ListTargetsByRule', { Rule: 'nope' }, ctx))).toMatchObject({
      code: 'ResourceNotFoundException',
    });
    expect(
      await failure(op('PutRule', { Name: 'r', EventPattern: pattern, EventBusName: 'ghost' }, ctx)),
    ).toMatchObject({
      code: 'ResourceNotFoundException',
      message: 'Event bus ghost does not exist.',
    });
  });

  it('enables and disables rules', async () => {
    const { ctx } = fakeContext();
    await op('PutRule', { Name: 'r', EventPattern: pattern }, ctx);
    await op('DisableRule', { Name: 'r' }, ctx);
    expect(await op('DescribeRule', { Name: 'r' }, ctx)).toMatchObject({ State: 'DISABLED' });
    await op('EnableRule', { Name: 'r' }, ctx);
    expect(await op('DescribeRule', { Name: 'r' }, ctx)).toMatchObject({ State: 'ENABLED' });
  });

  it('refuses to delete a rule that still has targets, then deletes it once they are removed', async () => {
    const { ctx } = fakeContext();
    await op('PutRule', { Name: 'r', EventPattern: pattern }, ctx);
    await op(
      'PutTargets',
      { Rule: 'r', Targets: [{ Id: 't1', Arn: 'arn:aws:lambda:us-east-1:123456789012:function:f' }] },
      ctx,
    );
    expect(await failure(op('DeleteRule', { Name: 'r' }, ctx))).toMatchObject({
      code: 'ValidationException',
      message: "Rule can't be deleted since it has targets.",
    });
    await op('RemoveTargets', { Rule: 'r', Ids: ['t1'] }, ctx);
    await op('DeleteRule', { Name: 'r' }, ctx);
    expect(await failure(op('DescribeRule', { Name: 'r' }, ctx))).toMatchObject({ code: 'ResourceNotFoundException' });
    // Deleting again succeeds, as on AWS.
    await expect(op('DeleteRule', { Name: 'r' }, ctx)).resolves.toEqual({});
  });

  it('keeps rules on custom buses apart, with the bus in the rule ARN', async () => {
    const { ctx } = fakeContext();
    expect(await op('CreateEventBus', { Name: 'pipelines' }, ctx)).toEqual({
      EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/pipelines',
    });
    const put = await op('PutRule', { Name: 'r', EventPattern: pattern, EventBusName: 'pipelines' }, ctx);
    expect(put).toEqual({ RuleArn: 'arn:aws:events:us-east-1:123456789012:rule/pipelines/r' });
    expect(await op('ListRules', {}, ctx)).toEqual({ Rules: [] });
    const busArn = 'arn:aws:events:us-east-1:123456789012:event-bus/pipelines';
    expect(await op('ListRules', { EventBusName: busArn }, ctx)).toMatchObject({ Rules: [{ Name: 'r' }] });
    expect(
      await failure(op('PutRule', { Name: 's', ScheduleExpression: 'rate(1 minute)', EventBusName: 'pipelines' }, ctx)),
    ).toMatchObject({ code: 'ValidationException' });
  });
});

describe('EventBridge targets', () => {
  const lambda = 'arn:aws:lambda:us-east-1:123456789012:function:handler';

  it('adds, replaces by Id, lists and removes targets', async () => {
    const { ctx } = fakeContext();
    await op('PutRule', { Name: 'r', EventPattern: pattern }, ctx);
    const put = await op(
      'PutTargets',
      {
        Rule: 'r',
        Targets: [
          { Id: 'a', Arn: lambda, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 } },
          {
            Id: 'b',
            Arn: lambda,
            Input: '{"fixed":true}',
            DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:dlq' },
          },
        ],
      },
      ctx,
    );
    expect(put).toEqual({ FailedEntryCount: 0, FailedEntries: [] });
    await op('PutTargets', { Rule: 'r', Targets: [{ Id: 'a', Arn: lambda, InputPath: '$.detail' }] }, ctx);
    const listed = (await op('ListTargetsByRule', { Rule: 'r' }, ctx)) as { Targets: unknown[] };
    expect(listed.Targets).toEqual([
      { Id: 'a', Arn: lambda, InputPath: '$.detail' },
      {
        Id: 'b',
        Arn: lambda,
        Input: '{"fixed":true}',
        DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:dlq' },
      },
    ]);
    await op('RemoveTargets', { Rule: 'r', Ids: ['a'] }, ctx);
    expect(await op('ListTargetsByRule', { Rule: 'r' }, ctx)).toMatchObject({ Targets: [{ Id: 'b' }] });
  });

  it('rejects bad target input settings', async () => {
    const { ctx } = fakeContext();
    await op('PutRule', { Name: 'r', EventPattern: pattern }, ctx);
    const put = (target: Record<string, unknown>) =>
      failure(op('PutTargets', { Rule: 'r', Targets: [{ Id: 't', Arn: lambda, ...target }] }, ctx));
    expect(await put({ Input: 'not json' })).toMatchObject({ code: 'ValidationException' });
    expect(await put({ Input: '{}', InputPath: '$.detail' })).toMatchObject({ code: 'ValidationException' });
    expect(await put({ InputPath: 'detail' })).toMatchObject({ code: 'ValidationException' });
    expect(
      await put({ InputTransformer: { InputPathsMap: { 'bad key': '$.x' }, InputTemplate: '"x"' } }),
    ).toMatchObject({
      code: 'ValidationException',
    });
    expect(await put({ InputTransformer: { InputTemplate: '{"a": }' } })).toMatchObject({
      code: 'ValidationException',
    });
    expect(await put({ RetryPolicy: { MaximumRetryAttempts: 186 } })).toMatchObject({ code: 'ValidationException' });
    expect(await put({ RetryPolicy: { MaximumEventAgeInSeconds: 59 } })).toMatchObject({ code: 'ValidationException' });
    expect(await failure(op('PutTargets', { Rule: 'r', Targets: [] }, ctx))).toMatchObject({
      code: 'ValidationException',
    });
  });

  it('allows at most five targets per rule', async () => {
    const { ctx } = fakeContext();
    await op('PutRule', { Name: 'r', EventPattern: pattern }, ctx);
    const targets = ['1', '2', '3', '4', '5', '6'].map((Id) => ({ Id, Arn: lambda }));
    expect(await failure(op('PutTargets', { Rule: 'r', Targets: targets }, ctx))).toMatchObject({
      code: 'LimitExceededException',
    });
  });
});

describe('TestEventPattern', () => {
  const event = JSON.stringify({
    id: '1',
    account: '123456789012',
    source: 'app',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    'detail-type': 'Thing Happened',
    detail: {},
  });

  it('answers whether the pattern matches the event', async () => {
    const { ctx } = fakeContext();
    expect(await op('TestEventPattern', { EventPattern: pattern, Event: event }, ctx)).toEqual({ Result: true });
    expect(await op('TestEventPattern', { EventPattern: '{"source":["x"]}', Event: event }, ctx)).toEqual({
      Result: false,
    });
  });

  it('rejects an event that is not a full EventBridge event with ValidationException, as AWS does', async () => {
    const { ctx } = fakeContext();
    for (const bad of ['{"source":"app"}', 'not json', '[]']) {
      expect(await failure(op('TestEventPattern', { EventPattern: pattern, Event: bad }, ctx))).toMatchObject({
        code: 'ValidationException',
        message: 'Parameter Event is not valid.',
      });
    }
  });

  it('reports an invalid pattern before looking at the event', async () => {
    const { ctx } = fakeContext();
    expect(await failure(op('TestEventPattern', { EventPattern: '{"a": 1}', Event: 'not json' }, ctx))).toMatchObject({
      code: 'InvalidEventPatternException',
    });
  });
});
