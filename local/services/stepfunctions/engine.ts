import { randomBytes } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { LocalContext } from '../types.ts';
import { AwsError } from '../types.ts';
import { type Json, type Prepared, prepare, referencePath, type StateInfo, TOKEN_PLACEHOLDER } from './definition.ts';
import { lambdaInvokeResult, parseResource, runLambda, runSdk, TaskError } from './tasks.ts';

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
export type HistoryEvent = { id: number; previousEventId: number; timestamp: number; type: string } & Record<
  string,
  unknown
>;
/** An `aws-local-stepfunctions` event log entry (the package does not export the type). */
type LogEvent = {
  type: string;
  state?: { name: string; type: string; input: unknown; output?: unknown };
  parentState?: { name: string };
  index?: number;
  Error?: string;
  Cause?: unknown;
  output?: unknown;
};
type TokenRecord = { executionArn: string; state: 'WAITING' | 'DONE' };

export const MACHINES = 'sfn:machines';
export const EXECUTIONS = 'sfn:executions';
export const HISTORY = 'sfn:history';
export const TOKENS = 'sfn:tokens';

type Pending = {
  executionArn: string;
  resolve: (output: unknown) => void;
  reject: (err: Error) => void;
  heartbeat?: NodeJS.Timeout;
  heartbeatMs?: number;
  timeout?: NodeJS.Timeout;
};
type Running = {
  abort: (error?: string, cause?: string) => void;
  history: HistoryEvent[];
  transitions: number;
  tokens: Set<string>;
  results: Map<string, unknown[]>;
  /** Effective task parameters (after Parameters and token filling), in call order per state name. */
  params: Map<string, unknown[]>;
  flush?: NodeJS.Timeout;
  stopped?: { error?: string; cause?: string };
  /** The engine was stopped (process shutdown): the run is abandoned without touching the store again. */
  detached?: boolean;
  done: Promise<void>;
};

export type EngineOptions = { waitScale: number; now: () => number };

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
  if (typeof value === 'string')
    return value.includes(TOKEN_PLACEHOLDER) ? value.replaceAll(TOKEN_PLACEHOLDER, token) : value;
  if (Array.isArray(value)) return value.map((v) => fillToken(v, token));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillToken(v, token)]));
  return value;
};

const TOKEN_FORMAT = /^AQ[A-Za-z0-9_-]{40,}$/;

export class SfnEngine {
  readonly #options: EngineOptions;
  readonly #running = new Map<string, Running>();
  readonly #pending = new Map<string, Pending>();

  constructor(options: EngineOptions) {
    this.#options = options;
  }

  now(): number {
    return this.#options.now() / 1000;
  }

  history(ctx: LocalContext, executionArn: string): HistoryEvent[] {
    return this.#running.get(executionArn)?.history ?? ctx.store.get<HistoryEvent[]>(HISTORY, executionArn) ?? [];
  }
  transitions(executionArn: string): number | undefined {
    return this.#running.get(executionArn)?.transitions;
  }
  /** Resolves when the execution is no longer running (for tests and shutdown). */
  settled(executionArn: string): Promise<void> {
    return this.#running.get(executionArn)?.done ?? Promise.resolve();
  }

  resume(ctx: LocalContext): void {
    for (const [token, t] of ctx.store.list<TokenRecord>(TOKENS)) {
      if (t.state === 'WAITING' && !this.#pending.has(token)) ctx.store.put(TOKENS, token, { ...t, state: 'DONE' });
    }
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
      if (running.flush) clearTimeout(running.flush);
      running.flush = undefined;
      running.abort();
    }
    for (const p of this.#pending.values()) {
      clearTimeout(p.heartbeat);
      clearTimeout(p.timeout);
    }
    this.#pending.clear();
    this.#running.clear();
    await Promise.all(runs.map((r) => r.done));
  }

  start(ctx: LocalContext, exec: ExecutionRecord, restart = false): void {
    let markDone: () => void = () => {};
    const running: Running = {
      abort: () => {},
      history: [],
      transitions: 0,
      tokens: new Set(),
      results: new Map(),
      params: new Map(),
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

  stopExecution(executionArn: string, error?: string, cause?: string): boolean {
    const running = this.#running.get(executionArn);
    if (!running) return false;
    running.abort(error, cause);
    return true;
  }

  #event(running: Running, type: string, details?: Record<string, unknown>): void {
    const last = running.history.at(-1);
    // *StateEntered / *StateExited share one details field name across state types, as in AWS.
    const base = type.endsWith('StateEntered') ? 'StateEntered' : type.endsWith('StateExited') ? 'StateExited' : type;
    const key = `${base.charAt(0).toLowerCase()}${base.slice(1)}EventDetails`;
    running.history.push({
      timestamp: this.now(),
      type,
      id: (last?.id ?? 0) + 1,
      previousEventId: last?.id ?? 0,
      ...(details ? { [key]: details } : {}),
    });
  }

  /**
   * While an execution runs, reads are served from memory; the store gets a copy at most once a second (each
   * write journals the whole history) and a final one when the execution ends.
   */
  #scheduleFlush(ctx: LocalContext, exec: ExecutionRecord, running: Running): void {
    if (running.flush || running.detached) return;
    running.flush = setTimeout(() => {
      running.flush = undefined;
      this.#flush(ctx, exec, running);
    }, 1000);
    running.flush.unref?.();
  }

