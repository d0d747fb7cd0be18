import { createHash } from 'node:crypto';
import type { FailedResource, Item, Observation, Outcome } from './model.ts';
import { checkOwnership } from './ownership.ts';
import type { StackEvent, StackResource, TeardownStack } from './ports.ts';

/**
 * The teardown workflow's decisions, pure: what to do with a stack as described right now, what a status seen
 * after our DeleteStack means, and what to do about a DELETE_FAILED. The task Lambda wires them to AWS; the
 * workflow tests and the benchmark run them through the real state machine.
 */

export type Random = () => number;

/** Stabilising waits (a stack mid-operation) back off from 30 s to 5 min. */
export const STABILISE_FIRST_SECONDS = 30;
export const STABILISE_MAX_SECONDS = 300;
/**
 * Task-token waits: the CloudFormation event normally ends them; their timeouts are the fallback poll, growing
 * ×4 from 15 min to 60 min so a long deletion costs few transitions (bench/teardown-transitions.ts).
 */
export const AWAIT_FIRST_SECONDS = 900;
export const AWAIT_MAX_SECONDS = 3600;
export const AWAIT_GROWTH = 4;

const finish = (item: Item, outcome: Outcome, detail?: string, extra: Partial<Item> = {}): Item => ({
  ...item,
  ...extra,
  next: 'record',
  outcome,
  ...(detail !== undefined ? { detail } : {}),
});

const secondsLeft = (item: Item, now: Date) =>
  item.deadline === undefined ? Number.POSITIVE_INFINITY : (Date.parse(item.deadline) - now.getTime()) / 1000;

/** Exponential backoff with jitter on the top quarter of the step (spreads polls, keeps them long), never past the deadline. */
export const backoff = (
  previous: number | undefined,
  first: number,
  max: number,
  left: number,
  random: Random,
  growth = 2,
): number => {
  const base = previous === undefined ? first : Math.min(max, previous * growth);
  const jittered = Math.round(base * 0.75 + base * 0.25 * random());
  return Math.max(1, Math.min(jittered, Math.ceil(left)));
};

/** ClientRequestToken: `[a-zA-Z][-a-zA-Z0-9]*`, ≤ 128; one per run, stack and attempt, so a retried call is idempotent. */
export const clientRequestToken = (runId: string, stackId: string, attempt: number): string =>
  `stagecrew-${createHash('sha256').update(`${runId}\u0000${stackId}`).digest('hex').slice(0, 32)}-${attempt}`;

const IN_PROGRESS = /_IN_PROGRESS$/;

/**
 * First look at a stack (and again after a stabilising wait). Order matters: gone before ownership (a deleted
 * stack's tags no longer matter), ownership before anything that could lead to DeleteStack, protection before
 * status.
 */
export const inspect = (stack: TeardownStack | undefined, item: Item, now: Date, random: Random): Item => {
  const deadline = item.deadline ?? new Date(now.getTime() + item.policy.deleteTimeoutMinutes * 60_000).toISOString();
  const base = { ...item, deadline };
  if (!item.resolved || stack === undefined) return finish(base, 'ALREADY_GONE', 'no such stack');
  const current = {
    ...base,
    stackName: stack.stackName,
    status: stack.status,
    ...(stack.roleArn ? { stackRoleArn: stack.roleArn } : {}),
  };
  if (stack.status === 'DELETE_COMPLETE') return finish(current, 'ALREADY_GONE', 'DELETE_COMPLETE');
  const ownership = checkOwnership(stack, item.stackId, item, item.policy.allowRules);
  if (!ownership.owned) return finish(current, 'SKIPPED_NOT_OWNED', ownership.why);
  if (stack.terminationProtection) {
    // Never auto-disabled: protection on a test stack is a signal someone wants it kept (H10).
    return finish(current, 'SKIPPED_PROTECTED', 'termination protection is enabled');
  }
  if (stack.status === 'DELETE_IN_PROGRESS') {
    return {
      ...current,
      next: 'await',
      awaitSeconds: backoff(undefined, AWAIT_FIRST_SECONDS, AWAIT_MAX_SECONDS, secondsLeft(current, now), random),
    };
  }
  if (stack.status === 'DELETE_FAILED') return { ...current, next: 'diagnose' };
  if (IN_PROGRESS.test(stack.status) && stack.status !== 'REVIEW_IN_PROGRESS') {
    const left = secondsLeft(current, now);
    if (left <= 0) return finish(current, 'TIMED_OUT', `still ${stack.status} at the deadline`);
    const previous = item.next === 'stabilise' ? item.waitSeconds : undefined;
    return {
      ...current,
      next: 'stabilise',
      waitSeconds: backoff(previous, STABILISE_FIRST_SECONDS, STABILISE_MAX_SECONDS, left, random),
    };
  }
  if (item.dryRun)
    return finish(current, 'DELETED', `dry run: would delete (${stack.status}, owned by ${ownership.by})`);
  return prepareDelete(current, 'STANDARD', [], now, random);
};

