/**
 * The real invoke-action handler (functions/invoke-action/handler.ts) with its real Powertools idempotency
 * configuration against an in-process dynalite table keyed pk/sk like the state table; CodePipeline and
 * CloudFormation are mocked. Proves the persistence layer fits the table and a redelivered job is reported once.
 */
import { CloudFormationClient, DescribeStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import { type DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import basic from '../../../events/codepipeline-job-basic.json' with { type: 'json' };
import registerEvent from '../../../events/codepipeline-job-register-test-stack.json' with { type: 'json' };
import { type Dynalite, startDynalite } from '../../helpers/dynalite.ts';

const cp = mockClient(CodePipelineClient);
const cfn = mockClient(CloudFormationClient);
let handler: (event: unknown, context: Context) => Promise<unknown>;
let db: Dynalite;
let ddb: DynamoDBClient;

const context = (): Context =>
  ({
    functionName: 'stagecrew-InvokeActionFunction',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:stagecrew-InvokeActionFunction',
    memoryLimitInMB: '512',
    awsRequestId: `req-${Math.random()}`,
    logGroupName: '/aws/lambda/x',
    logStreamName: 's',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 110_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }) as Context;

beforeAll(async () => {
  db = await startDynalite('stagecrew-state');
  ddb = db.client;
  vi.stubEnv('STAGECREW_LOCAL_ENDPOINT', db.endpoint);
  vi.stubEnv('STATE_TABLE_NAME', db.tableName);
  ({ handler } = (await import('../../../functions/invoke-action/handler.ts')) as unknown as {
    handler: typeof handler;
  });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await db.stop();
});

beforeEach(() => {
  cp.reset();
  cfn.reset();
});

describe('invoke-action handler', () => {
  it('reports a job delivered twice exactly once, with the idempotency record in the pk/sk table', async () => {
    cp.on(PutJobSuccessResultCommand).resolves({});
    cp.on(PutJobFailureResultCommand).resolves({});
    const event = structuredClone(basic);
    event['CodePipeline.job'].data.actionConfiguration.configuration.UserParameters = '{"task":"gate"}';
    const first = await handler(event, context());
    const second = await handler(structuredClone(event), context());
    expect(first).toEqual({
      jobId: '11111111-abcd-1111-abcd-111111abcdef',
      task: 'gate',
      kind: 'success',
      outcome: 'reported',
    });
    expect(second).toEqual(first);
    expect(cp).toHaveReceivedCommandTimes(PutJobSuccessResultCommand, 1);
    const items =
      (await ddb.send(new ScanCommand({ TableName: 'stagecrew-state' }))).Items?.map((i) => unmarshall(i)) ?? [];
    const record = items.find((i) => i.pk === 'IDEMPOTENCY#invoke-action');
    expect(record).toMatchObject({ status: 'COMPLETED', sk: expect.stringMatching(/#.+/) });
    expect(record?.ttl).toBeGreaterThan(Date.now() / 1000);
    // Nothing of the job's credentials is stored.
    expect(JSON.stringify(items)).not.toContain('example-secret-key-not-real');
  });

  it('registers a test stack: the teardown record lands in the table', async () => {
    const stackId = 'arn:aws:cloudformation:us-east-1:111111111111:stack/test-3a1c2b4d/5f0e';
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackId: stackId, StackName: 'test-3a1c2b4d', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date() },
      ],
    });
    cfn
      .on(UpdateStackCommand)
      .rejects(Object.assign(new Error('No updates are to be performed.'), { name: 'ValidationError' }));
    cp.on(PutJobSuccessResultCommand).resolves({});
    const result = await handler(structuredClone(registerEvent), context());
    expect(result).toMatchObject({ task: 'register-test-stack', kind: 'success', outcome: 'reported' });
    const out = await ddb.send(
      new GetItemCommand({
        TableName: 'stagecrew-state',
        Key: {
          pk: { S: 'TEARDOWN#awscicd-pipeline#3a1c2b4d-1111-2222-3333-444455556666' },
          sk: { S: `STACK#${stackId}` },
        },
      }),
    );
    expect(out.Item && unmarshall(out.Item)).toMatchObject({
      type: 'teardown-registration',
      stackName: 'test-3a1c2b4d',
      stackId,
      pipeline: 'awscicd-pipeline',
      executionId: '3a1c2b4d-1111-2222-3333-444455556666',
      expiresAt: expect.any(String),
      ttl: expect.any(Number),
    });
    const input = cp.commandCalls(PutJobSuccessResultCommand)[0]?.args[0].input;
    expect(input?.outputVariables).toMatchObject({
      StackId: stackId,
      ExecutionId: '3a1c2b4d-1111-2222-3333-444455556666',
    });
  });
});
