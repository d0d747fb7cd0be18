import { ConflictError, UnavailableError } from '../errors.ts';
import { type DeliveryPolicy, deploymentOf } from './figures.ts';
import type { DeliveryStore } from './ports.ts';
import type { SourceTime } from './source-time.ts';
import { type DeliverySummary, projectRecord, type RecordVersion } from './summary.ts';

/** The timeline as the rebuild reads it: a pipeline's executions started in a range, and each one's records. */
export type TimelineVersions = {
  /** Ids of the pipeline's executions whose start (or first event) is in `[from, to)`. */
  executionsBetween(pipeline: string, from: string, to: string): Promise<string[]>;
  /** Every record of one execution with its stored revision. */
  versionsOf(executionId: string): Promise<RecordVersion[]>;
};

export type RebuildOutcome = { executions: number; written: number; unchanged: number };

const MAX_WRITE_ATTEMPTS = 5;

/**
 * Recomputes the delivery summaries of a pipeline's executions in `[from, to)` from the timeline: each
 * execution's records folded into its stored summary (or a new one) with the same projection the events use, so
 * a summary that is already complete is left alone and one written concurrently by an event is merged, not
 * overwritten. For executions recorded before the figures existed, or after a summary was lost.
 */
export const rebuildSummaries = async (
  timeline: TimelineVersions,
  store: DeliveryStore,
  pipeline: string,
  range: { from: string; to: string },
  options: {
    /** With the production stage, deployments whose trigger named no commit get their source revision's time. */
    sourceTime?: { read: SourceTime; policy: Pick<DeliveryPolicy, 'productionStage'> };
    progress?: (done: number, total: number) => void;
  } = {},
): Promise<RebuildOutcome> => {
  const ids = await timeline.executionsBetween(pipeline, range.from, range.to);
  const outcome: RebuildOutcome = { executions: ids.length, written: 0, unchanged: 0 };
  for (const [i, id] of ids.entries()) {
    const versions = await timeline.versionsOf(id);
    (await fold(store, id, versions, options.sourceTime)) ? outcome.written++ : outcome.unchanged++;
    options.progress?.(i + 1, ids.length);
  }
  return outcome;
};

/** A deployment that knows no commit time yet (the same rule as when its events arrive). */
const wantsSourceTime = (s: DeliverySummary, policy: Pick<DeliveryPolicy, 'productionStage'>): boolean =>
  s.sourceAt === undefined && s.execution?.commitAt === undefined && deploymentOf(s, policy) !== undefined;

const fold = async (
  store: DeliveryStore,
  executionId: string,
  versions: RecordVersion[],
  sourceTime: { read: SourceTime; policy: Pick<DeliveryPolicy, 'productionStage'> } | undefined,
): Promise<boolean> => {
  let lastConflict: unknown;
  let source: string | undefined;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const stored = await store.get(executionId);
    let summary: DeliverySummary | undefined = stored?.summary;
    let changed = false;
    for (const v of versions) {
      const next = projectRecord(summary, v);
      if (next.changed) {
        summary = next.summary;
        changed = true;
      }
    }
    if (summary && sourceTime && wantsSourceTime(summary, sourceTime.policy)) {
      source ??= await sourceTime.read(summary.pipeline, executionId);
      if (source !== undefined) {
        summary = { ...summary, sourceAt: source };
        changed = true;
      }
    }
    if (!changed || summary === undefined) return false;
    try {
      await store.put(summary, stored?.revision);
      return true;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      lastConflict = err;
    }
  }
  throw new UnavailableError(`delivery summary rebuild for ${executionId} kept conflicting`, { cause: lastConflict });
};
