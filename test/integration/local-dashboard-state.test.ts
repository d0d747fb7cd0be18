import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardState } from '#local/dashboard/state';
import { startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t?.stop();
});

const state = async () => (await (await fetch(`${t.url}/_local/state`)).json()) as DashboardState;

describe('/_local/state', () => {
  it('gathers approvals with their outbox links, stacks, teardown runs and the outbox', async () => {
    const table = t.cloud.model.tables[0]?.name as string;
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(t.clientConfig));
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: 'APPROVAL#state-approval-01',
          sk: 'META',
          type: 'approval',
          id: 'state-approval-01',
          status: 'PENDING',
          pipeline: 'p',
          createdAt: '2026-01-01T00:00:00Z',
        },
      }),
    );
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'OTHER', sk: '1', type: 'vote' } }));
    await fetch(`${t.url}/_slack/api/chat.postMessage`, {
      method: 'POST',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({
        channel: 'C1',
        text: `<${t.url}/approvals/state-approval-01?k=k1|Review> or ${t.url}/approvals/other-approval-99`,
      }),
    });
    await new CloudFormationClient(t.clientConfig).send(
      new CreateStackCommand({
        StackName: 'state-stack',
        TemplateBody: JSON.stringify({ Resources: { T: { Type: 'AWS::SNS::Topic' } } }),
      }),
    );
    const machine = t.cloud.model.stateMachines[0];
    await new SFNClient(t.clientConfig).send(
      new StartExecutionCommand({ stateMachineArn: machine?.arn, name: 'teardown-run-1', input: '{}' }),
    );

    const s = await waitFor(async () => {
      const x = await state();
      return x.stacks.length > 0 && x.teardownRuns.length > 0 ? x : undefined;
    });
    expect(s.notes).toEqual([]);
    expect(s.approvals).toEqual([
      expect.objectContaining({
        id: 'state-approval-01',
        status: 'PENDING',
        pipeline: 'p',
        links: [`${t.url}/approvals/state-approval-01?k=k1`],
      }),
    ]);
    expect(s.stacks).toEqual([expect.objectContaining({ name: 'state-stack' })]);
    expect(s.teardownRuns).toEqual([expect.objectContaining({ name: 'teardown-run-1', stateMachine: machine?.name })]);
    expect(s.outbox.map((m) => m.channel)).toEqual(['slack']);
    expect(s.schedules.map((x) => x.name).sort()).toEqual(t.cloud.model.schedules.map((x) => x.name).sort());
  });

  it('shows a teardown run waiting out its grace period with the time it starts deleting', async () => {
    const machine = t.cloud.model.stateMachines[0];
    const before = Date.now();
    await new SFNClient(t.clientConfig).send(
      new StartExecutionCommand({
        stateMachineArn: machine?.arn,
        name: 'teardown-grace-1',
        input: JSON.stringify({
          pipeline: 'grace-pipeline',
          executionId: '11111111-2222-3333-4444-555555555555',
          reason: 'FAILED',
          graceSeconds: 600,
        }),
      }),
    );
    const run = await waitFor(async () => {
      const x = await state();
      return x.teardownRuns.find((r) => r.name === 'teardown-grace-1' && r.graceEndsAt !== undefined);
    }, 15_000);
    expect(run.status).toBe('RUNNING');
    // Ten minutes after it entered GraceWait (at STAGECREW_SFN_WAIT_SCALE's pace; real time here).
    const scale = Number(process.env.STAGECREW_SFN_WAIT_SCALE ?? 1);
    expect(run.graceEndsAt).toBeGreaterThanOrEqual(before + 600_000 * scale - 1_000);
    expect(run.graceEndsAt).toBeLessThanOrEqual(Date.now() + 600_000 * scale);
    const page = await (await fetch(`${t.url}/_local/`)).text();
    expect(page).toContain('tears down in');
  });

  it('serves the dashboard page with a strict CSP and no external assets', async () => {
    const res = await fetch(`${t.url}/_local/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    const html = await res.text();
    expect(html).not.toMatch(/(src|href)=["']https?:/);
    expect(html).not.toContain('innerHTML');
  });
});

describe('DynamoDB TTL', () => {
  it('sweeps items whose ttl has passed, as DynamoDB does eventually', async () => {
    const table = t.cloud.model.tables[0]?.name as string;
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(t.clientConfig));
    const now = Math.floor(Date.now() / 1000);
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'ttl', sk: 'old', ttl: now - 10 } }));
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'ttl', sk: 'new', ttl: now + 3600 } }));
    expect(await t.cloud.dynamodb.sweepExpired()).toBe(1);
    expect((await doc.send(new GetCommand({ TableName: table, Key: { pk: 'ttl', sk: 'old' } }))).Item).toBeUndefined();
    expect((await doc.send(new GetCommand({ TableName: table, Key: { pk: 'ttl', sk: 'new' } }))).Item).toBeDefined();
  });
});
