import { canonicalJson } from '../canonical-json.ts';
import type { EventScope, State } from '../schemas/codepipeline-events.ts';
import { isTerminal, STATE_RANK, type Transition } from './transition.ts';

export type RecordType = 'execution' | 'stage-execution' | 'action-execution';

export const RECORD_TYPE: Readonly<Record<EventScope, RecordType>> = {
  pipeline: 'execution',
  stage: 'stage-execution',
  action: 'action-execution',
};

/**
 * One row of the timeline: the current state of a pipeline execution, of one stage in it, or of one action in it.
 * Every field is derived so that the same set of events gives the same record whatever their arrival order.
 */
export type TimelineRecord = {
  type: RecordType;
  pipeline: string;
  executionId: string;
  stage?: string;
  action?: string;
  state: State;
  /** Event time of `state`. */
  stateAt: string;
  /** Earliest event time seen for this record (orders executions before their STARTED event arrives). */
  firstSeenAt: string;
  /** Earliest STARTED time seen. */
  startedAt?: string;
  /** Event time of the terminal state, while the record is terminal. */
  endedAt?: string;
  /** endedAt − startedAt, once both are known (including retries in between). */
  durationMs?: number;
  /** Id of the event that set `state`. */
  lastEventId: string;
  account?: string;
  region?: string;
  actionRegion?: string;
  pipelineVersion?: number;
  trigger?: Transition['trigger'];
  stopComments?: string;
  actionType?: Transition['actionType'];
  result?: Transition['result'];
};

/** Identity of a record (the adapter derives table keys from it). */
export type RecordKey = { type: RecordType; executionId: string; stage?: string; action?: string };

export const keyOf = (t: Pick<Transition, 'scope' | 'executionId' | 'stage' | 'action'>): RecordKey => ({
  type: RECORD_TYPE[t.scope],
  executionId: t.executionId,
  ...(t.scope !== 'pipeline' ? { stage: t.stage } : {}),
  ...(t.scope === 'action' ? { action: t.action } : {}),
});

export type MergeResult = {
  record: TimelineRecord;
  /** The event's state became the record's state (a stale or blocked event leaves it alone). */
  advanced: boolean;
  /** Anything in the record changed (so it must be written). */
  changed: boolean;
};

/** A strictly later event may reopen a terminal record only as a retry: RESUMED, or a re-run stage/action. */
const canReopen = (t: Transition): boolean =>
  t.state === 'RESUMED' || (t.state === 'STARTED' && t.scope !== 'pipeline');

const compare = (a: { time: string; state: State }, b: { time: string; state: State }): number => {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  const rank = STATE_RANK[a.state] - STATE_RANK[b.state];
  if (rank !== 0) return rank;
  // Equal time and rank (two terminal states in one second): a fixed order keeps the result arrival-independent.
  return a.state === b.state ? 0 : a.state < b.state ? -1 : 1;
};

const minIso = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined ? a : a < b ? a : b;

const withDuration = (r: TimelineRecord): TimelineRecord => {
  const { durationMs: _old, ...rest } = r;
  if (rest.endedAt === undefined || rest.startedAt === undefined) return rest;
  return { ...rest, durationMs: Math.max(0, Date.parse(rest.endedAt) - Date.parse(rest.startedAt)) };
};

/** Whether a merge changed anything, whatever the key order. */
const canonical = canonicalJson;

const fresh = (t: Transition): TimelineRecord =>
  withDuration({
    ...keyOf(t),
    pipeline: t.pipeline,
    state: t.state,
    stateAt: t.time,
    firstSeenAt: t.time,
    ...(t.state === 'STARTED' ? { startedAt: t.time } : {}),
    ...(isTerminal(t.state) ? { endedAt: t.time } : {}),
    lastEventId: t.eventId,
    ...details(undefined, t, true),
  } as TimelineRecord);

const details = (current: TimelineRecord | undefined, t: Transition, advanced: boolean): Partial<TimelineRecord> => {
  const out: Partial<TimelineRecord> = {};
  const set = <K extends keyof TimelineRecord>(k: K, v: TimelineRecord[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('account', current?.account ?? t.account);
  set('region', current?.region ?? t.region);
  set('actionRegion', current?.actionRegion ?? t.actionRegion);
  set('pipelineVersion', advanced ? (t.pipelineVersion ?? current?.pipelineVersion) : current?.pipelineVersion);
  set('trigger', current?.trigger ?? t.trigger);
  set('actionType', current?.actionType ?? t.actionType);
  set('stopComments', current?.stopComments ?? t.stopComments);
  // The execution result belongs to the state it came with: a newer state replaces it.
  set('result', advanced ? t.result : current?.result);
  return out;
};

/**
 * Folds one transition into the current record (pure). Rules:
 * - the record's state is the latest event by (time, rank): out-of-order arrival never moves it backwards;
 * - a terminal state is left only by a strictly later retry (RESUMED, or STARTED of a stage/action), never by a
 *   late STARTED/STOPPING of the pipeline execution;
 * - startedAt is the earliest STARTED, endedAt the terminal state's time, durationMs their difference.
 */
export const mergeTransition = (current: TimelineRecord | undefined, t: Transition): MergeResult => {
  if (current === undefined) return { record: fresh(t), advanced: true, changed: true };
  // The event that set the current state, processed again (a retried invocation): it still advanced the record,
  // so the steps after the write (teardown, notifications) run again, idempotently.
  if (current.lastEventId === t.eventId) return { record: current, advanced: true, changed: false };

  const later = compare(t, { time: current.stateAt, state: current.state }) > 0;
  const blocked = isTerminal(current.state) && !isTerminal(t.state) && !canReopen(t);
  const advanced = later && !blocked;

  const startedAt = t.state === 'STARTED' ? minIso(current.startedAt, t.time) : current.startedAt;
  const firstSeenAt = minIso(current.firstSeenAt, t.time) ?? t.time;
  const state = advanced ? t.state : current.state;
  const stateAt = advanced ? t.time : current.stateAt;

  const next: TimelineRecord = withDuration({
    ...keyOf({ scope: t.scope, executionId: current.executionId, stage: current.stage, action: current.action }),
    pipeline: current.pipeline,
    state,
    stateAt,
    firstSeenAt,
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(isTerminal(state) ? { endedAt: stateAt } : {}),
    lastEventId: advanced ? t.eventId : current.lastEventId,
    ...details(current, t, advanced),
  } as TimelineRecord);

  return { record: next, advanced, changed: advanced || canonical(next) !== canonical(current) };
};
