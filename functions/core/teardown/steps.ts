import { ValidationError } from '../errors.ts';
import { NotAMemberAccountError } from '../organization/errors.ts';
import { describeLocation, type Location, locationOfArn, mayActIn, sameLocation } from '../organization/location.ts';
import type { Clock } from '../ports.ts';
import type { Settings } from '../settings.ts';
import {
  causeOf,
  clientRequestToken,
  conclude,
  failedResources,
  failFromError,
  inspect,
  planAfterFailure,
  prepareDelete,
  type Random,
  verifyBeforeDelete,
} from './decide.ts';
import { discoverStacks } from './discover.ts';
import { OwnershipChangedError, StackSettledError } from './errors.ts';
import { type Item, ItemState, Observation, parseTeardownRequest, parseWith, Run, type StackResult } from './model.ts';
import type {
  BucketCleaner,
  DeployActions,
  ExecutionStatusReader,
  ImageCleaner,
  LocatedTeardown,
  TeardownStack,
  TeardownStacks,
  TeardownStore,
} from './ports.ts';

/**
 * The task steps of the teardown workflow, one function per state. Each takes the state's input as Step Functions
 * hands it over, validates it, and returns what the state's ResultPath stores. The state machine does the routing.
 */
export type StepDeps = {
  /** Stacks, buckets and images in the hub's own account and region. */
  stacks: TeardownStacks;
  store: TeardownStore;
  executions: ExecutionStatusReader;
  actions: DeployActions;
  buckets: BucketCleaner;
  images: ImageCleaner;
  settings: () => Promise<Settings>;
  clock: Clock;
  random: Random;
  /** The hub's own account and region; absent: every stack is taken to be there (single-account tests). */
  home?: Location;
  /**
   * The same in another account or region, through that member account's role (docs/ORGANIZATION.md); it refuses
   * an account the settings do not list. Absent: the hub acts only at home.
   */
  elsewhere?: (where: Location) => Promise<LocatedTeardown>;
};

/** Where a stack lives, from its StackId (an unresolved `name:` id: nowhere in particular, i.e. home). */
const stackLocation = (item: Pick<Item, 'stackId'>): Location | undefined => locationOfArn(item.stackId);

const isHome = (where: Location | undefined, deps: Pick<StepDeps, 'home'>): boolean =>
  where === undefined || deps.home === undefined || sameLocation(where, deps.home);

/** The stacks, buckets and images of the account and region a location names (home: the function's own). */
export const teardownAt = async (where: Location | undefined, deps: StepDeps): Promise<LocatedTeardown> => {
  if (where === undefined || isHome(where, deps)) {
    return { stacks: deps.stacks, buckets: deps.buckets, images: deps.images };
  }
  if (!deps.elsewhere) throw new NotAMemberAccountError(where.accountId);
  return deps.elsewhere(where);
};

const stacksOf = async (item: Pick<Item, 'stackId'>, deps: StepDeps): Promise<TeardownStacks> =>
  (await teardownAt(stackLocation(item), deps)).stacks;

/**
 * The item as ownership sees it: outside the hub's own account and region the settings' allow rules do not apply
 * (a member role deletes only stacks tagged stagecrew:managed=true, and IAM enforces that too).
 */
const ownershipView = (item: Item, deps: StepDeps): Item =>
  isHome(stackLocation(item), deps) ? item : { ...item, policy: { ...item.policy, allowRules: [] } };

