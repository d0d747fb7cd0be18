import * as z from '../schemas/zod.ts';
import { ContinuationTokenError } from './errors.ts';
import { LIMITS } from './limits.ts';

/**
 * The continuation token is Stagecrew's own state, carried by CodePipeline between invocations of one action
 * execution (each invocation has a new job id). Versioned JSON, at most 2048 characters:
 * `{"v":1,"task":"wait-stack","first":"<first job id>","start":<ms>,"deadline":<ms>,"n":3,"s":{...task state}}`.
 */
export const CONTINUATION_VERSION = 1;

const State = z.object({
  v: z.literal(CONTINUATION_VERSION),
  task: z.string().check(z.minLength(1)),
  /** Job id of the first invocation: ties the chain together in logs and externalExecutionId. */
  first: z.string().check(z.minLength(1)),
  start: z.int().check(z.nonnegative()),
  deadline: z.int().check(z.nonnegative()),
  /** How many invocations came before this one. */
  n: z.int().check(z.nonnegative()),
  /** The task's own state (small: the whole token must fit 2048 characters). */
  s: z.unknown(),
});
export type Continuation = z.infer<typeof State>;

export const encodeContinuation = (state: Continuation): string => {
  const token = JSON.stringify(state);
  if (token.length > LIMITS.continuationToken) {
    throw new ContinuationTokenError(
      `task ${state.task} produced ${token.length} characters of continuation state; the limit is ${LIMITS.continuationToken}`,
    );
  }
  return token;
};

export const decodeContinuation = (token: string, task: string): Continuation => {
  let raw: unknown;
  try {
    raw = JSON.parse(token);
  } catch {
    throw new ContinuationTokenError('continuation token is not Stagecrew state (not JSON)');
  }
  const parsed = State.safeParse(raw);
  if (!parsed.success) {
    const v = typeof raw === 'object' && raw !== null && 'v' in raw ? String((raw as { v: unknown }).v) : 'none';
    throw new ContinuationTokenError(
      `continuation token is not Stagecrew state version ${CONTINUATION_VERSION} (v=${v})`,
    );
  }
  if (parsed.data.task !== task) {
    throw new ContinuationTokenError(
      `continuation token belongs to task ${parsed.data.task}, but UserParameters now name ${task}`,
    );
  }
  return parsed.data;
};
