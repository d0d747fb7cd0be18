import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { DynamoEventLedger, DynamoRateLimiter, DynamoTimelineStore } from '#core/adapters/timeline-store';
import { ConflictError, UnavailableError } from '#core/errors';
import type { TimelineRecord } from '#core/timeline/record';

const TABLE = 'state';
const EXEC = '12345678-1234-5678-abcd-12345678abcd';
const ddb = mockClient(DynamoDBDocumentClient);
const doc = createDocumentClient(new DynamoDBClient({ region: 'us-east-1' }));
const fixedNow = () => new Date('2020-01-24T22:20:00Z');

const conditionFailed = (item?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: item as never,
  });

const execution: TimelineRecord = {
  type: 'execution',
  pipeline: 'myPipeline',
  executionId: EXEC,
  state: 'FAILED',
  stateAt: '2020-01-24T22:09:52.000Z',
  firstSeenAt: '2020-01-24T22:03:07.000Z',
  startedAt: '2020-01-24T22:03:07.000Z',
  endedAt: '2020-01-24T22:09:52.000Z',
  durationMs: 405_000,
  lastEventId: 'ev-5',
};

beforeEach(() => ddb.reset());

describe('DynamoTimelineStore', () => {
  const store = new DynamoTimelineStore(doc, TABLE, fixedNow);

  it('creates a new execution record only if absent, indexed by pipeline and start time', async () => {
    ddb.on(PutCommand).resolves({});
    await store.put(execution, undefined);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: {
        pk: `EXEC#${EXEC}`,
        sk: 'EXECUTION',
        gsi1pk: 'PIPELINE#myPipeline',
        gsi1sk: `EXEC#2020-01-24T22:03:07.000Z#${EXEC}`,
        ...execution,
        revision: 1,
        updatedAt: '2020-01-24T22:20:00.000Z',
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('updates an existing record only at the revision it read', async () => {
    ddb.on(PutCommand).resolves({});
    const action: TimelineRecord = {
      type: 'action-execution',
      pipeline: 'myPipeline',
      executionId: EXEC,
      stage: 'Deploy',
      action: 'Deploy',
      state: 'FAILED',
      stateAt: '2020-01-24T22:09:48.000Z',
      firstSeenAt: '2020-01-24T22:09:48.000Z',
      endedAt: '2020-01-24T22:09:48.000Z',
      lastEventId: 'ev-3',
      result: { errorCode: 'JobFailed' },
    };
    await store.put(action, 4);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: {
        pk: `EXEC#${EXEC}`,
        sk: 'ACTION#Deploy#Deploy',
        ...action,
        revision: 5,
        updatedAt: '2020-01-24T22:20:00.000Z',
      },
      ConditionExpression: '#revision = :revision',
      ExpressionAttributeNames: { '#revision': 'revision' },
      ExpressionAttributeValues: { ':revision': 4 },
    });
    // Stage and action rows are not indexed by pipeline.
    const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
    expect(item).not.toHaveProperty('gsi1pk');
  });

  it('turns a lost conditional write into a ConflictError', async () => {
    ddb.on(PutCommand).rejects(conditionFailed());
    await expect(store.put(execution, 2)).rejects.toThrow(ConflictError);
  });

  it('turns throttling into a retryable UnavailableError', async () => {
    ddb
      .on(PutCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(store.put(execution, 2)).rejects.toThrow(UnavailableError);
  });

  it('reads a stage record consistently and strips table attributes', async () => {
    ddb.on(GetCommand).resolves({
      Item: {
        pk: `EXEC#${EXEC}`,
        sk: 'STAGE#Prod',
        revision: 3,
        updatedAt: 'x',
        type: 'stage-execution',
        state: 'STARTED',
      },
    });
    const got = await store.get({ type: 'stage-execution', executionId: EXEC, stage: 'Prod' });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: { pk: `EXEC#${EXEC}`, sk: 'STAGE#Prod' },
      ConsistentRead: true,
    });
    expect(got).toEqual({ record: { type: 'stage-execution', state: 'STARTED' }, revision: 3 });
  });

  it('returns undefined for a missing record', async () => {
    ddb.on(GetCommand).resolves({});
    expect(await store.get({ type: 'execution', executionId: EXEC })).toBeUndefined();
  });

  it("lists a pipeline's executions newest first in one gsi1 query", async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ pk: 'p', sk: 's', gsi1pk: 'g', gsi1sk: 'g', ...execution }] });
    const rows = await store.listExecutions('myPipeline', { limit: 10 });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLE,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
      ExpressionAttributeValues: { ':pk': 'PIPELINE#myPipeline', ':prefix': 'EXEC#' },
      ScanIndexForward: false,
      Limit: 10,
    });
    expect(rows).toEqual([execution]);
  });

  it("reads an execution's stages and actions in one query, following pages, keeping only timeline rows", async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [
          { pk: 'p', sk: 'EXECUTION', type: 'execution' },
          { pk: 'p', sk: 'TEARDOWN#x', type: 'teardown' },
        ],
        LastEvaluatedKey: { pk: 'p', sk: 'TEARDOWN#x' },
      })
      .resolvesOnce({ Items: [{ pk: 'p', sk: 'STAGE#Prod', type: 'stage-execution' }] });
    const rows = await store.listExecution(EXEC);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, {
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `EXEC#${EXEC}` },
      ExclusiveStartKey: { pk: 'p', sk: 'TEARDOWN#x' },
    });
    expect(rows.map((r) => r.type)).toEqual(['execution', 'stage-execution']);
  });
});

