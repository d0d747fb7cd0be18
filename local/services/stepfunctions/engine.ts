import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { LocalContext } from '../types.ts';
import { type Json, LIMITS_WRAPPER, prepare, referencePath, type StateInfo, TOKEN_PLACEHOLDER } from './definition.ts';
import { ExecutionHistory, type HistoryEvent, type LogEvent } from './history.ts';
import {
  lambdaInvokeResult,
  loadTimeoutErrorClass,
  type ParsedResource,
  parseResource,
  runLambda,
  runSdk,
  statesTimeout,
  TaskError,
} from './tasks.ts';
import { newToken, TaskTokens } from './tokens.ts';

/**
 * Runs executions with `aws-local-stepfunctions`, overriding every Task with the local cloud's functions and
 * services, and keeps AWS's bookkeeping: status, output, an execution history with AWS event types and ids,
 * task tokens, and the number of state transitions.
 *
 * Durability: machines, executions, history and tokens live in the store. An execution that was RUNNING when
 * the process stopped is restarted from its original input on `start()` (its history starts over and
 * `restarts` counts up); Stagecrew's workflows are idempotent, so re-running completed steps is safe. Task
 * tokens handed out before the restart are void (SendTask* answers TaskTimedOut); the re-run issues new ones.
 */
export type MachineRecord = {
  stateMachineArn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: 'STANDARD' | 'EXPRESS';
  creationDate: number;
  updateDate?: number;
  loggingConfiguration: Record<string, unknown>;
  tracingConfiguration: Record<string, unknown>;
  tags: Array<{ key: string; value: string }>;
  revisionId: string;
  description?: string;
  encryptionConfiguration?: Record<string, unknown>;
};
export type ExecutionRecord = {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
  definition: string;
  roleArn: string;
  stateTransitions: number;
  restarts: number;
};
export type { HistoryEvent };

export const MACHINES = 'sfn:machines';
export const EXECUTIONS = 'sfn:executions';
export const HISTORY = 'sfn:history';

type Running = {
  abort: (error?: string, cause?: string) => void;
  log: ExecutionHistory;
  tokens: Set<string>;
  flush?: NodeJS.Timeout;
  stopped?: { error?: string; cause?: string };
  /** The engine was stopped (process shutdown): the run is abandoned without touching the store again. */
  detached?: boolean;
  done: Promise<void>;
};

/** `waitScale` is read when an execution starts, so a changed STAGECREW_SFN_WAIT_SCALE applies to new ones. */
export type EngineOptions = { waitScale: () => number; now: () => number };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

const fillToken = (value: unknown, token: string): unknown => {
  if (typeof value === 'string') return value.replaceAll(TOKEN_PLACEHOLDER, token);
  if (Array.isArray(value)) return value.map((v) => fillToken(v, token));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillToken(v, token)]));
  }
  return value;
};

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const positiveSeconds = (name: string, field: string, value: unknown): number => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TaskError(
      'States.Runtime',
      `The ${field} of state ${name} must be a positive integer, got ${JSON.stringify(value)}`,
    );
  }
  return value;
};

/** A Task with TimeoutSecondsPath/HeartbeatSecondsPath: its Parameters output and the limits read from its input. */
const unwrapLimits = (
  name: string,
  input: Json,
  info: StateInfo,
): { params: Json; limits: { timeoutSeconds?: number; heartbeatSeconds?: number } } => {
  const wrapped = (input ?? {}) as Record<string, Json>;
  const limits: { timeoutSeconds?: number; heartbeatSeconds?: number } = {};
  const timeout = wrapped[LIMITS_WRAPPER.timeout];
  const heartbeat = wrapped[LIMITS_WRAPPER.heartbeat];
  if (timeout !== undefined) limits.timeoutSeconds = positiveSeconds(name, 'TimeoutSecondsPath', timeout);
  else if (info.timeoutSeconds !== undefined) limits.timeoutSeconds = info.timeoutSeconds;
  if (heartbeat !== undefined) limits.heartbeatSeconds = positiveSeconds(name, 'HeartbeatSecondsPath', heartbeat);
  else if (info.heartbeatSeconds !== undefined) limits.heartbeatSeconds = info.heartbeatSeconds;
  return { params: wrapped[LIMITS_WRAPPER.params] as Json, limits };
};

