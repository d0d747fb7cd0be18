import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryStore, StoredSummary } from '../delivery/ports.ts';
import type { DeliverySummary } from '../delivery/summary.ts';
import { toDomainError } from '../errors.ts';
import { queryDeliverySummaries, toDeliverySummary } from './read-models.ts';
import { putRevisioned } from './revisioned.ts';

/**
 * Execution summaries for the delivery figures, in the state table beside the execution's timeline records:
 *
 * | item              | pk          | sk         | gsi1pk              | gsi1sk                    |
 * |-------------------|-------------|------------|---------------------|---------------------------|
 * | delivery summary  | `EXEC#<id>` | `DELIVERY` | `DELIVERY#<name>`   | `<anchorAt>#<id>`         |
 *
 * A window of a pipeline is one gsi1 query on a key range (read-models.ts). The anchor time only moves earlier (an earlier event
 * arrives late); the index key is an attribute of the item, so the item moves with it.
 */
const SK = 'DELIVERY';

const fromItem = toDeliverySummary;

export class DynamoDeliveryStore implements DeliveryStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;

  constructor(doc: DynamoDBDocumentClient, tableName: string, now: () => Date = () => new Date()) {
    this.#doc = doc;
    this.#table = tableName;
    this.#now = now;
  }

  async get(executionId: string): Promise<StoredSummary | undefined> {
    try {
      const out = await this.#doc.send(
        new GetCommand({ TableName: this.#table, Key: { pk: `EXEC#${executionId}`, sk: SK }, ConsistentRead: true }),
      );
      if (!out.Item) return undefined;
      return { summary: fromItem(out.Item), revision: Number(out.Item.revision ?? 0) };
    } catch (err) {
      throw toDomainError(err, 'delivery summary GetItem');
    }
  }

  put(summary: DeliverySummary, expectedRevision: number | undefined): Promise<void> {
    const item = {
      pk: `EXEC#${summary.executionId}`,
      sk: SK,
      gsi1pk: `DELIVERY#${summary.pipeline}`,
      gsi1sk: `${summary.anchorAt}#${summary.executionId}`,
      type: 'delivery-summary',
      ...summary,
    };
    return putRevisioned(this.#doc, this.#table, item, expectedRevision, this.#now(), 'delivery summary');
  }

  list(pipeline: string, from: string, to: string): Promise<DeliverySummary[]> {
    return queryDeliverySummaries(this.#doc, this.#table, pipeline, from, to);
  }
}
