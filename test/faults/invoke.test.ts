/**
 * Invoke actions under injected faults on the local cloud: the real InvokeActionFunction (worker thread, real SDK
 * clients, Powertools idempotency in the state table) run by the local CodePipeline. Whatever fails, the job ends
 * with exactly one result, and Lambda's async retries never report a job twice.
 */
import { randomUUID } from 'node:crypto';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import basic from '../../events/codepipeline-job-basic.json' with { type: 'json' };
import { waitFor } from '../helpers/local-cloud.ts';
import {
  actionRuns,
  clearFaults,
  createInvokePipeline,
  type FaultCloud,
  faults,
  inject,
  meter,
  resetMeter,
  settle,
  stageStatus,
  startFaultCloud,
} from './harness.ts';

let t: FaultCloud;
let cp: CodePipelineClient;
const FN = 'stagecrew-InvokeActionFunction';

beforeAll(async () => {
  t = await startFaultCloud();
  cp = new CodePipelineClient(t.clientConfig);
});
afterAll(async () => {
  await t?.cleanup();
});
afterEach(async () => {
  await clearFaults(t);
});

const calls = async (op: string) => (await meter(t)).calls[`codepipeline:${op}`] ?? 0;
const fnMeter = async () => (await meter(t)).functions[FN] ?? { invocations: 0, errors: 0 };

/** Runs an Invoke pipeline whose job meets `rules`; returns the Check action's runs once the stage has ended. */
const runWithFaults = async (pipeline: string, rules: Parameters<typeof inject>[1][]) => {
  await settle(t);
  await resetMeter(t);
  await inject(t, ...rules);
  await createInvokePipeline(t, cp, pipeline, { task: 'gate' });
  const status = await waitFor(async () => {
    const s = await stageStatus(cp, pipeline, 'Check');
    return s === 'Succeeded' || s === 'Failed' ? s : undefined;
  }, 30_000);
  await settle(t);
  return { status, runs: await actionRuns(cp, pipeline, 'Check') };
};

describe('Invoke action job results under injected faults', () => {
  it('PutJobSuccessResult dropped after it was taken: the retry counts as done; one result', async () => {
    const { status, runs } = await runWithFaults('invoke-drop-after', [
      { service: 'codepipeline', operation: 'PutJobSuccessResult', fault: 'drop-after' },
    ]);
    expect((await faults(t))[0]?.fired).toBe(1);
    expect(status).toBe('Succeeded');
    expect(runs.map((r) => r.status)).toEqual(['Succeeded']);
    // The SDK's retry reached CodePipeline, which said the job was no longer waiting: no third call.
    expect(await calls('PutJobSuccessResult')).toBe(2);
    expect(await calls('PutJobFailureResult')).toBe(0);
    expect(await fnMeter()).toMatchObject({ invocations: 1, errors: 0 });
  });

  it('PutJobSuccessResult throttled twice: retried with backoff inside the invocation; one result', async () => {
    const { status, runs } = await runWithFaults('invoke-throttled', [
      { service: 'codepipeline', operation: 'PutJobSuccessResult', fault: 'throttle', times: 2 },
    ]);
    expect(status).toBe('Succeeded');
    expect(runs).toHaveLength(1);
    expect(await calls('PutJobSuccessResult')).toBe(3);
    expect(await fnMeter()).toMatchObject({ invocations: 1, errors: 0 });
  });

  it('PutJobSuccessResult failing through every SDK attempt: the invocation fails, the Lambda async retry reports once', async () => {
    const { status, runs } = await runWithFaults('invoke-lambda-retry', [
      { service: 'codepipeline', operation: 'PutJobSuccessResult', fault: 'error', times: 5 },
    ]);
    expect((await faults(t))[0]?.fired).toBe(5);
    expect(status).toBe('Succeeded');
    expect(runs.map((r) => r.status)).toEqual(['Succeeded']);
    // 5 failed attempts in the first invocation, 1 accepted in the retry; the idempotency record was released.
    expect(await calls('PutJobSuccessResult')).toBe(6);
    expect(await calls('PutJobFailureResult')).toBe(0);
    expect(await fnMeter()).toMatchObject({ invocations: 2, errors: 1 });
  });
});

describe('Powertools idempotency under injected faults (the function invoked directly)', () => {
  const lambda = () => new LambdaClient({ ...t.clientConfig, maxAttempts: 1 });
  const job = (jobId: string) => {
    const event = structuredClone(basic) as typeof basic;
    event['CodePipeline.job'].id = jobId;
    event['CodePipeline.job'].data.actionConfiguration.configuration.UserParameters = '{"task":"gate"}';
    return event;
  };
  const invoke = async (event: unknown) => {
    const out = await lambda().send(
      new InvokeCommand({ FunctionName: FN, Payload: Buffer.from(JSON.stringify(event)) }),
    );
    return { error: out.FunctionError, payload: JSON.parse(Buffer.from(out.Payload ?? []).toString() || 'null') };
  };

  it('the same job delivered twice (an SNS/Lambda redelivery) is reported once', async () => {
    await settle(t);
    await resetMeter(t);
    const event = job(randomUUID());
    const first = await invoke(event);
    const second = await invoke(event);
    expect(first.payload).toMatchObject({ kind: 'success' });
    expect(second.payload).toEqual(first.payload);
    // No such job in the local CodePipeline: the one report meets JobNotFound, which counts as done.
    expect(await calls('PutJobSuccessResult')).toBe(1);
  });

  it('the idempotency claim dropped after it was stored: the job is still run and reported', async () => {
    await settle(t);
    await resetMeter(t);
    // The handler's first DynamoDB write is Powertools' INPROGRESS claim (a conditional PutItem).
    await inject(t, { service: 'dynamodb', operation: 'PutItem', fault: 'drop-after' });
    const out = await invoke(job(randomUUID()));
    expect((await faults(t))[0]?.fired).toBe(1);
    expect(out.payload).toMatchObject({ kind: 'success' });
    expect(await calls('PutJobSuccessResult')).toBe(1);
  });

  it('a job whose claim is held by another invocation is neither run nor reported here', async () => {
    await settle(t);
    await resetMeter(t);
    const jobId = randomUUID();
    const event = job(jobId);
    // The first delivery claims the job and completes; make its record look like a live claim of another
    // invocation (INPROGRESS, its own in-progress deadline), then deliver again.
    const db = DynamoDBDocumentClient.from(new DynamoDBClient(t.clientConfig));
    const table = t.cloud.model.outputs.StateTableName as string;
    const claims = async () =>
      (
        await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': 'IDEMPOTENCY#invoke-action' },
            ConsistentRead: true,
          }),
        )
      ).Items ?? [];
    const before = new Set((await claims()).map((i) => String(i.sk)));
    await invoke(event);
    const mine = (await claims()).find((i) => !before.has(String(i.sk)));
    expect(mine).toBeDefined();
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: mine?.pk, sk: mine?.sk },
        UpdateExpression: 'SET #s = :p, in_progress_expiration = :later REMOVE #d',
        ExpressionAttributeNames: { '#s': 'status', '#d': 'data' },
        ExpressionAttributeValues: { ':p': 'INPROGRESS', ':later': Date.now() + 60_000 },
      }),
    );
    await resetMeter(t);
    const again = await invoke(event);
    // Refused as held elsewhere (an error for Lambda to retry, or a skip), not answered from a stored result.
    expect(again.error !== undefined || again.payload?.skipped === 'in-progress-elsewhere').toBe(true);
    expect(await calls('PutJobSuccessResult')).toBe(0);
    expect(await calls('PutJobFailureResult')).toBe(0);
  });
});
