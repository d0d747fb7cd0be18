import type { RunRecord } from '../teardown/ports.ts';
import type { DeliverySummary } from './summary.ts';

/** A stored summary with its revision, for optimistic concurrency. */
export type StoredSummary = { summary: DeliverySummary; revision: number };

/** Execution summaries, one per execution, listed per pipeline by their anchor time (one index query). */
export type DeliveryStore = {
  get(executionId: string): Promise<StoredSummary | undefined>;
  /**
   * Writes `summary` if the stored revision is still `expectedRevision` (`undefined`: it must not exist yet).
   * Throws ConflictError when another writer got there first.
   */
  put(summary: DeliverySummary, expectedRevision: number | undefined): Promise<void>;
  /** A pipeline's summaries whose anchor time is in `[from, to)`, oldest first. */
  list(pipeline: string, from: string, to: string): Promise<DeliverySummary[]>;
};

/** Finished teardown runs of a pipeline by their end (DynamoTeardownStore). */
export type TeardownRuns = {
  finishedRuns(pipeline: string, from: string, to: string): Promise<RunRecord[]>;
};
