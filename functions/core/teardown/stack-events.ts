import { z } from 'zod';
import type { TaskTokenSink } from '../adapters/stepfunctions.ts';
import { parseWith } from './model.ts';
import type { TeardownStore } from './ports.ts';

/** `CloudFormation Stack Status Change` (source `aws.cloudformation`), the fields Stagecrew reads. */
export const StackStatusChangeEvent = z.object({
  id: z.string(),
  source: z.literal('aws.cloudformation'),
  'detail-type': z.literal('CloudFormation Stack Status Change'),
  detail: z.object({
    'stack-id': z.string().min(1),
    'status-details': z.object({ status: z.string().min(1), 'status-reason': z.string().optional() }),
    'client-request-token': z.string().optional(),
  }),
});

export type StackEventsOutcome =
  | { status: 'ignored'; why: string }
  | { status: 'resumed'; tasks: number; gone: number };

/**
 * Resumes the teardown steps waiting on this stack. A DeleteStack's wait is matched by its ClientRequestToken;
 * a wait on a deletion Stagecrew did not start (`external-delete`) takes any event. In-progress statuses are not
 * an answer (DELETE_IN_PROGRESS is the start of what we wait for). Any settled status resumes the step: besides
 * DELETE_COMPLETE and DELETE_FAILED, a refused delete (export in use) puts the stack back to UPDATE_COMPLETE.
 */
export const handleStackEvent = async (
  raw: unknown,
  deps: { store: TeardownStore; tasks: TaskTokenSink },
): Promise<StackEventsOutcome> => {
  const event = parseWith(StackStatusChangeEvent, raw, 'CloudFormation Stack Status Change event');
  const d = event.detail;
  const status = d['status-details'].status;
  if (status.endsWith('_IN_PROGRESS')) return { status: 'ignored', why: `${status} is not settled` };
  const token = d['client-request-token'];
  const waits = (await deps.store.waitsFor(d['stack-id'])).filter(
    (w) => token === undefined || w.clientRequestToken === token || w.clientRequestToken === 'external-delete',
  );
  if (waits.length === 0) return { status: 'ignored', why: 'no teardown is waiting for this stack' };
  const reason = d['status-details']['status-reason'];
  let gone = 0;
  for (const w of waits) {
    const r = await deps.tasks.succeed(w.taskToken, { status, ...(reason ? { reason } : {}), via: 'event' });
    if (r === 'token-gone') gone += 1;
    await deps.store.deleteWait(w.stackId, w.clientRequestToken);
  }
  return { status: 'resumed', tasks: waits.length - gone, gone };
};
