import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../services/types.ts';
import type { StateStore } from '../store/store.ts';
import type { LocalFunction } from './wiring.ts';

/**
 * Runs the template's functions the way Lambda does: each function instance is a worker_thread with the
 * function's own `process.env` and module singletons (a container), one invocation at a time, the template's
 * Timeout enforced by killing the instance. `Event` invocations go through a durable queue with Lambda's two
 * retries and backoff, so a queued invocation survives a restart.
 */
export type FunctionSpec = Pick<
  LocalFunction,
  'name' | 'arn' | 'modulePath' | 'exportName' | 'timeoutSeconds' | 'memoryMb' | 'environment'
>;

/** A function ended with an error; `errorType`/`errorMessage` are what Lambda reports. */
export class FunctionError extends Error {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: string[];
  constructor(errorType: string, errorMessage: string, trace: string[] = []) {
    super(errorMessage);
    this.name = errorType;
    this.errorType = errorType;
    this.errorMessage = errorMessage;
    this.trace = trace;
  }
}

export class FunctionNotFoundError extends Error {
  constructor(name: string) {
    super(`Function not found: ${name}`);
    this.name = 'FunctionNotFoundError';
  }
}

export type InvocationRecord = {
  requestId: string;
  functionName: string;
  type: 'RequestResponse' | 'Event';
  attempt: number;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  result?: unknown;
  errorType?: string;
  errorMessage?: string;
};

type QueuedInvocation = { id: string; functionName: string; payload: unknown; attempt: number; notBefore: number };

