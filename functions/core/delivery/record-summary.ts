import { ConflictError, UnavailableError } from '../errors.ts';
import type { DeliveryStore } from './ports.ts';
import { type DeliverySummary, isDeliveryRecord, projectRecord, type RecordVersion } from './summary.ts';

const MAX_WRITE_ATTEMPTS = 5;

export type SummaryUpdate = { before: DeliverySummary | undefined; after: DeliverySummary; changed: boolean };

/**
 * Folds a stored timeline record into its execution's summary: read, project (pure), conditional write on the
 * revision read; a lost race reads and projects again. Records the figures do not use are skipped (undefined).
 */
export const recordSummary = async (
  store: DeliveryStore,
  version: RecordVersion,
): Promise<SummaryUpdate | undefined> => {
  if (!isDeliveryRecord(version.record)) return undefined;
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const stored = await store.get(version.record.executionId);
    const { summary, changed } = projectRecord(stored?.summary, version);
    if (!changed) return { before: stored?.summary, after: summary, changed: false };
    try {
      await store.put(summary, stored?.revision);
      return { before: stored?.summary, after: summary, changed: true };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      lastConflict = err;
    }
  }
  throw new UnavailableError(`delivery summary write for ${version.record.executionId} kept conflicting`, {
    cause: lastConflict,
  });
};

/**
 * Sets the source revision's creation time once (the first value read wins; it is a fact of the execution, the
 * same on every read). Returns the summary as stored.
 */
export const recordSourceTime = async (
  store: DeliveryStore,
  executionId: string,
  sourceAt: string,
): Promise<DeliverySummary | undefined> => {
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const stored = await store.get(executionId);
    if (!stored) return undefined;
    if (stored.summary.sourceAt !== undefined) return stored.summary;
    const summary = { ...stored.summary, sourceAt };
    try {
      await store.put(summary, stored.revision);
      return summary;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      lastConflict = err;
    }
  }
  throw new UnavailableError(`delivery summary write for ${executionId} kept conflicting`, { cause: lastConflict });
};
