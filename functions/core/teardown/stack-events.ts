import { describeLocation, type Location, locationOfArn, sameLocation } from '../organization/location.ts';
import * as z from '../schemas/zod.ts';
import { parseWith } from './model.ts';
import type { TaskTokenSink, TeardownStacks, TeardownStore } from './ports.ts';

/** `CloudFormation Stack Status Change` (source `aws.cloudformation`), the fields Stagecrew reads. */
export const StackStatusChangeEvent = z.object({
  id: z.string(),
  source: z.literal('aws.cloudformation'),
  'detail-type': z.literal('CloudFormation Stack Status Change'),
  detail: z.object({
    'stack-id': z.string().check(z.minLength(1)),
    'status-details': z.object({
      status: z.string().check(z.minLength(1)),
      'status-reason': z.optional(z.string()),
    }),
    'client-request-token': z.optional(z.string()),
  }),
});
export type StackStatusChange = z.infer<typeof StackStatusChangeEvent>;

/** The boundary parse of StackEventsFunction (ValidationError with the issues). */
export const parseStackStatusChange = (raw: unknown): StackStatusChange =>
  parseWith(StackStatusChangeEvent, raw, 'CloudFormation Stack Status Change event');

export type StackEventsOutcome =
  | { status: 'ignored'; why: string }
  | { status: 'resumed'; tasks: number; gone: number };

/** The only statuses a deletion ends in. */
const DELETE_OUTCOMES: ReadonlySet<string> = new Set(['DELETE_COMPLETE', 'DELETE_FAILED']);

export type StackEventsDeps = {
  store: TeardownStore;
  tasks: TaskTokenSink;
  /** The hub's own account and region's stacks (the confirmation below describes only those). */
  stacks: Pick<TeardownStacks, 'describe'>;
  /** The hub's own account and region; absent: every stack is taken to be there. */
  home?: Location;
};

/**
 * Resumes the teardown steps waiting on this stack. In-progress statuses are not an answer (DELETE_IN_PROGRESS is
 * the start of what we wait for).
 * - An event with a `client-request-token` resumes the DeleteStack wait with that token, whatever settled status it
 *   reports (a refused delete — an export in use — puts the stack back to UPDATE_COMPLETE under our token); a wait
 *   on a deletion Stagecrew did not start (`external-delete`) takes only a deletion's outcome.
 * - An event without one (CloudFormation leaves it out for changes made without a token, and at times for
 *   Stagecrew's own) may only be a deletion's outcome: a CREATE_COMPLETE or UPDATE_COMPLETE of someone else's
 *   change is no answer to a DeleteStack. It resumes the waits only when a fresh DescribeStacks by StackId agrees
 *   that the stack is in that state now (an old DELETE_FAILED arriving late, while our retry is deleting, does not).
 */
export const handleStackEvent = async (
  event: StackStatusChange,
  deps: StackEventsDeps,
): Promise<StackEventsOutcome> => {
  const d = event.detail;
  const status = d['status-details'].status;
  if (status.endsWith('_IN_PROGRESS')) return { status: 'ignored', why: `${status} is not settled` };
  // An empty token is no token.
  const token = d['client-request-token'] || undefined;
  const isDeleteOutcome = DELETE_OUTCOMES.has(status);
  if (token === undefined && !isDeleteOutcome) {
    return { status: 'ignored', why: `${status} without a client-request-token is not the outcome of a deletion` };
  }
  const waits = (await deps.store.waitsFor(d['stack-id'])).filter((w) =>
    w.clientRequestToken === 'external-delete'
      ? isDeleteOutcome
      : token === undefined || w.clientRequestToken === token,
  );
  if (waits.length === 0) return { status: 'ignored', why: 'no teardown is waiting for this stack' };
  if (token === undefined) {
    const where = locationOfArn(d['stack-id']);
    if (where && deps.home && !sameLocation(where, deps.home)) {
      // A member account's stack (a forwarded event): not confirmed from here; the waiting step polls it itself.
      return { status: 'ignored', why: `${status} without a client-request-token from ${describeLocation(where)}` };
    }
    const now = await deps.stacks.describe(d['stack-id']);
    if (now?.status !== status) {
      return {
        status: 'ignored',
        why: `${status} without a client-request-token, and DescribeStacks says ${now?.status ?? 'no such stack'}`,
      };
    }
  }
  const reason = d['status-details']['status-reason'];
  let gone = 0;
  for (const w of waits) {
    const r = await deps.tasks.succeed(w.taskToken, { status, ...(reason ? { reason } : {}), via: 'event' });
    if (r === 'token-gone') gone += 1;
    await deps.store.deleteWait(w.stackId, w.clientRequestToken);
  }
  return { status: 'resumed', tasks: waits.length - gone, gone };
};
