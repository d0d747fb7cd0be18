import type { RunRecord } from '../teardown/ports.ts';
import type { DeliverySummary } from './summary.ts';

/**
 * The DORA figures and approval waits of one pipeline over a window, computed from execution summaries (pure).
 * docs/METRICS.md defines each figure; the comments here say how the code reads those definitions.
 */

/** Which stage's success counts as "deployed to production" (undefined: the execution's own success). */
export type DeliveryPolicy = {
  productionStage: string | undefined;
  /** A failure signal this long after a deployment (and before the next one) makes it a change failure. */
  failureWindowMs: number;
};

const ROLLBACK_TRIGGERS: ReadonlySet<string> = new Set(['ManualRollback', 'AutomatedRollback']);

export type Deployment = {
  executionId: string;
  at: string;
  leadTimeMs: number;
  /**
   * `commit`: from the commit's time (the trigger's author date, else the source revision's creation time);
   * `start`: neither is known, so from the execution's start.
   */
  leadTimeFrom: 'commit' | 'start';
  /** The execution's anchor time: orders points that share a second (event times have second precision). */
  anchorAt: string;
};

export type FailureSignal = {
  executionId: string;
  at: string;
  anchorAt: string;
  cause: 'failed' | 'rejected' | 'rollback';
};

/** What ends a failure: a deployment, or a rollback execution that succeeded. */
export type Restore = { executionId: string; at: string; anchorAt: string };

/**
 * Time order of points from different executions. Event times have second precision, so a fast run's failure can
 * share its second with the previous run's deployment: at equal times the execution that started later is later,
 * then the execution id decides, so the order never depends on arrival.
 */
export const orderKey = (p: { at: string; anchorAt: string; executionId: string }): string =>
  `${p.at}|${p.anchorAt}|${p.executionId}`;

const isRollback = (s: DeliverySummary): boolean => ROLLBACK_TRIGGERS.has(s.execution?.triggerType ?? '');

/** The production deployment an execution made, if it made one (rollbacks redeploy an old change: not counted). */
export const deploymentOf = (s: DeliverySummary, policy: Pick<DeliveryPolicy, 'productionStage'>) => {
  if (isRollback(s)) return undefined;
  let at: string | undefined;
  if (policy.productionStage !== undefined) {
    const stage = s.stages[policy.productionStage];
    if (stage?.state === 'SUCCEEDED') at = stage.at;
  } else if (s.execution?.state === 'SUCCEEDED') {
    at = s.execution.endedAt;
  }
  if (at === undefined) return undefined;
  const commitAt = s.execution?.commitAt ?? s.sourceAt;
  const from = commitAt ?? s.execution?.startedAt ?? s.anchorAt;
  const deployment: Deployment = {
    executionId: s.executionId,
    anchorAt: s.anchorAt,
    at,
    leadTimeMs: Math.max(0, Date.parse(at) - Date.parse(from)),
    leadTimeFrom: commitAt !== undefined ? 'commit' : 'start',
  };
  return deployment;
};

/**
 * An execution's failure signal, at most one per execution: a rollback (at its start), else a rejected approval or
 * a failed execution, at the earliest of the rejection and the execution's failure.
 */
export const failureOf = (s: DeliverySummary): FailureSignal | undefined => {
  if (isRollback(s))
    return {
      executionId: s.executionId,
      anchorAt: s.anchorAt,
      at: s.execution?.startedAt ?? s.anchorAt,
      cause: 'rollback',
    };
  const rejections = Object.values(s.approvals)
    .filter((a) => a.state === 'FAILED' && a.decidedAt !== undefined)
    .map((a) => a.decidedAt as string);
  const failedAt = s.execution?.state === 'FAILED' ? s.execution.endedAt : undefined;
  const times = [...rejections, ...(failedAt ? [failedAt] : [])].sort();
  if (times.length === 0) return undefined;
  return {
    executionId: s.executionId,
    anchorAt: s.anchorAt,
    at: times[0] as string,
    cause: rejections.length > 0 ? 'rejected' : 'failed',
  };
};