/** Validates the input, snapshots the policy and writes the run record. Malformed input fails the execution. */
export const start = async (raw: unknown, executionName: string, deps: StepDeps): Promise<Run> => {
  const request = parseTeardownRequest(raw);
  const { teardown: settings, organization } = await deps.settings();
  const sweep = 'stacks' in request;
  const runId = executionName;
  const dryRun = request.dryRun || settings.dryRun;
  // A re-run of the same execution keeps the first start time (the record is created once).
  const { startedAt } = await deps.store.startRun({
    runId,
    ...(sweep ? {} : { pipeline: request.pipeline, executionId: request.executionId }),
    reason: request.reason,
    dryRun,
    status: 'RUNNING',
    startedAt: deps.clock.now().toISOString(),
  });
  const run: Run = {
    runId,
    ...(sweep ? {} : { pipeline: request.pipeline, executionId: request.executionId }),
    ...('where' in request && request.where ? { where: request.where } : {}),
    reason: request.reason,
    // Either the request or the current policy can ask for a dry run; neither can turn the other's off.
    dryRun,
    sweep,
    graceSeconds: sweep ? 0 : request.graceSeconds,
    maxConcurrency: settings.maxConcurrency,
    startedAt,
    policy: {
      onDeleteFailed: settings.onDeleteFailed,
      deleteAttempts: settings.deleteAttempts,
      remediate: settings.remediate,
      deleteTimeoutMinutes: settings.deleteTimeoutMinutes,
      allowRules: settings.allowRules,
      ...(settings.deletionRoleArn ? { deletionRoleArn: settings.deletionRoleArn } : {}),
      memberAccounts: organization.accounts,
    },
    ...(sweep ? { stacks: request.stacks } : {}),
  };
  return run;
};

/** Execution statuses that mean the run is over for good; anything else (InProgress after a retry) cancels. */
const ENDED = new Set(['Failed', 'Stopped', 'Cancelled', 'Superseded', 'Succeeded']);

/** After the grace period: a resumed (InProgress/Stopping) execution keeps its stacks. */
export const checkExecution = async (rawRun: unknown, deps: StepDeps) => {
  const run = parseWith(Run, rawRun, 'teardown run');
  if (run.sweep || !run.pipeline || !run.executionId) return { proceed: true, status: 'n/a' };
  const status = await deps.executions.status(run.pipeline, run.executionId, run.where);
  return { proceed: ENDED.has(status), status };
};

export const discover = async (rawRun: unknown, deps: StepDeps): Promise<{ stacks: Item[]; count: number }> => {
  const run = parseWith(Run, rawRun, 'teardown run');
  const stacks = await discoverStacks(run, {
    store: deps.store,
    actions: deps.actions,
    stacksAt: async (where) => {
      // A part left out is the hub's own: a cross-region action of a home pipeline names only its region.
      const home = deps.home;
      if (!home || (!where.accountId && !where.region)) return deps.stacks;
      const full = { accountId: where.accountId ?? home.accountId, region: where.region ?? home.region };
      return (await teardownAt(full, deps)).stacks;
    },
  });
  return { stacks, count: stacks.length };
};

const state = (raw: unknown) => parseWith(ItemState, raw, 'teardown item state');

export const inspectStep = async (raw: unknown, deps: StepDeps): Promise<{ item: Item }> => {
  const { item } = state(raw);
  if (item.refused) return { item: { ...item, next: 'record', outcome: 'SKIPPED_NOT_OWNED', detail: item.refused } };
  const where = stackLocation(item);
  if (where && deps.home && !mayActIn(where, deps.home, { accounts: item.policy.memberAccounts ?? [] })) {
    // The confused-deputy stop: a stack in an account the hub was not given is never looked at, let alone deleted.
    const detail = `${describeLocation(where)} is not this hub's account or one of its member accounts`;
    return { item: { ...item, next: 'record', outcome: 'SKIPPED_NOT_OWNED', detail } };
  }
  const stacks = await stacksOf(item, deps);
  const stack = item.resolved ? await stacks.describe(item.stackId) : undefined;
  const next = { ...inspect(stack, ownershipView(item, deps), deps.clock.now(), deps.random), policy: item.policy };
  if (stack?.status === 'DELETE_COMPLETE' && next.outcome === 'ALREADY_GONE' && !item.dryRun) {
    // A re-run of this same run (Step Functions restarted the execution from its input, e.g. after a crash)
    // finds the stack its first pass deleted: that is DELETED, not ALREADY_GONE. Our DeleteStack calls carry
    // ClientRequestTokens derived from run id and StackId, and CloudFormation copies them onto the stack's events.
    const ours = clientRequestToken(item.runId, item.stackId, 0).slice(0, -1);
    const events = await stacks.recentEvents(item.stackId, 20);
    const deletion = events.find((e) => e.status === 'DELETE_COMPLETE' && e.clientRequestToken?.startsWith(ours));
    if (deletion?.clientRequestToken) {
      const attempt = Number(deletion.clientRequestToken.slice(ours.length)) || item.attempt;
      return {
        item: {
          ...next,
          outcome: 'DELETED',
          attempt,
          clientRequestToken: deletion.clientRequestToken,
          detail: 'DELETE_COMPLETE by an earlier pass of this run (the workflow was restarted)',
        },
      };
    }
  }
  return { item: next };
};