/** Next attempt: a fresh ClientRequestToken and the first task-token wait. */
export const prepareDelete = (
  item: Item,
  mode: Item['mode'],
  orphans: FailedResource[],
  now: Date,
  random: Random,
): Item => {
  const attempt = item.attempt + 1;
  return {
    ...item,
    attempt,
    mode,
    orphans,
    next: 'delete',
    clientRequestToken: clientRequestToken(item.runId, item.stackId, attempt),
    awaitSeconds: backoff(undefined, AWAIT_FIRST_SECONDS, AWAIT_MAX_SECONDS, secondsLeft(item, now), random),
  };
};

/** The DeleteStack about to be sent: re-checked on a fresh describe, so ownership can't change in between. */
export type DeleteVerdict = { go: true } | { go: false; why: string };
export const verifyBeforeDelete = (stack: TeardownStack | undefined, item: Item): DeleteVerdict => {
  if (stack === undefined || stack.status === 'DELETE_COMPLETE') return { go: false, why: 'stack no longer exists' };
  const ownership = checkOwnership(stack, item.stackId, item, item.policy.allowRules);
  if (!ownership.owned) return { go: false, why: ownership.why };
  if (stack.terminationProtection) return { go: false, why: 'termination protection is enabled' };
  if (item.mode !== 'STANDARD' && stack.status !== 'DELETE_FAILED') {
    return { go: false, why: `${item.mode} deletion needs DELETE_FAILED, stack is ${stack.status}` };
  }
  if (item.mode === 'STANDARD' && IN_PROGRESS.test(stack.status) && stack.status !== 'REVIEW_IN_PROGRESS') {
    // DELETE_IN_PROGRESS from our own earlier attempt is fine: the same token makes the call idempotent.
    if (stack.status !== 'DELETE_IN_PROGRESS') return { go: false, why: `stack is ${stack.status}` };
  }
  return { go: true };
};

const EXPORT_IN_USE = /Export .* cannot be deleted as it is in use by/i;

/**
 * What a status seen after our DeleteStack means. DELETE_IN_PROGRESS: keep waiting (until the deadline).
 * DELETE_COMPLETE: done. DELETE_FAILED: diagnose. Anything else means CloudFormation refused the delete and put the
 * stack back (an export in use leaves UPDATE_COMPLETE, H4): decided on the first look, not after a 60-minute waiter.
 */
export const conclude = (item: Item, seen: Observation | undefined, now: Date, random: Random): Item => {
  if (seen === undefined || seen.status === 'DELETE_IN_PROGRESS') {
    const left = secondsLeft(item, now);
    if (left <= 0)
      return finish(item, 'TIMED_OUT', 'still DELETE_IN_PROGRESS at the deadline', { status: 'DELETE_IN_PROGRESS' });
    return {
      ...item,
      status: 'DELETE_IN_PROGRESS',
      polls: item.polls + 1,
      next: 'await',
      awaitSeconds: backoff(item.awaitSeconds, AWAIT_FIRST_SECONDS, AWAIT_MAX_SECONDS, left, random, AWAIT_GROWTH),
    };
  }
  const reason = seen.reason;
  const withStatus = { ...item, status: seen.status };
  if (seen.status === 'DELETE_COMPLETE') {
    if (item.mode !== 'STANDARD') {
      return finish(
        withStatus,
        'RETAINED',
        `deleted with ${item.orphans.length} resource(s) left behind (${item.mode})`,
      );
    }
    return finish(
      withStatus,
      'DELETED',
      item.remediated.length > 0 ? `after remediation (${item.remediated.join(', ')})` : undefined,
    );
  }
  if (seen.status === 'DELETE_FAILED')
    return { ...withStatus, next: 'diagnose', ...(reason ? { detail: reason } : {}) };
  if (reason && EXPORT_IN_USE.test(reason)) return finish(withStatus, 'BLOCKED_BY_EXPORT', reason);
  return finish(
    withStatus,
    'DELETE_FAILED',
    `delete refused; stack returned to ${seen.status}${reason ? `: ${reason}` : ''}`,
  );
};

