import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TimelineVersions } from '../delivery/rebuild.ts';
import type { RecordVersion } from '../delivery/summary.ts';
import { toDomainError } from '../errors.ts';
import type { Quota, RateLimiter } from '../notify/ports.ts';
import type { Claim, EventLedger, StoredRecord, TimelineStore } from '../timeline/ports.ts';
import type { RecordKey, TimelineRecord } from '../timeline/record.ts';
import { isConditionalCheckFailed } from './dynamodb.ts';
import { queryIndex, queryPipelineExecutions, toTimelineRecord } from './read-models.ts';
import { putRevisioned } from './revisioned.ts';
import { timelineKeys } from './timeline-keys.ts';

/**
 * The execution timeline, the event ledger (dedupe) and the notification rate limiter, all in the single state
 * table (pk/sk + gsi1). Item layout:
 *
 * | item            | pk                 | sk                      | gsi1pk             | gsi1sk                        |
 * |-----------------|--------------------|-------------------------|--------------------|-------------------------------|
 * | execution       | `EXEC#<id>`        | `EXECUTION`             | `PIPELINE#<name>`  | `EXEC#<startedAt>#<id>`       |
 * | stage-execution | `EXEC#<id>`        | `STAGE#<stage>`         |                    |                               |
 * | action-execution| `EXEC#<id>`        | `ACTION#<stage>#<act>`  |                    |                               |
 * | event claim     | `EVENT#<event id>` | `EVENT`                 |                    | (ttl)                         |
 * | rate window     | `RATE#<key>`       | `WINDOW#<epoch start>`  |                    | (ttl)                         |
 *
 * So a pipeline's executions are one gsi1 query (newest first) and an execution with its stages and actions is
 * one query on pk.
 */
const toRecord = toTimelineRecord;

export class DynamoTimelineStore implements TimelineStore, TimelineVersions {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;

  constructor(doc: DynamoDBDocumentClient, tableName: string, now: () => Date = () => new Date()) {
    this.#doc = doc;
    this.#table = tableName;
    this.#now = now;
  }

  async get(key: RecordKey): Promise<StoredRecord | undefined> {
    try {
      const out = await this.#doc.send(
        new GetCommand({ TableName: this.#table, Key: timelineKeys(key), ConsistentRead: true }),
      );
      if (!out.Item) return undefined;
      return { record: toRecord(out.Item), revision: Number(out.Item.revision ?? 0) };
    } catch (err) {
      throw toDomainError(err, 'timeline GetItem');
    }
  }

  put(record: TimelineRecord, expectedRevision: number | undefined): Promise<void> {
    const index =
      record.type === 'execution'
        ? {
            gsi1pk: `PIPELINE#${record.pipeline}`,
            gsi1sk: `EXEC#${record.startedAt ?? record.firstSeenAt}#${record.executionId}`,
          }
        : {};
    const item = { ...timelineKeys(record), ...index, ...record };
    return putRevisioned(this.#doc, this.#table, item, expectedRevision, this.#now(), 'timeline record');
  }

  listExecutions(pipeline: string, options: { limit?: number } = {}): Promise<TimelineRecord[]> {
    return queryPipelineExecutions(this.#doc, this.#table, pipeline, options.limit ?? 25);
  }

  /** Ids of a pipeline's executions whose start (or first event) is in `[from, to)`: one gsi1 query, paged. */
  async executionsBetween(pipeline: string, from: string, to: string): Promise<string[]> {
    const items = await queryIndex(
      this.#doc,
      this.#table,
      `PIPELINE#${pipeline}`,
      `EXEC#${from}`,
      `EXEC#${to}#`,
      'timeline Query executions between',
    );
    return items.flatMap((i) =>
      typeof i.executionId === 'string' && String(i.gsi1sk) < `EXEC#${to}` ? [i.executionId] : [],
    );
  }

  /** Every timeline record of an execution with its stored revision (for rebuilding derived data). */
  async versionsOf(executionId: string): Promise<RecordVersion[]> {
    const items = await this.#executionItems(executionId);
    return items.map((i) => ({ record: toRecord(i), revision: Number(i.revision ?? 0) }));
  }

  async listExecution(executionId: string): Promise<TimelineRecord[]> {
    return (await this.#executionItems(executionId)).map(toRecord);
  }

  /** The execution's timeline items (one query on its pk, paged); other features' items under it are left out. */
  async #executionItems(executionId: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.#doc.send(
          new QueryCommand({
            TableName: this.#table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `EXEC#${executionId}` },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        items.push(...(out.Items ?? []));
        start = out.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw toDomainError(err, 'timeline Query execution');
    }
    return items.filter((i) => i.type === 'execution' || i.type === 'stage-execution' || i.type === 'action-execution');
  }
}

const IN_PROGRESS = 'IN_PROGRESS';
const DONE = 'DONE';
const RELEASED = 'RELEASED';

const epochSeconds = (d: Date): number => Math.floor(d.getTime() / 1000);

/** Reads an attribute from a ConditionalCheckFailed error's `Item` (marshalled or plain). */
const oldAttribute = (err: unknown, name: string): string | undefined => {
  const item = (err as { Item?: Record<string, unknown> }).Item;
  const v = item?.[name];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'S' in v && typeof v.S === 'string') return v.S;
  return undefined;
};

export class DynamoEventLedger implements EventLedger {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #leaseSeconds: number;
  readonly #retentionSeconds: number;

  /**
   * @param leaseSeconds how long a claim blocks redeliveries; longer than the function timeout, so a live
   *   invocation is never overtaken.
   * @param retentionSeconds how long a processed event id is remembered (EventBridge retries for up to 24 h).
   */
  constructor(
    doc: DynamoDBDocumentClient,
    tableName: string,
    options: { leaseSeconds?: number; retentionSeconds?: number } = {},
  ) {
    this.#doc = doc;
    this.#table = tableName;
    this.#leaseSeconds = options.leaseSeconds ?? 120;
    this.#retentionSeconds = options.retentionSeconds ?? 7 * 86_400;
  }

  async claim(eventId: string, now: Date): Promise<Claim> {
    const nowSec = epochSeconds(now);
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: `EVENT#${eventId}`, sk: 'EVENT' },
          // `claimedBy` names this call: an SDK retry after an applied attempt whose answer was lost still holds
          // the claim, instead of skipping its own event as "in progress" (EventBridge would never redeliver it).
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
            ':me': randomBytes(12).toString('hex'),
            ':inProgress': IN_PROGRESS,
            ':released': RELEASED,
            ':leaseUntil': nowSec + this.#leaseSeconds,
            ':ttl': nowSec + this.#retentionSeconds,
            ':claimedAt': now.toISOString(),
            ':now': nowSec,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const delivered = out.Attributes?.delivered;
      return { claimed: true, delivered: new Set(delivered instanceof Set ? [...delivered].map(String) : []) };
    } catch (err) {
      if (isConditionalCheckFailed(err)) {
        const status = oldAttribute(err, 'status') ?? (await this.#status(eventId));
        return { claimed: false, reason: status === DONE ? 'done' : 'in-progress' };
      }
      throw toDomainError(err, 'event ledger claim');
    }
  }

  /** Fallback for implementations that do not return the old item on a failed condition. */
  async #status(eventId: string): Promise<string | undefined> {
    try {
      const out = await this.#doc.send(
        new GetCommand({
          TableName: this.#table,
          Key: { pk: `EVENT#${eventId}`, sk: 'EVENT' },
          ConsistentRead: true,
          ProjectionExpression: '#status',
          ExpressionAttributeNames: { '#status': 'status' },
        }),
      );
      return typeof out.Item?.status === 'string' ? out.Item.status : undefined;
    } catch (err) {
      throw toDomainError(err, 'event ledger status');
    }
  }

