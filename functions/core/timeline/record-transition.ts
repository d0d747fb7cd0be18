import { ConflictError, UnavailableError } from '../errors.ts';
import type { TimelineStore } from './ports.ts';
import { keyOf, type MergeResult, mergeTransition } from './record.ts';
import type { Transition } from './transition.ts';

/** Concurrent deliveries for one record are rare (one execution, one second); a few optimistic retries suffice. */
export const MAX_WRITE_ATTEMPTS = 5;

/**
 * Folds a transition into the stored record: read, merge (pure), conditional write on the revision read. A lost
 * race re-reads and merges again, so concurrent events for one record never overwrite each other.
 */
export const recordTransition = async (
  store: TimelineStore,
  t: Transition,
): Promise<MergeResult & { /** The stored record's revision after this call. */ revision: number }> => {
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const stored = await store.get(keyOf(t));
    const result = mergeTransition(stored?.record, t);
    if (!result.changed) return { ...result, revision: stored?.revision ?? 0 };
    try {
      await store.put(result.record, stored?.revision);
      return { ...result, revision: (stored?.revision ?? 0) + 1 };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      lastConflict = err;
    }
  }
  throw new UnavailableError(`timeline write for ${t.executionId} kept conflicting`, { cause: lastConflict });
};