const timed = <T>(work: Promise<T>, seconds: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(statesTimeout('Task timed out')), seconds * 1000);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
};

export class SfnEngine {
  readonly #options: EngineOptions;
  readonly #running = new Map<string, Running>();
  readonly #tokens = new TaskTokens();

  constructor(options: EngineOptions) {
    this.#options = options;
  }

  /** Seconds since the epoch, as the JSON protocol carries timestamps. */
  now(): number {
    return this.#options.now() / 1000;
  }

  history(ctx: LocalContext, executionArn: string): HistoryEvent[] {
    return this.#running.get(executionArn)?.log.events ?? ctx.store.get<HistoryEvent[]>(HISTORY, executionArn) ?? [];
  }
  transitions(executionArn: string): number | undefined {
    return this.#running.get(executionArn)?.log.transitions;
  }
  /** Resolves when the execution is no longer running (for tests and shutdown). */
  settled(executionArn: string): Promise<void> {
    return this.#running.get(executionArn)?.done ?? Promise.resolve();
  }

  sendSuccess(ctx: LocalContext, token: unknown, output: unknown): void {
    this.#tokens.success(ctx, token, output);
  }
  sendFailure(ctx: LocalContext, token: unknown, error?: unknown, cause?: unknown): void {
    this.#tokens.failure(ctx, token, error, cause);
  }
  sendHeartbeat(ctx: LocalContext, token: unknown): void {
    this.#tokens.heartbeat(ctx, token);
  }

  resume(ctx: LocalContext): void {
    this.#tokens.voidStale(ctx);
    for (const [, exec] of ctx.store.list<ExecutionRecord>(EXECUTIONS)) {
      if (exec.status !== 'RUNNING' || this.#running.has(exec.executionArn)) continue;
      ctx.log.info('restarting execution from its input', { executionArn: exec.executionArn });
      const restarted = { ...exec, restarts: exec.restarts + 1, stateTransitions: 0 };
      ctx.store.put(EXECUTIONS, exec.executionArn, restarted);
      this.start(ctx, restarted, true);
    }
  }

  async stop(): Promise<void> {
    // The process is going away: executions stay RUNNING in the store and restart on the next start().
    const runs = [...this.#running.values()];
    for (const running of runs) {
      running.detached = true;
      clearTimeout(running.flush);
      running.abort();
    }
    this.#tokens.clear();
    this.#running.clear();
    await Promise.all(runs.map((r) => r.done));
  }

  start(ctx: LocalContext, exec: ExecutionRecord, restart = false): void {
    let markDone: () => void = () => {};
    const running: Running = {
      abort: () => {},
      log: new ExecutionHistory(() => this.now()),
      tokens: new Set(),
      done: new Promise<void>((r) => {
        markDone = r;
      }),
    };
    this.#running.set(exec.executionArn, running);
    ctx.store.put(HISTORY, exec.executionArn, []);
    if (!restart) void this.#publish(ctx, exec);
    void this.#run(ctx, exec, running)
      .catch((err) => ctx.log.error('execution runner failed', { executionArn: exec.executionArn, error: String(err) }))
      .finally(() => markDone());
  }

  stopExecution(executionArn: string, error?: string, cause?: string): boolean {
    const running = this.#running.get(executionArn);
    if (!running) return false;
    running.abort(error, cause);
    return true;
  }

  /** `Step Functions Execution Status Change` on the default bus, as Standard workflows emit (best effort). */
  async #publish(ctx: LocalContext, e: ExecutionRecord): Promise<void> {
    const detail = {
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: Math.round(e.startDate * 1000),
      stopDate: e.stopDate === undefined ? null : Math.round(e.stopDate * 1000),
      input: e.input,
      output: e.output ?? null,
      inputDetails: { included: true },
      outputDetails: e.output === undefined ? null : { included: true },
      error: e.error ?? null,
      cause: e.cause ?? null,
    };
    try {
      await ctx.putEvents([
        {
          Source: 'aws.states',
          DetailType: 'Step Functions Execution Status Change',
          Resources: [e.executionArn],
          Detail: JSON.stringify(detail),
        },
      ]);
    } catch (err) {
      ctx.log.warn('execution status event not published', { error: String(err) });
    }
  }

  /**
   * While an execution runs, reads are served from memory; the store gets a copy at most once a second (each
   * write journals the whole history) and a final one when the execution ends.
   */
  #scheduleFlush(ctx: LocalContext, exec: ExecutionRecord, running: Running): void {
    if (running.flush || running.detached) return;
    running.flush = setTimeout(() => {
      running.flush = undefined;
      ctx.store.put(HISTORY, exec.executionArn, running.log.events);
      const current = ctx.store.get<ExecutionRecord>(EXECUTIONS, exec.executionArn);
      if (current?.status === 'RUNNING') {
        ctx.store.put(EXECUTIONS, exec.executionArn, { ...current, stateTransitions: running.log.transitions });
      }
    }, 1000);
    running.flush.unref?.();
  }

