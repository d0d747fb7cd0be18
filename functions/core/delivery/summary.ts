import type { State } from '../schemas/codepipeline-events.ts';
import type { TimelineRecord } from '../timeline/record.ts';

/**
 * What the delivery figures need of one pipeline execution, kept beside its timeline records and updated as they
 * change. Each part is a projection of one timeline record, stamped with that record's revision: a part is only
 * replaced by a newer revision of the same record, so the summary, like the records, is the same whatever order
 * the events arrived in and however often they were delivered.
 */
export type DeliverySummary = {
  pipeline: string;
  executionId: string;
  /** The execution's earliest known time (STARTED, or else the first event seen): the summary's sort key. */
  anchorAt: string;
  execution?: ExecutionPart;
  /**
   * Every stage that succeeded, by name (the only stage fact the figures use; which stage is "production" is
   * decided when figures are computed, from the settings). A stage that failed and was retried appears once its
   * retry succeeds; a succeeded stage never runs again in the same execution.
   */
  stages: Record<string, StagePart>;
  /** Manual approval actions, by `stage/action`. */
  approvals: Record<string, ApprovalPart>;
  /**
   * When the execution's source revision was created (GetPipelineExecution's `artifactRevisions[].created`, the
   * earliest): the commit time when the trigger names none. Read once, when the execution deploys.
   */
  sourceAt?: string;
};

export type ExecutionPart = {
  rev: number;
  state: State;
  startedAt?: string;
  endedAt?: string;
  /** `execution-trigger.trigger-type`: rollbacks are `ManualRollback` / `AutomatedRollback`. */
  triggerType?: string;
  /** The commit's time, when the trigger names it (V2 Git triggers' `author-date`). */
  commitAt?: string;
};

export type StagePart = { rev: number; state: State; at: string };

/**
 * `requestedAt` is the approval's STARTED time; until that event arrives (events are not ordered) the wait is
 * counted from `seenAt`, the first event seen, and not published.
 */
export type ApprovalPart = { rev: number; state: State; seenAt: string; requestedAt?: string; decidedAt?: string };

/** A timeline record and the revision it was stored with (the first write is revision 1). */
export type RecordVersion = { record: TimelineRecord; revision: number };

const isApproval = (r: TimelineRecord): boolean =>
  r.type === 'action-execution' && r.actionType?.category === 'Approval';

/** Whether a record has anything to say to the delivery figures (others cost no read and no write). */
export const isDeliveryRecord = (r: TimelineRecord): boolean =>
  r.type === 'execution' || (r.type === 'stage-execution' && r.state === 'SUCCEEDED') || isApproval(r);

const validTime = (s: string | undefined): string | undefined => {
  if (s === undefined) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
};

const minIso = (a: string, b: string | undefined): string => (b !== undefined && b < a ? b : a);

const defined = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/**
 * Folds a stored timeline record into an execution's summary (pure). A part already holding the same or a newer
 * revision of the record is left alone. `changed` says whether the summary must be written.
 */
export const projectRecord = (
  current: DeliverySummary | undefined,
  { record: r, revision }: RecordVersion,
): { summary: DeliverySummary; changed: boolean } => {
  const base: DeliverySummary = current ?? {
    pipeline: r.pipeline,
    executionId: r.executionId,
    anchorAt: r.startedAt ?? r.firstSeenAt,
    stages: {},
    approvals: {},
  };
  if (!isDeliveryRecord(r)) return { summary: base, changed: false };
  const next: DeliverySummary = {
    ...base,
    anchorAt: minIso(base.anchorAt, r.startedAt ?? r.firstSeenAt),
    stages: { ...base.stages },
    approvals: { ...base.approvals },
  };
  // A part is replaced only by a newer revision, so a replaced part always differs (its `rev` at least).
  let replaced = false;
  if (r.type === 'execution') {
    if ((base.execution?.rev ?? 0) < revision) {
      replaced = true;
      next.execution = defined({
        rev: revision,
        state: r.state,
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        triggerType: r.trigger?.type,
        commitAt: validTime(r.trigger?.authorDate),
      });
    }
  } else if (r.type === 'stage-execution') {
    const name = r.stage ?? '';
    if ((base.stages[name]?.rev ?? 0) < revision) {
      replaced = true;
      next.stages[name] = { rev: revision, state: r.state, at: r.endedAt ?? r.stateAt };
    }
  } else {
    const key = `${r.stage}/${r.action}`;
    if ((base.approvals[key]?.rev ?? 0) < revision) {
      replaced = true;
      next.approvals[key] = defined({
        rev: revision,
        state: r.state,
        seenAt: r.firstSeenAt,
        requestedAt: r.startedAt,
        decidedAt: r.endedAt,
      });
    }
  }
  const changed = current === undefined || replaced || next.anchorAt !== base.anchorAt;
  return { summary: changed ? next : base, changed };
};
