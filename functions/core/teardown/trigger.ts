import { createHash } from 'node:crypto';
import { describeLocation, type Location, mayActIn, sameLocation } from '../organization/location.ts';
import type { Settings } from '../settings.ts';

/**
 * When a pipeline execution's end starts (or a resume cancels) the teardown workflow. Pure: pipeline-events calls
 * it with the execution state change and the teardown policy, then starts or stops the state machine with the
 * returned name. The execution name is deterministic (pipeline + execution id), so EventBridge's at-least-once
 * delivery and duplicate FAILED events collide on `ExecutionAlreadyExists` instead of starting two teardowns.
 */

export type TeardownReason = 'FAILED' | 'STOPPED' | 'CANCELED' | 'SUPERSEDED' | 'SUCCEEDED' | 'EXPIRED' | 'MANUAL';

/** Input of the teardown state machine for one pipeline execution. */
export type ExecutionTeardownInput = {
  pipeline: string;
  executionId: string;
  /** Where the pipeline lives, when that is a member account or another region (absent: the hub's own). */
  where?: Location;
  reason: TeardownReason;
  dryRun: boolean;
  graceSeconds: number;
};

export type TeardownTrigger =
  | { action: 'start'; name: string; input: ExecutionTeardownInput }
  | { action: 'stop'; name: string }
  /** An execution in an account this hub was not given: nothing is started there (docs/ORGANIZATION.md). */
  | { action: 'refuse'; why: string }
  | undefined;

/**
 * The fields read from a `CodePipeline Pipeline Execution State Change` detail (`execution-id`) or from a parsed
 * transition (`executionId`). Stage and action transitions (a `scope` other than `pipeline`, or a `stage`) are
 * ignored: only the pipeline-level end of an execution triggers teardown.
 */
export type ExecutionStateChange = {
  pipeline: string;
  state: string;
  'execution-id'?: string;
  executionId?: string;
  scope?: string;
  stage?: string;
  /** The event's account and region (a member account's forwarded event names its own). */
  account?: string;
  region?: string;
};

/** The hub's own location and the member accounts it may act in (settings organization.accounts). */
export type TeardownReach = { home: Location; accounts: readonly string[] };

export type TeardownPolicy = Pick<Settings['teardown'], 'onSuccess' | 'onSuperseded' | 'graceSeconds' | 'dryRun'>;

/** Step Functions execution names: 1–80 characters; we keep to `[A-Za-z0-9_-]`, which is always allowed. */
export const EXECUTION_NAME_MAX = 80;
const UNSAFE = /[^A-Za-z0-9_-]/g;

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);

/**
 * Deterministic execution name for a pipeline execution's teardown. When the plain `<pipeline>--<executionId>`
 * had to be altered (characters replaced or cut), a hash of the original pair is inserted, so two pipelines whose
 * names differ only in replaced characters never share a name.
 */
export const teardownExecutionName = (pipeline: string, executionId: string): string => {
  const safeId = executionId.replace(UNSAFE, '_');
  const safePipeline = pipeline.replace(UNSAFE, '_');
  const plain = `${safePipeline}--${safeId}`;
  const altered = safeId !== executionId || safePipeline !== pipeline;
  if (!altered && plain.length <= EXECUTION_NAME_MAX) return plain;
  // Execution ids are UUIDs (36 characters); anything longer is cut, the hash keeps the name unique.
  const idPart = safeId.slice(0, 40);
  const suffix = `--${shortHash(`${pipeline}\u0000${executionId}`)}--${idPart}`;
  return `${safePipeline.slice(0, EXECUTION_NAME_MAX - suffix.length)}${suffix}`;
};

const executionIdOf = (c: ExecutionStateChange): string | undefined => c['execution-id'] ?? c.executionId;

/**
 * FAILED, STOPPED and CANCELED always tear down (a stopped or cancelled execution never reaches a later delete
 * stage); SUPERSEDED only when `onSuperseded` (with shared stack names the next execution updates the same stack);
 * SUCCEEDED only when `onSuccess`. RESUMED stops the pending teardown of that execution (a retried stage needs
 * its stack). Everything else: nothing to do.
 */
export const planTeardown = (
  change: ExecutionStateChange,
  policy: TeardownPolicy,
  reach?: TeardownReach,
): TeardownTrigger => {
  if (change.scope !== undefined && change.scope !== 'pipeline') return undefined;
  if (change.stage !== undefined) return undefined;
  const executionId = executionIdOf(change);
  if (!change.pipeline || !executionId) return undefined;
  const name = teardownExecutionName(change.pipeline, executionId);
  const where =
    reach && change.account && change.region ? { accountId: change.account, region: change.region } : undefined;
  const elsewhere = where && reach && !sameLocation(where, reach.home) ? where : undefined;
  if (elsewhere && reach && !mayActIn(elsewhere, reach.home, { accounts: [...reach.accounts] })) {
    return { action: 'refuse', why: `${describeLocation(elsewhere)} is not one of this hub's member accounts` };
  }
  const start = (reason: TeardownReason): TeardownTrigger => ({
    action: 'start',
    name,
    input: {
      pipeline: change.pipeline,
      executionId,
      ...(elsewhere ? { where: elsewhere } : {}),
      reason,
      dryRun: policy.dryRun,
      graceSeconds: policy.graceSeconds,
    },
  });
  switch (change.state) {
    case 'FAILED':
    case 'STOPPED':
    case 'CANCELED':
      return start(change.state);
    case 'SUPERSEDED':
      return policy.onSuperseded ? start('SUPERSEDED') : undefined;
    case 'SUCCEEDED':
      return policy.onSuccess ? start('SUCCEEDED') : undefined;
    case 'RESUMED':
      return { action: 'stop', name };
    default:
      return undefined;
  }
};