const WAIT_RETENTION_SECONDS = 24 * 3600;

/**
 * `.waitForTaskToken`: store the token under StackId + ClientRequestToken, re-check ownership on a fresh describe,
 * then DeleteStack. The token is stored first so the CloudFormation event can never arrive before it.
 */
export const deleteStep = async (raw: unknown, taskToken: unknown, deps: StepDeps): Promise<{ waiting: true }> => {
  const { item } = state(raw);
  const token = requireToken(taskToken);
  if (item.clientRequestToken === undefined) throw new ValidationError('delete step without a clientRequestToken');
  if (item.dryRun) throw new ValidationError('delete step reached in a dry run');
  const stacks = await stacksOf(item, deps);
  const stack = await stacks.describe(item.stackId);
  const verdict = verifyBeforeDelete(stack, ownershipView(item, deps));
  if (!verdict.go) throw new OwnershipChangedError(`not deleting ${item.stackName ?? item.stackId}: ${verdict.why}`);
  await putWait(item, item.clientRequestToken, token, deps);
  await stacks.delete({
    stackId: item.stackId,
    clientRequestToken: item.clientRequestToken,
    ...(item.mode === 'RETAIN' ? { retainResources: item.orphans.map((o) => o.logicalId) } : {}),
    ...(item.mode === 'FORCE' ? { force: true } : {}),
    ...deletionRole(stack, item),
  });
  return { waiting: true };
};

/**
 * DeleteStack without RoleARN deletes with the stack's own service role; a stack created without one would be
 * deleted with the teardown function's credentials, which have no rights on its resources. Such a stack gets the
 * configured deletion role (`teardown.deletionRoleArn`).
 */
const deletionRole = (stack: TeardownStack | undefined, item: Item): { roleArn?: string } =>
  stack?.roleArn === undefined && item.policy.deletionRoleArn ? { roleArn: item.policy.deletionRoleArn } : {};

/** `.waitForTaskToken` again after a timeout, without deleting: store the new token, then make sure it is needed. */
export const awaitStep = async (raw: unknown, taskToken: unknown, deps: StepDeps): Promise<{ waiting: true }> => {
  const { item } = state(raw);
  const token = requireToken(taskToken);
  const crt = item.clientRequestToken ?? 'external-delete';
  await putWait(item, crt, token, deps);
  const stack = await (await stacksOf(item, deps)).describe(item.stackId);
  if (stack === undefined || stack.status !== 'DELETE_IN_PROGRESS') {
    throw new StackSettledError(`stack is ${stack?.status ?? 'gone'}`);
  }
  return { waiting: true };
};

const putWait = async (item: Item, crt: string, taskToken: string, deps: StepDeps) => {
  const now = deps.clock.now();
  await deps.store.putWait({
    stackId: item.stackId,
    clientRequestToken: crt,
    taskToken,
    runId: item.runId,
    createdAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + item.awaitSeconds + WAIT_RETENTION_SECONDS,
  });
};

const requireToken = (t: unknown): string => {
  if (typeof t !== 'string' || t.length === 0) throw new ValidationError('task token missing');
  return t;
};

