import type * as z from '../schemas/zod.ts';
import { ContinuationTokenError } from './errors.ts';
import type { ArtifactReader, HttpFetch, Sleep, StackPort, TeardownRegistry } from './ports.ts';
import type { Job } from './schema.ts';
import { parseOptions } from './user-parameters.ts';

/** What a task sees: the job, time, and the ports it may use. Everything is injectable for tests. */
export type TaskContext = {
  job: Job;
  /** Epoch milliseconds. */
  now(): number;
  sleep: Sleep;
  /** When the action execution started (first invocation) and when it must be over. */
  startedAt: number;
  deadline: number;
  /** Epoch ms by which this invocation must hand back (Lambda time left minus the reporting reserve). */
  budgetEndsAt: number;
  /** 0 for the first invocation, then 1, 2, … for each continuation. */
  invocation: number;
  artifacts: ArtifactReader;
  stacks: StackPort;
  teardown: TeardownRegistry;
  fetch: HttpFetch;
};

export type TaskResult<S> =
  | { status: 'succeeded'; summary: string; outputVariables?: Record<string, string> }
  /** Not done yet: CodePipeline re-invokes with `state` in the continuation token (never past the deadline). */
  | { status: 'running'; summary: string; state: S; percentComplete?: number }
  /** The check failed: PutJobFailureResult JobFailed. */
  | { status: 'failed'; message: string };

export type TaskDefinition<O, S> = {
  name: string;
  /** One line for docs and the unknown-task error. */
  description: string;
  options: z.ZodMiniType<O>;
  /** The task's own continuation state (validated when a token comes back). */
  state?: z.ZodMiniType<S>;
  /** Total time across all continuations, from the options; capped at CodePipeline's 24 hours by the runner. */
  timeoutMs(options: O): number;
  run(options: O, state: S | undefined, ctx: TaskContext): Promise<TaskResult<S>>;
};

/** A task with its types erased, as the registry holds it. */
export type Task = {
  name: string;
  description: string;
  prepare(rawOptions: unknown): PreparedTask;
};

export type PreparedTask = {
  timeoutMs: number;
  run(state: unknown, ctx: TaskContext): Promise<TaskResult<unknown>>;
};

export const defineTask = <O, S>(def: TaskDefinition<O, S>): Task => ({
  name: def.name,
  description: def.description,
  prepare(rawOptions) {
    const options = parseOptions(def.options, rawOptions);
    return {
      timeoutMs: def.timeoutMs(options),
      run(rawState, ctx) {
        let state: S | undefined;
        if (rawState !== undefined) {
          if (def.state === undefined) throw new ContinuationTokenError(`task ${def.name} keeps no state`);
          const parsed = def.state.safeParse(rawState);
          if (!parsed.success) throw new ContinuationTokenError(`continuation state of ${def.name} is not readable`);
          state = parsed.data;
        }
        return def.run(options, state, ctx);
      },
    };
  },
});