export const restoreOf = (s: DeliverySummary, policy: Pick<DeliveryPolicy, 'productionStage'>) => {
  const d = deploymentOf(s, policy);
  if (d) return { executionId: d.executionId, at: d.at, anchorAt: s.anchorAt } satisfies Restore;
  if (isRollback(s) && s.execution?.state === 'SUCCEEDED' && s.execution.endedAt)
    return { executionId: s.executionId, at: s.execution.endedAt, anchorAt: s.anchorAt } satisfies Restore;
  return undefined;
};

/** Nearest-rank percentile of sorted values (undefined for none). */
export const percentile = (sorted: readonly number[], p: number): number | undefined => {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
};

const mean = (xs: readonly number[]): number | undefined =>
  xs.length === 0 ? undefined : Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);

export type Distribution = { count: number; p50?: number; p90?: number; mean?: number };

const distribution = (values: readonly number[]): Distribution => {
  const sorted = [...values].sort((a, b) => a - b);
  const d: Distribution = { count: sorted.length };
  const p50 = percentile(sorted, 50);
  const p90 = percentile(sorted, 90);
  const m = mean(sorted);
  if (p50 !== undefined) d.p50 = p50;
  if (p90 !== undefined) d.p90 = p90;
  if (m !== undefined) d.mean = m;
  return d;
};

export type Episode = { openedAt: string; openedBy: string; restoredAt?: string; restoredBy?: string; ms?: number };

type Mark = { at: string; kind: 'failure' | 'restore'; executionId: string; key: string };

/** {@link orderKey} order; within one execution (a rollback that failed, then succeeded) the failure comes first. */
const byTime = (a: Mark, b: Mark): number =>
  a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.kind === b.kind ? 0 : a.kind === 'failure' ? -1 : 1;

/**
 * Failure episodes in time order: the first failure after a healthy state opens one, the next restore closes it.
 * The history before the first summary given is taken as healthy.
 */
export const episodes = (summaries: readonly DeliverySummary[], policy: Pick<DeliveryPolicy, 'productionStage'>) => {
  const marks: Mark[] = [];
  for (const s of summaries) {
    const f = failureOf(s);
    if (f) marks.push({ at: f.at, kind: 'failure', executionId: s.executionId, key: orderKey(f) });
    const r = restoreOf(s, policy);
    if (r) marks.push({ at: r.at, kind: 'restore', executionId: s.executionId, key: orderKey(r) });
  }
  marks.sort(byTime);
  const out: Episode[] = [];
  let open: Episode | undefined;
  for (const m of marks) {
    if (m.kind === 'failure' && !open) {
      open = { openedAt: m.at, openedBy: m.executionId };
      out.push(open);
    } else if (m.kind === 'restore' && open) {
      open.restoredAt = m.at;
      open.restoredBy = m.executionId;
      open.ms = Math.max(0, Date.parse(m.at) - Date.parse(open.openedAt));
      open = undefined;
    }
  }
  return out;
};

/**
 * Deployments followed by a failure signal within the failure window and before the next deployment, in
 * {@link orderKey} order. The deploying execution's own failure counts when it comes later (a stage after the
 * production stage failed).
 */
