import type { TaskContext, TaskResult } from './task.ts';

export type Step<S> = { done: TaskResult<S> } | { waiting: string; state: S; percentComplete?: number };

/**
 * Repeats `step` every `intervalMs` until it is done or this invocation's budget runs out; then hands back a
 * `running` result so the runner continues through a continuation token.
 */
export const pollWithin = async <S>(
  ctx: TaskContext,
  intervalMs: number,
  step: () => Promise<Step<S>>,
): Promise<TaskResult<S>> => {
  for (;;) {
    const r = await step();
    if ('done' in r) return r.done;
    const now = ctx.now();
    if (now + intervalMs >= ctx.deadline) {
      // No time for another look before the deadline: fail now, with what was last seen.
      const minutes = Math.max(1, Math.round((now - ctx.startedAt) / 60_000));
      return { status: 'failed', message: `timed out after ${minutes} min: ${r.waiting}` };
    }
    if (now + intervalMs >= ctx.budgetEndsAt) {
      return {
        status: 'running',
        summary: r.waiting,
        state: r.state,
        ...(r.percentComplete !== undefined ? { percentComplete: r.percentComplete } : {}),
      };
    }
    await ctx.sleep(intervalMs);
  }
};

export type StatusClass = 'in-progress' | 'complete' | 'failed' | 'deleted';

/** CloudFormation stack statuses by what a waiting task should do with them. */
export const classifyStackStatus = (status: string): StatusClass => {
  if (status.endsWith('_IN_PROGRESS')) return 'in-progress';
  if (status === 'DELETE_COMPLETE') return 'deleted';
  if (status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE' || status === 'IMPORT_COMPLETE') return 'complete';
  return 'failed';
};

export const STACK_NAME = /^(?:[A-Za-z][A-Za-z0-9-]{0,127}|arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack\/.+)$/;
export const STACK_NAME_MESSAGE =
  'must be a stack name (letters, digits, hyphens; starts with a letter) or a stack ARN';