  async #run(ctx: LocalContext, exec: ExecutionRecord, running: Running): Promise<void> {
    await loadTimeoutErrorClass();
    const waitScale = this.#options.waitScale();
    const prepared = prepare(exec.definition, waitScale);
    const controller = new AbortController();
    const context = {
      Execution: {
        Id: exec.executionArn,
        Name: exec.name,
        RoleArn: exec.roleArn,
        StartTime: new Date(exec.startDate * 1000).toISOString(),
      },
      StateMachine: { Id: exec.stateMachineArn, Name: exec.stateMachineArn.split(':').pop() as string },
    };
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    for (const [name, info] of prepared.states) {
      // Tasks, and Wait states prepare() turned into internal sleeping Tasks.
      if (info.resource !== undefined || (info.wait && !(name in prepared.waitOverrides))) {
        handlers[name] = async (input) =>
          (await this.#task(ctx, exec, running, controller.signal, name, info, input, context, waitScale)) as Json;
      }
    }
    const machine = new StateMachine(prepared.definition as never, { validationOptions: { noValidate: true } });
    const execution = machine.run(JSON.parse(exec.input) as Json, {
      overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: prepared.waitOverrides },
      context,
    });
    running.abort = (error, cause) => {
      running.stopped = { ...(error ? { error } : {}), ...(cause ? { cause } : {}) };
      controller.abort();
      execution.abort();
    };
    const consumer = (async () => {
      for await (const ev of execution.eventLogs) {
        running.log.record(ev as LogEvent, prepared.states, exec, ctx.region);
        this.#scheduleFlush(ctx, exec, running);
      }
    })();
    let final: Partial<ExecutionRecord>;
    try {
      final = { status: 'SUCCEEDED', output: JSON.stringify((await execution.result) ?? null) };
    } catch (err) {
      if (err instanceof ExecutionAbortedError || running.stopped) {
        final = {
          status: 'ABORTED',
          ...(running.stopped?.error ? { error: running.stopped.error } : {}),
          ...(running.stopped?.cause ? { cause: running.stopped.cause } : {}),
        };
      } else if (err instanceof ExecutionTimeoutError) {
        final = { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution timed out' };
      } else {
        const cause = err instanceof ExecutionError ? (err.cause as Error) : (err as Error);
        final = { status: 'FAILED', error: cause?.name ?? 'States.Runtime', cause: cause?.message ?? String(err) };
      }
    }
    controller.abort();
    await Promise.race([consumer, new Promise((r) => setTimeout(r, 200))]);
    if (running.detached) return;
    if (final.status === 'ABORTED') {
      running.log.add('ExecutionAborted', {
        ...(final.error ? { error: final.error } : {}),
        ...(final.cause ? { cause: final.cause } : {}),
      });
    }
    for (const token of running.tokens) this.#tokens.settle(ctx, token);
    clearTimeout(running.flush);
    const current = ctx.store.get<ExecutionRecord>(EXECUTIONS, exec.executionArn) ?? exec;
    ctx.store.put(HISTORY, exec.executionArn, running.log.events);
    const ended: ExecutionRecord = {
      ...current,
      ...final,
      stopDate: this.now(),
      stateTransitions: running.log.transitions,
    };
    ctx.store.put(EXECUTIONS, exec.executionArn, ended);
    this.#running.delete(exec.executionArn);
    await this.#publish(ctx, ended);
  }