  #flush(ctx: LocalContext, exec: ExecutionRecord, running: Running): void {
    ctx.store.put(HISTORY, exec.executionArn, running.history);
    const current = ctx.store.get<ExecutionRecord>(EXECUTIONS, exec.executionArn);
    if (current && current.status === 'RUNNING') {
      ctx.store.put(EXECUTIONS, exec.executionArn, { ...current, stateTransitions: running.transitions });
    }
  }

  async #run(ctx: LocalContext, exec: ExecutionRecord, running: Running): Promise<void> {
    const machineName = exec.stateMachineArn.split(':').pop() as string;
    const prepared = prepare(exec.definition, this.#options.waitScale);
    const controller = new AbortController();
    const input = JSON.parse(exec.input) as Json;
    const context = {
      Execution: {
        Id: exec.executionArn,
        Name: exec.name,
        RoleArn: exec.roleArn,
        StartTime: new Date(exec.startDate * 1000).toISOString(),
      },
      StateMachine: { Id: exec.stateMachineArn, Name: machineName },
    };
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    for (const [name, info] of prepared.states) {
      // Tasks, and Wait states prepare() turned into internal sleeping Tasks.
      if (info.resource !== undefined || (info.wait && !(name in prepared.waitOverrides))) {
        handlers[name] = async (taskInput) =>
          (await this.#task(ctx, exec, running, controller.signal, name, info, taskInput, context)) as Json;
      }
    }
    const machine = new StateMachine(prepared.definition as never, { validationOptions: { noValidate: true } });
    const execution = machine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: prepared.waitOverrides },
      context,
    });
    running.abort = (error, cause) => {
      running.stopped = { ...(error ? { error } : {}), ...(cause ? { cause } : {}) };
      controller.abort();
      execution.abort();
    };
    const consumer = this.#consume(ctx, exec, running, prepared, execution.eventLogs);
    let final: Partial<ExecutionRecord>;
    try {
      const output = await execution.result;
      final = { status: 'SUCCEEDED', output: JSON.stringify(output ?? null) };
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
      this.#event(running, 'ExecutionAborted', {
        ...(final.error ? { error: final.error } : {}),
        ...(final.cause ? { cause: final.cause } : {}),
      });
    }
    for (const token of running.tokens) this.#settleToken(ctx, token);
    if (running.flush) clearTimeout(running.flush);
    const current = ctx.store.get<ExecutionRecord>(EXECUTIONS, exec.executionArn) ?? exec;
    ctx.store.put(HISTORY, exec.executionArn, running.history);
    const ended: ExecutionRecord = {
      ...current,
      ...final,
      stopDate: this.now(),
      stateTransitions: running.transitions,
    };
    ctx.store.put(EXECUTIONS, exec.executionArn, ended);
    this.#running.delete(exec.executionArn);
    await this.#publish(ctx, ended);
  }

  async #consume(
    ctx: LocalContext,
    exec: ExecutionRecord,
    running: Running,
    prepared: Prepared,
    logs: AsyncGenerator<unknown>,
  ) {
    for await (const e of logs) {
      const ev = e as LogEvent;
      const info = ev.state ? prepared.states.get(ev.state.name) : undefined;
      const type = info?.type ?? ev.state?.type ?? '';
      const resource = info?.resource ? parseResource(info.resource) : undefined;
      const isTask = type === 'Task' && resource !== undefined;
      const lambda = resource?.kind === 'lambda';
      const scheduled = () => {
        if (!isTask || !resource) return;
        const queue = info?.nested ? undefined : running.params.get(ev.state?.name ?? '');
        const params = JSON.stringify((queue && queue.length > 0 ? queue.shift() : ev.state?.input) ?? null);
        if (lambda) {
          this.#event(running, 'LambdaFunctionScheduled', { resource: resource.resource, input: params });
          this.#event(running, 'LambdaFunctionStarted');
        } else {
          const [service, action] = taskResource(resource.resource);
          this.#event(running, 'TaskScheduled', {
            resourceType: service,
            resource: action,
            region: ctx.region,
            parameters: params,
          });
          this.#event(running, 'TaskStarted', { resourceType: service, resource: action });
        }
      };
      switch (ev.type) {
        case 'ExecutionStarted':
          this.#event(running, 'ExecutionStarted', {
            input: exec.input,
            inputDetails: { truncated: false },
            roleArn: exec.roleArn,
          });
          break;
        case 'StateEntered':
          running.transitions += 1;
          this.#event(running, `${type}StateEntered`, {
            name: ev.state?.name,
            input: JSON.stringify(ev.state?.input ?? null),
            inputDetails: { truncated: false },
          });
          scheduled();
          break;
        case 'StateRetried':
          scheduled();
          break;
        case 'StateExited': {
          if (isTask && resource) {
            const queue = info?.nested ? undefined : running.results.get(ev.state?.name ?? '');
            const raw = queue && queue.length > 0 ? queue.shift() : ev.state?.output;
            const [service, action] = taskResource(resource.resource);
            if (lambda) this.#event(running, 'LambdaFunctionSucceeded', { output: JSON.stringify(raw ?? null) });
            else
              this.#event(running, 'TaskSucceeded', {
                resourceType: service,
                resource: action,
                output: JSON.stringify(raw ?? null),
              });
          }
          this.#event(running, `${type}StateExited`, {
            name: ev.state?.name,
            output: JSON.stringify(ev.state?.output ?? null),
            outputDetails: { truncated: false },
          });
          break;
        }
        case 'StateFailed':
          if (isTask && resource) {
            const timedOut = ev.Error === 'States.Timeout';
            const details = {
              error: ev.Error,
              cause: typeof ev.Cause === 'string' ? ev.Cause : JSON.stringify(ev.Cause ?? ''),
            };
            const [service, action] = taskResource(resource.resource);
            if (lambda) this.#event(running, timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed', details);
            else
              this.#event(running, timedOut ? 'TaskTimedOut' : 'TaskFailed', {
                resourceType: service,
                resource: action,
                ...details,
              });
          }
          break;
        case 'StateCaught':
          this.#event(running, `${type}StateExited`, {
            name: ev.state?.name,
            output: JSON.stringify(ev.state?.input ?? null),
          });
          break;
        case 'MapIterationStarted':
        case 'MapIterationSucceeded':
        case 'MapIterationFailed': {
          this.#event(running, ev.type, { name: ev.parentState?.name, index: ev.index });
          break;
        }
        case 'ExecutionSucceeded':
          this.#event(running, 'ExecutionSucceeded', {
            output: JSON.stringify(ev.output ?? null),
            outputDetails: { truncated: false },
          });
          break;
        case 'ExecutionFailed': {
          const cause =
            ev.Cause instanceof Error
              ? ev.Cause.message
              : typeof ev.Cause === 'string'
                ? ev.Cause
                : JSON.stringify(ev.Cause ?? '');
          const error = ev.Cause instanceof Error ? ev.Cause.name : ev.Error;
          this.#event(running, 'ExecutionFailed', { error, cause });
          break;
        }
        case 'ExecutionTimeout':
          this.#event(running, 'ExecutionTimedOut', { error: 'States.Timeout' });
          break;
        default:
          break;
      }
      this.#scheduleFlush(ctx, exec, running);
    }
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
  ): Promise<unknown> {
    if (info.wait) {
      const w = info.wait;
      let seconds = 0;
      if (w.Seconds !== undefined) seconds = w.Seconds;
      else if (w.SecondsPath) seconds = Number(referencePath(w.SecondsPath, input, context));
      else {
        const at = w.Timestamp ?? String(referencePath(w.TimestampPath as string, input, context));
        seconds = (Date.parse(at) - this.#options.now()) / 1000;
      }
      if (!Number.isFinite(seconds) || seconds < 0) {
        if (w.SecondsPath || w.TimestampPath)
          throw new TaskError('States.Runtime', `The Wait state ${name} could not read a valid duration`);
        seconds = 0;
      }
      await sleep(seconds * 1000 * this.#options.waitScale, signal);
      return input;
    }
    const resource = parseResource(info.resource as string);
    // Everything up to the first await runs in the same tick as the library's StateEntered event, so the
    // per-name queues line up with the event log the history is built from.
    const token = resource.waitForToken ? `AQ${randomBytes(96).toString('base64url')}` : undefined;
    const effective = token ? (fillToken(input, token) as Json) : input;
    if (!info.nested) {
      const queue = running.params.get(name) ?? [];
      queue.push(effective);
      running.params.set(name, queue);
    }
    if (resource.kind === 'unsupported') throw new TaskError('States.Runtime', resource.reason);
    if (!token) {
      const result = await this.#integration(ctx, resource, input);
      if (!info.nested) {
        const queue = running.results.get(name) ?? [];
        queue.push(result);
        running.results.set(name, queue);
      }
      return result;
    }
    const filled = effective;
    const waiting = this.#waitForToken(ctx, exec, running, token, info);
    try {
      await this.#integration(ctx, resource, filled);
    } catch (err) {
      this.#settleToken(ctx, token);
      waiting.catch(() => {});
      throw err;
    }
    const result = await waiting;
    if (!info.nested) {
      const queue = running.results.get(name) ?? [];
      queue.push(result);
      running.results.set(name, queue);
    }
    return result;
  }

  async #integration(ctx: LocalContext, resource: ReturnType<typeof parseResource>, input: Json): Promise<unknown> {
    switch (resource.kind) {
      case 'lambda':
        return runLambda(ctx, resource.functionName, input);
      case 'lambda-invoke': {
        const args = (input ?? {}) as Record<string, unknown>;
        if (typeof args.FunctionName !== 'string')
          throw new TaskError('States.Runtime', 'lambda:invoke requires a FunctionName parameter');
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

  #waitForToken(
    ctx: LocalContext,
    exec: ExecutionRecord,
    running: Running,
    token: string,
    info: StateInfo,
  ): Promise<unknown> {
    ctx.store.put(TOKENS, token, { executionArn: exec.executionArn, state: 'WAITING' } satisfies TokenRecord);
    running.tokens.add(token);
    return new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { executionArn: exec.executionArn, resolve, reject };
      const fail = (cause: string) => {
        this.#settleToken(ctx, token);
        reject(new TaskError('States.Timeout', cause));
      };
      if (info.heartbeatSeconds !== undefined) {
        pending.heartbeatMs = info.heartbeatSeconds * 1000;
        pending.heartbeat = setTimeout(() => fail('Task heartbeat timed out'), pending.heartbeatMs);
      }
      if (info.timeoutSeconds !== undefined) {
        pending.timeout = setTimeout(() => fail('Task timed out'), info.timeoutSeconds * 1000);
      }
      this.#pending.set(token, pending);
    });
  }

  #settleToken(ctx: LocalContext, token: string): Pending | undefined {
    const pending = this.#pending.get(token);
    if (pending) {
      clearTimeout(pending.heartbeat);
      clearTimeout(pending.timeout);
      this.#pending.delete(token);
    }
    const record = ctx.store.get<TokenRecord>(TOKENS, token);
    if (record && record.state !== 'DONE') ctx.store.put(TOKENS, token, { ...record, state: 'DONE' });
    return pending;
  }

  /** Finds the waiting task for a token, with AWS's errors for malformed, unknown and finished tokens. */
  #claim(ctx: LocalContext, token: unknown): string {
    if (typeof token !== 'string' || token.length === 0 || token.length > 2048) {
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and 2048",
      );
    }
    if (!TOKEN_FORMAT.test(token)) throw new AwsError('InvalidToken', "Invalid Token: 'Invalid token'");
    const record = ctx.store.get<TokenRecord>(TOKENS, token);
    if (!record) throw new AwsError('TaskDoesNotExist', 'Task does not exist');
    if (record.state !== 'WAITING' || !this.#pending.has(token)) {
      throw new AwsError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    }
    return token;
  }

  sendSuccess(ctx: LocalContext, token: unknown, output: unknown): void {
    const t = this.#claim(ctx, token);
    if (typeof output !== 'string') throw new AwsError('InvalidOutput', 'Invalid output: output is required');
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new AwsError('InvalidOutput', 'Invalid output: not valid JSON');
    }
    this.#settleToken(ctx, t)?.resolve(parsed);
  }

  sendFailure(ctx: LocalContext, token: unknown, error?: unknown, cause?: unknown): void {
    const t = this.#claim(ctx, token);
    this.#settleToken(ctx, t)?.reject(
      new TaskError(typeof error === 'string' ? error : '', typeof cause === 'string' ? cause : ''),
    );
  }

  sendHeartbeat(ctx: LocalContext, token: unknown): void {
    const pending = this.#pending.get(this.#claim(ctx, token));
    if (pending?.heartbeat && pending.heartbeatMs !== undefined) {
      clearTimeout(pending.heartbeat);
      pending.heartbeat = setTimeout(() => {
        this.#settleToken(ctx, token as string);
        pending.reject(new TaskError('States.Timeout', 'Task heartbeat timed out'));
      }, pending.heartbeatMs);
    }
  }
}

/** History's resourceType/resource split: `aws-sdk:cloudformation` + `deleteStack`, `lambda` + `invoke`. */
const taskResource = (resource: string): [string, string] => {
  const rest = resource.replace(/^arn:aws[a-z-]*:states:::/, '');
  const at = rest.lastIndexOf(':');
  return [rest.slice(0, at), rest.slice(at + 1)];
};

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};