  async markDelivered(eventId: string, deliveryKey: string): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: `EVENT#${eventId}`, sk: 'EVENT' },
          UpdateExpression: 'ADD #delivered :delivery',
          ExpressionAttributeNames: { '#delivered': 'delivered' },
          ExpressionAttributeValues: { ':delivery': new Set([deliveryKey]) },
        }),
      );
    } catch (err) {
      throw toDomainError(err, 'event ledger markDelivered');
    }
  }

  async complete(eventId: string, now: Date): Promise<void> {
    await this.#setStatus(eventId, DONE, now);
  }

  async release(eventId: string): Promise<void> {
    await this.#setStatus(eventId, RELEASED, undefined);
  }

  async #setStatus(eventId: string, status: string, now: Date | undefined): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: `EVENT#${eventId}`, sk: 'EVENT' },
          UpdateExpression: now
            ? 'SET #status = :status, #completedAt = :completedAt REMOVE #leaseUntil'
            : 'SET #status = :status REMOVE #leaseUntil',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#leaseUntil': 'leaseUntil',
            ...(now ? { '#completedAt': 'completedAt' } : {}),
          },
          ExpressionAttributeValues: { ':status': status, ...(now ? { ':completedAt': now.toISOString() } : {}) },
        }),
      );
    } catch (err) {
      throw toDomainError(err, `event ledger ${status.toLowerCase()}`);
    }
  }
}

/**
 * Fixed-window rate limiter: one counter item per key and window, incremented only while below the limit
 * (a conditional ADD, atomic across concurrent invocations), expiring by TTL after the window.
 */
export class DynamoRateLimiter implements RateLimiter {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
  }

  async tryAcquire(key: string, limit: number, windowSeconds: number, now: Date): Promise<Quota> {
    const nowSec = epochSeconds(now);
    const windowStart = nowSec - (nowSec % windowSeconds);
    const resetAt = new Date((windowStart + windowSeconds) * 1000);
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: `RATE#${key}`, sk: `WINDOW#${windowStart}` },
          UpdateExpression: 'ADD #count :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':ttl': windowStart + windowSeconds + 3600 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const count = Number(out.Attributes?.count ?? 1);
      return { allowed: true, remaining: Math.max(0, limit - count), resetAt };
    } catch (err) {
      if (isConditionalCheckFailed(err)) return { allowed: false, remaining: 0, resetAt };
      throw toDomainError(err, 'rate limiter');
    }
  }
}
