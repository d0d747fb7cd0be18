import { IdempotencyItemAlreadyExistsError, IdempotencyRecordStatus } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';

/**
 * Powertools' DynamoDB persistence layer, made safe against its own SDK retry. The INPROGRESS claim is a
 * conditional PutItem: when it was stored but its answer lost (a dropped connection, a timeout), the SDK retries
 * it, the retry loses the condition to that very record, and Powertools would take the job for "in progress in
 * another invocation", so no invocation would run it. A stored record identical to the one this call wrote
 * (INPROGRESS, the same expiry and the same millisecond in-progress expiry) is this call's own: the claim holds.
 */
export class RetrySafeDynamoDBPersistenceLayer extends DynamoDBPersistenceLayer {
  protected override async _putRecord(record: IdempotencyRecord): Promise<void> {
    try {
      await super._putRecord(record);
    } catch (err) {
      if (!(err instanceof IdempotencyItemAlreadyExistsError) || record.inProgressExpiryTimestamp === undefined) {
        throw err;
      }
      const stored = err.existingRecord ?? (await this._getRecord(record.idempotencyKey).catch(() => undefined));
      const ours =
        stored !== undefined &&
        stored.getStatus() === IdempotencyRecordStatus.INPROGRESS &&
        stored.inProgressExpiryTimestamp === record.inProgressExpiryTimestamp &&
        stored.expiryTimestamp === record.expiryTimestamp;
      if (!ours) throw err;
    }
  }
}
