import type { RecordKey, TimelineRecord } from './record.ts';

/** A stored record with its revision, for optimistic concurrency. */
export type StoredRecord = { record: TimelineRecord; revision: number };

/**
 * The execution timeline. Keyed so that a pipeline's executions (newest first) and an execution's stages and
 * actions are each one query.
 */
export type TimelineStore = {
  get(key: RecordKey): Promise<StoredRecord | undefined>;
  /**
   * Writes `record` if the stored revision is still `expectedRevision` (`undefined`: the record must not exist yet).
   * Throws ConflictError when another writer got there first.
   */
  put(record: TimelineRecord, expectedRevision: number | undefined): Promise<void>;
  /** A pipeline's executions, newest first. */
  listExecutions(pipeline: string, options?: { limit?: number }): Promise<TimelineRecord[]>;
  /** The execution record and its stage and action records. */
  listExecution(executionId: string): Promise<TimelineRecord[]>;
};

export type Claim =
  | { claimed: true; delivered: ReadonlySet<string> }
  | { claimed: false; reason: 'done' | 'in-progress' };

/**
 * At-least-once delivery guard keyed by the EventBridge event `id`. A claim is a lease: a crashed invocation's claim
 * expires, so the redelivery is processed; a failed invocation releases its claim so EventBridge's retry is too.
 * Deliveries (Slack channel, email address) are remembered per event so a retry does not repeat them.
 */
export type EventLedger = {
  claim(eventId: string, now: Date): Promise<Claim>;
  markDelivered(eventId: string, deliveryKey: string): Promise<void>;
  complete(eventId: string, now: Date): Promise<void>;
  release(eventId: string): Promise<void>;
};