export type Cause = 'bucket-not-empty' | 'repository-not-empty' | 'export-in-use' | 'other';

export const causeOf = (r: FailedResource): Cause => {
  const text = r.reason ?? '';
  if (r.type === 'AWS::S3::Bucket' && /not empty|BucketNotEmpty/i.test(text)) return 'bucket-not-empty';
  if (r.type === 'AWS::ECR::Repository' && /RepositoryNotEmpty|contains images|not empty/i.test(text)) {
    return 'repository-not-empty';
  }
  if (EXPORT_IN_USE.test(text)) return 'export-in-use';
  return 'other';
};

/**
 * The resources that failed deletion, from ListStackResources (status DELETE_FAILED) with the reason taken from
 * the newest matching stack event when the resource itself carries none.
 */
export const failedResources = (resources: StackResource[], events: StackEvent[]): FailedResource[] =>
  resources
    .filter((r) => r.status === 'DELETE_FAILED')
    .map((r) => {
      const event = events.find((e) => e.logicalId === r.logicalId && e.status === 'DELETE_FAILED');
      const reason = r.reason ?? event?.reason;
      return {
        logicalId: r.logicalId,
        type: r.type,
        status: r.status,
        ...(r.physicalId ? { physicalId: r.physicalId } : {}),
        ...(reason ? { reason } : {}),
      };
    });

/**
 * DELETE_FAILED: remediate what Stagecrew can safely clean (the stack's own buckets and repositories) and try
 * again while attempts remain; otherwise apply the policy: report, or RetainResources / FORCE_DELETE_STACK with the
 * orphan inventory recorded (both only valid from DELETE_FAILED and both leave billable resources, H9).
 */
export const planAfterFailure = (item: Item, failed: FailedResource[], now: Date, random: Random): Item => {
  const withFailed = { ...item, status: 'DELETE_FAILED', failedResources: failed };
  const summary = failed.map((f) => `${f.logicalId} (${f.type}): ${f.reason ?? 'no reason given'}`).join('; ');
  if (item.dryRun) return finish(withFailed, 'DELETE_FAILED', `dry run: stack is DELETE_FAILED: ${summary}`);
  if (failed.some((f) => causeOf(f) === 'export-in-use')) return finish(withFailed, 'BLOCKED_BY_EXPORT', summary);
  const remediable = failed.filter((f) => causeOf(f) !== 'other' && f.physicalId !== undefined);
  const attemptsLeft = item.attempt < item.policy.deleteAttempts;
  if (item.mode === 'STANDARD' && attemptsLeft && item.policy.remediate && remediable.length > 0) {
    return { ...withFailed, next: 'remediate' };
  }
  if (item.mode === 'STANDARD' && item.policy.onDeleteFailed !== 'report' && failed.length > 0) {
    const mode = item.policy.onDeleteFailed === 'retain' ? 'RETAIN' : 'FORCE';
    return prepareDelete(withFailed, mode, failed, now, random);
  }
  return finish(
    withFailed,
    'DELETE_FAILED',
    `${summary || (item.detail ?? 'DELETE_FAILED with no failed resource listed')}${missingRole(item, failed)}`,
  );
};

const ACCESS_DENIED = /not authorized|AccessDenied|access denied|UnauthorizedOperation|is not authorized to perform/i;

/**
 * A stack without a service role is deleted with the caller's credentials. When its resources failed for want of
 * permissions and no deletion role is configured, the outcome says exactly what is missing.
 */
const missingRole = (item: Item, failed: FailedResource[]): string => {
  if (item.stackRoleArn || item.policy.deletionRoleArn) return '';
  if (!failed.some((f) => ACCESS_DENIED.test(f.reason ?? ''))) return '';
  return (
    '. The stack has no service role (RoleARN) and teardown.deletionRoleArn is not set, so CloudFormation deleted ' +
    "with the teardown function's own credentials, which may not delete the stack's resources: set " +
    'teardown.deletionRoleArn (stack parameter TeardownDeletionRoleArn) to a role CloudFormation can assume'
  );
};

/** A Catch-ed error becomes this stack's outcome: nothing else is known, so it is reported, never retried here. */
export const failFromError = (item: Item, error: { Error: string; Cause?: string }): Item =>
  finish(item, 'DELETE_FAILED', `${error.Error}${error.Cause ? `: ${error.Cause.slice(0, 500)}` : ''}`);