/**
 * After a wait: from the event's status, or, after a timeout or a settled stack, from a fresh describe (the
 * polling fallback). Other caught errors end the stack as DELETE_FAILED with the error.
 */
export const concludeStep = async (raw: unknown, deps: StepDeps): Promise<{ item: Item }> => {
  const s = state(raw);
  const now = deps.clock.now();
  if (s.error && !['States.Timeout', 'StackSettledError', 'States.HeartbeatTimeout'].includes(s.error.Error)) {
    if (s.error.Error === 'OwnershipChangedError') {
      // Refused at the last moment: gone in the meantime, or no longer ours. Never deleted either way.
      const stack = await (await stacksOf(s.item, deps)).describe(s.item.stackId);
      const gone = stack === undefined || stack.status === 'DELETE_COMPLETE';
      const outcome = gone ? 'ALREADY_GONE' : 'SKIPPED_NOT_OWNED';
      return { item: { ...s.item, next: 'record', outcome, detail: s.error.Cause ?? 'ownership changed' } };
    }
    return { item: failFromError(s.item, s.error) };
  }
  let seen = s.error ? undefined : s.observed;
  if (seen === undefined) {
    const stack = await (await stacksOf(s.item, deps)).describe(s.item.stackId);
    seen = Observation.parse({
      status: stack?.status ?? 'DELETE_COMPLETE',
      ...(stack?.statusReason ? { reason: stack.statusReason } : {}),
      via: 'poll',
    });
  }
  return { item: conclude(s.item, seen, now, deps.random) };
};

export const diagnoseStep = async (raw: unknown, deps: StepDeps): Promise<{ item: Item }> => {
  const { item } = state(raw);
  const stacks = await stacksOf(item, deps);
  const [resources, events] = await Promise.all([
    stacks.listResources(item.stackId),
    stacks.recentEvents(item.stackId, 100),
  ]);
  return { item: planAfterFailure(item, failedResources(resources, events), deps.clock.now(), deps.random) };
};

/**
 * Empties the stack's own failed buckets (every version and delete marker) and repositories. Only physical ids
 * listed by ListStackResources of a stack that passed the ownership check are touched.
 */
export const remediateStep = async (raw: unknown, deps: StepDeps): Promise<{ item: Item }> => {
  const { item } = state(raw);
  // The stack's own buckets and repositories live where the stack does.
  const { buckets, images } = await teardownAt(stackLocation(item), deps);
  const done: string[] = [...item.remediated];
  for (const f of item.failedResources) {
    if (f.physicalId === undefined) continue;
    const cause = causeOf(f);
    if (cause === 'bucket-not-empty') {
      const n = await buckets.emptyBucket(f.physicalId);
      done.push(`emptied s3://${f.physicalId} (${n} objects)`);
    } else if (cause === 'repository-not-empty') {
      const n = await images.deleteImages(f.physicalId);
      done.push(`deleted ${n} images from ${f.physicalId}`);
    }
  }
  const next = prepareDelete({ ...item, remediated: done }, 'STANDARD', [], deps.clock.now(), deps.random);
  return { item: next };
};

/** Writes the stack's outcome record and returns its line of the report. */
export const recordStep = async (raw: unknown, deps: StepDeps): Promise<StackResult> => {
  const s = state(raw);
  const item = s.item.outcome === undefined ? failFromError(s.item, s.error ?? { Error: 'NoOutcome' }) : s.item;
  const result: StackResult = {
    stackId: item.stackId,
    ...(item.stackName ? { stackName: item.stackName } : {}),
    outcome: item.outcome ?? 'DELETE_FAILED',
    ...(item.detail ? { detail: item.detail } : {}),
    dryRun: item.dryRun,
    attempts: item.attempt,
    orphans: item.orphans,
    remediated: item.remediated,
  };
  await deps.store.putStackOutcome({
    ...result,
    runId: item.runId,
    pipeline: item.pipeline,
    executionId: item.executionId,
    recordedAt: deps.clock.now().toISOString(),
  });
  return result;
};
