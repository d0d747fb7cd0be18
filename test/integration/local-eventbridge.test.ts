import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  InvalidEventPatternException,
  ListEventBusesCommand,
  ListRuleNamesByTargetCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvocationRecord } from '#local/runtime/invoker';
import { ECHO_FUNCTION_PATH, REPO_ROOT, startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';

let t: TestCloud;
let events: EventBridgeClient;
let echoArn: string;

beforeAll(async () => {
  t = await startTestCloud({ functions: [{ name: 'eb-echo', modulePath: ECHO_FUNCTION_PATH }] });
  events = new EventBridgeClient(t.clientConfig);
  echoArn = `arn:aws:lambda:us-east-1:${t.cloud.ctx.accountId}:function:eb-echo`;
});
afterAll(async () => {
  events?.destroy();
  await t?.stop();
});

const echoed = (): unknown[] =>
  t.cloud.invoker
    .recent('eb-echo')
    .filter((r: InvocationRecord) => r.ok)
    .map((r) => (r.result as { event: unknown }).event);

describe('EventBridge over the wire', () => {
  it('creates, describes, lists, disables and deletes a rule with targets', async () => {
    const pattern = JSON.stringify({ source: ['it.lifecycle'] });
    const put = await events.send(
      new PutRuleCommand({ Name: 'it-lifecycle', EventPattern: pattern, Description: 'd' }),
    );
    expect(put.RuleArn).toBe(`arn:aws:events:us-east-1:${t.cloud.ctx.accountId}:rule/it-lifecycle`);
    expect(await events.send(new DescribeRuleCommand({ Name: 'it-lifecycle' }))).toMatchObject({
      Name: 'it-lifecycle',
      EventPattern: pattern,
      State: 'ENABLED',
      Description: 'd',
      EventBusName: 'default',
    });
    const listed = await events.send(new ListRulesCommand({ NamePrefix: 'it-life' }));
    expect(listed.Rules?.map((r) => r.Name)).toEqual(['it-lifecycle']);

    await events.send(new PutTargetsCommand({ Rule: 'it-lifecycle', Targets: [{ Id: 'echo', Arn: echoArn }] }));
    const targets = await events.send(new ListTargetsByRuleCommand({ Rule: 'it-lifecycle' }));
    expect(targets.Targets).toEqual([{ Id: 'echo', Arn: echoArn }]);

    await events.send(new DisableRuleCommand({ Name: 'it-lifecycle' }));
    expect((await events.send(new DescribeRuleCommand({ Name: 'it-lifecycle' }))).State).toBe('DISABLED');
    await events.send(new EnableRuleCommand({ Name: 'it-lifecycle' }));

    await expect(events.send(new DeleteRuleCommand({ Name: 'it-lifecycle' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: "Rule can't be deleted since it has targets.",
    });
    const removed = await events.send(new RemoveTargetsCommand({ Rule: 'it-lifecycle', Ids: ['echo'] }));
    expect(removed.FailedEntryCount).toBe(0);
    await events.send(new DeleteRuleCommand({ Name: 'it-lifecycle' }));
    const error = await events.send(new DescribeRuleCommand({ Name: 'it-lifecycle' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it('delivers a matching PutEvents event to a Lambda target through an InputTransformer', async () => {
    await events.send(
      new PutRuleCommand({
        Name: 'it-deliver',
        EventPattern: JSON.stringify({ source: ['it.deliver'], detail: { state: [{ prefix: 'FAIL' }] } }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'it-deliver',
        Targets: [
          {
            Id: 'echo',
            Arn: echoArn,
            InputTransformer: {
              InputPathsMap: { state: '$.detail.state', id: '$.id' },
              InputTemplate: '{"state": <state>, "eventId": <id>, "rule": "<aws.events.rule-name>"}',
            },
          },
        ],
      }),
    );
    const put = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'it.deliver', DetailType: 'Test', Detail: JSON.stringify({ state: 'SUCCEEDED' }) },
          { Source: 'it.deliver', DetailType: 'Test', Detail: JSON.stringify({ state: 'FAILED' }) },
          { Source: 'it.deliver', DetailType: 'Test', Detail: 'not json' },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(1);
    expect(put.Entries?.[2]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
    const eventId = put.Entries?.[1]?.EventId;
    const delivered = await waitFor(() => echoed().find((e) => (e as { eventId?: string }).eventId === eventId));
    expect(delivered).toEqual({ state: 'FAILED', eventId, rule: 'it-deliver' });
    expect(echoed().some((e) => (e as { state?: string }).state === 'SUCCEEDED')).toBe(false);
  });

  it('returns typed errors for unknown rules and invalid patterns', async () => {
    await expect(events.send(new DescribeRuleCommand({ Name: 'it-missing' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    const error = await events
      .send(new PutRuleCommand({ Name: 'it-bad', EventPattern: '{"source": "x"}' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidEventPatternException);
    expect((error as Error).message).toBe('Event pattern is not valid. Reason: "source" must be an object or an array');
  });

  it('creates the rules that the template declares', async () => {
    const declared = t.cloud.model.rules.map((r) => r.name).sort();
    const listed = await events.send(new ListRulesCommand({ Limit: 100 }));
    const names = new Set(listed.Rules?.map((r) => r.Name));
    for (const name of declared) expect(names.has(name)).toBe(true);
    expect(t.cloud.problems.filter((p) => p.startsWith('rule '))).toEqual([]);
  });
});

describe('TestEventPattern agrees with AWS on every conformance case', () => {
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'eventbridge-patterns');
  type Case = { name: string; expect: 'match' | 'no-match' | 'invalid'; Event: unknown; EventPattern: unknown };
  const cases = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Case);

  it.each(cases)('$name: $expect', async (c) => {
    const command = new TestEventPatternCommand({
      EventPattern: JSON.stringify(c.EventPattern),
      Event: JSON.stringify(c.Event),
    });
    if (c.expect === 'invalid') {
      await expect(events.send(command)).rejects.toBeInstanceOf(InvalidEventPatternException);
    } else {
      expect((await events.send(command)).Result).toBe(c.expect === 'match');
    }
  });

  it('answers for event buses as EventBridge does (measured messages: default exists, no slash outside partner buses)', async () => {
    await expect(events.send(new CreateEventBusCommand({ Name: 'default' }))).rejects.toMatchObject({
      name: 'ResourceAlreadyExistsException',
      message: 'Event bus default already exists.',
    });
    await expect(events.send(new CreateEventBusCommand({ Name: 'team/bus' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: "Event bus name must not contain '/'.",
    });
    const dflt = await events.send(new DescribeEventBusCommand({}));
    expect(dflt.Name).toBe('default');
    expect(dflt.CreationTime).toBeInstanceOf(Date);
    expect(dflt.LastModifiedTime).toBeInstanceOf(Date);

    for (const name of ['eb-bus-a', 'eb-bus-b', 'eb-bus-c'])
      await events.send(new CreateEventBusCommand({ Name: name }));
    const first = await events.send(new ListEventBusesCommand({ NamePrefix: 'eb-bus-', Limit: 2 }));
    expect(first.EventBuses?.map((b) => b.Name)).toEqual(['eb-bus-a', 'eb-bus-b']);
    const rest = await events.send(
      new ListEventBusesCommand({ NamePrefix: 'eb-bus-', Limit: 2, NextToken: first.NextToken }),
    );
    expect(rest.EventBuses?.map((b) => b.Name)).toEqual(['eb-bus-c']);
    expect(rest.NextToken).toBeUndefined();
    expect(first.EventBuses?.[0]?.LastModifiedTime).toBeInstanceOf(Date);
    for (const name of ['eb-bus-a', 'eb-bus-b', 'eb-bus-c'])
      await events.send(new DeleteEventBusCommand({ Name: name }));
  });

  it('refuses a target whose ARN is not an ARN, and keeps the rule without it', async () => {
    await events.send(new PutRuleCommand({ Name: 'eb-bad-target', EventPattern: JSON.stringify({ source: ['x'] }) }));
    await expect(
      events.send(new PutTargetsCommand({ Rule: 'eb-bad-target', Targets: [{ Id: '1', Arn: 'not-an-arn' }] })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Parameter not-an-arn is not valid. Reason: Provided Arn is not in correct format.',
    });
    expect((await events.send(new ListTargetsByRuleCommand({ Rule: 'eb-bad-target' }))).Targets).toEqual([]);
    await events.send(new PutTargetsCommand({ Rule: 'eb-bad-target', Targets: [{ Id: '1', Arn: echoArn }] }));
    const byTarget = await events.send(new ListRuleNamesByTargetCommand({ TargetArn: echoArn }));
    expect(byTarget.RuleNames).toContain('eb-bad-target');
    await events.send(new RemoveTargetsCommand({ Rule: 'eb-bad-target', Ids: ['1'] }));
    await events.send(new DeleteRuleCommand({ Name: 'eb-bad-target' }));
  });
});
