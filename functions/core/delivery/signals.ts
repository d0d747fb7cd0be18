import {
  type DeliveryPolicy,
  deploymentOf,
  episodes,
  type FailureSignal,
  failureOf,
  orderKey,
  restoreOf,
} from './figures.ts';
import type { ApprovalPart, DeliverySummary } from './summary.ts';

/**
 * A figure that became known with one summary update, for CloudWatch. Dimensions stay bounded: the pipeline and
 * a stage name (the production stage, or the approval's stage), never an execution id.
 */
export type MetricPoint = {
  name: 'Deployments' | 'LeadTime' | 'Failures' | 'ChangeFailures' | 'TimeToRestore' | 'ApprovalWait';
  unit: 'Count' | 'Milliseconds';
  value: number;
  stage: string;
};

/** The stage dimension of the DORA metrics when the execution's own success counts as the deployment. */
export const EXECUTION_STAGE = '(execution)';

/**
 * What the update `before → after` made known (pure). `recent` is the pipeline's recent summaries, `after`
 * included; it is only read when a deployment or a failure appeared (time to restore and change failures look
 * back). A point is emitted once: only when its part of the summary first appears, so a retried or duplicated
 * event that changes nothing emits nothing.
 */
export const newFigures = async (
  before: DeliverySummary | undefined,
  after: DeliverySummary,
  recent: () => Promise<readonly DeliverySummary[]>,
  policy: DeliveryPolicy,
): Promise<MetricPoint[]> => {
  const stage = policy.productionStage ?? EXECUTION_STAGE;
  const points: MetricPoint[] = [];
  // A deployment is published once its execution's start (and the trigger's commit time) is known: events arrive
  // in any order, and a lead time measured from a later event could not be corrected afterwards.
  const started = (s: DeliverySummary | undefined) => s?.execution?.startedAt !== undefined;
  const deployment = started(after) ? deploymentOf(after, policy) : undefined;
  const failure = failureOf(after);
  const newDeployment = deployment && !(before && started(before) && deploymentOf(before, policy));
  const newFailure = failure && !(before && failureOf(before));
  const restore = restoreOf(after, policy);
  const newRestore = restore && !(before && restoreOf(before, policy));

  if (newDeployment) {
    points.push({ name: 'Deployments', unit: 'Count', value: 1, stage });
    points.push({ name: 'LeadTime', unit: 'Milliseconds', value: deployment.leadTimeMs, stage });
  }
  if (newFailure) points.push({ name: 'Failures', unit: 'Count', value: 1, stage });
  if (newRestore || newFailure) {
    const history = await recent();
    const withAfter = [...history.filter((s) => s.executionId !== after.executionId), after];
    if (newRestore) {
      const closed = episodes(withAfter, policy).find((e) => e.restoredBy === after.executionId);
      if (closed?.ms !== undefined)
        points.push({ name: 'TimeToRestore', unit: 'Milliseconds', value: closed.ms, stage });
    }
    if (newFailure && isFirstFailureAfterDeployment(failure, withAfter, policy))
      points.push({ name: 'ChangeFailures', unit: 'Count', value: 1, stage });
  }
  // An approval's wait is published once both its request (STARTED) and its decision are known.
  const known = (a: ApprovalPart | undefined) =>
    a?.requestedAt !== undefined && a.decidedAt !== undefined && (a.state === 'SUCCEEDED' || a.state === 'FAILED');
  for (const [key, part] of Object.entries(after.approvals)) {
    if (!known(part) || known(before?.approvals[key])) continue;
    const wait = Math.max(0, Date.parse(part.decidedAt as string) - Date.parse(part.requestedAt as string));
    points.push({ name: 'ApprovalWait', unit: 'Milliseconds', value: wait, stage: key.split('/')[0] ?? '' });
  }
  return points;
};

/** The failure is the first one after the latest deployment before it, and within the failure window. */
const isFirstFailureAfterDeployment = (
  failure: FailureSignal,
  summaries: readonly DeliverySummary[],
  policy: DeliveryPolicy,
): boolean => {
  const at = orderKey(failure);
  const previous = summaries
    .flatMap((s) => deploymentOf(s, policy) ?? [])
    .filter((d) => orderKey(d) < at)
    .sort((a, b) => (orderKey(a) < orderKey(b) ? 1 : -1))[0];
  if (!previous || Date.parse(failure.at) - Date.parse(previous.at) > policy.failureWindowMs) return false;
  const since = orderKey(previous);
  return !summaries
    .flatMap((s) => failureOf(s) ?? [])
    .some((f) => f.executionId !== failure.executionId && orderKey(f) > since && orderKey(f) < at);
};