type Pending = { requestId: string; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
type Instance = { worker: Worker; busy: boolean; pending?: Pending; dead: boolean; ready: Promise<void> };

export type InvokerOptions = {
  store: StateStore;
  log: Logger;
  /** Delays before the async retries; Lambda waits about a minute, then two. */
  retryDelaysMs?: number[];
  maxInstancesPerFunction?: number;
  /** Where function stdout/stderr goes; defaults to this process's stdout/stderr with a prefix. */
  output?: (functionName: string, stream: 'stdout' | 'stderr', text: string) => void;
  now?: () => number;
  /** Called after every invocation attempt (metering). */
  onInvocation?: (record: InvocationRecord, memoryMb: number) => void;
};

const QUEUE = 'lambda:async-queue';
const DEAD = 'lambda:async-failed';
const WORKER_URL = new URL('./function-worker.ts', import.meta.url);
/** Lambda's init phase limit: the handler module must load within this, apart from the function Timeout. */
const INIT_TIMEOUT_MS = 10_000;

export class Invoker {
  readonly #functions = new Map<string, FunctionSpec>();
  readonly #pools = new Map<string, Instance[]>();
  readonly #waiting = new Map<string, Array<(i: Instance) => void>>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #running = new Set<string>();
  readonly #recent: InvocationRecord[] = [];
  readonly #options: Required<Omit<InvokerOptions, 'output' | 'onInvocation'>> &
    Pick<InvokerOptions, 'output' | 'onInvocation'>;
  #stopped = false;

  constructor(options: InvokerOptions) {
    this.#options = { retryDelaysMs: [60_000, 120_000], maxInstancesPerFunction: 4, now: Date.now, ...options };
  }

  register(fn: FunctionSpec): void {
    this.#functions.set(fn.name, fn);
  }

  list(): FunctionSpec[] {
    return [...this.#functions.values()];
  }

  /** Finds a function by name, full ARN, or ARN with a `:$LATEST`/alias qualifier. */
  get(nameOrArn: string): FunctionSpec | undefined {
    const m = /^arn:aws:lambda:[^:]+:\d+:function:([^:]+)(?::.+)?$/.exec(nameOrArn);
    const name = m ? (m[1] as string) : nameOrArn.replace(/:\$LATEST$/, '');
    return this.#functions.get(name);
  }

  recent(functionName?: string): InvocationRecord[] {
    return this.#recent.filter((r) => functionName === undefined || r.functionName === functionName);
  }

  /** Resumes queued async invocations left by a previous run. */
  start(): void {
    for (const [, q] of this.#options.store.list<QueuedInvocation>(QUEUE)) this.#schedule(q);
  }

  async invoke(
    nameOrArn: string,
    payload: unknown,
    type: 'RequestResponse' | 'Event' = 'RequestResponse',
    options: { delayMs?: number } = {},
  ): Promise<unknown> {
    const fn = this.get(nameOrArn);
    if (!fn) throw new FunctionNotFoundError(nameOrArn);
    if (type === 'Event') {
      const delay = Math.max(0, options.delayMs ?? 0);
      const notBefore = delay > 0 ? this.#options.now() + delay : 0;
      const q: QueuedInvocation = { id: randomUUID(), functionName: fn.name, payload, attempt: 0, notBefore };
      this.#options.store.put(QUEUE, q.id, q);
      this.#schedule(q);
      return undefined;
    }
    return this.#run(fn, payload, randomUUID(), 'RequestResponse', 0);
  }

  #schedule(q: QueuedInvocation): void {
    if (this.#stopped || this.#timers.has(q.id) || this.#running.has(q.id)) return;
    const delay = Math.max(0, q.notBefore - this.#options.now());
    const timer = setTimeout(() => {
      this.#timers.delete(q.id);
      void this.#runQueued(q.id);
    }, delay);
    this.#timers.set(q.id, timer);
  }

  async #runQueued(id: string): Promise<void> {
    const { store, log, retryDelaysMs } = this.#options;
    const q = store.get<QueuedInvocation>(QUEUE, id);
    if (!q || this.#stopped) return;
    const fn = this.#functions.get(q.functionName);
    if (!fn) {
      log.warn('queued invocation for an unknown function dropped', { functionName: q.functionName });
      store.delete(QUEUE, id);
      return;
    }
    this.#running.add(id);
    try {
      await this.#run(fn, q.payload, id, 'Event', q.attempt);
      store.delete(QUEUE, id);
    } catch (err) {
      if (this.#stopped) return; // the instance was killed by shutdown: the entry stays queued for the next start
      const e = err as FunctionError;
      if (q.attempt >= retryDelaysMs.length) {
        log.error('async invocation failed after retries', { functionName: q.functionName, errorType: e.name });
        store.put(DEAD, id, { ...q, errorType: e.name, errorMessage: e.message, failedAt: new Date().toISOString() });
        store.delete(QUEUE, id);
      } else {
        const next = { ...q, attempt: q.attempt + 1, notBefore: this.#options.now() + (retryDelaysMs[q.attempt] ?? 0) };
        store.put(QUEUE, id, next);
        this.#running.delete(id);
        this.#schedule(next);
        return;
      }
    } finally {
      this.#running.delete(id);
    }
  }

  async #run(
    fn: FunctionSpec,
    payload: unknown,
    requestId: string,
    type: 'RequestResponse' | 'Event',
    attempt: number,
  ) {
    const started = this.#options.now();
    const record: InvocationRecord = {
      requestId,
      functionName: fn.name,
      type,
      attempt,
      startedAt: new Date(started).toISOString(),
      durationMs: 0,
      ok: false,
    };
    try {
      const instance = await this.#acquire(fn);
      const result = await this.#send(fn, instance, payload, requestId);
      record.ok = true;
      record.result = result;
      return result;
    } catch (err) {
      const e = err instanceof FunctionError ? err : new FunctionError('Runtime.Error', (err as Error).message);
      record.errorType = e.errorType;
      record.errorMessage = e.errorMessage;
      throw e;
    } finally {
      record.durationMs = this.#options.now() - started;
      this.#recent.push(record);
      if (this.#recent.length > 500) this.#recent.shift();
      this.#options.onInvocation?.(record, fn.memoryMb);
    }
  }

  #acquire(fn: FunctionSpec): Promise<Instance> {
    if (this.#stopped) return Promise.reject(new FunctionError('Runtime.Stopped', 'the local cloud is stopping'));
    const pool = this.#pools.get(fn.name) ?? [];
    this.#pools.set(fn.name, pool);
    const idle = pool.find((i) => !i.busy && !i.dead);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (pool.length < this.#options.maxInstancesPerFunction) {
      const instance = this.#spawn(fn);
      instance.busy = true;
      pool.push(instance);
      return Promise.resolve(instance);
    }
    return new Promise((resolve) => {
      const waiting = this.#waiting.get(fn.name) ?? [];
      waiting.push(resolve);
      this.#waiting.set(fn.name, waiting);
    });
  }

  #release(fn: FunctionSpec, instance: Instance): void {
    const pool = this.#pools.get(fn.name) ?? [];
    if (instance.dead) {
      const idx = pool.indexOf(instance);
      if (idx >= 0) pool.splice(idx, 1);
    }
    const next = this.#waiting.get(fn.name)?.shift();
    if (!next) {
      instance.busy = false;
      return;
    }
    if (!instance.dead) {
      instance.busy = true;
      next(instance);
      return;
    }
    const fresh = this.#spawn(fn);
    fresh.busy = true;
    pool.push(fresh);
    next(fresh);
  }

  #spawn(fn: FunctionSpec): Instance {
    const worker = new Worker(WORKER_URL, {
      env: { ...fn.environment },
      workerData: {
        modulePath: fn.modulePath,
        exportName: fn.exportName,
        functionName: fn.name,
        functionArn: fn.arn,
        memoryMb: fn.memoryMb,
      },
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, fn.memoryMb) },
    });
    let markReady: () => void = () => undefined;
    const instance: Instance = {
      worker,
      busy: false,
      dead: false,
      ready: new Promise<void>((resolve) => {
        markReady = resolve;
      }),
    };
    const out = this.#options.output ?? defaultOutput;
    worker.stdout.on('data', (chunk: Buffer) => out(fn.name, 'stdout', chunk.toString('utf8')));
    worker.stderr.on('data', (chunk: Buffer) => out(fn.name, 'stderr', chunk.toString('utf8')));
    worker.on(
      'message',
      (msg: { type?: string; requestId: string; ok: boolean; result?: unknown } & Record<string, unknown>) => {
        if (msg.type === 'ready') {
          markReady();
          return;
        }
        const pending = instance.pending;
        if (!pending || pending.requestId !== msg.requestId) return;
        clearTimeout(pending.timer);
        instance.pending = undefined;
        this.#release(fn, instance);
        if (msg.ok) pending.resolve(msg.result);
        else
          pending.reject(
            new FunctionError(
              String(msg.errorType),
              String(msg.errorMessage),
              (msg.trace as string[] | undefined) ?? [],
            ),
          );
      },
    );
    const die = (error: FunctionError) => {
      markReady(); // nobody waits forever on an instance that is gone
      if (instance.dead) return;
      instance.dead = true;
      const pending = instance.pending;
      instance.pending = undefined;
      if (pending) {
        clearTimeout(pending.timer);
        pending.reject(error);
      }
      this.#release(fn, instance);
    };
    worker.on('error', (err) => die(new FunctionError('Runtime.ExitError', err.message)));
    worker.on('exit', (code) =>
      die(new FunctionError('Runtime.ExitError', `function instance exited with code ${code}`)),
    );
    worker.unref();
    return instance;
  }

  async #send(fn: FunctionSpec, instance: Instance, payload: unknown, requestId: string): Promise<unknown> {
    let initTimer: NodeJS.Timeout | undefined;
    const initTimedOut = await Promise.race([
      instance.ready.then(() => false),
      new Promise<boolean>((resolve) => {
        initTimer = setTimeout(() => resolve(true), INIT_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(initTimer);
    if (initTimedOut || instance.dead) {
      if (!instance.dead) {
        // die() releases an instance that exits by itself; one we give up on is released here, once.
        instance.dead = true;
        void instance.worker.terminate();
        this.#release(fn, instance);
      }
      throw initTimedOut
        ? new FunctionError('Runtime.InitTimeout', `Init phase did not finish within ${INIT_TIMEOUT_MS / 1000} seconds`)
        : new FunctionError('Runtime.ExitError', 'function instance exited during init');
    }
    const timeoutMs = fn.timeoutSeconds * 1000;
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Lambda freezes and discards the environment of a timed-out invocation: so do we.
        const pending = instance.pending;
        instance.pending = undefined;
        instance.dead = true;
        void instance.worker.terminate();
        this.#release(fn, instance);
        pending?.reject(
          new FunctionError('Sandbox.Timedout', `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`),
        );
      }, timeoutMs);
      instance.pending = { requestId, resolve, reject, timer };
      instance.worker.postMessage({ requestId, event: payload, deadline });
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    const workers = [...this.#pools.values()].flat();
    this.#pools.clear();
    await Promise.all(
      workers.map(async (i) => {
        i.dead = true;
        if (i.pending) {
          clearTimeout(i.pending.timer);
          i.pending.reject(new FunctionError('Runtime.Stopped', 'the local cloud stopped'));
        }
        await i.worker.terminate();
      }),
    );
  }
}

const defaultOutput = (functionName: string, stream: 'stdout' | 'stderr', text: string): void => {
  const target = stream === 'stdout' ? process.stdout : process.stderr;
  for (const line of text.split('\n')) if (line !== '') target.write(`[${functionName}] ${line}\n`);
};
