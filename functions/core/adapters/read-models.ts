import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryStore, TeardownRuns } from '../delivery/ports.ts';
import type { DeliverySummary } from '../delivery/summary.ts';
import { toDomainError } from '../errors.ts';
import type { RunRecord } from '../teardown/ports.ts';
import type { TimelineStore } from '../timeline/ports.ts';
import type { TimelineRecord } from '../timeline/record.ts';

/**
 * The state table's read side: index queries only (no GetItem, no writes), so a reader such as the read API is
 * granted `dynamodb:Query` on the index and nothing else. The stores that write the same items reuse these
 * queries. Item layouts: timeline-store.ts, delivery-store.ts, teardown-store.ts.
 */

const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'revision', 'updatedAt', 'ttl'] as const;

const withoutKeys = (item: Record<string, unknown>): Record<string, unknown> => {
  const copy = { ...item };
  for (const k of KEY_ATTRIBUTES) delete copy[k];
  return copy;
};

export const toTimelineRecord = (item: Record<string, unknown>): TimelineRecord => withoutKeys(item) as TimelineRecord;

export const toDeliverySummary = (item: Record<string, unknown>): DeliverySummary => ({
  pipeline: String(item.pipeline),
  executionId: String(item.executionId),
  anchorAt: String(item.anchorAt),
  ...(item.execution ? { execution: item.execution as DeliverySummary['execution'] } : {}),
  stages: (item.stages ?? {}) as DeliverySummary['stages'],
  approvals: (item.approvals ?? {}) as DeliverySummary['approvals'],
  ...(typeof item.sourceAt === 'string' ? { sourceAt: item.sourceAt } : {}),
});

/** Every page of a gsi1 query on one partition and a sort-key range. */
export const queryIndex = async (
  doc: DynamoDBDocumentClient,
  table: string,
  pk: string,
  from: string,
  to: string,
  what: string,
): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  try {
    do {
      const out = await doc.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
  } catch (err) {
    throw toDomainError(err, what);
  }
  return items;
};

/** A pipeline's executions, newest first (timeline `execution` items under `PIPELINE#<name>`). */
export const queryPipelineExecutions = async (
  doc: DynamoDBDocumentClient,
  table: string,
  pipeline: string,
  limit: number,
): Promise<TimelineRecord[]> => {
  try {
    const out = await doc.send(
      new QueryCommand({
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
        ExpressionAttributeValues: { ':pk': `PIPELINE#${pipeline}`, ':prefix': 'EXEC#' },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toTimelineRecord);
  } catch (err) {
    throw toDomainError(err, 'timeline Query executions');
  }
};

/**
 * A pipeline's delivery summaries whose anchor time is in `[from, to)`, oldest first. `#` sorts below every
 * character of an ISO time and of an execution id, so `<to>#` ends the range just before `to`.
 */
export const queryDeliverySummaries = async (
  doc: DynamoDBDocumentClient,
  table: string,
  pipeline: string,
  from: string,
  to: string,
): Promise<DeliverySummary[]> => {
  const items = await queryIndex(doc, table, `DELIVERY#${pipeline}`, from, `${to}#`, 'delivery summary Query');
  return items.map(toDeliverySummary).filter((s) => s.anchorAt >= from && s.anchorAt < to);
};

/** A pipeline's finished teardown runs whose end is in `[from, to)`. */
export const queryFinishedRuns = async (
  doc: DynamoDBDocumentClient,
  table: string,
  pipeline: string,
  from: string,
  to: string,
): Promise<RunRecord[]> => {
  const items = await queryIndex(doc, table, `TEARDOWN-RUNS#${pipeline}`, from, `${to}#`, 'teardown runs Query');
  return items
    .map((i) => {
      const { type: _type, ...run } = withoutKeys(i);
      return run as RunRecord;
    })
    .filter((r) => r.finishedAt !== undefined && r.finishedAt >= from && r.finishedAt < to);
};

export type TimelineReader = Pick<TimelineStore, 'listExecutions'>;
export type DeliveryReader = Pick<DeliveryStore, 'list'>;

/** The read API's view of the state table. */
export class DynamoReadModels implements TimelineReader, DeliveryReader, TeardownRuns {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
  }

  listExecutions(pipeline: string, options: { limit?: number } = {}): Promise<TimelineRecord[]> {
    return queryPipelineExecutions(this.#doc, this.#table, pipeline, options.limit ?? 25);
  }

  list(pipeline: string, from: string, to: string): Promise<DeliverySummary[]> {
    return queryDeliverySummaries(this.#doc, this.#table, pipeline, from, to);
  }

  finishedRuns(pipeline: string, from: string, to: string): Promise<RunRecord[]> {
    return queryFinishedRuns(this.#doc, this.#table, pipeline, from, to);
  }
}