export const changeFailures = (
  deployments: readonly Deployment[],
  failures: readonly FailureSignal[],
  failureWindowMs: number,
): Set<string> => {
  const keyed = <T extends Deployment | FailureSignal>(xs: readonly T[]) =>
    xs.map((x) => ({ x, key: orderKey(x) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const ds = keyed(deployments);
  const fs = keyed(failures);
  const failed = new Set<string>();
  // One pass: the first failure after a deployment is the only candidate (any later one is later still, so if the
  // first is past the window or past the next deployment, every later one is too).
  let j = 0;
  ds.forEach(({ x: d, key }, i) => {
    while (j < fs.length && (fs[j]?.key as string) <= key) j++;
    const first = fs[j];
    if (!first) return;
    const next = ds[i + 1]?.key;
    if (Date.parse(first.x.at) <= Date.parse(d.at) + failureWindowMs && (next === undefined || first.key < next))
      failed.add(d.executionId);
  });
  return failed;
};

export type ApprovalWaits = Distribution & { approved: number; rejected: number };

type Decided = { key: string; state: string; waitMs: number };

const approvalWaits = (decided: readonly Decided[]): ApprovalWaits => ({
  ...distribution(decided.map((d) => d.waitMs)),
  approved: decided.filter((a) => a.state === 'SUCCEEDED').length,
  rejected: decided.filter((a) => a.state === 'FAILED').length,
});

export type DayFigures = { day: string; deployments: number; failures: number; leadTimeP50Ms?: number };

export type DeliveryFigures = {
  pipeline: string;
  from: string;
  to: string;
  productionStage: string | null;
  deployments: { count: number; perDay: number; leadTimeFromCommit: number };
  leadTimeMs: Distribution;
  changeFailureRate: { deployments: number; failed: number; rate: number | null };
  timeToRestoreMs: Distribution & { open: number };
  approvalWaitMs: ApprovalWaits & { pending: number };
  /**
   * The same per approval action (`stage/action`): each action is routed to its own approvers by the settings'
   * approval rules (pipeline, stage and action globs), so this is the wait per approver group.
   */
  approvalWaitByAction: Record<string, ApprovalWaits>;
  executions: { started: number; succeeded: number; failed: number; rollbacks: number };
  days: DayFigures[];
};

const DAY_MS = 86_400_000;

/**
 * How far around a window the summaries are read: 8 days back (the longest approval wait, 7 days, plus one), so
 * deployments and failures just before the window decide change failures and open episodes inside it; and as far
 * ahead, at least the failure window, so failures and restores just after it count.
 */
export const LOOK_AROUND_MS = 8 * DAY_MS;

export const summaryRange = (window: { from: Date; to: Date }, policy: Pick<DeliveryPolicy, 'failureWindowMs'>) => ({
  from: new Date(window.from.getTime() - LOOK_AROUND_MS).toISOString(),
  to: new Date(window.to.getTime() + Math.max(LOOK_AROUND_MS, policy.failureWindowMs)).toISOString(),
});
const inWindow = (at: string | undefined, from: string, to: string): at is string =>
  at !== undefined && at >= from && at < to;

/**
 * The figures for `[from, to)` from the summaries of that window and a look-back before it (so deployments and
 * failures just before the window decide change failures and open episodes inside it).
 */
export const deliveryFigures = (
  pipeline: string,
  summaries: readonly DeliverySummary[],
  window: { from: Date; to: Date },
  policy: DeliveryPolicy,
): DeliveryFigures => {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const own = summaries.filter((s) => s.pipeline === pipeline);
  const deployments = own.flatMap((s) => deploymentOf(s, policy) ?? []);
  const failures = own.flatMap((s) => failureOf(s) ?? []);
  const inside = deployments.filter((d) => inWindow(d.at, from, to));
  const failedDeployments = changeFailures(deployments, failures, policy.failureWindowMs);
  const failedInside = inside.filter((d) => failedDeployments.has(d.executionId)).length;
  const eps = episodes(own, policy).filter((e) => inWindow(e.openedAt, from, to));
  const restored = eps.flatMap((e) => (e.ms !== undefined ? [e.ms] : []));
  const approvals = own.flatMap((s) => Object.entries(s.approvals).map(([key, a]) => ({ key, ...a })));
  // Decided by a person: approved or rejected (an abandoned or superseded approval was decided by nobody).
  const decided: Decided[] = approvals
    .filter((a) => inWindow(a.decidedAt, from, to) && (a.state === 'SUCCEEDED' || a.state === 'FAILED'))
    .map((a) => ({
      key: a.key,
      state: a.state,
      waitMs: Math.max(0, Date.parse(a.decidedAt as string) - Date.parse(a.requestedAt ?? a.seenAt)),
    }));
  const byAction: Record<string, ApprovalWaits> = {};
  for (const key of [...new Set(decided.map((d) => d.key))].sort()) {
    byAction[key] = approvalWaits(decided.filter((d) => d.key === key));
  }
  const started = own.filter((s) => inWindow(s.anchorAt, from, to));
  const days = Math.max(1, Math.round((window.to.getTime() - window.from.getTime()) / DAY_MS));

  const leadByDay = new Map<string, number[]>();
  for (const d of inside) {
    const day = d.at.slice(0, 10);
    leadByDay.set(day, [...(leadByDay.get(day) ?? []), d.leadTimeMs]);
  }
  const failuresByDay = new Map<string, number>();
  for (const f of failures) {
    if (inWindow(f.at, from, to)) failuresByDay.set(f.at.slice(0, 10), (failuresByDay.get(f.at.slice(0, 10)) ?? 0) + 1);
  }
  const byDay: DayFigures[] = [];
  for (let t = Date.parse(`${from.slice(0, 10)}T00:00:00.000Z`); t < window.to.getTime(); t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    const leads = (leadByDay.get(day) ?? []).sort((a, b) => a - b);
    const p50 = percentile(leads, 50);
    byDay.push({
      day,
      deployments: leads.length,
      failures: failuresByDay.get(day) ?? 0,
      ...(p50 !== undefined ? { leadTimeP50Ms: p50 } : {}),
    });
  }

  return {
    pipeline,
    from,
    to,
    productionStage: policy.productionStage ?? null,
    deployments: {
      count: inside.length,
      perDay: Math.round((inside.length / days) * 100) / 100,
      leadTimeFromCommit: inside.filter((d) => d.leadTimeFrom === 'commit').length,
    },
    leadTimeMs: distribution(inside.map((d) => d.leadTimeMs)),
    changeFailureRate: {
      deployments: inside.length,
      failed: failedInside,
      rate: inside.length === 0 ? null : Math.round((failedInside / inside.length) * 10_000) / 10_000,
    },
    timeToRestoreMs: { ...distribution(restored), open: eps.filter((e) => e.ms === undefined).length },
    approvalWaitByAction: byAction,
    approvalWaitMs: {
      ...approvalWaits(decided),
      pending: approvals.filter((a) => a.decidedAt === undefined && inWindow(a.requestedAt ?? a.seenAt, from, to))
        .length,
    },
    executions: {
      started: started.length,
      succeeded: started.filter((s) => s.execution?.state === 'SUCCEEDED').length,
      failed: started.filter((s) => s.execution?.state === 'FAILED').length,
      rollbacks: started.filter(isRollback).length,
    },
    days: byDay,
  };
};

export type TeardownWeek = {
  /** Monday (UTC) the week starts on. */
  week: string;
  runs: number;
  /** Runs that deleted nothing because the execution was retried or is still running. */
  cancelled: number;
  dryRuns: number;
  /** Stacks per outcome (DELETED, DELETE_FAILED, …) of the runs that were not dry runs. */
  stacks: Record<string, number>;
};

const mondayOf = (iso: string): string => {
  const d = new Date(`${iso.slice(0, 10)}T00:00:00.000Z`);
  const back = (d.getUTCDay() + 6) % 7;
  return new Date(d.getTime() - back * DAY_MS).toISOString().slice(0, 10);
};

/** Teardown outcomes per week (weeks start on Monday, UTC), oldest first. */
export const teardownWeeks = (runs: readonly RunRecord[]): TeardownWeek[] => {
  const weeks = new Map<string, TeardownWeek>();
  for (const r of runs) {
    if (r.finishedAt === undefined) continue;
    const week = mondayOf(r.finishedAt);
    const w = weeks.get(week) ?? { week, runs: 0, cancelled: 0, dryRuns: 0, stacks: {} };
    w.runs++;
    if (r.status === 'CANCELLED') w.cancelled++;
    if (r.dryRun) w.dryRuns++;
    else
      for (const [outcome, n] of Object.entries(r.counts ?? {}))
        w.stacks[outcome] = (w.stacks[outcome] ?? 0) + (n ?? 0);
    weeks.set(week, w);
  }
  return [...weeks.values()].sort((a, b) => (a.week < b.week ? -1 : 1));
};
