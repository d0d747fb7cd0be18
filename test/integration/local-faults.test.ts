import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientSettings } from '#core/clients';
import type { FaultRule, FaultRuleInput } from '#local/runtime/faults';
import type { MeterSnapshot } from '#local/runtime/meter';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

/** `/_local/faults` and `/_local/meter` against real SDK clients: the SDK's retries meet the injected faults. */
let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t.stop();
});
afterEach(async () => {
  await fetch(`${t.url}/_local/faults`, { method: 'DELETE' });
});

const inject = async (...rules: FaultRuleInput[]): Promise<FaultRule[]> => {
  const res = await fetch(`${t.url}/_local/faults`, { method: 'POST', body: JSON.stringify(rules) });
  expect(res.status).toBe(201);
  return (await res.json()) as FaultRule[];
};
const meter = async (): Promise<MeterSnapshot> =>
  (await fetch(`${t.url}/_local/meter`)).json() as Promise<MeterSnapshot>;
const resetMeter = () => fetch(`${t.url}/_local/meter`, { method: 'DELETE' });
const fast = { maxAttempts: 3, retryStrategy: undefined };

describe('injected faults', () => {
  it('throttling twice: the SDK retries and the third attempt answers (backoff timing: test/faults/sdk-adapters)', async () => {
    const ssm = new SSMClient({ ...t.clientConfig, ...fast });
    await ssm.send(new PutParameterCommand({ Name: '/faults/a', Value: 'v', Type: 'String' }));
    await resetMeter();
    await inject({ service: 'ssm', operation: 'GetParameter', fault: 'throttle', times: 2 });
    const out = await ssm.send(new GetParameterCommand({ Name: '/faults/a' }));
    expect(out.Parameter?.Value).toBe('v');
    expect(out.$metadata.attempts).toBe(3);
    expect((await meter()).calls['ssm:GetParameter']).toBe(3);
  });

  it('a 500 that outlasts the retries surfaces as the typed service error', async () => {
    const ssm = new SSMClient({ ...t.clientConfig, maxAttempts: 2 });
    await inject({ service: 'ssm', operation: 'GetParameter', fault: 'error', times: -1 });
    await expect(ssm.send(new GetParameterCommand({ Name: '/faults/a' }))).rejects.toMatchObject({
      name: 'InternalFailure',
      $metadata: { httpStatusCode: 500, attempts: 2 },
    });
  });

  it('a dropped connection after the write: the retry finds the write done (DynamoDB)', async () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ ...t.clientConfig, maxAttempts: 3 }));
    await resetMeter();
    await inject({ service: 'dynamodb', operation: 'PutItem', fault: 'drop-after' });
    await doc.send(
      new PutCommand({ TableName: 'stagecrew-StateTable', Item: { pk: 'faults', sk: 'drop-after', v: 1 } }),
    );
    const got = await doc.send(
      new GetCommand({ TableName: 'stagecrew-StateTable', Key: { pk: 'faults', sk: 'drop-after' } }),
    );
    expect(got.Item?.v).toBe(1);
    expect((await meter()).calls['dynamodb:PutItem']).toBe(2);
    const [rule] = (await (await fetch(`${t.url}/_local/faults`)).json()) as FaultRule[];
    expect(rule?.fired).toBe(1);
  });

  it("a request that hangs is cut by the functions' client timeout and retried", async () => {
    // clientSettings is what every function's clients use; the hung attempt must end at requestTimeout.
    const settings = clientSettings({ requestTimeout: 300, maxAttempts: 2 }, { STAGECREW_LOCAL_ENDPOINT: t.url });
    const ssm = new SSMClient(settings);
    await inject({ service: 'ssm', operation: 'GetParameter', fault: 'timeout', delayMs: 5_000 });
    const started = Date.now();
    const out = await ssm.send(new GetParameterCommand({ Name: '/faults/a' }));
    expect(out.$metadata.attempts).toBe(2);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('without a client timeout the same hang lasts until the server gives up', async () => {
    const ssm = new SSMClient({ ...t.clientConfig, maxAttempts: 2, requestHandler: new NodeHttpHandler({}) });
    await inject({ service: 'ssm', operation: 'GetParameter', fault: 'timeout', delayMs: 1_000 });
    const started = Date.now();
    await ssm.send(new GetParameterCommand({ Name: '/faults/a' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('skip and probability select which matches fire; bad rules are refused with a reason', async () => {
    const [rule] = await inject({ service: 'ssm', operation: 'GetParameter', fault: 'throttle', skip: 1, times: 1 });
    const ssm = new SSMClient({ ...t.clientConfig, maxAttempts: 1 });
    await expect(ssm.send(new GetParameterCommand({ Name: '/faults/a' }))).resolves.toBeDefined();
    await expect(ssm.send(new GetParameterCommand({ Name: '/faults/a' }))).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    await expect(ssm.send(new GetParameterCommand({ Name: '/faults/a' }))).resolves.toBeDefined();
    const [after] = (await (await fetch(`${t.url}/_local/faults`)).json()) as FaultRule[];
    expect(after).toMatchObject({ id: rule?.id, seen: 2, fired: 1 });
    for (const bad of [{}, { service: 'ssm', fault: 'explode' }, { service: 'ssm', fault: 'drop', probability: 2 }]) {
      const res = await fetch(`${t.url}/_local/faults`, { method: 'POST', body: JSON.stringify(bad) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/"(service|fault|probability)"/);
    }
  });
});

describe('meter', () => {
  it('counts Lambda invocations with billed duration and HTTP API requests', async () => {
    await resetMeter();
    await fetch(`${t.url}/approvals/does-not-exist?sig=x`);
    const m = await meter();
    expect(m.httpApiRequests).toBe(1);
    const api = Object.entries(m.functions).find(([name]) => /approval-api|ApprovalApi/i.test(name));
    expect(api?.[1]).toMatchObject({ invocations: 1 });
    expect(api?.[1].billedMs).toBeGreaterThanOrEqual(1);
    expect(api?.[1].memoryMb).toBeGreaterThan(0);
  });
});
