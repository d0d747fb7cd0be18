import {
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';

/** The real template.yaml, wired into the other services: rules and targets, state machines, routes. */
let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t?.stop();
});

const has = (id: string) => t.cloud.services.some((s) => s.id === id);

describe('template wiring', () => {
  it('loads every service module and creates every template resource without problems', () => {
    for (const id of [
      'eventbridge',
      'sfn',
      'cloudformation',
      's3',
      'codepipeline',
      'sns',
      'ssm',
      'secretsmanager',
      'sesv2',
    ]) {
      expect(has(id), `service ${id}`).toBe(true);
    }
    expect(t.cloud.problems).toEqual([]);
  });

  it('creates the EventBridgeRule events as rules targeting their functions', async () => {
    const events = new EventBridgeClient(t.clientConfig);
    const rules = await events.send(new ListRulesCommand({ NamePrefix: 'stagecrew-' }));
    expect(rules.Rules?.map((r) => r.Name).sort()).toEqual(t.cloud.model.rules.map((r) => r.name).sort());
    for (const rule of t.cloud.model.rules) {
      const described = rules.Rules?.find((r) => r.Name === rule.name);
      expect(JSON.parse(described?.EventPattern ?? '{}')).toEqual(rule.pattern);
      const targets = await events.send(new ListTargetsByRuleCommand({ Rule: rule.name }));
      expect(targets.Targets?.map((x) => x.Arn)).toEqual([rule.targetArn]);
    }
  });

  it('delivers a matching event to the template function (settled statuses only)', async () => {
    const events = new EventBridgeClient(t.clientConfig);
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'aws.cloudformation',
            DetailType: 'CloudFormation Stack Status Change',
            Detail: JSON.stringify({
              'stack-id': 'arn:aws:cloudformation:us-east-1:000000000000:stack/x/1',
              'status-details': { status: 'DELETE_IN_PROGRESS' },
            }),
          },
          {
            Source: 'aws.cloudformation',
            DetailType: 'CloudFormation Stack Status Change',
            Detail: JSON.stringify({
              'stack-id': 'arn:aws:cloudformation:us-east-1:000000000000:stack/x/1',
              'status-details': { status: 'DELETE_COMPLETE' },
            }),
          },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    const run = await waitFor(() => t.cloud.invoker.recent('stagecrew-StackEventsFunction')[0], 15_000);
    expect(run.type).toBe('Event');
    // The in-progress event matched no rule: it never invoked the function.
    await new Promise((r) => setTimeout(r, 300));
    expect(t.cloud.invoker.recent('stagecrew-StackEventsFunction')).toHaveLength(1);
  });

  it('creates the state machines with their substitutions applied', async () => {
    for (const sm of t.cloud.model.stateMachines) {
      const described = await t.cloud.ctx.call('sfn', 'DescribeStateMachine', { stateMachineArn: sm.arn });
      expect(described.name).toBe(sm.name);
      expect(String(described.definition)).not.toMatch(/\$\{[A-Za-z]+\}/);
    }
  });
});
