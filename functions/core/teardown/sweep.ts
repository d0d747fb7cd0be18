import { NotFoundError } from '../errors.ts';
import type { Settings } from '../settings.ts';
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
    let status: string;
    try {
      status = await executions.status(pipeline, executionId);
    } catch (err) {
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
  stacks: { listAll(): Promise<TeardownStack[]> };
  executions: ExecutionStatusReader;
  starter: Pick<TeardownStarter, 'startTeardown'>;
  settings: () => Promise<Pick<Settings['teardown'], 'maxAgeHours' | 'dryRun'>>;
  now: () => Date;
};

export type SweepOutcome = {
  candidates: SweepCandidate[];
  started: Array<{ name: string; outcome: StartOutcome }>;
};

/**
 * The hourly sweep: expired Stagecrew-tagged stacks go to the same teardown state machine as pipeline events, in
 * batches named per hour (a repeated schedule collides with its own executions instead of deleting twice).
 */
export const sweep = async (deps: SweepDeps): Promise<SweepOutcome> => {
  const policy = await deps.settings();
  const now = deps.now();
  const candidates = await selectExpired(await deps.stacks.listAll(), policy, now, deps.executions);
  const started: SweepOutcome['started'] = [];
  for (const r of sweepRequests(candidates, now, policy.dryRun)) {
    started.push({ name: r.name, outcome: await deps.starter.startTeardown(r.name, r.input) });
  }
  return { candidates, started };
};