describe('DynamoEventLedger', () => {
  const ledger = new DynamoEventLedger(doc, TABLE, { leaseSeconds: 120, retentionSeconds: 604_800 });
  const now = new Date('2020-01-24T22:20:00Z');
  const nowSec = 1_579_904_400;

  it('claims an event id with a conditional write: new, released, or an expired lease', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { status: 'IN_PROGRESS' } });
    expect(await ledger.claim('ev-1', now)).toEqual({ claimed: true, delivered: new Set() });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: { pk: 'EVENT#ev-1', sk: 'EVENT' },
      UpdateExpression:
        'SET #status = :inProgress, #leaseUntil = :leaseUntil, #ttl = :ttl, #claimedAt = :claimedAt, #claimedBy = :me',
      ConditionExpression:
        'attribute_not_exists(pk) OR #status = :released OR (#status = :inProgress AND #leaseUntil < :now) OR (#status = :inProgress AND #claimedBy = :me)',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#leaseUntil': 'leaseUntil',
        '#ttl': 'ttl',
        '#claimedAt': 'claimedAt',
        '#claimedBy': 'claimedBy',
      },
      ExpressionAttributeValues: {
        ':me': expect.stringMatching(/^[0-9a-f]{24}$/),
        ':inProgress': 'IN_PROGRESS',
        ':released': 'RELEASED',
        ':leaseUntil': nowSec + 120,
        ':ttl': nowSec + 604_800,
        ':claimedAt': '2020-01-24T22:20:00.000Z',
        ':now': nowSec,
      },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('returns the deliveries already made by an earlier attempt', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { delivered: new Set(['slack:C1', 'email:a@example.com']) } });
    const claim = await ledger.claim('ev-1', now);
    expect(claim).toEqual({ claimed: true, delivered: new Set(['slack:C1', 'email:a@example.com']) });
  });

  it('reports a processed event as done and a live claim as in progress', async () => {
    ddb
      .on(UpdateCommand)
      .rejectsOnce(conditionFailed({ status: { S: 'DONE' } }))
      .rejectsOnce(conditionFailed({ status: { S: 'IN_PROGRESS' } }));
    expect(await ledger.claim('ev-1', now)).toEqual({ claimed: false, reason: 'done' });
    expect(await ledger.claim('ev-1', now)).toEqual({ claimed: false, reason: 'in-progress' });
  });

  it('remembers a delivery in a string set', async () => {
    ddb.on(UpdateCommand).resolves({});
    await ledger.markDelivered('ev-1', 'slack:C1');
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: { pk: 'EVENT#ev-1', sk: 'EVENT' },
      UpdateExpression: 'ADD #delivered :delivery',
      ExpressionAttributeNames: { '#delivered': 'delivered' },
      ExpressionAttributeValues: { ':delivery': new Set(['slack:C1']) },
    });
  });

  it('completes and releases claims', async () => {
    ddb.on(UpdateCommand).resolves({});
    await ledger.complete('ev-1', now);
    await ledger.release('ev-2');
    expect(ddb).toHaveReceivedNthCommandWith(UpdateCommand, 1, {
      TableName: TABLE,
      Key: { pk: 'EVENT#ev-1', sk: 'EVENT' },
      UpdateExpression: 'SET #status = :status, #completedAt = :completedAt REMOVE #leaseUntil',
      ExpressionAttributeNames: { '#status': 'status', '#leaseUntil': 'leaseUntil', '#completedAt': 'completedAt' },
      ExpressionAttributeValues: { ':status': 'DONE', ':completedAt': '2020-01-24T22:20:00.000Z' },
    });
    expect(ddb).toHaveReceivedNthCommandWith(UpdateCommand, 2, {
      TableName: TABLE,
      Key: { pk: 'EVENT#ev-2', sk: 'EVENT' },
      UpdateExpression: 'SET #status = :status REMOVE #leaseUntil',
      ExpressionAttributeNames: { '#status': 'status', '#leaseUntil': 'leaseUntil' },
      ExpressionAttributeValues: { ':status': 'RELEASED' },
    });
  });
});

describe('DynamoRateLimiter', () => {
  const limiter = new DynamoRateLimiter(doc, TABLE);
  const now = new Date('2020-01-24T22:23:20Z'); // 1579904600: window of 600 s starts at 1579904400

  it('increments the window counter only while below the limit', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { count: 3 } });
    const quota = await limiter.tryAcquire('PIPELINE#myPipeline', 10, 600, now);
    expect(quota).toEqual({ allowed: true, remaining: 7, resetAt: new Date('2020-01-24T22:30:00Z') });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: { pk: 'RATE#PIPELINE#myPipeline', sk: 'WINDOW#1579904400' },
      UpdateExpression: 'ADD #count :one SET #ttl = :ttl',
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
      ExpressionAttributeNames: { '#count': 'count', '#ttl': 'ttl' },
      ExpressionAttributeValues: { ':one': 1, ':limit': 10, ':ttl': 1_579_905_000 + 3600 },
      ReturnValues: 'UPDATED_NEW',
    });
  });

  it('denies when the condition fails (limit reached)', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    expect(await limiter.tryAcquire('PIPELINE#myPipeline', 10, 600, now)).toEqual({
      allowed: false,
      remaining: 0,
      resetAt: new Date('2020-01-24T22:30:00Z'),
    });
  });
});

describe('DynamoEventLedger without ReturnValuesOnConditionCheckFailure support', () => {
  it('reads the claim status when the failed condition carries no old item', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { status: 'DONE' } });
    const ledger = new DynamoEventLedger(doc, TABLE);
    expect(await ledger.claim('ev-9', new Date())).toEqual({ claimed: false, reason: 'done' });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: { pk: 'EVENT#ev-9', sk: 'EVENT' },
      ConsistentRead: true,
      ProjectionExpression: '#status',
      ExpressionAttributeNames: { '#status': 'status' },
    });
  });
});
