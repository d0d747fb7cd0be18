import { NotFoundError } from '../errors.ts';
import { NotAMemberAccountError } from '../organization/errors.ts';
import {
  describeLocation,
  type Location,
  locationOfArn,
  sameLocation,
  sweepLocations,
} from '../organization/location.ts';
import type { OrganizationSettings, Settings } from '../settings.ts';
import type { SweepStack } from './model.ts';
import { OWNERSHIP_TAGS } from './ownership.ts';
import type { ExecutionStatusReader, StartOutcome, TeardownStack, TeardownStarter } from './ports.ts';

/** Statuses that mean the owning execution is still using its stacks. */
const LIVE = new Set(['InProgress', 'Stopping']);
const EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PIPELINE = /^[A-Za-z0-9.@\-_]{1,100}$/;
export const SWEEP_BATCH = 100;

export type SweepCandidate = SweepStack & { why: string };

/**
 * The backstop for missed events (H21): Stagecrew-tagged stacks that are past `stagecrew:expires-at`, or older
 * than `maxAgeHours` while no execution that owns them is still running. Tag + age alone would delete the stacks
 * of a long test stage, so age needs the execution check; an explicit expiry is the registrant's own promise.
 */
export const selectExpired = async (
  stacks: readonly TeardownStack[],
  policy: Pick<Settings['teardown'], 'maxAgeHours'>,
  now: Date,
  executions: ExecutionStatusReader,
  /**
   * Where the owning pipeline of a stack outside the hub's own account and region lives (the hub's timeline knows
   * every execution it saw); undefined: unknown, so the stack's age alone never makes it a candidate.
   */
  pipelineOf?: { home: Location; locate(executionId: string): Promise<Location | undefined> },
): Promise<SweepCandidate[]> => {
  const out: SweepCandidate[] = [];
  for (const s of stacks) {
    if (s.tags[OWNERSHIP_TAGS.managed] !== 'true' || s.parentId) continue;
    if (s.status === 'DELETE_COMPLETE' || s.status === 'DELETE_IN_PROGRESS') continue;
    const pipeline = s.tags[OWNERSHIP_TAGS.pipeline] ?? '';
    const executionId = s.tags[OWNERSHIP_TAGS.executionId] ?? '';
    if (!PIPELINE.test(pipeline) || !EXECUTION_ID.test(executionId)) continue;
    const candidate = { stackId: s.stackId, stackName: s.stackName, pipeline, executionId };
    const expiresAt = Date.parse(s.tags[OWNERSHIP_TAGS.expiresAt] ?? '');
    if (Number.isFinite(expiresAt) && expiresAt <= now.getTime()) {
      out.push({ ...candidate, why: `expired at ${new Date(expiresAt).toISOString()}` });
      continue;
    }
    const created = Date.parse(s.creationTime ?? '');
    if (!Number.isFinite(created) || now.getTime() - created < policy.maxAgeHours * 3_600_000) continue;
    const stackAt = locationOfArn(s.stackId);
    let where: Location | undefined;
    if (pipelineOf && stackAt && !sameLocation(stackAt, pipelineOf.home)) {
      where = await pipelineOf.locate(executionId);
      // An execution the hub never saw: it cannot tell whether it still runs, so age alone does not expire it.
      if (where === undefined) continue;
    }
    let status: string;
    try {
      // The pipeline's own location when it is not the hub's (a member account's pipeline).
      const elsewhere = where && pipelineOf && !sameLocation(where, pipelineOf.home) ? where : undefined;
      status = await executions.status(pipeline, executionId, elsewhere);
    } catch (err) {
      // A pipeline in an account the hub was not given: its stacks are not the hub's to expire.
      if (err instanceof NotAMemberAccountError) continue;
      if (!(err instanceof NotFoundError)) throw err;
      status = 'NotFound';
    }
    if (LIVE.has(status)) continue;
    out.push({ ...candidate, why: `older than ${policy.maxAgeHours} h; execution ${status}` });
  }
  return out;
};

/** One state machine input per batch, named per hour and batch so a repeated schedule collides, not duplicates. */
export const sweepRequests = (candidates: readonly SweepCandidate[], now: Date, dryRun: boolean) => {
  const hour = now
    .toISOString()
    .slice(0, 13)
    .replace(/[^0-9]/g, '');
  const requests: Array<{ name: string; input: Record<string, unknown> }> = [];
  for (let i = 0; i < candidates.length; i += SWEEP_BATCH) {
    const sweepId = `sweep-${hour}-${i / SWEEP_BATCH + 1}`;
    const stacks = candidates.slice(i, i + SWEEP_BATCH).map(({ why: _why, ...s }) => s);
    requests.push({ name: sweepId, input: { reason: 'EXPIRED', dryRun, sweepId, stacks } });
  }
  return requests;
};

