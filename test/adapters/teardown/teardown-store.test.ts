import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { DynamoTeardownStore } from '#core/adapters/teardown-store';

const ddb = mockClient(DynamoDBDocumentClient);
const store = () => new DynamoTeardownStore(createDocumentClient(new DynamoDBClient({})), 'table');
const id = 'arn:aws:cloudformation:us-east-1:123456789012:stack/test-a/0a1b2c3d-0000-1111-2222-333344445555';

describe('DynamoTeardownStore', () => {
  beforeEach(() => ddb.reset());

  it('reads registrations of one execution', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ stackId: id, stackName: 'test-a', expiresAt: '2026-01-02T00:00:00Z' }] });
    expect(await store().registrations('app', 'e-1')).toEqual([
      { stackId: id, stackName: 'test-a', expiresAt: '2026-01-02T00:00:00Z' },
    ]);
    expect(ddb).toReceiveCommandWith(QueryCommand, {
      TableName: 'table',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
      ExpressionAttributeValues: { ':pk': 'TEARDOWN#app#e-1', ':sk': 'STACK#', ':type': 'teardown-registration' },
    });
  });

  it('keys waits by StackId and ClientRequestToken, and outcomes next to the registrations', async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    await store().putWait({
      stackId: id,
      clientRequestToken: 't-1',
      taskToken: 'tok',
      runId: 'r',
      createdAt: 'now',
      expiresAt: 99,
    });
    await store().putStackOutcome({
      stackId: id,
      stackName: 'test-a',
      outcome: 'DELETED',
      dryRun: false,
      attempts: 1,
      orphans: [],
      remediated: [],
      runId: 'r',
      pipeline: 'app',
      executionId: 'e-1',
      recordedAt: '2026-01-01T00:00:00Z',
    });
    await store().deleteWait(id, 't-1');
    const items = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item);
    expect(items[0]).toMatchObject({
      pk: `TEARDOWN-WAIT#${id}`,
      sk: 'TOKEN#t-1',
      type: 'teardown-wait',
      taskToken: 'tok',
      ttl: 99,
    });
    expect(items[1]).toMatchObject({
      pk: 'TEARDOWN#app#e-1',
      sk: `OUTCOME#${id}`,
      type: 'teardown-stack',
      outcome: 'DELETED',
    });
    expect(ddb).toReceiveCommandWith(DeleteCommand, {
      TableName: 'table',
      Key: { pk: `TEARDOWN-WAIT#${id}`, sk: 'TOKEN#t-1' },
    });
  });

  it('creates the run record once: a re-run of the same execution keeps the first start time', async () => {
    const run = {
      runId: 'exec-1',
      pipeline: 'app',
      executionId: 'e-1',
      reason: 'FAILED',
      dryRun: false,
      status: 'RUNNING' as const,
      startedAt: '2026-11-23T10:00:00.000Z',
    };
    ddb.on(PutCommand).resolves({});
    expect(await store().startRun(run)).toEqual({ startedAt: '2026-11-23T10:00:00.000Z' });
    expect(ddb).toReceiveCommandWith(PutCommand, {
      TableName: 'table',
      Item: expect.objectContaining({ pk: 'TEARDOWN#app#e-1', sk: 'RUN#exec-1', status: 'RUNNING' }),
      ConditionExpression: 'attribute_not_exists(pk)',
    });

    ddb.reset();
    ddb
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    ddb.on(GetCommand).resolves({ Item: { startedAt: '2026-11-23T09:00:00.000Z' } });
    expect(await store().startRun({ ...run, startedAt: '2026-11-23T10:05:00.000Z' })).toEqual({
      startedAt: '2026-11-23T09:00:00.000Z',
    });
    expect(ddb).toReceiveCommandWith(GetCommand, {
      TableName: 'table',
      Key: { pk: 'TEARDOWN#app#e-1', sk: 'RUN#exec-1' },
      ConsistentRead: true,
    });
  });
});