  async #task(
    ctx: LocalContext,
    exec: ExecutionRecord,
    running: Running,
    signal: AbortSignal,
    name: string,
    info: StateInfo,
    input: Json,
    context: Record<string, unknown>,
    waitScale: number,
  ): Promise<unknown> {
    if (info.wait) {
      await sleep(this.#waitSeconds(name, info.wait, input, context) * 1000 * waitScale, signal);
      return input;
    }
    const resource = parseResource(info.resource as string);
    // Everything up to the first await runs in the same tick as the library's StateEntered event, so the
    // history's per-name queues line up with its event log.
    const { params, limits } = info.dynamicLimits ? unwrapLimits(name, input, info) : { params: input, limits: info };
    const token = resource.waitForToken ? newToken() : undefined;
    const effective = token ? (fillToken(params, token) as Json) : params;
    if (!info.nested) running.log.queueParams(name, effective);
    if (resource.kind === 'unsupported') throw new TaskError('States.Runtime', resource.reason);
    let result: unknown;
    if (!token) {
      const call = this.#integration(ctx, resource, effective);
      // Static TimeoutSeconds is enforced by the library; a dynamic one (resolved here) is not.
      result =
        info.dynamicLimits && limits.timeoutSeconds !== undefined
          ? await timed(call, limits.timeoutSeconds)
          : await call;
    } else {
      running.tokens.add(token);
      const waiting = this.#tokens.wait(ctx, token, exec.executionArn, limits);
      try {
        await this.#integration(ctx, resource, effective);
      } catch (err) {
        this.#tokens.settle(ctx, token);
        waiting.catch(() => {});
        throw err;
      }
      result = await waiting;
    }
    if (!info.nested) running.log.queueResult(name, result);
    return result;
  }

  #waitSeconds(name: string, w: NonNullable<StateInfo['wait']>, input: Json, context: unknown): number {
    let seconds: number;
    if (w.Seconds !== undefined) seconds = w.Seconds;
    else if (w.SecondsPath) seconds = Number(referencePath(w.SecondsPath, input, context));
    else {
      const at = w.Timestamp ?? String(referencePath(w.TimestampPath as string, input, context));
      seconds = (Date.parse(at) - this.#options.now()) / 1000;
      if (Number.isFinite(seconds)) seconds = Math.max(0, seconds);
    }
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new TaskError('States.Runtime', `The Wait state ${name} could not read a valid duration`);
    }
    return seconds;
  }

  async #integration(ctx: LocalContext, resource: ParsedResource, input: Json): Promise<unknown> {
    switch (resource.kind) {
      case 'lambda':
        return runLambda(ctx, resource.functionName, input);
      case 'lambda-invoke': {
        const args = (input ?? {}) as Record<string, unknown>;
        if (typeof args.FunctionName !== 'string') {
          throw new TaskError('States.Runtime', 'lambda:invoke requires a FunctionName parameter');
        }
        const type = args.InvocationType === 'Event' ? 'Event' : 'RequestResponse';
        const payload = typeof args.Payload === 'string' ? safeJson(args.Payload) : (args.Payload ?? {});
        const out = await runLambda(ctx, args.FunctionName, payload, type);
        return lambdaInvokeResult(type === 'Event' ? null : out, type);
      }
      case 'sdk':
        return runSdk(ctx, resource.service, resource.action, input);
      default:
        throw new TaskError(
          'States.Runtime',
          `Resource ${resource.resource} is not supported by the local Step Functions`,
        );
    }
  }
}