export type SweepDeps = {
  /** The hub's own account and region's stacks. */
  stacks: { listAll(): Promise<TeardownStack[]> };
  executions: ExecutionStatusReader;
  starter: Pick<TeardownStarter, 'startTeardown'>;
  settings: () => Promise<Pick<Settings['teardown'], 'maxAgeHours' | 'dryRun'>>;
  now: () => Date;
  /**
   * The organization (docs/ORGANIZATION.md): the hub's location, the member accounts and regions to sweep, how to
   * list stacks there (the member role) and where an execution's pipeline lives. Absent: the hub's own only.
   */
  organization?: {
    home: Location;
    settings: () => Promise<Pick<OrganizationSettings, 'accounts' | 'regions'>>;
    listIn(where: Location): Promise<TeardownStack[]>;
    locate(executionId: string): Promise<Location | undefined>;
    /** Locations listed at once (default 8). */
    concurrency?: number;
    /** A location that has not answered by then is reported and left for the next sweep (default 20 s). */
    timeoutMs?: number;
    /**
     * No location is started after this long (default 75 s, within the function's 120 s timeout): the rest are
     * reported and swept next hour, so slow locations can never make the whole sweep time out.
     */
    budgetMs?: number;
  };
};

export type SweepOutcome = {
  candidates: SweepCandidate[];
  started: Array<{ name: string; outcome: StartOutcome }>;
  /** Locations listed (the hub's own included) and those that could not be (slow, refused, throttled). */
  locations: number;
  unreachable: Array<{ location: string; error: string }>;
};

const withTimeout = <T>(work: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });

/**
 * Every stack of every location, listed a few locations at a time, each with its own deadline: one slow or broken
 * account or region is reported and skipped, never holding the others up.
 */
const listEverywhere = async (
  deps: SweepDeps,
): Promise<{ stacks: TeardownStack[]; locations: number; unreachable: SweepOutcome['unreachable'] }> => {
  const org = deps.organization;
  if (!org) return { stacks: await deps.stacks.listAll(), locations: 1, unreachable: [] };
  const locations = sweepLocations(org.home, await org.settings());
  const stacks: TeardownStack[] = [];
  const unreachable: SweepOutcome['unreachable'] = [];
  let next = 0;
  const started = Date.now();
  const budget = org.budgetMs ?? 75_000;
  const worker = async () => {
    while (next < locations.length) {
      const where = locations[next++] as Location;
      const label = describeLocation(where);
      // The hub's own location is always listed (it goes first).
      if (!sameLocation(where, org.home) && Date.now() - started >= budget) {
        unreachable.push({ location: label, error: `not listed: the sweep's ${budget} ms budget was spent` });
        continue;
      }
      try {
        const list = sameLocation(where, org.home) ? deps.stacks.listAll() : org.listIn(where);
        stacks.push(...(await withTimeout(list, org.timeoutMs ?? 20_000, `listing stacks in ${label}`)));
      } catch (err) {
        unreachable.push({ location: label, error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(org.concurrency ?? 8, locations.length) }, worker));
  return { stacks, locations: locations.length, unreachable };
};

/**
 * The hourly sweep: expired Stagecrew-tagged stacks, in the hub's own account and region and in every member
 * account and region, go to the same teardown state machine as pipeline events, in batches named per hour (a
 * repeated schedule collides with its own executions instead of deleting twice).
 */
export const sweep = async (deps: SweepDeps): Promise<SweepOutcome> => {
  const policy = await deps.settings();
  const now = deps.now();
  const listed = await listEverywhere(deps);
  const org = deps.organization;
  const candidates = await selectExpired(
    listed.stacks,
    policy,
    now,
    deps.executions,
    org ? { home: org.home, locate: (e) => org.locate(e) } : undefined,
  );
  const started: SweepOutcome['started'] = [];
  for (const r of sweepRequests(candidates, now, policy.dryRun)) {
    started.push({ name: r.name, outcome: await deps.starter.startTeardown(r.name, r.input) });
  }
  return { candidates, started, locations: listed.locations, unreachable: listed.unreachable };
};
